"""Check-in joins the live queue: a booked patient of today gets a token for their doctor,
once, however many times (or from however many desks) "Check in" is pressed."""

import pytest

from appointments import changes
from appointments.errors import BookingError
from appointments.models import Appointment, AppointmentEvent
from queues.models import Token
from tests.appointments.conftest import place, t
from tests.conftest import WEDNESDAY, at, race

NINE = at(WEDNESDAY, 8, 50)


def test_check_in_gives_a_token_for_the_doctor_and_records_it(
    dr_rao, desk, django_capture_on_commit_callbacks
):
    appointment = place(dr_rao, t(9))
    with django_capture_on_commit_callbacks() as callbacks:
        token, created = changes.check_in(appointment, actor=desk, now=NINE)
    assert created
    assert callbacks  # the queue's screens are told after commit
    assert token.display_number == "ORTH-001"
    assert (token.assigned_doctor, token.appointment) == (dr_rao, appointment)
    assert token.priority == Token.Priority.NORMAL
    assert token.patient_name == "Someone" and token.service_date == WEDNESDAY
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN
    event = AppointmentEvent.objects.get(kind=AppointmentEvent.Kind.CHECKED_IN)
    assert event.actor == desk and event.changes == {"token": "ORTH-001"}


def test_an_emergency_appointment_checks_in_as_an_emergency_by_a_receptionist(dr_rao, receptionist):
    appointment = place(dr_rao, t(9))
    appointment.is_emergency = True
    appointment.save()
    token, _ = changes.check_in(appointment, actor=receptionist, now=NINE)
    assert token.priority == Token.Priority.EMERGENCY


def test_a_second_click_returns_the_same_token(dr_rao, desk):
    appointment = place(dr_rao, t(9))
    first, _ = changes.check_in(appointment, actor=desk, now=NINE)
    again, created = changes.check_in(appointment, actor=desk, now=NINE)
    assert not created and again.pk == first.pk
    assert Token.objects.count() == 1
    assert AppointmentEvent.objects.filter(kind="checked_in").count() == 1


def test_only_on_the_day(dr_rao, desk):
    appointment = place(dr_rao, t(9))
    with pytest.raises(BookingError, match="only on the day"):
        changes.check_in(appointment, actor=desk, now=at(WEDNESDAY.replace(day=17), 9))
    assert not Token.objects.exists()


@pytest.mark.parametrize("status", ["held", "cancelled", "no_show", "completed", "expired"])
def test_only_booked_appointments_check_in(dr_rao, desk, status):
    with pytest.raises(BookingError, match="only a booked"):
        changes.check_in(place(dr_rao, t(9), status), actor=desk, now=NINE)
    assert not Token.objects.exists()


def test_a_closed_department_is_a_readable_error_and_nothing_changes(dr_rao, desk):
    dr_rao.department.is_active = False
    dr_rao.department.save()
    appointment = place(dr_rao, t(9))
    with pytest.raises(BookingError, match="not taking tokens"):
        changes.check_in(appointment, actor=desk, now=NINE)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


@pytest.mark.django_db(transaction=True)
def test_two_desks_checking_in_at_once_make_one_token(dr_rao, desk):
    appointment = place(dr_rao, t(9))
    jobs = [lambda: changes.check_in(appointment, actor=desk, now=NINE) for _ in range(8)]
    results, errors = race(jobs)
    assert errors == []
    assert Token.objects.count() == 1
    assert sorted(created for _, created in results) == [False] * 7 + [True]
    assert {token.pk for token, _ in results} == {Token.objects.get().pk}
    assert AppointmentEvent.objects.filter(kind="checked_in").count() == 1


def test_completing_the_token_completes_the_appointment(dr_rao, desk):
    from queues import services as queue

    appointment = place(dr_rao, t(9))
    token, _ = changes.check_in(appointment, actor=desk, now=NINE)
    queue.call_next(dr_rao, now=at(WEDNESDAY, 9))
    queue.start_consultation(dr_rao, token, now=at(WEDNESDAY, 9, 1))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN  # still with the doctor
    queue.complete_token(dr_rao, token, now=at(WEDNESDAY, 9, 12))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED

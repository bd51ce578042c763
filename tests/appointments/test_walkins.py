"""Walk-ins and emergencies booked at the desk into a slot of today and checked in."""

import datetime

import pytest

from appointments import slots, walkins
from appointments.errors import BookingError
from appointments.models import Appointment, AppointmentEvent, DoctorSchedule, Patient
from queues import services as queue
from queues.models import Token
from tests.appointments.conftest import MOBILE, nothing_taken, place, t
from tests.conftest import WEDNESDAY, at, race

NOW = at(WEDNESDAY, 9, 5)  # inside the 09:00 slot


@pytest.fixture
def rao_session(dr_rao):
    # 09:00-10:00 in 15-minute slots; the last (09:45) kept for emergencies.
    return DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=WEDNESDAY.weekday(), start=t(9), end=t(10),
        slot_minutes=15, emergency_slots=1,
    )  # fmt: skip


def walk_in(doctor, start, actor, *, emergency=False, mobile=MOBILE, name="Asha Rao", now=NOW):
    return walkins.book_walk_in(
        doctor=doctor, start=start, patient_name=name, mobile=mobile,
        reason="Fever", emergency=emergency, actor=actor, now=now,
    )  # fmt: skip


def test_it_offers_the_running_slot_and_no_emergency_slot_to_a_normal_walk_in(dr_rao, rao_session):
    options = walkins.walk_in_options(now=NOW)
    assert [(o.doctor, o.start, o.is_emergency_slot) for o in options] == [(dr_rao, t(9), False)]


def test_an_emergency_is_also_offered_the_kept_slot(dr_rao, rao_session):
    options = walkins.walk_in_options(emergency=True, now=NOW)
    assert [(o.start, o.is_emergency_slot) for o in options] == [(t(9), False), (t(9, 45), True)]


def test_taken_and_ended_slots_are_not_offered(dr_rao, rao_session):
    place(dr_rao, t(9, 15))
    options = walkins.walk_in_options(now=at(WEDNESDAY, 9, 20))
    assert [o.start for o in options] == [t(9, 30)]


def test_a_department_filter_and_a_doctor_on_leave(dr_rao, dr_shah, rao_session, card):
    assert walkins.walk_in_options(department=card, now=NOW) == []
    dr_rao.on_duty = False
    dr_rao.save()
    assert walkins.walk_in_options(now=NOW) == []


def test_a_walk_in_is_booked_and_checked_in_at_once(dr_rao, rao_session, desk):
    appointment = walk_in(dr_rao, t(9), desk)
    assert appointment.status == Appointment.Status.CHECKED_IN
    assert appointment.is_walk_in and not appointment.is_emergency
    assert appointment.booked_at == NOW
    kinds = list(appointment.events.values_list("kind", flat=True))
    assert kinds[0] == AppointmentEvent.Kind.WALK_IN
    assert AppointmentEvent.Kind.CHECKED_IN in kinds
    token = Token.objects.get(appointment=appointment)
    assert token.assigned_doctor == dr_rao
    assert token.priority == Token.Priority.NORMAL
    assert token.status == Token.Status.WAITING


def test_a_normal_walk_in_cannot_take_the_emergency_slot(dr_rao, rao_session, desk):
    with pytest.raises(BookingError, match="kept for emergencies"):
        walk_in(dr_rao, t(9, 45), desk)
    assert not Appointment.objects.exists()


def test_an_emergency_in_the_kept_slot_is_called_first(dr_rao, rao_session, desk, orth):
    queue.issue_token(orth, "Early Bird", now=at(WEDNESDAY, 8, 30))
    walk_in(dr_rao, t(9), desk, mobile="+919800000001", name="Normal Walker")
    emergency = walk_in(dr_rao, t(9, 45), desk, emergency=True, name="Chest Pain")
    assert emergency.is_emergency
    token = Token.objects.get(appointment=emergency)
    assert token.priority == Token.Priority.EMERGENCY
    called = queue.call_next(dr_rao, now=at(WEDNESDAY, 9, 6))
    assert called == token


def test_a_slot_that_is_taken_is_refused(dr_rao, rao_session, desk):
    place(dr_rao, t(9))
    with pytest.raises(BookingError, match="no longer free"):
        walk_in(dr_rao, t(9), desk)


def test_an_ended_slot_is_refused(dr_rao, rao_session, desk):
    with pytest.raises(BookingError, match="no longer free"):
        walk_in(dr_rao, t(9), desk, now=at(WEDNESDAY, 9, 15))


def test_a_lapsed_hold_in_the_slot_is_expired_and_the_walk_in_takes_it(dr_rao, rao_session, desk):
    lapsed = place(dr_rao, t(9), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 9))
    appointment = walk_in(dr_rao, t(9), desk)
    lapsed.refresh_from_db()
    assert lapsed.status == Appointment.Status.EXPIRED
    assert appointment.status == Appointment.Status.CHECKED_IN and appointment.start == t(9)


def test_a_slot_taken_a_moment_ago_is_refused_and_nothing_is_written(
    dr_rao, rao_session, desk, monkeypatch
):
    """The free-slot check passed, but another desk booked first: the constraint refuses
    the insert in take_slot's savepoint; no patient, appointment or token is left."""
    place(dr_rao, t(9))
    monkeypatch.setattr(slots, "taking_slots", nothing_taken)
    with pytest.raises(BookingError, match="^That slot was just taken. Please choose another.$"):
        walk_in(dr_rao, t(9), desk, mobile="+919800000009")
    assert Appointment.objects.count() == 1 and Patient.objects.count() == 1
    assert not Token.objects.exists()
    assert not AppointmentEvent.objects.exists()


def test_bad_input_is_a_readable_error(dr_rao, rao_session, desk):
    with pytest.raises(BookingError, match="mobile"):
        walk_in(dr_rao, t(9), desk, mobile="12")
    with pytest.raises(BookingError, match="name"):
        walk_in(dr_rao, t(9), desk, name="  ")


@pytest.mark.django_db(transaction=True)
def test_two_walk_ins_for_the_last_free_slot_exactly_one_gets_it(dr_rao, desk):
    DoctorSchedule.objects.create(
        doctor=dr_rao, weekday=WEDNESDAY.weekday(), start=t(9), end=t(9, 15)
    )
    jobs = [
        lambda i=i: walk_in(dr_rao, t(9), desk, mobile=f"+91981230000{i}", name=f"P {i}")
        for i in range(2)
    ]
    results, errors = race(jobs)
    assert len([r for r in results if r is not None]) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], BookingError)
    assert str(errors[0]) in (walkins.SLOT_GONE, "That slot was just taken. Please choose another.")
    assert Appointment.objects.count() == 1
    assert Token.objects.count() == 1
    # The next option is offered to the loser: none left today.
    assert walkins.walk_in_options(now=NOW) == []


def test_walk_in_option_label():
    option = walkins.WalkInOption(None, WEDNESDAY, t(9), t(9, 15), False)
    assert option.label == "09:00–09:15"
    assert option.day == datetime.date(2026, 11, 18)


def test_an_emergency_walk_in_is_checked_in_with_an_emergency_token_in_the_pool(
    dr_rao, rao_session, desk
):
    appointment = walk_in(dr_rao, t(9, 45), desk, emergency=True)
    assert appointment.status == Appointment.Status.CHECKED_IN
    token = Token.objects.get(appointment=appointment)
    # The first free doctor of the department calls an emergency, not only its own.
    assert (token.assigned_doctor, token.priority) == (None, Token.Priority.EMERGENCY)
    assert queue.call_next(dr_rao, now=at(WEDNESDAY, 9, 6)) == token

"""Rescheduling, cancelling and no-shows at the desk (appointments.changes)."""

import datetime

import pytest

from appointments import changes, slots, walkins
from appointments.booking import hold_slot
from appointments.errors import BookingError
from appointments.models import Appointment, AppointmentEvent, DoctorSchedule, OtpChallenge
from appointments.slots import free_slots
from tests.appointments.conftest import MORNING, nothing_taken, place, t, texts
from tests.conftest import WEDNESDAY, at

pytestmark = pytest.mark.usefixtures("outbox", "rao_morning")


@pytest.fixture
def booked(dr_rao):
    return place(dr_rao, t(9), mobile="+919812345678")


# --- Reschedule ---------------------------------------------------------------------------


def test_rescheduling_moves_the_same_row_and_frees_the_old_slot(
    booked, dr_rao, desk, run_on_commit
):
    moved = run_on_commit(
        changes.reschedule_appointment, booked, day=WEDNESDAY, start=t(10), actor=desk,
        reason="Patient asked", now=MORNING,
    )  # fmt: skip
    assert moved.pk == booked.pk
    assert (moved.start, moved.end) == (t(10), t(10, 15))
    assert Appointment.objects.get().status == Appointment.Status.BOOKED
    free = [s.start for s in free_slots(dr_rao, WEDNESDAY, now=MORNING)]
    assert t(9) in free and t(10) not in free
    event = AppointmentEvent.objects.get(kind=AppointmentEvent.Kind.RESCHEDULED)
    assert event.actor == desk and event.reason == "Patient asked"
    assert event.changes == {
        "from": {"date": "2026-11-18", "start": "09:00", "doctor": "Dr. Rao"},
        "to": {"date": "2026-11-18", "start": "10:00", "doctor": "Dr. Rao"},
    }
    (sms,) = texts("rescheduled")
    assert "moved to Wed 18 Nov 2026 at 10:00" in sms["body"]


def test_rescheduling_to_another_doctor_of_the_department(booked, dr_iyer, desk):
    DoctorSchedule.objects.create(
        doctor=dr_iyer, weekday=WEDNESDAY.weekday(), start=t(9), end=t(12)
    )
    moved = changes.reschedule_appointment(
        booked, day=WEDNESDAY, start=t(9), doctor=dr_iyer, actor=desk, now=MORNING
    )
    assert moved.doctor == dr_iyer
    assert AppointmentEvent.objects.get(kind="rescheduled").changes["to"]["doctor"] == "Dr. Iyer"


def test_rescheduling_to_another_department_is_refused(booked, dr_shah, desk):
    with pytest.raises(BookingError, match="same department"):
        changes.reschedule_appointment(
            booked, day=WEDNESDAY, start=t(9), doctor=dr_shah, actor=desk, now=MORNING
        )


def test_rescheduling_into_a_taken_slot_is_refused_and_nothing_changes(booked, dr_rao, desk):
    place(dr_rao, t(10))
    with pytest.raises(BookingError, match="not free"):
        changes.reschedule_appointment(booked, day=WEDNESDAY, start=t(10), actor=desk, now=MORNING)
    booked.refresh_from_db()
    assert booked.start == t(9)
    assert not AppointmentEvent.objects.filter(kind="rescheduled").exists()


def test_a_slot_taken_in_a_race_is_a_readable_error(booked, dr_rao, desk, monkeypatch):
    """The free-slot check said yes, but another desk booked the slot before the update:
    the constraint refuses it in take_slot's savepoint, and the old slot stays booked."""
    place(dr_rao, t(10))
    monkeypatch.setattr(slots, "taking_slots", nothing_taken)
    with pytest.raises(BookingError, match="^That slot was just taken. Please choose another.$"):
        changes.reschedule_appointment(booked, day=WEDNESDAY, start=t(10), actor=desk, now=MORNING)
    booked.refresh_from_db()
    assert booked.start == t(9) and booked.status == Appointment.Status.BOOKED
    assert not AppointmentEvent.objects.filter(kind="rescheduled").exists()


@pytest.mark.parametrize("status", ["held", "checked_in", "cancelled", "no_show", "completed"])
def test_only_booked_appointments_can_be_rescheduled(dr_rao, desk, status):
    appointment = place(dr_rao, t(9), status)
    with pytest.raises(BookingError, match="only a booked appointment"):
        changes.reschedule_appointment(
            appointment, day=WEDNESDAY, start=t(10), actor=desk, now=MORNING
        )


def test_rescheduling_to_the_same_slot_or_the_past_is_refused(booked, desk):
    with pytest.raises(BookingError, match="current slot"):
        changes.reschedule_appointment(booked, day=WEDNESDAY, start=t(9), actor=desk, now=MORNING)
    with pytest.raises(BookingError, match="not free"):
        changes.reschedule_appointment(
            booked, day=WEDNESDAY - datetime.timedelta(days=7), start=t(9), actor=desk,
            now=MORNING,
        )  # fmt: skip


# --- Cancel -------------------------------------------------------------------------------


def test_cancelling_frees_the_slot_at_once_and_tells_the_patient(
    booked, dr_rao, desk, run_on_commit
):
    run_on_commit(
        changes.cancel_appointment, booked, reason="Doctor unavailable", actor=desk, now=MORNING
    )
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED
    assert t(9) in [s.start for s in free_slots(dr_rao, WEDNESDAY, now=MORNING)]
    event = AppointmentEvent.objects.get(kind=AppointmentEvent.Kind.CANCELLED)
    assert (event.reason, event.actor) == ("Doctor unavailable", desk)
    (sms,) = texts("cancellation")
    assert "cancelled. Reason: Doctor unavailable" in sms["body"]
    assert list(changes.cancellations_on(WEDNESDAY)) == [event]
    assert list(changes.cancellations_on(WEDNESDAY + datetime.timedelta(days=1))) == []


def test_a_held_appointment_can_be_cancelled_and_its_code_dies(dr_rao, desk):
    held = hold_slot(
        doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha", mobile="9812345678",
        reason="Knee", actor=desk, now=MORNING,
    )  # fmt: skip
    changes.cancel_appointment(held, reason="Booked by mistake", actor=desk, now=MORNING)
    assert not OtpChallenge.objects.filter(status=OtpChallenge.Status.ACTIVE).exists()


@pytest.mark.parametrize(
    "reason, message", [("", "Enter the reason"), ("  ", "Enter the reason"), ("x" * 201, "long")]
)
def test_a_cancellation_needs_a_reason(booked, desk, reason, message):
    with pytest.raises(BookingError, match=message):
        changes.cancel_appointment(booked, reason=reason, actor=desk, now=MORNING)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


@pytest.mark.parametrize("status", ["checked_in", "cancelled", "no_show", "completed", "expired"])
def test_only_held_or_booked_can_be_cancelled(dr_rao, desk, status):
    with pytest.raises(BookingError, match="only a held or booked"):
        changes.cancel_appointment(place(dr_rao, t(9), status), reason="x", actor=desk)


def test_the_waiting_offer_names_the_first_patient_or_nobody(booked, dr_rao, desk):
    assert walkins.waiting_offer(booked) is None  # nobody waiting
    entry = walkins.add_to_waiting_list(
        department=dr_rao.department, doctor=dr_rao, patient_name="Ravi K",
        mobile="98111 22334", reason="Back pain", priority=0, actor=desk, now=MORNING,
    )  # fmt: skip
    offer = walkins.waiting_offer(booked)
    assert offer["name"] == "Ravi K"
    assert offer["url"] == f"/reception/waiting/{entry.pk}/offer/"


# --- No-show ------------------------------------------------------------------------------


def test_a_no_show_only_after_the_session_has_ended(booked, desk):
    with pytest.raises(BookingError, match="session ends at 12:00"):
        changes.mark_no_show(booked, actor=desk, now=at(WEDNESDAY, 11, 59))
    assert not changes.may_mark_no_show(booked, at(WEDNESDAY, 11, 59))
    assert changes.may_mark_no_show(booked, at(WEDNESDAY, 12))
    changes.mark_no_show(booked, actor=desk, now=at(WEDNESDAY, 12))
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.NO_SHOW
    assert AppointmentEvent.objects.get(kind="no_show").actor == desk


def test_without_a_session_the_slot_end_decides(dr_iyer, desk):
    appointment = place(dr_iyer, t(9))
    assert changes.session_end(appointment) == at(WEDNESDAY, 9, 15)


@pytest.mark.parametrize("status", ["checked_in", "cancelled", "held"])
def test_only_booked_can_be_a_no_show(dr_rao, desk, status):
    with pytest.raises(BookingError, match="only a booked"):
        changes.mark_no_show(place(dr_rao, t(9), status), actor=desk, now=at(WEDNESDAY, 13))


# --- Find ---------------------------------------------------------------------------------


def test_find_by_name_mobile_or_date_across_days_newest_first(dr_rao):
    old = place(dr_rao, t(9), day=WEDNESDAY - datetime.timedelta(days=7), mobile="+919800000001")
    new = place(dr_rao, t(9), mobile="+919800000001")
    place(dr_rao, t(10), mobile="+919800000002", status=Appointment.Status.EXPIRED)
    assert list(changes.find_appointments("0001")) == [new, old]
    assert list(changes.find_appointments("someone")) == [new, old]
    assert list(changes.find_appointments("2026-11-11")) == [old]
    assert list(changes.find_appointments("")) == []
    assert list(changes.find_appointments("nobody")) == []

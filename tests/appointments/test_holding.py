"""The hold's fast path: one read that answers every question about a slot, the one-slot
rule check that must agree with the day's slot list, and how few statements a hold is."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments import holding
from appointments.holding import Session
from appointments.models import Appointment, AppointmentEvent, DoctorLeave, OtpChallenge
from appointments.services import _bookable_slot, _day_slots, _new_code, hold_slot
from tests.appointments.conftest import MORNING, place, t
from tests.conftest import WEDNESDAY, at

SESSIONS = {
    "one morning": [Session(t(9), t(12), 15, 0)],
    "emergency slots kept back": [Session(t(9), t(12), 15, 2)],
    "more kept back than there are": [Session(t(9), t(9, 30), 15, 5)],
    "a session that does not divide evenly": [Session(datetime.time(9, 7), t(9, 50), 10, 0)],
    "two that overlap": [Session(t(9), t(12), 15, 0), Session(t(10, 30), t(13), 20, 1)],
    "same start, different lengths": [Session(t(9), t(10), 15, 0), Session(t(9), t(11), 20, 0)],
    "morning and evening": [Session(t(9), t(12), 15, 1), Session(t(17), t(19), 30, 0)],
}


@pytest.mark.parametrize("sessions", SESSIONS.values(), ids=SESSIONS.keys())
def test_the_one_slot_check_agrees_with_the_days_slot_list(sessions):
    listed = {slot.start: slot for slot in _day_slots(sessions, WEDNESDAY)}
    minutes = [datetime.time(h, m) for h in range(24) for m in range(60)]
    for start in [*minutes, datetime.time(9, 0, 30)]:
        assert _bookable_slot(sessions, WEDNESDAY, start) == listed.get(start), start


def test_reading_a_slot_tells_duty_leave_sessions_and_who_is_in_it(dr_rao, rao_morning):
    place(dr_rao, t(9))
    place(dr_rao, t(9, 15), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 8, 10))
    place(dr_rao, t(9, 15), Appointment.Status.CANCELLED)
    place(dr_rao, t(9, 30), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 7, 59))

    def read(start, now=MORNING):
        return holding.read_slot(dr_rao.pk, WEDNESDAY, start, now)

    state = read(t(9))
    assert (state.doctor_name, state.on_duty, state.on_leave) == ("Dr. Rao", True, False)
    assert state.sessions == (Session(t(9), t(12), 15, 0),)
    assert (state.busy, state.lapsed) == (1, 0)
    assert (read(t(9, 15)).busy, read(t(9, 15)).lapsed) == (1, 0)  # cancelled: not counted
    assert (read(t(9, 15), at(WEDNESDAY, 8, 10)).busy, read(t(9, 15)).lapsed) == (0, 0)
    assert (read(t(9, 30)).busy, read(t(9, 30)).lapsed) == (0, 1)
    assert (read(t(9, 45)).busy, read(t(9, 45)).lapsed) == (0, 0)

    DoctorLeave.objects.create(doctor=dr_rao, start_date=WEDNESDAY, end_date=WEDNESDAY)
    dr_rao.on_duty = False
    dr_rao.save()
    assert (read(t(9)).on_duty, read(t(9)).on_leave) == (False, True)
    assert (
        holding.read_slot(dr_rao.pk, WEDNESDAY + datetime.timedelta(1), t(9), MORNING).sessions
        == ()
    )


def test_a_doctor_removed_meanwhile_is_refused_in_words(dr_rao, desk):
    from appointments.services import BookingError
    from hospital.models import Doctor

    gone = Doctor(pk=dr_rao.pk + 1000, name="Dr. Gone")
    with pytest.raises(BookingError, match="no longer on the list"):
        hold_slot(doctor=gone, day=WEDNESDAY, start=t(9), patient_name="Asha", mobile="98123 45678",
                  reason="Knee", actor=desk, now=MORNING)  # fmt: skip
    assert not Appointment.objects.exists()


@pytest.mark.usefixtures("outbox", "rao_morning")
def test_a_hold_is_one_read_then_a_few_ready_made_writes(dr_rao, desk, run_on_commit):
    """What keeps fifty desks fast: no query is built per request, and the write
    transaction holds only ready-made statements: the patient, then the appointment
    with its code and events (one statement on PostgreSQL), then, after commit, the
    SMS's Notification."""
    with CaptureQueriesContext(connection) as queries:
        run_on_commit(
            hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
            mobile="98123 45678", reason="Knee", actor=desk, now=MORNING,
        )  # fmt: skip
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    # appointment, code, events: one statement on PostgreSQL, three on SQLite
    held = ["WITH"] if connection.vendor == "postgresql" else ["INSERT"] * 3
    # (The test's own transaction turns BEGIN/COMMIT into a savepoint.)
    assert statements == [
        "SELECT",  # the slot: doctor, leave, sessions, occupants
        "SAVEPOINT",
        "INSERT",  # the patient, found or registered
        *held,
        "RELEASE",
        "INSERT",  # after commit: the SMS's Notification
    ]
    appointment = Appointment.objects.get()
    assert appointment.otps.count() == 1
    assert list(appointment.events.values_list("kind", "actor")) == [
        ("held", desk.pk),
        ("otp_sent", desk.pk),
    ]


def test_a_taken_slot_writes_no_code_and_no_events(dr_rao, desk, rao_morning):
    """The code and events are inserted from the appointment's row: when the slot is
    taken (nothing inserted), nothing else is either."""
    taken = place(dr_rao, t(9), Appointment.Status.HELD, hold_until=at(WEDNESDAY, 8, 10))
    appointment = Appointment(
        patient=taken.patient, doctor=dr_rao, date=WEDNESDAY, start=t(9), end=t(9, 15),
        reason="Knee", status=Appointment.Status.HELD, hold_expires_at=at(WEDNESDAY, 8, 10),
        created_at=MORNING,
    )  # fmt: skip
    challenge, _ = _new_code(appointment, taken.patient.mobile, MORNING)
    event = AppointmentEvent(appointment=appointment, kind="held", at=MORNING)
    assert not holding.insert_hold(appointment, challenge, [event])
    assert appointment.pk is None
    assert Appointment.objects.count() == 1
    assert not OtpChallenge.objects.exists() and not AppointmentEvent.objects.exists()

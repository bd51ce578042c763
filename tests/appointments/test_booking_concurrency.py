"""Races with real threads, each on its own database connection, on whichever database
the suite runs on (SQLite file by default, PostgreSQL with DATABASE_URL).

No slot is ever booked twice; a lost race is a BookingError a receptionist can read,
never an IntegrityError, "database is locked" or a 500."""

import datetime

import pytest

from appointments.booking import hold_slot, send_otp, verify_otp
from appointments.errors import BookingError
from appointments.models import Appointment, AppointmentEvent, OtpChallenge, Patient
from tests.appointments.conftest import MORNING, latest_code, t, texts, wrong
from tests.conftest import WEDNESDAY, at, make_receptionist, race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("outbox", "rao_morning"),
]

LOST = ("That slot was just taken. Please choose another.", "That slot is not free.")


NINE = t(9)


def holder(doctor, actor, mobile, *, start=NINE, now=MORNING):
    return lambda: hold_slot(
        doctor=doctor, day=WEDNESDAY, start=start, patient_name=f"Patient {mobile[-4:]}",
        mobile=mobile, reason="Knee pain", actor=actor, now=now,
    )  # fmt: skip


def losers(errors) -> list[BaseException]:
    """Errors that are not a readable "you lost the slot" message."""
    return [e for e in errors if not (isinstance(e, BookingError) and str(e).startswith(LOST))]


def slot_counts() -> list[int]:
    from django.db.models import Count

    taking = Appointment.objects.filter(status__in=Appointment.SLOT_TAKING)
    return list(
        taking.values("doctor", "date", "start").annotate(n=Count("id")).values_list("n", flat=True)
    )


def test_50_desks_holding_one_slot_at_once_give_exactly_one_hold(dr_rao, desk):
    jobs = [holder(dr_rao, desk, f"+9198123{i:05d}") for i in range(50)]
    results, errors = race(jobs)
    assert losers(errors) == []
    assert len(errors) == 49
    assert Appointment.objects.filter(status=Appointment.Status.HELD).count() == 1
    assert Appointment.objects.count() == 1
    (winner,) = [r for r in results if r is not None]
    assert winner.patient.mobile == Appointment.objects.get().patient.mobile
    assert len(texts("otp")) == 1  # only the winner's patient was texted


def desks(count: int) -> list:
    return [make_receptionist(f"desk{i}") for i in range(count)]


def test_one_new_patient_booked_from_many_desks_at_once_is_registered_once(dr_rao):
    starts = [t(9), t(9, 15), t(9, 30), t(9, 45), t(10), t(10, 15), t(10, 30), t(10, 45)]
    jobs = [
        holder(dr_rao, desk, "+919812345678", start=start)
        for desk, start in zip(desks(len(starts)), starts, strict=True)
    ]
    results, errors = race(jobs)
    assert Patient.objects.count() == 1
    # The daily limit of codes to one mobile holds under the rush too.
    assert Appointment.objects.count() == 5
    assert [str(e) for e in errors] == [
        "This mobile has already been sent 5 codes today, the most we send in a day. "
        "Please try again tomorrow."
    ] * 3


def test_desks_holding_different_slots_all_succeed(dr_rao, dr_iyer):
    from tests.appointments.test_slots import session

    session(dr_iyer, t(9), t(12))
    starts = [t(9 + i // 4, 15 * (i % 4)) for i in range(12)]
    slots = [(doctor, n, i, start) for n, doctor in enumerate([dr_rao, dr_iyer])
             for i, start in enumerate(starts)]  # fmt: skip
    jobs = [
        holder(doctor, desk, f"+9198{n}23{i:05d}", start=start)
        for desk, (doctor, n, i, start) in zip(desks(len(slots)), slots, strict=True)
    ]
    results, errors = race(jobs)
    assert errors == []
    assert Appointment.objects.filter(status=Appointment.Status.HELD).count() == 24
    assert max(slot_counts()) == 1


def test_a_lapsed_hold_retaken_by_many_desks_at_once_is_expired_once(dr_rao, desk):
    old = holder(dr_rao, desk, "+919800000000")()
    later = at(WEDNESDAY, 8, 10)
    jobs = [holder(dr_rao, desk, f"+9198123{i:05d}", now=later) for i in range(20)]
    results, errors = race(jobs)
    assert losers(errors) == [] and len(errors) == 19
    old.refresh_from_db()
    assert old.status == Appointment.Status.EXPIRED
    assert AppointmentEvent.objects.filter(kind="expired").count() == 1
    assert Appointment.objects.filter(status=Appointment.Status.HELD).count() == 1
    assert max(slot_counts()) == 1


def test_the_right_code_typed_at_two_desks_at_once_books_once(dr_rao, desk):
    held = holder(dr_rao, desk, "+919812345678")()
    code = latest_code()
    now = MORNING + datetime.timedelta(minutes=1)
    results, errors = race([lambda: verify_otp(held, code, actor=desk, now=now)] * 10)
    assert [str(e) for e in errors] == ["This appointment is already confirmed."] * 9
    held.refresh_from_db()
    assert held.status == Appointment.Status.BOOKED
    assert AppointmentEvent.objects.filter(kind="booked").count() == 1
    assert len(texts("confirmation")) == 1


def test_wrong_codes_typed_at_once_are_all_counted(dr_rao, desk):
    held = holder(dr_rao, desk, "+919812345678")()
    bad = wrong(latest_code())
    now = MORNING + datetime.timedelta(minutes=1)
    results, errors = race([lambda: verify_otp(held, bad, actor=desk, now=now)] * 12)
    assert len(errors) == 12 and all(isinstance(e, BookingError) for e in errors)
    challenge = OtpChallenge.objects.get()
    assert (challenge.attempts, challenge.status) == (5, OtpChallenge.Status.VOIDED)
    assert AppointmentEvent.objects.filter(kind="otp_failed").count() == 5


def test_resend_clicked_at_several_desks_at_once_sends_one_code(dr_rao, desk):
    held = holder(dr_rao, desk, "+919812345678")()
    now = MORNING + datetime.timedelta(minutes=2)
    results, errors = race([lambda: send_otp(held, actor=desk, now=now)] * 8)
    assert len(errors) == 7 and all("send a new code in" in str(e) for e in errors)
    assert OtpChallenge.objects.filter(status=OtpChallenge.Status.ACTIVE).count() == 1
    assert len(texts("otp")) == 2

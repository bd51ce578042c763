"""Trends over known days: two departments, known waits, no-shows, cancellations and
pauses, every figure checked exactly (hospital time zone: Asia/Kolkata, UTC+05:30), and
the same figures whether the days are counted live, read from their summaries, or both
(today live, the days before summarised)."""

import datetime

import pytest
from django.utils import timezone

from appointments import trends
from appointments.models import Appointment, AppointmentEvent, Patient
from queues.models import DeskEvent, Token
from tests.conftest import WEDNESDAY, at

SUNDAY = WEDNESDAY - datetime.timedelta(days=3)
MONDAY = WEDNESDAY - datetime.timedelta(days=2)
TUESDAY = WEDNESDAY - datetime.timedelta(days=1)
S = Token.Status
SECOND = datetime.timedelta(seconds=1)


def token(department, day, number, issued, *, wait=None, status=S.COMPLETED, done=None,
          queued=None, doctor=None):  # fmt: skip
    """A token issued at `issued`, called `wait` minutes after it joined the queue."""
    joined = max(queued or issued, issued)
    called = None if wait is None else joined + datetime.timedelta(minutes=wait)
    completed = None
    if status == S.COMPLETED:
        completed = done or called + datetime.timedelta(minutes=10)
    return Token.objects.create(
        department=department, service_date=day, number=number, patient_name="P",
        issued_at=issued, queued_at=queued or issued, called_at=called,
        started_at=called, completed_at=completed, status=status, doctor=doctor,
    )  # fmt: skip


def appointment_event(doctor, kind, when):
    patient = Patient.objects.create(name="Booked")
    appointment = Appointment.objects.create(
        patient=patient, doctor=doctor, date=when.date(), start=datetime.time(9),
        end=datetime.time(9, 15), reason="Check-up", status=Appointment.Status.CANCELLED,
        created_at=when,
    )  # fmt: skip
    AppointmentEvent.objects.create(appointment=appointment, kind=kind, at=when)


def desk(doctor, kind, when):
    DeskEvent.objects.create(department=doctor.department, doctor=doctor, kind=kind, at=when)


@pytest.fixture
def seed_rows(orth, card, dr_rao, dr_shah):
    # Monday, Orthopaedics: waits 10, 20, 30, 40 (seen), 50 (called, then skipped), one
    # cancelled before its call: 6 issued, 4 patients.
    for n, wait in enumerate([10, 20, 30, 40], start=1):
        token(orth, MONDAY, n, at(MONDAY, 9, n), wait=wait, doctor=dr_rao)
    token(orth, MONDAY, 5, at(MONDAY, 9, 30), wait=50, status=S.SKIPPED)
    token(orth, MONDAY, 6, at(MONDAY, 9, 40), status=S.CANCELLED)
    # Cardiology, Monday: waits 5 and 15 (15 min 59 s counts as 15 whole minutes).
    token(card, MONDAY, 1, at(MONDAY, 10), wait=5, doctor=dr_shah)
    t = token(card, MONDAY, 2, at(MONDAY, 10, 5), wait=15, doctor=dr_shah)
    Token.objects.filter(pk=t.pk).update(called_at=t.called_at + 59 * SECOND)
    # Tuesday, Orthopaedics: a patient back for review, sent out at 04:00 and given a
    # token at 04:20, called at 05:20 (a wait of 60 from the token, not 80), done at
    # 05:25 local, which is 23:55 UTC on Monday.
    token(orth, TUESDAY, 1, at(TUESDAY, 4, 20), queued=at(TUESDAY, 4), wait=60,
          done=at(TUESDAY, 5, 25), doctor=dr_rao)  # fmt: skip
    # Outside the range: not counted.
    token(orth, WEDNESDAY, 1, at(WEDNESDAY, 9), wait=99)
    # Appointments: a cardiology no-show and an orthopaedic cancellation on Monday (and
    # one on Wednesday, outside).
    appointment_event(dr_shah, AppointmentEvent.Kind.NO_SHOW, at(MONDAY, 12))
    appointment_event(dr_rao, AppointmentEvent.Kind.CANCELLED, at(MONDAY, 8))
    appointment_event(dr_rao, AppointmentEvent.Kind.CANCELLED, at(WEDNESDAY, 8))
    # Pauses: Dr. Rao 10:00-10:25 Monday; 11:00, again 11:10, back 11:30 Tuesday (30);
    # Dr. Shah "starting late" at 23:00 Monday, never resumed: to midnight (60).
    desk(dr_rao, DeskEvent.Kind.PAUSED, at(MONDAY, 10))
    desk(dr_rao, DeskEvent.Kind.RESUMED, at(MONDAY, 10, 25))
    desk(dr_rao, DeskEvent.Kind.PAUSED, at(TUESDAY, 11))
    desk(dr_rao, DeskEvent.Kind.PAUSED, at(TUESDAY, 11, 10))
    desk(dr_rao, DeskEvent.Kind.RESUMED, at(TUESDAY, 11, 30))
    desk(dr_shah, DeskEvent.Kind.LATE, at(MONDAY, 23))


# How the range is counted: every day live; every day from its summary (Wednesday
# evening: all three days are finished, and summarised on the way); Sunday and Monday
# from their summaries and Tuesday, today, live (Tuesday evening).
MODES = {
    "live": (at(WEDNESDAY, 18), False),
    "summaries": (at(WEDNESDAY, 18), True),
    "today live": (at(TUESDAY, 18), True),
}


@pytest.fixture(params=list(MODES))
def seeded(request, seed_rows, monkeypatch):
    now, summaries = MODES[request.param]
    monkeypatch.setattr(timezone, "now", lambda: now)
    return trends.trends(SUNDAY, TUESDAY, summaries=summaries)


def by_code(result):
    return {row.department.code: row.figures for row in result.departments}


def test_each_department_over_the_range(seeded):
    orth, card = by_code(seeded)["ORTH"], by_code(seeded)["CARD"]
    assert (orth.issued, orth.patients, orth.skipped, orth.tokens_cancelled) == (7, 5, 1, 1)
    assert (orth.no_shows, orth.cancellations, orth.paused_minutes) == (1, 2, 55)
    assert orth.no_show_rate == pytest.approx(1 / 7)
    # Waits 10, 20, 30, 40, 50, 60: nearest rank.
    assert (orth.median_wait, orth.p90_wait) == (30, 60)
    assert (card.issued, card.patients, card.no_shows, card.cancellations) == (2, 2, 1, 0)
    assert card.no_show_rate == pytest.approx(1 / 3)  # the no-show had no token
    assert (card.median_wait, card.p90_wait) == (5, 15)
    assert card.paused_minutes == 60


def test_each_day(seeded):
    days = {d.day: d for d in seeded.days}
    assert list(days) == [SUNDAY, MONDAY, TUESDAY]
    assert days[SUNDAY].figures.patients == 0
    assert days[SUNDAY].figures.median_wait is None
    monday = days[MONDAY]
    assert monday.figures.patients == 6
    assert monday.patients_by_department == {
        seeded.departments[0].department.pk: 2,
        seeded.departments[1].department.pk: 4,
    }
    # 5, 10, 15, 20, 30, 40, 50
    assert (monday.figures.median_wait, monday.figures.p90_wait) == (20, 50)
    assert (days[TUESDAY].figures.patients, days[TUESDAY].figures.median_wait) == (1, 60)
    assert days[TUESDAY].figures.paused_minutes == 30


def test_the_totals(seeded):
    total = seeded.total
    assert (total.issued, total.patients, total.no_shows, total.cancellations) == (9, 7, 2, 2)
    assert total.paused_minutes == 115
    assert total.no_show_rate == pytest.approx(2 / 10)
    # 5, 10, 15, 20, 30, 40, 50, 60
    assert (total.median_wait, total.p90_wait) == (20, 60)


def test_the_heatmap_is_on_the_hospitals_clock(seeded):
    # Monday's patients were done 09:11-10:30 local; Tuesday's at 05:25 local, which is
    # 23:55 UTC on Monday: it is in Tuesday's 05:00 cell, not Monday's 23:00.
    assert seeded.heatmap == {(1, 9): 4, (1, 10): 2, (2, 5): 1}
    assert seeded.hours == list(range(5, 11))


def test_departments_in_order_and_an_empty_range(db):
    empty = trends.trends(SUNDAY, TUESDAY)
    assert empty.departments == [] and empty.heatmap == {} and empty.hours == []
    assert [d.figures.patients for d in empty.days] == [0, 0, 0]
    assert empty.total.no_show_rate is None


@pytest.mark.parametrize(
    "histogram, median, p90",
    [({}, None, None), ({7: 1}, 7, 7), ({1: 9, 100: 1}, 1, 1), ({1: 8, 100: 2}, 1, 100)],
)
def test_percentiles_by_nearest_rank(histogram, median, p90):
    assert trends.percentile(histogram, 0.5) == median
    assert trends.percentile(histogram, 0.9) == p90


def test_the_default_range_is_the_last_four_weeks():
    assert trends.default_range(WEDNESDAY) == (WEDNESDAY - datetime.timedelta(days=27), WEDNESDAY)

"""The trends report's per-day summaries: what a row holds, that building is idempotent,
that a finished day is summarised once (and summarise_days rebuilds it), the worker's
nightly job and its schedule."""

# ruff: noqa: F811 (the seed_rows fixture, imported)
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from appointments import summaries, trends
from appointments.models import DaySummary, SummarisedDay
from queues.models import Token
from tests.appointments.test_trends import MONDAY, SUNDAY, TUESDAY, seed_rows  # noqa: F401
from tests.conftest import WEDNESDAY, at


@pytest.fixture
def evening(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 18))


def rows(day) -> dict:
    return {
        s.department.code: s
        for s in DaySummary.objects.filter(service_date=day).select_related("department")
    }


def test_a_days_rows_hold_its_figures(seed_rows, evening):
    assert summaries.build(SUNDAY, TUESDAY) == 3
    assert set(SummarisedDay.objects.values_list("day", flat=True)) == {SUNDAY, MONDAY, TUESDAY}
    assert rows(SUNDAY) == {}  # nobody came: a marker, no rows
    orth, card = rows(MONDAY)["ORTH"], rows(MONDAY)["CARD"]
    assert (orth.issued, orth.patients, orth.skipped, orth.tokens_cancelled) == (6, 4, 1, 1)
    assert (orth.appointment_no_shows, orth.appointment_cancellations) == (0, 1)
    assert orth.paused_minutes == 25
    assert orth.waits == {"10": 1, "20": 1, "30": 1, "40": 1, "50": 1}
    assert orth.completions == {"1-9": 4}
    assert (card.issued, card.appointment_no_shows, card.paused_minutes) == (2, 1, 60)
    assert card.waits == {"5": 1, "15": 1}
    # Tuesday's patient was seen at 05:25 local (23:55 UTC on Monday).
    assert rows(TUESDAY)["ORTH"].completions == {"2-5": 1}


def test_the_same_figures_with_and_without_summaries(seed_rows, evening):
    live = trends.trends(SUNDAY, TUESDAY, summaries=False)
    assert not SummarisedDay.objects.exists()
    assert trends.trends(SUNDAY, TUESDAY) == live  # summarised on the way
    assert trends.trends(SUNDAY, TUESDAY) == live  # read back
    # A range that begins inside the summarised days and ends today.
    today = WEDNESDAY
    assert trends.trends(MONDAY, today) == trends.trends(MONDAY, today, summaries=False)


def test_building_again_changes_nothing(seed_rows, evening):
    summaries.build(SUNDAY, TUESDAY)
    before = list(DaySummary.objects.order_by("service_date", "department").values())
    summaries.build(SUNDAY, TUESDAY)
    after = list(DaySummary.objects.order_by("service_date", "department").values())
    assert [{**r, "id": 0} for r in after] == [{**r, "id": 0} for r in before]
    assert SummarisedDay.objects.count() == 3


def test_today_and_later_days_are_never_summarised(seed_rows, evening):
    assert summaries.build(TUESDAY, WEDNESDAY + datetime.timedelta(days=3)) == 1
    assert list(SummarisedDay.objects.values_list("day", flat=True)) == [TUESDAY]
    assert summaries.ensure(WEDNESDAY, WEDNESDAY) == 0


def test_a_finished_day_is_summarised_once_and_summarise_days_rebuilds_it(
    seed_rows,
    evening,
):
    assert trends.trends(MONDAY, MONDAY).total.issued == 8
    # An admin's edit to a past day: the summary stands until the command is run.
    Token.objects.filter(service_date=MONDAY, number=6, department__code="ORTH").delete()
    assert trends.trends(MONDAY, MONDAY).total.issued == 8
    out = io.StringIO()
    call_command("summarise_days", "--from", MONDAY.isoformat(), "--to", MONDAY.isoformat(),
                 stdout=out)  # fmt: skip
    assert "Summarised 1 day(s) from 2026-11-16 to 2026-11-16" in out.getvalue()
    assert trends.trends(MONDAY, MONDAY).total.issued == 7


def test_summarise_days_stops_at_yesterday_and_can_fill_only_the_gaps(
    seed_rows,
    evening,
):
    summaries.build(MONDAY, MONDAY)
    out = io.StringIO()
    call_command("summarise_days", "--from", SUNDAY.isoformat(), "--to", "2026-12-31",
                 "--missing", stdout=out)  # fmt: skip
    assert "stopping at 2026-11-17" in out.getvalue()
    assert "Summarised 2 day(s)" in out.getvalue()
    call_command("summarise_days", stdout=(out := io.StringIO()))  # yesterday
    assert "Summarised 1 day(s) from 2026-11-17 to 2026-11-17" in out.getvalue()
    with pytest.raises(CommandError, match="not a date"):
        call_command("summarise_days", "--from", "2026-02-30")
    with pytest.raises(CommandError, match="comes after"):
        call_command("summarise_days", "--from", TUESDAY.isoformat(), "--to", SUNDAY.isoformat())


def test_the_nightly_job_rebuilds_yesterday_and_fills_the_gaps(seed_rows, evening):
    summaries.build(TUESDAY, TUESDAY)
    built_at = SummarisedDay.objects.get(day=TUESDAY).built_at
    assert summaries.nightly() == trends.MAX_DAYS + 1
    assert SummarisedDay.objects.get(day=TUESDAY).built_at >= built_at
    assert SummarisedDay.objects.count() == trends.MAX_DAYS + 1
    assert rows(MONDAY)["ORTH"].issued == 6
    assert summaries.nightly() == 1  # only yesterday again


def test_a_day_built_meanwhile_by_another_request_is_not_an_error(
    seed_rows,
    evening,
    monkeypatch,
):
    real = summaries._build_run

    def raced(first, last):
        real(first, last)  # the other request's rows...
        raise IntegrityError("duplicate key")  # ...and this one's insert failing on them

    monkeypatch.setattr(summaries, "_build_run", raced)
    assert summaries.ensure(SUNDAY, TUESDAY) == 0
    assert SummarisedDay.objects.count() == 3

    def failed(first, last):
        raise IntegrityError("something else")

    SummarisedDay.objects.all().delete()
    monkeypatch.setattr(summaries, "_build_run", failed)
    with pytest.raises(IntegrityError):
        summaries.ensure(SUNDAY, TUESDAY)


def test_the_worker_runs_the_nightly_job(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="summarise_days")
    assert schedule.func == "appointments.summaries.nightly"
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
    local = timezone.localtime(schedule.next_run)
    assert (local.hour, local.minute) == (1, 30)


def test_runs_of_consecutive_days_are_cut_into_chunks():
    days = [SUNDAY + datetime.timedelta(days=n) for n in (0, 1, 2, 5, *range(10, 45))]
    first_of_long_run = SUNDAY + datetime.timedelta(days=10)
    assert summaries._chunks(days) == [
        (SUNDAY, TUESDAY),
        (SUNDAY + datetime.timedelta(days=5),) * 2,
        (first_of_long_run, first_of_long_run + datetime.timedelta(days=30)),
        (first_of_long_run + datetime.timedelta(days=31), SUNDAY + datetime.timedelta(days=44)),
    ]


def test_the_admin_shows_the_summaries_read_only(staff, seed_rows, evening):
    from django.urls import reverse

    summaries.build(MONDAY, MONDAY)
    page = staff.get(reverse("admin:appointments_daysummary_changelist"))
    assert page.status_code == 200 and "Orthopedic Surgery" in page.content.decode()
    row = DaySummary.objects.first()
    change = staff.get(reverse("admin:appointments_daysummary_change", args=[row.pk]))
    assert change.status_code == 200 and 'name="patients"' not in change.content.decode()
    assert staff.get(reverse("admin:appointments_daysummary_add")).status_code == 403

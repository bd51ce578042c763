"""Per-day summaries for the trends report: one DaySummary row per finished day and
department, so a range of 90 days of a large OPD reads ~90 x 30 small rows instead of
every token (docs/PERFORMANCE.md).

The rule: a finished day (before today on the hospital's clock, settings.TIME_ZONE) is
summarised once, from its rows, by appointments.trends.count_days, the very function
that counts today live, so the figures are the same either way. Summaries are built

- by the worker each night (`nightly`, a django-q2 schedule: yesterday again, and any
  finished day of the last year that has none);
- by the report itself, for any finished day of its range that has none (`ensure`);
- by `manage.py summarise_days --from DAY --to DAY`, which rebuilds those days: run it
  after changing a past day's rows (an admin's edit) or settings.TIME_ZONE.

Building is idempotent: a day's rows are deleted and written again, with the day's
SummarisedDay marker (a day nobody came has a marker and no rows), in one transaction.
"""

import datetime
import time
from collections import Counter

from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments import trends
from appointments.models import DaySummary, SummarisedDay
from hospital.clock import local_today

CHUNK_DAYS = 31  # days counted by one set of queries (and committed together)
NIGHTLY_LOOKBACK_DAYS = trends.MAX_DAYS
NIGHTLY_BUDGET_SECONDS = 40  # the worker's task timeout is 60 s (Q_CLUSTER)

ONE_DAY = datetime.timedelta(days=1)


def last_finished_day(today: datetime.date | None = None) -> datetime.date:
    return (today or local_today()) - ONE_DAY


def build(start: datetime.date, end: datetime.date) -> int:
    """(Re)build the summaries of every finished day in start..end; today and later
    days are left alone (they are counted live). Returns the number of days built."""
    end = min(end, last_finished_day())
    built = 0
    for first, last in _chunks(_days(start, end)):
        _build_run(first, last)
        built += (last - first).days + 1
    return built


def ensure(start: datetime.date, end: datetime.date) -> int:
    """Build the finished days of start..end that have no summary yet; the number built.

    Two requests may build the same day at once: the second one's insert fails on the
    unique constraints once the first has committed, and the first one's rows stand."""
    missing = missing_days(start, min(end, last_finished_day()))
    built = 0
    for first, last in _chunks(missing):
        try:
            _build_run(first, last)
        except IntegrityError:
            if missing_days(first, last):
                raise
            continue  # built by another request meanwhile
        built += (last - first).days + 1
    return built


def missing_days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    if start > end:
        return []
    done = set(SummarisedDay.objects.filter(day__range=(start, end)).values_list("day", flat=True))
    return [day for day in _days(start, end) if day not in done]


def nightly(today: datetime.date | None = None) -> int:
    """The worker's nightly job: rebuild yesterday (a token may have been finished after
    midnight, after the report first summarised it), then any finished day of the last
    year that has no summary, oldest last, while the time budget lasts."""
    deadline = time.monotonic() + NIGHTLY_BUDGET_SECONDS
    yesterday = last_finished_day(today)
    built = build(yesterday, yesterday)
    missing = missing_days(yesterday - datetime.timedelta(days=NIGHTLY_LOOKBACK_DAYS), yesterday)
    for first, last in reversed(_chunks(missing)):
        if time.monotonic() > deadline:
            break
        try:
            _build_run(first, last)
        except IntegrityError:
            continue
        built += (last - first).days + 1
    return built


def read(start: datetime.date, end: datetime.date) -> trends.Counts:
    """The stored summaries of start..end as the Counts count_days would give."""
    counts = trends.Counts()
    rows = DaySummary.objects.filter(service_date__range=(start, end)).order_by().values_list(
        "service_date", "department", "issued", "patients", "skipped", "tokens_cancelled",
        "appointment_no_shows", "appointment_cancellations", "paused_minutes", "waits",
        "completions",
    )  # fmt: skip
    for (day, department_id, issued, patients, skipped, cancelled, no_shows,
         appointment_cancellations, paused, waits, completions) in rows:  # fmt: skip
        key = day, department_id
        counts.figures[key] = trends.Figures(
            issued=issued, patients=patients, skipped=skipped, tokens_cancelled=cancelled,
            appointment_no_shows=no_shows, appointment_cancellations=appointment_cancellations,
            paused_minutes=paused, waits=Counter({int(m): n for m, n in waits.items()}),
        )  # fmt: skip
        if completions:
            counts.completions[key] = Counter({_cell(cell): n for cell, n in completions.items()})
    return counts


def _cell(text: str) -> tuple[int, int]:
    weekday, hour = text.split("-")
    return int(weekday), int(hour)


def _rows(counts: trends.Counts) -> list[DaySummary]:
    rows = []
    for (day, department_id), f in counts.figures.items():
        cells = counts.completions.get((day, department_id), {})
        rows.append(
            DaySummary(
                service_date=day, department_id=department_id, issued=f.issued,
                patients=f.patients, skipped=f.skipped, tokens_cancelled=f.tokens_cancelled,
                appointment_no_shows=f.appointment_no_shows,
                appointment_cancellations=f.appointment_cancellations,
                paused_minutes=f.paused_minutes,
                waits={str(m): n for m, n in sorted(f.waits.items())},
                completions={f"{w}-{h}": n for (w, h), n in sorted(cells.items())},
            )
        )  # fmt: skip
    return rows


def _build_run(first: datetime.date, last: datetime.date) -> None:
    """Count first..last (consecutive finished days) and replace their summaries."""
    counts = trends.count_days(first, last)
    now = timezone.now()
    with transaction.atomic():
        DaySummary.objects.filter(service_date__range=(first, last)).delete()
        SummarisedDay.objects.filter(day__range=(first, last)).delete()
        DaySummary.objects.bulk_create(_rows(counts), batch_size=1000)
        SummarisedDay.objects.bulk_create(
            SummarisedDay(day=day, built_at=now) for day in _days(first, last)
        )


def _days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


def _chunks(days: list[datetime.date]) -> list[tuple[datetime.date, datetime.date]]:
    """Sorted days as runs of consecutive days, at most CHUNK_DAYS each."""
    runs: list[tuple[datetime.date, datetime.date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + ONE_DAY and (day - runs[-1][0]).days < CHUNK_DAYS:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs

"""Trends over a range of days: what the OPD did day by day and department by department.

Every figure is counted per day and department in the database by a handful of GROUP BY
queries (count_days: tokens, wait histograms, completions by weekday and hour,
appointment events), never by reading every token into Python. A finished day's counts
are stored once as DaySummary rows (appointments.summaries) and read back from them, so
90 days of a large OPD (over a million tokens) read ~2,700 rows; today is counted live.
Definitions (the page's footnote says the same):

- patients: tokens completed (a patient seen in two departments counts in each);
- tokens issued: every token of the day, first stops and stops a patient was sent on to;
- wait: from the token joining its queue (the later of Token.queued_at and issued_at, as
  the daily report counts a stop's wait) to its first call, in whole minutes; median and
  90th percentile by nearest rank, over the tokens that were called;
- no-shows: tokens whose status is "skipped (no-show)" plus appointments marked no-show
  (their day is the day they were marked). A booked patient who never came was given no
  token, so they count in the rate's denominator too:
  no-show rate = no-shows / (tokens issued + appointment no-shows);
- cancellations: tokens cancelled plus appointments cancelled that day (the day of the
  cancellation, the department of the appointment's doctor);
- patients per hour: completions by weekday and hour on the hospital's clock
  (settings.TIME_ZONE);
- paused minutes: a doctor's or counter's pause runs from a "paused" or "starting late"
  event to that desk's next "resumed" event, or to the end of that day.
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, Func, IntegerField, Q
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, Greatest, TruncDate
from django.utils import timezone

from appointments.models import AppointmentEvent
from hospital.clock import day_bounds, local_today
from hospital.models import Department
from queues.models import DeskEvent, Token

DEFAULT_DAYS = 28
MAX_DAYS = 366
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def default_range(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last four weeks, today included."""
    end = today or local_today()
    return end - datetime.timedelta(days=DEFAULT_DAYS - 1), end


# --- Waits ---------------------------------------------------------------------------------


class WaitMinutes(Func):
    """Whole minutes from the first expression to the second (a later time).

    Neither backend lets the ORM take a percentile the same way (PostgreSQL has
    percentile_cont, SQLite nothing), and subtracting two datetimes gives an interval on
    PostgreSQL but microseconds on SQLite. So the database only buckets each wait into
    whole minutes and counts the tokens per bucket (a histogram a few hundred rows
    long); the median and the 90th percentile are read off the histogram in Python.
    """

    arity = 2
    output_field = IntegerField()

    def _operands(self, compiler):
        early_sql, early_params = compiler.compile(self.source_expressions[0])
        late_sql, late_params = compiler.compile(self.source_expressions[1])
        return early_sql, late_sql, (*late_params, *early_params)

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        early, late, params = self._operands(compiler)
        return f"FLOOR(EXTRACT(EPOCH FROM ({late} - {early})) / 60)::integer", params

    def as_sqlite(self, compiler, connection, **extra):
        # strftime('%s') is whole seconds since the epoch: integer arithmetic, no
        # floating-point 9.9999 minutes for a wait of exactly ten.
        early, late, params = self._operands(compiler)
        sql = (
            f"((CAST(strftime('%%s', {late}) AS INTEGER)"
            f" - CAST(strftime('%%s', {early}) AS INTEGER)) / 60)"
        )
        return sql, params


def percentile(histogram: dict[int, int], fraction: float) -> int | None:
    """Nearest-rank percentile of a {minutes: count} histogram; None when it is empty."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, -(-int(round(fraction * total * 1000)) // 1000))  # ceil, float-safe
    seen = 0
    for minutes in sorted(histogram):
        seen += histogram[minutes]
        if seen >= rank:
            return minutes
    return max(histogram)  # pragma: no cover (rank <= total)


# --- Results -------------------------------------------------------------------------------


@dataclass
class Figures:
    """The counts of one department, one day, or all of them."""

    issued: int = 0
    patients: int = 0
    skipped: int = 0
    tokens_cancelled: int = 0
    appointment_no_shows: int = 0
    appointment_cancellations: int = 0
    paused_minutes: float = 0.0
    waits: Counter = field(default_factory=Counter)  # whole minutes -> tokens

    @property
    def no_shows(self) -> int:
        return self.skipped + self.appointment_no_shows

    @property
    def no_show_rate(self) -> float | None:
        expected = self.issued + self.appointment_no_shows
        return self.no_shows / expected if expected else None

    @property
    def cancellations(self) -> int:
        return self.tokens_cancelled + self.appointment_cancellations

    @property
    def called(self) -> int:
        return sum(self.waits.values())

    @property
    def median_wait(self) -> int | None:
        return percentile(self.waits, 0.5)

    @property
    def p90_wait(self) -> int | None:
        return percentile(self.waits, 0.9)

    def add(self, other: "Figures", *, waits: bool = True) -> None:
        self.issued += other.issued
        self.patients += other.patients
        self.skipped += other.skipped
        self.tokens_cancelled += other.tokens_cancelled
        self.appointment_no_shows += other.appointment_no_shows
        self.appointment_cancellations += other.appointment_cancellations
        self.paused_minutes += other.paused_minutes
        if waits:
            self.waits.update(other.waits)


@dataclass
class DayFigures:
    day: datetime.date
    figures: Figures
    patients_by_department: dict[int, int]  # department pk -> patients


@dataclass
class DepartmentFigures:
    department: Department
    figures: Figures


@dataclass
class Trends:
    start: datetime.date
    end: datetime.date
    days: list[DayFigures]
    departments: list[DepartmentFigures]
    total: Figures
    heatmap: dict[tuple[int, int], int]  # (ISO weekday 1-7, local hour) -> patients

    @property
    def day_count(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def hours(self) -> list[int]:
        """The hours of the day with any patient, first to last (gaps kept)."""
        if not self.heatmap:
            return []
        hours = [hour for _, hour in self.heatmap]
        return list(range(min(hours), max(hours) + 1))


# --- Computing -----------------------------------------------------------------------------


@dataclass
class Counts:
    """Per (day, department pk): the Figures (waits included) and the completions by
    (ISO weekday, local hour). The unit a finished day's summary stores
    (appointments.summaries) and today's figures are counted live in; a range is their
    sum (_assemble)."""

    figures: dict[tuple[datetime.date, int], Figures] = field(
        default_factory=lambda: defaultdict(Figures)
    )
    completions: dict[tuple[datetime.date, int], Counter] = field(
        default_factory=lambda: defaultdict(Counter)
    )

    def update(self, other: "Counts") -> None:
        """Add another range's counts (its days are not this range's days)."""
        self.figures.update(other.figures)
        self.completions.update(other.completions)


def trends(start: datetime.date, end: datetime.date, *, summaries: bool = True) -> Trends:
    """The figures of start..end. Finished days (before today on the hospital's clock)
    are read from their DaySummary rows, built here first for any day that has none;
    today and later days are counted live. summaries=False counts every day live (the
    tests compare the two)."""
    counts = Counts()
    live_from = start
    if summaries:
        from appointments import summaries as stored

        last_finished = min(end, local_today() - datetime.timedelta(days=1))
        if start <= last_finished:
            stored.ensure(start, last_finished)
            counts = stored.read(start, last_finished)
            live_from = last_finished + datetime.timedelta(days=1)
    if live_from <= end:
        counts.update(count_days(live_from, end))
    return _assemble(start, end, counts)


def count_days(start: datetime.date, end: datetime.date) -> Counts:
    """Count start..end from the token, desk and appointment rows, per day and department:
    a handful of GROUP BY queries, never a token read into Python."""
    tz = timezone.get_current_timezone()
    begins, _ = day_bounds(start)
    _, ends = day_bounds(end)
    counts = Counts()
    per = counts.figures
    # Every department spelled out (a token's department is one of them): for a day or
    # two, PostgreSQL then reads the (department, service_date, status) index instead
    # of scanning every token (13 ms instead of 230 ms for a day of 15,000 tokens).
    departments = list(Department.objects.order_by().values_list("pk", flat=True))
    tokens = Token.objects.filter(
        department__in=departments, service_date__range=(start, end)
    ).order_by()

    S = Token.Status
    for row in tokens.values("service_date", "department").annotate(
        issued=Count("pk"),
        patients=Count("pk", filter=Q(status=S.COMPLETED)),
        skipped=Count("pk", filter=Q(status=S.SKIPPED)),
        cancelled=Count("pk", filter=Q(status=S.CANCELLED)),
    ):
        f = per[row["service_date"], row["department"]]
        f.issued, f.patients = row["issued"], row["patients"]
        f.skipped, f.tokens_cancelled = row["skipped"], row["cancelled"]

    waits = tokens.filter(called_at__isnull=False).annotate(
        wait=WaitMinutes(Greatest("queued_at", "issued_at"), F("called_at"))
    )
    for row in waits.values("service_date", "department", "wait").annotate(n=Count("pk")):
        per[row["service_date"], row["department"]].waits[max(row["wait"] or 0, 0)] += row["n"]

    completed = tokens.filter(status=S.COMPLETED, completed_at__isnull=False)
    for row in (
        completed.annotate(
            weekday=ExtractIsoWeekDay("completed_at", tzinfo=tz),
            hour=ExtractHour("completed_at", tzinfo=tz),
        )
        .values("service_date", "department", "weekday", "hour")
        .annotate(n=Count("pk"))
    ):
        key = row["service_date"], row["department"]
        counts.completions[key][row["weekday"], row["hour"]] += row["n"]

    AK = AppointmentEvent.Kind
    for row in (
        AppointmentEvent.objects.filter(
            at__gte=begins, at__lt=ends, kind__in=[AK.NO_SHOW, AK.CANCELLED]
        )
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day", "kind", "appointment__doctor__department")
        .annotate(n=Count("appointment", distinct=True))
        .order_by()
    ):
        f = per[row["day"], row["appointment__doctor__department"]]
        if row["kind"] == AK.NO_SHOW:
            f.appointment_no_shows += row["n"]
        else:
            f.appointment_cancellations += row["n"]

    for (day, department_id), minutes in paused_minutes(begins, ends).items():
        per[day, department_id].paused_minutes += minutes
    return counts


def paused_minutes(begins, ends) -> dict[tuple[datetime.date, int], float]:
    """Minutes each department's desks were paused, per local day.

    A few rows a desk a day, so they are read in time order and paired here.
    """
    result: dict[tuple[datetime.date, int], float] = defaultdict(float)
    open_since: dict[tuple, tuple] = {}  # desk -> (department, paused at)

    def close(desk, until):
        department_id, since = open_since.pop(desk)
        day = timezone.localdate(since)
        _, day_end = day_bounds(day)
        stop = min(until, day_end) if until is not None else day_end
        result[day, department_id] += max((stop - since).total_seconds(), 0) / 60

    K = DeskEvent.Kind
    rows = (
        DeskEvent.objects.filter(at__gte=begins, at__lt=ends)
        .order_by("at", "pk")
        .values_list("department", "doctor", "counter", "kind", "at")
    )
    for department_id, doctor_id, counter_id, kind, at in rows:
        desk = (doctor_id, counter_id)
        if desk in open_since and timezone.localdate(open_since[desk][1]) != timezone.localdate(at):
            close(desk, None)  # the day ended first
        if kind == K.RESUMED:
            if desk in open_since:
                close(desk, at)
        elif desk not in open_since:  # paused again while paused: still the first pause
            open_since[desk] = (department_id, at)
    for desk in list(open_since):
        close(desk, None)
    return result


def _assemble(start, end, counts: Counts) -> Trends:
    per = counts.figures
    departments = {d.pk: d for d in Department.objects.filter(pk__in={pk for _, pk in per})}
    days: dict[datetime.date, DayFigures] = {}
    day = start
    while day <= end:
        days[day] = DayFigures(day, Figures(), {})
        day += datetime.timedelta(days=1)
    rows = {pk: DepartmentFigures(d, Figures()) for pk, d in departments.items()}
    total = Figures()
    for (day, department_id), f in per.items():
        if day not in days or department_id not in rows:
            continue  # pragma: no cover (an event on a day outside the range)
        days[day].figures.add(f)
        days[day].patients_by_department[department_id] = f.patients
        rows[department_id].figures.add(f)
        total.add(f, waits=False)
    for row in rows.values():
        total.waits.update(row.figures.waits)
    heatmap: Counter = Counter()
    for (day, _), cells in counts.completions.items():
        if start <= day <= end:
            heatmap.update(cells)
    ordered = sorted(rows.values(), key=lambda r: (r.department.kind, r.department.name))
    return Trends(start, end, list(days.values()), ordered, total, dict(heatmap))

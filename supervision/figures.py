"""What the supervisor board shows per department, for every department at once.

A fixed handful of queries whatever the number of departments (pinned by
tests/supervision/test_figures.py): the board is recomputed on every queue change while a
supervisor watches, so it must not cost a query per department or per desk.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Min, Q
from django.utils import timezone

from hospital.clock import day_start, local_today
from hospital.languages import localized
from hospital.models import Counter, Department, Doctor
from queues.models import Token

# "Average wait over the last hour": over the patients called in this window.
RECENT_WINDOW = datetime.timedelta(hours=1)
# Patients seen per hour is counted from the day's first call; before an hour has passed
# it is counted over one hour, so three patients in ten minutes is not "18 an hour".
MIN_RATE_HOURS = 1.0


@dataclass
class DepartmentFigures:
    department_id: int
    name: str
    code: str
    slug: str
    is_service: bool
    waiting: int = 0
    being_seen: int = 0
    longest_wait_minutes: int | None = None  # of those waiting now; None: nobody waits
    average_wait_minutes: int | None = None  # of those called in the last hour
    seen_today: int = 0
    seen_per_hour: float | None = None  # None before the day's first call
    desks_on_duty: int = 0
    desks_paused: int = 0
    desks_idle: int = 0
    # The name in the page's language (English if none was given).
    local_name: str = ""
    # Filled by supervision.services.judged_figures: why the tile is red, in words; in
    # English for the alert's record, and in the page's language for the tile.
    reasons: list[str] = field(default_factory=list)
    reasons_shown: list[str] = field(default_factory=list)

    @property
    def over_threshold(self) -> bool:
        return bool(self.reasons)

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)

    @property
    def reason_shown(self) -> str:
        return "; ".join(self.reasons_shown or self.reasons)

    @property
    def shown_name(self) -> str:
        return self.local_name or self.name


def _minutes(delta: datetime.timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def department_figures(now: datetime.datetime | None = None) -> list[DepartmentFigures]:
    """Figures for every active department, clinical then service, by name."""
    now = now or timezone.now()
    today = local_today(now)
    # A token taken on an earlier day for today waits from the start of today, as in
    # queues.reading.wait_started.
    opened = day_start(today)

    departments = list(Department.objects.filter(is_active=True).order_by("kind", "name"))
    figures = {
        d.pk: DepartmentFigures(
            department_id=d.pk,
            name=d.name,
            local_name=localized(d),
            code=d.code,
            slug=d.slug,
            is_service=d.is_service,
        )
        for d in departments
    }
    if not figures:
        return []

    today_tokens = Token.objects.filter(service_date=today, department_id__in=figures)
    waiting = Q(status=Token.Status.WAITING)
    rows = today_tokens.values("department_id").annotate(
        waiting=Count("pk", filter=waiting),
        being_seen=Count("pk", filter=Q(status__in=Token.OPEN_STATUSES)),
        seen=Count("pk", filter=Q(status=Token.Status.COMPLETED)),
        # The wait at this stop began when the token was issued (a patient sent back for
        # review ranks by an earlier queued_at, but was elsewhere until issued here).
        oldest_waiting=Min("issued_at", filter=waiting),
        first_call=Min("called_at"),
    )
    for row in rows:
        f = figures[row["department_id"]]
        f.waiting = row["waiting"]
        f.being_seen = row["being_seen"]
        f.seen_today = row["seen"]
        if row["oldest_waiting"] is not None:
            f.longest_wait_minutes = _minutes(now - max(row["oldest_waiting"], opened))
        if row["first_call"] is not None:
            hours = max(MIN_RATE_HOURS, (now - row["first_call"]).total_seconds() / 3600)
            f.seen_per_hour = round(row["seen"] / hours, 1)

    recent: dict[int, list[float]] = defaultdict(list)
    calls = today_tokens.filter(called_at__gte=now - RECENT_WINDOW, called_at__lte=now)
    for department_id, issued_at, called_at in calls.values_list(
        "department_id", "issued_at", "called_at"
    ):
        recent[department_id].append((called_at - max(issued_at, opened)).total_seconds())
    for department_id, waits in recent.items():
        figures[department_id].average_wait_minutes = round(max(0.0, sum(waits) / len(waits)) / 60)

    _count_desks(figures)
    return list(figures.values())


def _count_desks(figures: dict[int, DepartmentFigures]) -> None:
    """Desks on duty as queues.reading.doctors_on_duty counts them (doctors on duty; a
    service department's active counters with someone working them), and of those the
    paused and the idle: not paused, and with no patient called or in consultation."""
    busy = Token.objects.filter(status__in=Token.OPEN_STATUSES).values_list(
        "doctor_id", "counter_id"
    )
    busy_doctors, busy_counters = set(), set()
    for doctor_id, counter_id in busy:
        busy_doctors.add(doctor_id)
        busy_counters.add(counter_id)

    doctors = Doctor.objects.filter(on_duty=True, department_id__in=figures).values_list(
        "pk", "department_id", "paused_at"
    )
    desks = [
        (department_id, paused_at, pk in busy_doctors) for pk, department_id, paused_at in doctors
    ]
    service = [pk for pk, f in figures.items() if f.is_service]
    counters = (
        Counter.objects.filter(is_active=True, staff__isnull=False, department_id__in=service)
        .distinct()
        .values_list("pk", "department_id", "paused_at")
    )
    desks += [
        (department_id, paused_at, pk in busy_counters) for pk, department_id, paused_at in counters
    ]

    for department_id, paused_at, is_busy in desks:
        f = figures[department_id]
        f.desks_on_duty += 1
        if paused_at is not None:
            f.desks_paused += 1
        elif not is_busy:
            f.desks_idle += 1

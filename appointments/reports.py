"""The end-of-day report: what happened at the OPD on one day, from the history.

Every figure comes from the event rows (AppointmentEvent, TokenEvent) whose time falls on
the day (local time), and from the tokens' and appointments' own times:

- booked: appointments confirmed that day (BOOKED or WALK_IN events), for any date;
- completed: booked patients whose consultation was completed that day (a COMPLETED
  token event of a token that belongs to an appointment);
- no-shows, cancellations (counted per reason), reschedules: those events that day;
- walk-ins: WALK_IN events that day (including patients given a slot from the waiting
  list); emergencies: those of them that were emergencies;
- still waiting: waiting-list entries that had arrived by the day's end and were not
  yet given a slot or gone by then;
- per doctor: appointments in that doctor's slots that day (not cancelled, not an
  expired hold), and over the tokens that doctor called that day: patients seen, average
  wait (issue to first call) and consultation (start to completion), as the doctor's
  terminal counts them (queues.reading.day_figures); free slots left: the regular slots
  of the day nobody is booked into;
- patients per hour: consultations completed in each hour (COMPLETED token events);
- per service counter (laboratory, pharmacy...): over the tokens that counter called that
  day, patients served, average wait and average time at the counter, as for doctors;
- visits (a patient's stops through the OPD on the day, queues.Visit): stops made (those
  not cancelled, planned ones included), door-to-door time (the visit's start to its
  close, or to its last token's completion while it is still open), and the wait at each
  stop: from when the patient joined that stop's queue to the call. A patient back for
  review ranks from when the doctor sent them out (Token.queued_at), but only waited in
  the queue from when their token was given (after the laboratory, say): the later of
  the two counts, so the laboratory's time is not counted as waiting for the doctor.
- paused minutes, per doctor and per counter: a pause runs from a "paused" or "starting
  late" event of that day to the desk's next "resumed" event, or to the day's end (or
  now, for today); pausing again while paused continues the same pause.
"""

import datetime
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from appointments.models import Appointment, AppointmentEvent, DoctorSchedule, WaitingListEntry
from appointments.slots import day_slots, leave_on, taking_slots
from hospital.clock import day_bounds
from hospital.models import Counter as ServiceCounter
from hospital.models import Department, Doctor
from queues.models import DeskEvent, Token, TokenEvent, Visit, VisitStop
from queues.reading import day_figures

NO_REASON = gettext_noop("No reason given")


@dataclass(frozen=True)
class DoctorRow:
    doctor: Doctor
    appointments: int
    patients_seen: int
    average_wait_minutes: float | None
    average_consultation_minutes: float | None
    free_slots_left: int
    paused_minutes: float = 0.0


@dataclass(frozen=True)
class CounterRow:
    counter: ServiceCounter
    patients_seen: int
    average_wait_minutes: float | None
    average_service_minutes: float | None
    paused_minutes: float = 0.0


@dataclass(frozen=True)
class StopWait:
    department: Department
    place: str  # "Room 4", "Counter 2"; "" if not called
    minutes: float | None  # None: not called (yet)


@dataclass(frozen=True)
class VisitRow:
    visit: Visit
    stops: int  # not cancelled
    route: list[str]  # department codes of those stops, in order
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    waits: list[StopWait]

    @property
    def door_to_door_minutes(self) -> float | None:
        if self.ended_at is None:
            return None
        return _minutes(self.ended_at - self.started_at)

    @property
    def is_finished(self) -> bool:
        return self.visit.status == Visit.Status.CLOSED


@dataclass(frozen=True)
class DepartmentWait:
    department: Department
    stops: int  # stops whose patient was called
    average_wait_minutes: float


@dataclass(frozen=True)
class VisitSummary:
    rows: list[VisitRow] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def by_stops(self) -> list[tuple[str, int]]:
        """How many visits had 1, 2, and 3 or more stops."""
        counts = Counter(min(row.stops, 3) for row in self.rows)
        return [
            (gettext_noop("1 stop"), counts[1]),
            (gettext_noop("2 stops"), counts[2]),
            (gettext_noop("3 or more stops"), counts[3]),
        ]

    @property
    def door_to_door(self) -> list[float]:
        return [m for row in self.rows if (m := row.door_to_door_minutes) is not None]

    @property
    def median_door_to_door_minutes(self) -> float | None:
        values = self.door_to_door
        return statistics.median(values) if values else None

    @property
    def mean_door_to_door_minutes(self) -> float | None:
        values = self.door_to_door
        return statistics.fmean(values) if values else None

    @property
    def wait_by_department(self) -> list[DepartmentWait]:
        waits: dict[int, list[float]] = defaultdict(list)
        departments = {}
        for row in self.rows:
            for wait in row.waits:
                if wait.minutes is not None:
                    waits[wait.department.pk].append(wait.minutes)
                    departments[wait.department.pk] = wait.department
        return sorted(
            (
                DepartmentWait(departments[pk], len(values), statistics.fmean(values))
                for pk, values in waits.items()
            ),
            key=lambda w: (w.department.kind, w.department.name),
        )


@dataclass(frozen=True)
class HourCount:
    hour: int  # 0-23, local
    patients: int

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00"


@dataclass(frozen=True)
class DailyReport:
    day: datetime.date
    booked: int
    completed: int
    no_shows: int
    cancellations: int
    cancellation_reasons: list[tuple[str, int]]
    reschedules: int
    walk_ins: int
    emergencies: int
    still_waiting: int
    doctors: list[DoctorRow]
    per_hour: list[HourCount]
    counters: list[CounterRow] = field(default_factory=list)
    visits: VisitSummary = field(default_factory=VisitSummary)

    @property
    def totals(self) -> list[tuple[str, int]]:
        # English in the CSV; the page translates each label ({% translate label %}).
        return [
            (gettext_noop("Appointments booked"), self.booked),
            (gettext_noop("Completed"), self.completed),
            (gettext_noop("No-shows"), self.no_shows),
            (gettext_noop("Cancellations"), self.cancellations),
            (gettext_noop("Reschedules"), self.reschedules),
            (gettext_noop("Walk-ins"), self.walk_ins),
            (gettext_noop("Emergencies"), self.emergencies),
            (gettext_noop("Still on the waiting list"), self.still_waiting),
        ]


def daily_report(day: datetime.date, *, now=None) -> DailyReport:
    now = now or timezone.now()
    start, end = day_bounds(day)
    events = AppointmentEvent.objects.filter(at__gte=start, at__lt=end)

    def count(kind, **extra) -> int:
        return events.filter(kind=kind, **extra).values("appointment").distinct().count()

    Kind = AppointmentEvent.Kind
    booked = (
        events.filter(kind__in=[Kind.BOOKED, Kind.WALK_IN]).values("appointment").distinct().count()
    )
    reasons = Counter(
        " ".join(reason.split()) or NO_REASON
        for reason in events.filter(kind=Kind.CANCELLED).values_list("reason", flat=True)
    )
    token_events = TokenEvent.objects.filter(at__gte=start, at__lt=end)
    completed_events = token_events.filter(kind=TokenEvent.Kind.COMPLETED, token__isnull=False)
    completed = (
        completed_events.filter(token__appointment__isnull=False).values("token").distinct().count()
    )
    # Had arrived by the day's end and was still waiting then (given a slot or gone later).
    still_waiting = (
        WaitingListEntry.objects.filter(arrived_at__lt=end)
        .filter(Q(status=WaitingListEntry.Status.WAITING) | Q(closed_at__gte=end))
        .count()
    )

    paused = paused_minutes(day, now)
    return DailyReport(
        day=day,
        booked=booked,
        completed=completed,
        no_shows=count(Kind.NO_SHOW),
        cancellations=sum(reasons.values()),
        cancellation_reasons=sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
        reschedules=events.filter(kind=Kind.RESCHEDULED).count(),
        walk_ins=count(Kind.WALK_IN),
        emergencies=count(Kind.WALK_IN, appointment__is_emergency=True),
        still_waiting=still_waiting,
        doctors=_doctor_rows(day, now, paused["doctor"]),
        per_hour=_per_hour(completed_events),
        counters=_counter_rows(day, paused["counter"]),
        visits=VisitSummary(_visit_rows(day)),
    )


def _minutes(delta: datetime.timedelta) -> float:
    return delta.total_seconds() / 60


def paused_minutes(day: datetime.date, now) -> dict[str, dict[int, float]]:
    """{"doctor": {doctor id: minutes}, "counter": {counter id: minutes}} paused on `day`
    (see the module's docstring). A few rows a desk a day, paired here in time order."""
    start, end = day_bounds(day)
    until = max(start, min(end, now))
    result: dict[str, dict[int, float]] = {
        "doctor": defaultdict(float),
        "counter": defaultdict(float),
    }
    open_since: dict[tuple[str, int], datetime.datetime] = {}
    rows = (
        DeskEvent.objects.filter(at__gte=start, at__lt=end)
        .order_by("at", "pk")
        .values_list("doctor", "counter", "kind", "at")
    )
    for doctor_id, counter_id, kind, at in rows:
        if doctor_id is None and counter_id is None:
            continue  # the desk was deleted
        desk = ("doctor", doctor_id) if doctor_id is not None else ("counter", counter_id)
        if kind == DeskEvent.Kind.RESUMED:
            if desk in open_since:
                result[desk[0]][desk[1]] += _minutes(at - open_since.pop(desk))
        elif desk not in open_since:
            open_since[desk] = at
    for (kind, pk), since in open_since.items():
        result[kind][pk] += _minutes(max(until - since, datetime.timedelta(0)))
    return result


def _counter_rows(day: datetime.date, paused: dict[int, float]) -> list[CounterRow]:
    tokens = Token.objects.filter(service_date=day, counter__isnull=False)
    by_counter: dict[int, list] = defaultdict(list)
    for token in tokens:
        by_counter[token.counter_id].append(token)
    counters = ServiceCounter.objects.filter(pk__in=set(by_counter) | set(paused)).select_related(
        "department"
    )
    rows = []
    for counter in counters.order_by("department__name", "name"):
        figures = day_figures(by_counter[counter.pk])
        rows.append(
            CounterRow(
                counter=counter,
                patients_seen=figures.patients_seen,
                average_wait_minutes=figures.average_wait_minutes,
                average_service_minutes=figures.average_consultation_minutes,
                paused_minutes=paused.get(counter.pk, 0.0),
            )
        )
    return rows


def stop_wait_minutes(token: Token) -> float | None:
    """From joining the stop's queue to the call (see the module's docstring)."""
    if token.called_at is None:
        return None
    joined = max(token.queued_at, token.issued_at)
    return max(_minutes(token.called_at - joined), 0.0)


def _visit_rows(day: datetime.date) -> list[VisitRow]:
    visits = Visit.objects.filter(service_date=day).order_by("started_at", "pk")
    stops: dict[int, list[VisitStop]] = defaultdict(list)
    for stop in (
        VisitStop.objects.filter(visit__in=visits)
        .exclude(status=VisitStop.Status.CANCELLED)
        .select_related("department", "token__doctor", "token__counter")
        .order_by("visit", "position", "pk")
    ):
        stops[stop.visit_id].append(stop)
    last_completed = dict(
        Token.objects.filter(visit__in=visits, completed_at__isnull=False)
        .values_list("visit")
        .annotate(last=Max("completed_at"))
        .values_list("visit", "last")
    )
    rows = []
    for visit in visits:
        made = stops[visit.pk]
        ended = visit.closed_at if visit.status == Visit.Status.CLOSED else None
        ended = ended or last_completed.get(visit.pk)
        rows.append(
            VisitRow(
                visit=visit,
                stops=len(made),
                route=[stop.department.code for stop in made],
                started_at=visit.started_at,
                ended_at=ended,
                waits=[
                    StopWait(stop.department, stop.token.place, stop_wait_minutes(stop.token))
                    for stop in made
                    if stop.token is not None
                ],
            )
        )
    return rows


def _per_hour(completed_events) -> list[HourCount]:
    hours = Counter(
        timezone.localtime(at).hour for at in completed_events.values_list("at", flat=True)
    )
    if not hours:
        return []
    return [HourCount(hour, hours.get(hour, 0)) for hour in range(min(hours), max(hours) + 1)]


def _doctor_rows(day: datetime.date, now, paused: dict[int, float]) -> list[DoctorRow]:
    counted = [
        Appointment.Status.BOOKED,
        Appointment.Status.CHECKED_IN,
        Appointment.Status.COMPLETED,
        Appointment.Status.NO_SHOW,
    ]
    appointments = Appointment.objects.filter(date=day)
    tokens = Token.objects.filter(service_date=day, doctor__isnull=False)
    schedules = DoctorSchedule.objects.filter(weekday=day.weekday())
    doctors = (
        Doctor.objects.filter(
            Q(pk__in=appointments.filter(status__in=counted).values("doctor"))
            | Q(pk__in=tokens.values("doctor"))
            | Q(pk__in=schedules.values("doctor"))
            | Q(pk__in=list(paused))
        )
        .select_related("department")
        .order_by("department__name", "name")
    )
    on_leave = set(leave_on(day).values_list("doctor_id", flat=True))
    by_doctor: dict[int, list] = {}
    for schedule in schedules:
        by_doctor.setdefault(schedule.doctor_id, []).append(schedule)
    taken: dict[int, set] = {}
    # A no-show's slot was used up, not left free.
    occupying = taking_slots(now) | Q(status=Appointment.Status.NO_SHOW)
    for doctor_id, start in appointments.filter(occupying).values_list("doctor_id", "start"):
        taken.setdefault(doctor_id, set()).add(start)
    booked_counts = Counter(
        appointments.filter(status__in=counted).values_list("doctor_id", flat=True)
    )
    doctor_tokens: dict[int, list] = {}
    for token in tokens:
        doctor_tokens.setdefault(token.doctor_id, []).append(token)

    rows = []
    for doctor in doctors:
        figures = day_figures(doctor_tokens.get(doctor.pk, []))
        slots = [] if doctor.pk in on_leave else day_slots(by_doctor.get(doctor.pk, []), day)
        free = [
            s
            for s in slots
            if not s.kept_for_emergencies and s.start not in taken.get(doctor.pk, set())
        ]
        rows.append(
            DoctorRow(
                doctor=doctor,
                appointments=booked_counts.get(doctor.pk, 0),
                patients_seen=figures.patients_seen,
                average_wait_minutes=figures.average_wait_minutes,
                average_consultation_minutes=figures.average_consultation_minutes,
                free_slots_left=len(free),
                paused_minutes=paused.get(doctor.pk, 0.0),
            )
        )
    return rows

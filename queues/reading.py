"""Reading the queue: THE calling policy, the waiting line, and the day's figures.

Pure reads, shared by the services that change the queue (queues.services), the state
screens are sent (queues.state) and the staff pages.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, F, IntegerField, Max, Q, QuerySet, Value, When
from django.utils import timezone

from hospital.clock import day_start
from hospital.models import Counter, Department, Doctor
from queues.models import PriorityCategory, Token

# Where a token is served: a doctor (in their room) or a service department's counter.
Desk = Doctor | Counter


def calling_order(day: datetime.date, now: datetime.datetime | None = None) -> tuple[dict, list]:
    """THE calling policy, in one place. Returns (annotations, ordering) for a queryset of
    one department's waiting tokens on `day`:

    1. emergencies first;
    2. then tokens recalled after a no-show, in the order they were recalled;
    3. then checked-in appointments whose slot has started, or starts within
       settings.CHECK_IN_GRACE_MINUTES (default 10) of `now` — a booked patient who came
       on time is seen at their time, not after every walk-in who arrived earlier;
    4. then everyone else (walk-ins, appointments not yet due, patients sent on from
       another stop) by the time they joined the queue (Token.queued_at): first come,
       first served — except that a token of a quota category (senior citizen, person
       with disability, pregnant: PriorityCategory.Rule.QUOTA) goes ahead of general
       tokens once Department.priority_interval general tokens have been called since
       the last quota token was (calling_sequence() applies this step; the database
       ordering here is steps 1–4 without it). A patient sent on to a new stop or
       referred joins when they were sent; a patient sent back to the same doctor for
       review (after the laboratory, say) joins at the moment that doctor sent them
       out, so they are not put behind everyone who arrived while they were away.

    Within each group the joining time, then the token number, decides. Appointment
    times are local wall-clock times on the token's service date, so "due" is decided
    in the hospital's time zone.
    """
    now = now or timezone.now()
    grace = datetime.timedelta(minutes=getattr(settings, "CHECK_IN_GRACE_MINUTES", 10))
    local_now = timezone.localtime(now)
    horizon = local_now + grace
    has_appointment = Q(appointment__isnull=False)
    if day < local_now.date() or horizon.date() > day:
        due = has_appointment  # every slot of that day has started
    elif day > horizon.date():
        due = None  # no slot of a later day is due yet
    else:
        due = has_appointment & Q(appointment__start__lte=horizon.time())
    annotations, by_due = {}, []
    if due is not None:
        # (A constant instead would compile to "ORDER BY 0", which PostgreSQL refuses.)
        annotations["due_now"] = Case(
            When(due, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
        by_due = [F("due_now").desc()]
    ordering = [
        F("priority").desc(),
        F("recalled_at").asc(nulls_last=True),
        *by_due,
        F("queued_at").asc(),
        F("number").asc(),
    ]
    return annotations, ordering


def waiting_tokens(
    department: Department,
    day: datetime.date,
    *,
    doctor: Doctor | int | None = None,
    desk: Desk | None = None,
    now: datetime.datetime | None = None,
) -> QuerySet[Token]:
    """The department's waiting tokens in calling order. With `doctor` (or a doctor as
    `desk`): only those that doctor may call: the department's pool, and their own
    (a booked patient, a patient back for review). With a counter as `desk`: the pool.
    """
    tokens = Token.objects.filter(
        department=department, service_date=day, status=Token.Status.WAITING
    )
    if isinstance(desk, Doctor):
        doctor = desk
    elif desk is not None:
        tokens = tokens.filter(assigned_doctor__isnull=True)
    if doctor is not None:
        tokens = tokens.filter(Q(assigned_doctor__isnull=True) | Q(assigned_doctor=doctor))
    annotations, ordering = calling_order(day, now)
    return tokens.annotate(**annotations).order_by(*ordering)


def is_quota(token: Token) -> bool:
    return token.category_id is not None and token.category.rule == PriorityCategory.Rule.QUOTA


def generals_called_since_quota(department: Department, day: datetime.date) -> int:
    """How many general tokens the department has called today since it last called a
    quota-category token (or since the day began)."""
    called = Token.objects.filter(department=department, service_date=day, called_at__isnull=False)
    last_quota = called.filter(category__rule=PriorityCategory.Rule.QUOTA).aggregate(
        at=Max("called_at")
    )["at"]
    generals = called.filter(priority=Token.Priority.NORMAL).exclude(
        category__rule=PriorityCategory.Rule.QUOTA
    )
    if last_quota is not None:
        generals = generals.filter(called_at__gt=last_quota)
    return generals.count()


def calling_sequence(
    department: Department,
    day: datetime.date,
    *,
    desk: Desk | None = None,
    doctor: Doctor | int | None = None,
    now: datetime.datetime | None = None,
) -> list[Token]:
    """THE order in which the waiting tokens will be called (calling_order's steps 1–4,
    then the quota rule of step 4 applied in order):

    Emergencies, recalled no-shows and due appointments keep their places at the front.
    Behind them, general tokens and quota-category tokens are merged: the earlier by
    joining time goes first, except that once `department.priority_interval` (N) general
    tokens have been called since the last quota token, the next quota token goes first.
    So a quota token is never worse off than first come, first served, and a general
    token is passed over by at most one later quota token per N general calls: under a
    steady stream of quota tokens, the k-th general token in line waits behind at most
    floor((k - 1) / N) of them (tests/queues/test_priority_categories.py measures it).
    """
    tokens = list(
        waiting_tokens(department, day, desk=desk, doctor=doctor, now=now).select_related(
            "department", "category", "stop"
        )
    )
    front = []
    for token in tokens:
        if token.priority or token.recalled_at or getattr(token, "due_now", 0):
            front.append(token)
        else:
            break
    rest = tokens[len(front) :]
    quota = [t for t in rest if is_quota(t)]
    if not quota:
        return tokens
    general = [t for t in rest if not is_quota(t)]
    interval = department.priority_interval
    # The front's non-emergency tokens (recalled, due appointments) are general calls too.
    since = generals_called_since_quota(department, day) + sum(
        1 for t in front if not t.priority and not is_quota(t)
    )
    merged = []
    while general or quota:
        quota_turn = quota and (
            not general
            or since >= interval
            or (quota[0].queued_at, quota[0].number) < (general[0].queued_at, general[0].number)
        )
        if quota_turn:
            merged.append(quota.pop(0))
            since = 0
        else:
            merged.append(general.pop(0))
            since += 1
    return front + merged


def open_token_for(desk: Desk, *related: str) -> Token | None:
    """The patient with this doctor or at this counter now, if any, with its department
    and any further `related` relations joined in the same query."""
    by_desk = {"counter": desk} if isinstance(desk, Counter) else {"doctor": desk}
    return (
        Token.objects.select_related("department", *related)
        .filter(status__in=Token.OPEN_STATUSES, **by_desk)
        .first()
    )


def tokens_ahead(token: Token) -> int:
    """How many waiting tokens will be called before this one."""
    if token.status != Token.Status.WAITING:
        return 0
    # A booked patient's token waits in their own doctor's line.
    line = calling_sequence(token.department, token.service_date, doctor=token.assigned_doctor_id)
    ids = [t.pk for t in line]
    return ids.index(token.pk) if token.pk in ids else 0


def _minutes(delta: datetime.timedelta) -> float:
    return delta.total_seconds() / 60


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def wait_started(token: Token) -> datetime.datetime:
    """When the patient's wait began: when the token was issued, or, for a token taken
    on an earlier day, the start of its service day."""
    return max(token.issued_at, day_start(token.service_date))


@dataclass(frozen=True)
class DayFigures:
    patients_seen: int
    average_wait_minutes: float | None
    average_consultation_minutes: float | None


def day_figures(tokens) -> DayFigures:
    """Figures over a day's tokens: seen = completed; wait = issue (or day start) to
    first call; consultation = start to completion."""
    tokens = list(tokens)
    waits = [_minutes(t.called_at - wait_started(t)) for t in tokens if t.called_at]
    consults = [
        _minutes(t.completed_at - t.started_at)
        for t in tokens
        if t.status == Token.Status.COMPLETED and t.started_at and t.completed_at
    ]
    return DayFigures(
        patients_seen=sum(1 for t in tokens if t.status == Token.Status.COMPLETED),
        average_wait_minutes=_mean(waits),
        average_consultation_minutes=_mean(consults),
    )


def doctor_figures(doctor: Doctor, day: datetime.date) -> DayFigures:
    return day_figures(Token.objects.filter(doctor=doctor, service_date=day))


def average_consultation_minutes(department: Department, day: datetime.date) -> float:
    """Today's mean consultation time in the department, or the configured default
    until someone has been seen."""
    figures = day_figures(
        Token.objects.filter(department=department, service_date=day, status=Token.Status.COMPLETED)
    )
    return figures.average_consultation_minutes or float(settings.DEFAULT_CONSULTATION_MINUTES)


def doctors_on_duty(department: Department) -> int:
    """Desks serving the department's queue now: doctors on duty, and for a service
    department its counters with someone working them (a radiology department may have
    both: radiologists and X-ray rooms). Paused desks (a ward round, a break) are left
    out, so estimated waits do not count on them."""
    desks = department.doctors.filter(on_duty=True, paused_at__isnull=True).count()
    if department.is_service:
        desks += (
            department.counters.filter(is_active=True, staff__isnull=False, paused_at__isnull=True)
            .distinct()
            .count()
        )
    return desks


def estimated_wait_minutes(token: Token, ahead: int | None = None) -> int | None:
    """Rough minutes until this token is called: the patients ahead, shared between
    the doctors on duty, at today's average consultation time. None once called."""
    if token.status != Token.Status.WAITING:
        return None
    if ahead is None:
        ahead = tokens_ahead(token)
    per_patient = average_consultation_minutes(token.department, token.service_date)
    doctors = max(1, doctors_on_duty(token.department))
    return round(ahead * per_patient / doctors)

"""The token queue's domain operations.

Every function that changes state owns its transaction, refuses a bad request with a
QueueError whose message a person can read, writes a TokenEvent naming who did it, and
announces the department's new state only after commit (through queues.broadcast).
Views and consumers call exactly one of these; they never save a Token themselves.
"""

import datetime
import unicodedata
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from hospital.models import Department, Doctor
from hospital.phones import InvalidMobile, normalize_mobile
from queues import broadcast, numbering
from queues.models import Token, TokenCounter, TokenEvent

MAX_NAME_LENGTH = Token._meta.get_field("patient_name").max_length
# How often "Call next" retries when another doctor took the candidate first.
CALL_NEXT_ATTEMPTS = 50


class QueueError(Exception):
    """A request the queue refuses; the message is shown to the person as it is."""


# --- Reading the queue -------------------------------------------------------------------


def local_today(now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localdate(now or timezone.now())


def calling_order(day: datetime.date, now: datetime.datetime | None = None) -> tuple[dict, list]:
    """THE calling policy, in one place. Returns (annotations, ordering) for a queryset of
    one department's waiting tokens on `day`:

    1. emergencies first;
    2. then tokens recalled after a no-show, in the order they were recalled;
    3. then checked-in appointments whose slot has started, or starts within
       settings.CHECK_IN_GRACE_MINUTES (default 10) of `now` — a booked patient who came
       on time is seen at their time, not after every walk-in who arrived earlier;
    4. then everyone else (walk-ins, appointments not yet due) by token number: first
       come, first served.

    Within each group the token number decides. Appointment times are local wall-clock
    times on the token's service date, so "due" is decided in the hospital's time zone.
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
        F("number").asc(),
    ]
    return annotations, ordering


def waiting_tokens(
    department: Department,
    day: datetime.date,
    *,
    doctor: Doctor | None = None,
    now: datetime.datetime | None = None,
) -> QuerySet[Token]:
    """The department's waiting tokens in calling order. With `doctor`: only those that
    doctor may call (a booked patient's token is for their own doctor only)."""
    tokens = Token.objects.filter(
        department=department, service_date=day, status=Token.Status.WAITING
    )
    if doctor is not None:
        tokens = tokens.filter(Q(assigned_doctor__isnull=True) | Q(assigned_doctor=doctor))
    annotations, ordering = calling_order(day, now)
    return tokens.annotate(**annotations).order_by(*ordering)


def open_token_for(doctor: Doctor) -> Token | None:
    return (
        Token.objects.select_related("department")
        .filter(doctor=doctor, status__in=Token.OPEN_STATUSES)
        .first()
    )


def tokens_ahead(token: Token) -> int:
    """How many waiting tokens will be called before this one."""
    if token.status != Token.Status.WAITING:
        return 0
    # A booked patient's token waits in their own doctor's line.
    line = waiting_tokens(token.department, token.service_date, doctor=token.assigned_doctor_id)
    ids = list(line.values_list("pk", flat=True))
    return ids.index(token.pk) if token.pk in ids else 0


def _minutes(delta: datetime.timedelta) -> float:
    return delta.total_seconds() / 60


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def wait_started(token: Token) -> datetime.datetime:
    """When the patient's wait began: when the token was issued, or, for a token taken
    on an earlier day, the start of its service day."""
    day_start = timezone.make_aware(
        datetime.datetime.combine(token.service_date, datetime.time.min)
    )
    return max(token.issued_at, day_start)


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
    return department.doctors.filter(on_duty=True).count()


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


# --- Issuing ------------------------------------------------------------------------------


def bookable_dates(department: Department, today: datetime.date) -> list[datetime.date]:
    days = (today + datetime.timedelta(days=i) for i in range(department.booking_window_days + 1))
    return [day for day in days if department.is_open_on(day)]


def clean_patient_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise QueueError("Enter the patient's name.")
    if len(name) > MAX_NAME_LENGTH:
        raise QueueError(f"The name is too long (at most {MAX_NAME_LENGTH} characters).")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise QueueError("The name contains characters that cannot be printed.")
    return name


def check_service_date(department: Department, day: datetime.date, today: datetime.date) -> None:
    if day < today:
        raise QueueError("That date has passed; choose today or a later day.")
    last = today + datetime.timedelta(days=department.booking_window_days)
    if day > last:
        raise QueueError(
            f"{department.name} gives tokens at most {department.booking_window_days} "
            f"day(s) ahead (until {last:%d %b %Y})."
        )
    if not department.is_open_on(day):
        raise QueueError(
            f"{department.name} OPD is closed on {day:%A}s "
            f"(open {', '.join(department.open_weekday_names)})."
        )


def issue_token(
    department: Department,
    patient_name: str,
    *,
    mobile: str = "",
    service_date: datetime.date | None = None,
    priority: int = Token.Priority.NORMAL,
    actor=None,
    now: datetime.datetime | None = None,
    assigned_doctor: Doctor | None = None,
    appointment=None,
) -> Token:
    """Give the patient the next token number of `department` on `service_date`. A booked
    patient's token (check-in) names the `appointment` and is `assigned_doctor`'s only.

    Numbers come from the day's counter row (queues.numbering): gapless, because the bump
    is undone with anything that fails after it, and unique, because the row lock
    serialises issuers. Everything is prepared before the lock is taken.
    """
    now = now or timezone.now()
    today = local_today(now)
    service_date = service_date or today
    name = clean_patient_name(patient_name)
    try:
        mobile = normalize_mobile(mobile)
    except InvalidMobile as exc:
        raise QueueError(str(exc)) from None
    if priority == Token.Priority.EMERGENCY and not _may_mark_emergency(actor):
        raise QueueError("Only hospital staff can mark a token as an emergency.")
    if not department.is_active:
        raise QueueError(f"{department.name} is not taking tokens at the moment.")
    check_service_date(department, service_date, today)

    token = Token(
        department=department,
        service_date=service_date,
        number=0,
        patient_name=name,
        mobile=mobile,
        priority=priority,
        issued_at=now,
        assigned_doctor=assigned_doctor,
        appointment=appointment,
    )
    event = _event(token, TokenEvent.Kind.ISSUED, actor, now)
    # On PostgreSQL the insert is one statement, which commits on its own unless a caller
    # holds a transaction open (check-in); SQLite needs a transaction for its four.
    one_statement = connection.vendor == "postgresql"
    with nullcontext() if one_statement else transaction.atomic():
        for _ in range(3):
            if numbering.insert_numbered(token, event):
                broadcast.department_changed(token.department_id)
                return token
            _why_no_number(department, service_date)
    raise QueueError("Could not number the token; please try again.")  # pragma: no cover


def _why_no_number(department: Department, service_date: datetime.date) -> None:
    """The counter gave no number: raise the reason, or create the day's counter row
    (the day's first token) so that the caller can try again."""
    department = Department.objects.get(pk=department.pk)
    if not department.is_active:
        raise QueueError(f"{department.name} is not taking tokens at the moment.")
    counter = TokenCounter.objects.filter(department=department, service_date=service_date)
    last = counter.values_list("last", flat=True).first()
    if last is None:
        TokenCounter.objects.bulk_create(
            [TokenCounter(department=department, service_date=service_date)],
            ignore_conflicts=True,
        )
        return
    limit = department.daily_token_limit
    if limit is None or last < limit:
        return  # another issuer created the row after our attempt: try again
    raise QueueError(
        f"All {limit} tokens for {department.name} on {service_date:%d %b %Y} have been given out."
    )


def _may_mark_emergency(actor) -> bool:
    # Staff, or the reception desk (checking in an emergency appointment).
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    return actor.is_staff or actor.has_perm("appointments.add_appointment")


# --- Working the queue --------------------------------------------------------------------


def _lock_doctor(doctor: Doctor) -> Doctor:
    # Serialises one doctor's own clicks (two tabs, a double click): the open-token
    # check below and the call that follows see each other's result.
    return Doctor.objects.select_for_update().select_related("department").get(pk=doctor.pk)


def call_next(doctor: Doctor, *, actor=None, now: datetime.datetime | None = None) -> Token:
    """Call the first waiting patient of the doctor's department today that this doctor
    may call, in the order of calling_order()."""
    now = now or timezone.now()
    today = local_today(now)
    actor = actor or doctor.user
    with transaction.atomic():
        doctor = _lock_doctor(doctor)
        current = open_token_for(doctor)
        if current:
            raise QueueError(
                f"Finish {current.display_number} first: complete it, or skip it as a no-show."
            )
        for _ in range(CALL_NEXT_ATTEMPTS):
            candidate = waiting_tokens(doctor.department, today, doctor=doctor, now=now)
            candidate = candidate.values_list("pk", flat=True)
            candidate = candidate.first()
            if candidate is None:
                raise QueueError("Nobody is waiting. Nothing to call.")
            # Compare-and-swap: only one caller can move this row out of WAITING. A
            # doctor who loses the race (0 rows) simply takes the next in line.
            won = Token.objects.filter(pk=candidate, status=Token.Status.WAITING).update(
                status=Token.Status.CALLED, doctor=doctor, called_at=now
            )
            if won:
                break
        else:
            raise QueueError("The queue is very busy; press Call next again.")
        token = Token.objects.select_related("department").get(pk=candidate)
        _record(token, TokenEvent.Kind.CALLED, actor, now, doctor=doctor)
    return token


def _transition(
    doctor: Doctor,
    token: Token,
    *,
    allowed_from: tuple[str, ...],
    refusal: str,
    changes: dict,
    kind: str,
    actor,
    now: datetime.datetime,
    own_token: bool = True,
) -> Token:
    with transaction.atomic():
        doctor = _lock_doctor(doctor)
        token = Token.objects.select_for_update().select_related("department").get(pk=token.pk)
        if token.department_id != doctor.department_id:
            raise QueueError(f"{token.display_number} is not in your department's queue.")
        if token.status not in allowed_from:
            raise QueueError(refusal.format(token=token, status=token.get_status_display()))
        if own_token and token.doctor_id != doctor.pk:
            raise QueueError(f"{token.display_number} was called by another doctor.")
        for field, value in changes.items():
            setattr(token, field, value)
        try:
            with transaction.atomic():
                token.save(update_fields=[*changes])
        except IntegrityError:
            raise QueueError("You already have a patient open; finish that one first.") from None
        _record(token, kind, actor or doctor.user, now, doctor=doctor)
        if kind == TokenEvent.Kind.COMPLETED and token.appointment_id:
            _complete_appointment(token.appointment_id)
    return token


def _complete_appointment(appointment_id: int) -> None:
    """A checked-in patient's consultation is over: their appointment is completed too,
    in the same transaction, so the reception desk never shows them as still here."""
    from appointments.models import Appointment

    Appointment.objects.filter(pk=appointment_id, status=Appointment.Status.CHECKED_IN).update(
        status=Appointment.Status.COMPLETED
    )


def start_consultation(doctor, token, *, actor=None, now=None) -> Token:
    now = now or timezone.now()
    return _transition(
        doctor, token,
        allowed_from=(Token.Status.CALLED,),
        refusal="{token} is {status}; only a called token can start a consultation.",
        changes={"status": Token.Status.IN_CONSULTATION, "started_at": now},
        kind=TokenEvent.Kind.STARTED, actor=actor, now=now,
    )  # fmt: skip


def complete_token(doctor, token, *, actor=None, now=None) -> Token:
    now = now or timezone.now()
    return _transition(
        doctor, token,
        allowed_from=(Token.Status.IN_CONSULTATION,),
        refusal="{token} is {status}; start the consultation before completing it.",
        changes={"status": Token.Status.COMPLETED, "completed_at": now},
        kind=TokenEvent.Kind.COMPLETED, actor=actor, now=now,
    )  # fmt: skip


def skip_token(doctor, token, *, actor=None, now=None) -> Token:
    """The called patient did not come: a no-show. They can be recalled later today."""
    now = now or timezone.now()
    return _transition(
        doctor, token,
        allowed_from=(Token.Status.CALLED,),
        refusal="{token} is {status}; only a called patient who has not come can be skipped.",
        changes={"status": Token.Status.SKIPPED},
        kind=TokenEvent.Kind.SKIPPED, actor=actor, now=now,
    )  # fmt: skip


def recall_token(doctor, token, *, actor=None, now=None) -> Token:
    """A skipped patient turned up after all: back to the front of the queue (after
    emergencies), to be called next. Any doctor of the department may recall."""
    now = now or timezone.now()
    if token.service_date != local_today(now):
        raise QueueError(
            f"{token} was for {token.service_date:%d %b}; only today's can be recalled."
        )
    return _transition(
        doctor, token,
        allowed_from=(Token.Status.SKIPPED,),
        refusal="{token} is {status}; only a skipped token can be recalled.",
        changes={"status": Token.Status.WAITING, "recalled_at": now, "doctor": None,
                 "called_at": None},
        kind=TokenEvent.Kind.RECALLED, actor=actor, now=now, own_token=False,
    )  # fmt: skip


def cancel_token(token: Token, *, actor, reason: str = "", now=None) -> Token:
    """Staff cancel a token that has not been called (the patient left)."""
    now = now or timezone.now()
    with transaction.atomic():
        token = Token.objects.select_for_update().select_related("department").get(pk=token.pk)
        if token.status != Token.Status.WAITING:
            raise QueueError(
                f"{token} is {token.get_status_display()}; only a waiting token can be cancelled."
            )
        token.status = Token.Status.CANCELLED
        token.save(update_fields=["status"])
        _record(token, TokenEvent.Kind.CANCELLED, actor, now, note=reason[:200])
    return token


def edit_token(token: Token, *, patient_name: str, priority: int, actor, now=None) -> Token:
    """Staff correct a patient's name or mark the token an emergency (which moves it up
    the queue). The event row records what changed."""
    now = now or timezone.now()
    if not (actor and actor.is_staff):
        raise QueueError("Only hospital staff can edit a token.")
    name = clean_patient_name(patient_name)
    if priority not in Token.Priority.values:
        raise QueueError("Choose a priority: normal or emergency.")
    with transaction.atomic():
        token = Token.objects.select_for_update().select_related("department").get(pk=token.pk)
        changes = []
        if name != token.patient_name:
            changes.append("name corrected")
            token.patient_name = name
        if priority != token.priority:
            changes.append(f"priority {Token.Priority(priority).label.lower()}")
            token.priority = priority
        if not changes:
            return token
        token.save(update_fields=["patient_name", "priority"])
        _record(token, TokenEvent.Kind.EDITED, actor, now, note=", ".join(changes))
    return token


def delete_token(token: Token, *, actor, now=None) -> None:
    """An admin removes a token (e.g. issued by mistake). The event row stays."""
    now = now or timezone.now()
    with transaction.atomic():
        _record(token, TokenEvent.Kind.DELETED, actor, now, note=token.display_number)
        token.delete()


# --- Events and announcements -------------------------------------------------------------


def _event(token: Token, kind: str, actor, now, *, doctor=None, note: str = "") -> TokenEvent:
    return TokenEvent(
        token=token,
        department_id=token.department_id,
        service_date=token.service_date,
        token_number=token.number,
        kind=kind,
        actor=actor if actor and actor.is_authenticated else None,
        doctor=doctor,
        at=now,
        note=note,
    )


def _record(token: Token, kind: str, actor, now, *, doctor=None, note: str = "") -> TokenEvent:
    event = _event(token, kind, actor, now, doctor=doctor, note=note)
    event.save(force_insert=True)
    # Each change moves the department's version on by one, in the same transaction,
    # so live screens can tell a missed update from a duplicate.
    Department.objects.filter(pk=token.department_id).update(state_version=F("state_version") + 1)
    broadcast.department_changed(token.department_id)
    return event

"""The token queue's domain operations.

Every function that changes state owns its transaction, refuses a bad request with a
QueueError whose message a person can read, writes a TokenEvent naming who did it, and
announces the department's new state only after commit (through queues.broadcast).
Views and consumers call exactly one of these; they never save a Token themselves.
"""

import datetime

from django.db import transaction
from django.db.models import F, Max
from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from hospital.clock import local_today
from hospital.languages import localized, patient_language
from hospital.models import Counter, Department, Doctor, is_counter_staff, is_doctor
from hospital.phones import InvalidMobile, normalize_mobile
from hospital.text import InvalidText, clean_patient_name, clean_text
from queues import messages, versions, visits
from queues.models import PriorityCategory, Token, TokenCounter, TokenEvent, Visit
from queues.reading import Desk, calling_sequence, open_token_for
from webhooks import events as webhook_events

# How often "Call next" retries when another doctor took the candidate first.
CALL_NEXT_ATTEMPTS = 50


class QueueError(Exception):
    """A request the queue refuses; the message is shown to the person as it is (made
    with gettext when raised, so it is in the language of whoever asked)."""


# "closed on Sundays": weekdays in the plural, Monday = 0 as date.weekday() numbers them.
WEEKDAYS_PLURAL = [
    gettext_lazy("Mondays"),
    gettext_lazy("Tuesdays"),
    gettext_lazy("Wednesdays"),
    gettext_lazy("Thursdays"),
    gettext_lazy("Fridays"),
    gettext_lazy("Saturdays"),
    gettext_lazy("Sundays"),
]


def short_date(day: datetime.date) -> str:
    """ "25 Nov 2026", with the month in the active language."""
    return formats.date_format(day, "d M Y")


# --- Issuing ------------------------------------------------------------------------------


def bookable_dates(department: Department, today: datetime.date) -> list[datetime.date]:
    days = (today + datetime.timedelta(days=i) for i in range(department.booking_window_days + 1))
    return [day for day in days if department.is_open_on(day)]


def clean_name(raw: str) -> str:
    """The patient's name as every token stores it (hospital.text), or a QueueError."""
    try:
        return clean_patient_name(raw)
    except InvalidText as exc:
        raise QueueError(str(exc)) from None


def check_service_date(department: Department, day: datetime.date, today: datetime.date) -> None:
    if day < today:
        raise QueueError(gettext("That date has passed; choose today or a later day."))
    last = today + datetime.timedelta(days=department.booking_window_days)
    if day > last:
        raise QueueError(
            gettext("%(department)s gives tokens at most %(days)s day(s) ahead (until %(last)s).")
            % {
                "department": localized(department),
                "days": department.booking_window_days,
                "last": short_date(last),
            }
        )
    if not department.is_open_on(day):
        open_days = [str(WEEKDAYS_ABBR[i]) for i in range(7) if department.is_open_on_weekday(i)]
        raise QueueError(
            gettext("%(department)s OPD is closed on %(weekdays)s (open %(open)s).")
            % {
                "department": localized(department),
                "weekdays": WEEKDAYS_PLURAL[day.weekday()],
                "open": ", ".join(open_days),
            }
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
    source: str = Visit.Source.KIOSK,
    patient=None,
    category: PriorityCategory | None = None,
    language: str | None = None,
) -> Token:
    """Give the patient the next token number of `department` on `service_date`, and
    start their visit with it (the visit's first stop). A booked patient's token
    (check-in) names the `appointment` and is `assigned_doctor`'s only. An emergency
    always goes to the department's pool, so the first free doctor calls it.
    """
    now = now or timezone.now()
    today = local_today(now)
    service_date = service_date or today
    name = clean_name(patient_name)
    try:
        mobile = normalize_mobile(mobile)
    except InvalidMobile as exc:
        raise QueueError(str(exc)) from None
    category, priority = category_and_priority(category, priority)
    if priority == Token.Priority.EMERGENCY and not _may_mark_emergency(actor):
        raise QueueError(gettext("Only hospital staff can mark a token as an emergency."))
    if category is not None and not category.at_kiosk and not _may_mark_emergency(actor):
        raise QueueError(
            gettext("Only hospital staff can give the category %(category)s.")
            % {"category": localized(category)}
        )
    if not department.is_active:
        raise QueueError(
            gettext("%(department)s is not taking tokens at the moment.")
            % {"department": localized(department)}
        )
    check_service_date(department, service_date, today)
    if priority == Token.Priority.EMERGENCY:
        assigned_doctor = None

    with transaction.atomic():
        visit = Visit.objects.create(
            service_date=service_date,
            patient=patient,
            patient_name=name,
            source=source,
            started_at=now,
        )
        token = create_token(
            department,
            visit,
            service_date=service_date,
            mobile=mobile,
            priority=priority,
            category=category,
            assigned_doctor=assigned_doctor,
            appointment=appointment,
            actor=actor,
            now=now,
            language=patient_language(language),
        )
        visits.start_visit(visit, token, actor=actor, now=now)
        messages.token_issued(token)  # the status page's link, with the token
    return token


def joining_time(department: Department, service_date: datetime.date, now) -> datetime.datetime:
    """When a new token joins the queue: `now`, or the last token's joining time if that is
    later. Numbers are taken under the department's counter lock in the order requests
    reach it, but a request that waited for the lock (fifty kiosks at once, a database
    stall) may have started, and read the clock, before the one that held it; joining no
    earlier than the token before keeps the calling order the order of the numbers, so
    ORTH-003 is not called after ORTH-004. Call after next_number, under its lock."""
    latest = Token.objects.filter(department=department, service_date=service_date).aggregate(
        at=Max("queued_at")
    )["at"]
    return max(now, latest) if latest else now


def create_token(
    department: Department,
    visit: Visit,
    *,
    service_date: datetime.date,
    mobile: str = "",
    priority: int = Token.Priority.NORMAL,
    category: PriorityCategory | None = None,
    assigned_doctor: Doctor | None = None,
    appointment=None,
    actor=None,
    now: datetime.datetime,
    queued_at: datetime.datetime | None = None,
    note: str = "",
    check_limits: bool = True,
    language: str | None = None,
) -> Token:
    """The next number of `department` for a stop of `visit`: the token row and its
    ISSUED event. Call inside the caller's transaction, with input already checked. A
    patient sent on from another stop is served whatever the daily limit
    (`check_limits=False`): the limit is for new patients."""
    number = next_number(department, service_date, check_limits=check_limits)
    if queued_at is None:
        queued_at = joining_time(department, service_date, now)
    if language is None:
        # A later stop of the visit keeps the language the patient chose at its start.
        language = visit.tokens.order_by("issued_at").values_list("language", flat=True).first()
    token = Token.objects.create(
        department=department,
        service_date=service_date,
        number=number,
        patient_name=visit.patient_name,
        mobile=mobile,
        priority=priority,
        category=category,
        issued_at=now,
        queued_at=queued_at,
        assigned_doctor=assigned_doctor,
        appointment=appointment,
        visit=visit,
        # The patient's language (their slip, status page and SMS); an unknown one is
        # the hospital's default.
        language=patient_language(language),
    )
    record(token, TokenEvent.Kind.ISSUED, actor, now, note=note)
    webhook_events.token_issued(token, now=now)  # every new token: kiosk, sent on, moved
    return token


def category_and_priority(
    category: PriorityCategory | None, priority: int
) -> tuple[PriorityCategory | None, int]:
    """A token's category and its emergency flag, kept in step: an "always first"
    category is an emergency, and an emergency without a category is in the first
    active "always first" category (Emergency). The "General" category is stored as no
    category, so every screen treats general tokens one way."""
    if category is not None and category.means_general:
        category = None
    if category is not None:
        if not category.is_active:
            raise QueueError(
                gettext("The category %(category)s is not in use.")
                % {"category": localized(category)}
            )
        first = category.rule == PriorityCategory.Rule.ALWAYS_FIRST
        return category, Token.Priority.EMERGENCY if first else Token.Priority.NORMAL
    if priority == Token.Priority.EMERGENCY:
        emergency = PriorityCategory.objects.filter(
            rule=PriorityCategory.Rule.ALWAYS_FIRST, is_active=True
        ).first()
        return emergency, Token.Priority.EMERGENCY
    return None, Token.Priority.NORMAL


def next_number(
    department: Department, service_date: datetime.date, *, check_limits: bool = True
) -> int:
    """Bump the department's counter for the day and return the new number. Call inside
    the issuing transaction.

    The bump is an UPDATE, so it takes the counter row's lock (on SQLite the database's
    write lock, taken at BEGIN IMMEDIATE) and holds it until commit: concurrent issuers
    queue on it and get consecutive numbers, and a rollback undoes the bump, so numbers
    stay gapless. (Read-max-then-insert repeats numbers under load; sequences leave gaps.)
    """
    # The department's row before its counter, in the order every change takes them.
    lock_departments(department.pk)
    day_counter = TokenCounter.objects.filter(department=department, service_date=service_date)
    if not day_counter.update(last=F("last") + 1):
        # The day's first token: make the row (get_or_create copes with another issuer
        # making it at the same moment), then bump it like everyone else.
        TokenCounter.objects.get_or_create(department=department, service_date=service_date)
        day_counter.update(last=F("last") + 1)
    number = day_counter.values_list("last", flat=True).get()
    if not check_limits:
        return number
    # Whether the department still takes tokens, and how many, read after the bump: an
    # admin's change commits either before it (and is seen here) or after this token.
    is_active, limit = (
        Department.objects.filter(pk=department.pk)
        .values_list("is_active", "daily_token_limit")
        .get()
    )
    if not is_active:
        raise QueueError(
            gettext("%(department)s is not taking tokens at the moment.")
            % {"department": localized(department)}
        )
    if limit is not None and number > limit:
        raise QueueError(
            gettext("All %(limit)s tokens for %(department)s on %(day)s have been given out.")
            % {"limit": limit, "department": localized(department), "day": short_date(service_date)}
        )
    return number


def _may_mark_emergency(actor) -> bool:
    # Staff, or the reception desk (checking in an emergency appointment).
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    return actor.is_staff or actor.has_perm("appointments.add_appointment")


# --- Working the queue --------------------------------------------------------------------


def lock_departments(*department_ids: int | None) -> None:
    """Lock departments' rows, always in one order (by id) and before anything else of
    theirs: a change to a queue takes its department first, and a change that reaches a
    second department (a patient sent on) takes both at once, so two changes never wait
    on each other in a circle (PostgreSQL found three such deadlocks under bench/day.py).
    FOR NO KEY UPDATE, because a row that merely refers to a department or desk (a new
    stop, checked at commit) need not wait for it."""
    ids = sorted({pk for pk in department_ids if pk})
    list(
        Department.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_desk(desk: Desk, *departments: int | None) -> Desk:
    """The doctor's or counter's row, locked, after its department's (and `departments`,
    those the change will reach). Serialises one desk's own clicks (two tabs, a double
    click): the open-token check and the call that follows see each other's result."""
    lock_departments(desk.department_id, *departments)
    return (
        type(desk)
        .objects.select_for_update(of=("self",), no_key=True)
        .select_related("department")
        .get(pk=desk.pk)
    )


def lock_token(token: Token, *departments: int | None) -> Token:
    """The token's row, locked after its department's (and `departments`, those the change
    will reach: a cancelled stop opens the visit's next one, a move makes a token in
    another queue). Call next locks the department first (with its desk), then a token; a
    change made away from a desk (a category, a cancellation, "call again") takes the same
    order, so the two never wait on each other in a circle (PostgreSQL found that deadlock
    under bench/day.py). FOR NO KEY UPDATE, as for departments: an event or a stop that
    merely refers to the token need not wait."""
    lock_departments(token.department_id, *departments)
    return (
        Token.objects.select_for_update(of=("self",), no_key=True)
        .select_related("department", "category", "assigned_doctor")
        .get(pk=token.pk)
    )


def desk_fields(desk: Desk) -> dict:
    """How a token names the desk that called it: {"doctor": d} or {"counter": c}."""
    return {"counter": desk} if isinstance(desk, Counter) else {"doctor": desk}


def default_actor(desk: Desk, actor):
    # A doctor acts for themselves; a counter is worked by whoever signed in at it.
    if actor is None and isinstance(desk, Doctor):
        return desk.user
    return actor


def call_next(desk: Desk, *, actor=None, now: datetime.datetime | None = None) -> Token:
    """Call the first waiting patient of the desk's department today that this desk may
    call (a doctor's own booked patients, and the pool), in the order of
    calling_order()."""
    now = now or timezone.now()
    today = local_today(now)
    actor = default_actor(desk, actor)
    with transaction.atomic():
        desk = lock_desk(desk)
        if desk.is_paused:
            raise QueueError(gettext("You are paused. Press Resume first, then Call next."))
        current = open_token_for(desk)
        if current:
            raise QueueError(
                gettext("Finish %(number)s first: complete it, or skip it as a no-show.")
                % {"number": current.display_number}
            )
        for _ in range(CALL_NEXT_ATTEMPTS):
            line = calling_sequence(desk.department, today, desk=desk, now=now)
            if not line:
                raise QueueError(gettext("Nobody is waiting. Nothing to call."))
            candidate = line[0].pk
            # Compare-and-swap: only one caller can move this row out of WAITING. A
            # doctor who loses the race (0 rows) simply takes the next in line.
            won = Token.objects.filter(pk=candidate, status=Token.Status.WAITING).update(
                status=Token.Status.CALLED, called_at=now, **desk_fields(desk)
            )
            if won:
                break
        else:
            raise QueueError(gettext("The queue is very busy; press Call next again."))
        token = Token.objects.select_related("department").get(pk=candidate)
        record(token, TokenEvent.Kind.CALLED, actor, now, **desk_fields(desk))
        webhook_events.token_called(token, now=now)
        messages.token_called(token)  # "ORTH-007: please go to Room 4", once per stop
    return token


def _transition(
    desk: Desk,
    token: Token,
    *,
    allowed_from: tuple[str, ...],
    refusal: str,
    changes: dict,
    kind: str,
    actor,
    now: datetime.datetime,
    own_token: bool = True,
    send_on: list | None = None,
) -> Token:
    actor = default_actor(desk, actor)
    # Completing opens the patient's next stop, perhaps in another department: both
    # departments are locked together, before anything else.
    completing = kind == TokenEvent.Kind.COMPLETED
    reaches = visits.next_department_id(token, send_on) if completing else None
    with transaction.atomic():
        desk = lock_desk(desk, reaches)
        token = (
            Token.objects.select_for_update(of=("self",), no_key=True)
            .select_related("department")
            .get(pk=token.pk)
        )
        if token.department_id != desk.department_id:
            raise QueueError(
                gettext("%(number)s is not in your department's queue.")
                % {"number": token.display_number}
            )
        if token.status not in allowed_from:
            raise QueueError(
                str(refusal)
                % {"number": token.display_number, "status": token.get_status_display()}
            )
        if own_token and token.server != desk:
            if token.doctor_id:
                message = gettext("%(number)s was called by another doctor.")
            else:
                message = gettext("%(number)s was called by another counter.")
            raise QueueError(message % {"number": token.display_number})
        left = (token.doctor_id, token.counter_id)
        for field, value in changes.items():
            setattr(token, field, value)
        token.save(update_fields=[*changes])
        record(token, kind, actor, now, **desk_fields(desk), left=left)
        webhook_events.token_changed(token, kind, now=now)  # completed or skipped
        if kind == TokenEvent.Kind.COMPLETED:
            if token.appointment_id:
                _complete_appointment(token.appointment_id)
            visits.stop_completed(token, desk, send_on or [], actor=actor, now=now)
    return token


def _complete_appointment(appointment_id: int) -> None:
    """A checked-in patient's consultation is over: their appointment is completed too,
    in the same transaction, so the reception desk never shows them as still here."""
    # The queue knows appointments only through the token's link, so queues never
    # imports the appointments app (which builds on this module).
    appointment_model = Token._meta.get_field("appointment").related_model
    appointment_model.objects.filter(
        pk=appointment_id, status=appointment_model.Status.CHECKED_IN
    ).update(status=appointment_model.Status.COMPLETED)


def start_consultation(doctor, token, *, actor=None, now=None) -> Token:
    now = now or timezone.now()
    return _transition(
        doctor, token,
        allowed_from=(Token.Status.CALLED,),
        refusal=gettext_lazy(
            "%(number)s is %(status)s; only a called token can start a consultation."),
        changes={"status": Token.Status.IN_CONSULTATION, "started_at": now},
        kind=TokenEvent.Kind.STARTED, actor=actor, now=now,
    )  # fmt: skip


def complete_token(desk, token, *, actor=None, now=None, send_on=None) -> Token:
    """The patient is done here. `send_on` (a list of queues.visits.NextStop) sends them
    on, in the same transaction: the first new stop gets its token now, the rest follow
    in order. Without it the visit's next planned stop (if any) is opened, or the visit
    closes."""
    now = now or timezone.now()
    if send_on:
        visits.check_next_stops(desk, send_on)
    return _transition(
        desk, token,
        allowed_from=(Token.Status.IN_CONSULTATION,),
        refusal=gettext_lazy(
            "%(number)s is %(status)s; start the consultation before completing it."),
        changes={"status": Token.Status.COMPLETED, "completed_at": now},
        kind=TokenEvent.Kind.COMPLETED, actor=actor, now=now, send_on=send_on,
    )  # fmt: skip


def skip_token(doctor, token, *, actor=None, now=None) -> Token:
    """The called patient did not come: a no-show. They can be recalled later today."""
    now = now or timezone.now()
    return _transition(
        doctor, token,
        allowed_from=(Token.Status.CALLED,),
        refusal=gettext_lazy(
            "%(number)s is %(status)s; only a called patient who has not come can be skipped."
        ),
        changes={"status": Token.Status.SKIPPED},
        kind=TokenEvent.Kind.SKIPPED, actor=actor, now=now,
    )  # fmt: skip


def recall_token(doctor, token, *, actor=None, now=None) -> Token:
    """A skipped patient turned up after all: back to the front of the queue (after
    emergencies), to be called next. Any doctor of the department may recall."""
    now = now or timezone.now()
    if token.service_date != local_today(now):
        raise QueueError(
            gettext("%(number)s was for %(day)s; only today's can be recalled.")
            % {"number": token, "day": formats.date_format(token.service_date, "d M")}
        )
    return _transition(
        doctor, token,
        allowed_from=(Token.Status.SKIPPED,),
        refusal=gettext_lazy("%(number)s is %(status)s; only a skipped token can be recalled."),
        changes={"status": Token.Status.WAITING, "recalled_at": now, "doctor": None,
                 "counter": None, "called_at": None},
        kind=TokenEvent.Kind.RECALLED, actor=actor, now=now, own_token=False,
    )  # fmt: skip


def cancel_token(token: Token, *, actor, reason: str = "", now=None) -> Token:
    """Staff cancel a token that is waiting or was skipped (the patient left). The visit's
    stop is cancelled with it, and the visit moves to its next planned stop (if any)."""
    now = now or timezone.now()
    # The visit's next stop opens in the same transaction: its department is locked with
    # this one, up front (see lock_departments).
    reaches = visits.next_department_id(token, None)
    with transaction.atomic():
        token = lock_token(token, reaches)
        # A skipped patient may have left for good: their token can go too.
        if token.status not in (Token.Status.WAITING, Token.Status.SKIPPED):
            raise QueueError(
                gettext(
                    "%(number)s is %(status)s; only a waiting or skipped token can be cancelled."
                )
                % {"number": token, "status": token.get_status_display()}
            )
        token.status = Token.Status.CANCELLED
        token.save(update_fields=["status"])
        record(token, TokenEvent.Kind.CANCELLED, actor, now, note=reason[:200])
        visits.token_cancelled(token, actor=actor, now=now)
    return token


def check_category_changeable(token: Token) -> None:
    """Only a token still to be called (waiting, or skipped and perhaps recalled) has a
    category that can change; the terminal's category form asks this before it opens."""
    if token.status not in (Token.Status.WAITING, Token.Status.SKIPPED):
        raise QueueError(
            gettext("%(number)s is %(status)s; only a waiting token's category can be changed.")
            % {"number": token, "status": token.get_status_display()}
        )


def change_category(
    token: Token, category: PriorityCategory | None, *, actor, reason: str, now=None
) -> Token:
    """Staff (reception, doctors, counter staff) mark or unmark a waiting token's
    priority category, saying why; logged with who, and the screens reorder live.
    `category=None` makes it general."""
    now = now or timezone.now()
    if not _may_mark_emergency(actor) and not _is_desk_staff(actor):
        raise QueueError(gettext("Only hospital staff can change a token's category."))
    try:
        reason = clean_text(reason, gettext_noop("reason"), 200)
    except InvalidText as exc:
        raise QueueError(str(exc)) from None
    category, priority = category_and_priority(category, Token.Priority.NORMAL)
    with transaction.atomic():
        token = lock_token(token)
        check_category_changeable(token)
        if token.category_id == (category.pk if category else None):
            return token
        before = token.category.name if token.category else "General"
        token.category, token.priority = category, priority
        if priority == Token.Priority.EMERGENCY:
            token.assigned_doctor = None  # an emergency goes to the pool
        token.save(update_fields=["category", "priority", "assigned_doctor"])
        after = category.name if category else "General"
        record(
            token, TokenEvent.Kind.CATEGORY, actor, now, note=f"{before} → {after}: {reason}"[:200]
        )
    return token


def announce_again(token: Token, *, actor, now=None) -> Token:
    """ "Call again": the displays announce the called token once more (the patient did
    not hear it). Logged with who; only a called token can be announced."""
    now = now or timezone.now()
    with transaction.atomic():
        token = lock_token(token)
        if token.status != Token.Status.CALLED:
            raise QueueError(
                gettext("%(number)s is %(status)s; only a called token can be announced again.")
                % {"number": token, "status": token.get_status_display()}
            )
        token.announced_at = now
        token.save(update_fields=["announced_at"])
        record(token, TokenEvent.Kind.ANNOUNCED, actor, now)
    return token


def _is_desk_staff(actor) -> bool:
    return bool(actor and (is_doctor(actor) or is_counter_staff(actor)))


def edit_token(token: Token, *, patient_name: str, priority: int, actor, now=None) -> Token:
    """Staff correct a patient's name or mark the token an emergency (which moves it up
    the queue). The event row records what changed."""
    now = now or timezone.now()
    if not (actor and actor.is_staff):
        raise QueueError(gettext("Only hospital staff can edit a token."))
    name = clean_name(patient_name)
    if priority not in Token.Priority.values:
        raise QueueError(gettext("Choose a priority: normal or emergency."))
    with transaction.atomic():
        token = lock_token(token)
        changes = []
        if name != token.patient_name:
            changes.append("name corrected")
            token.patient_name = name
        if priority != token.priority:
            changes.append(f"priority {Token.Priority(priority).label.lower()}")
            # The category follows: Emergency when marked so, general when unmarked.
            token.category, token.priority = category_and_priority(None, priority)
        if not changes:
            return token
        token.save(update_fields=["patient_name", "priority", "category"])
        record(token, TokenEvent.Kind.EDITED, actor, now, note=", ".join(changes))
    return token


def delete_token(token: Token, *, actor, now=None) -> None:
    """An admin removes a token (e.g. issued by mistake). The event row stays."""
    now = now or timezone.now()
    with transaction.atomic():
        token = lock_token(token)
        record(token, TokenEvent.Kind.DELETED, actor, now, note=token.display_number)
        token.delete()


# --- Events and announcements -------------------------------------------------------------


# Changes no terminal but their desk's shows: the waiting and skipped lists stay as they
# were (a token is called off the list; starting, completing or announcing it again
# touches only the desk that called it).
DESK_ONLY_KINDS = frozenset(
    {TokenEvent.Kind.STARTED, TokenEvent.Kind.COMPLETED, TokenEvent.Kind.ANNOUNCED}
)


def record(
    token: Token,
    kind: str,
    actor,
    now,
    *,
    doctor=None,
    counter=None,
    note: str = "",
    left: tuple[int | None, int | None] = (None, None),
) -> TokenEvent:
    """Append the token's event and tell its department's screens, after commit. `left`:
    the (doctor id, counter id) the token was at before this change took it away."""
    event = TokenEvent.objects.create(
        token=token,
        department_id=token.department_id,
        service_date=token.service_date,
        token_number=token.number,
        kind=kind,
        actor=actor if actor and actor.is_authenticated else None,
        doctor=doctor,
        counter=counter,
        at=now,
        note=note,
    )
    # Each change moves the department's version on by one, in the same transaction,
    # so live screens can tell a missed update from a duplicate; a consultation started
    # or completed (or called again) changes only its desk's panel of the terminals'.
    # A token at a desk (called, skipped, edited) changes that desk's own part as well.
    desk_model, desk_id = (
        (Doctor, token.doctor_id) if token.doctor_id else (Counter, token.counter_id)
    )
    if kind in DESK_ONLY_KINDS and desk_id:
        versions.desk_changed(token.department_id, desk_model, desk_id)
    else:
        desks = {(desk_model, desk_id), (Doctor, left[0]), (Counter, left[1])}
        versions.queue_changed(token.department_id, *desks)
    messages.queue_changed(token)  # the worker checks who is near their turn now
    return event

"""Visits: a patient's stops through the OPD in one day, one slip for all of them.

A visit starts with its first token (queues.services.issue_token). When a desk completes
a patient it may send them on to one or more next stops, in order; the first opens at
once (a token in that department's queue, in the same transaction as the completion),
the others are planned and open one after the other as each stop is completed. The last
stop completed (or cancelled) closes the visit. Where a sent-on patient stands in the
next queue is decided by the calling policy (queues.reading.calling_order) through the
token's `queued_at`, set here.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from hospital.clock import local_today
from hospital.languages import localized
from hospital.models import Department, Doctor
from hospital.text import InvalidText, clean_text
from queues import services
from queues.models import Token, TokenEvent, Visit, VisitStop
from queues.reading import Desk
from webhooks import events as webhook_events

# More than this many stops at once is a slip of the hand, not a plan.
MAX_NEW_STOPS = 5
MAX_NOTE_LENGTH = VisitStop._meta.get_field("note").max_length


@dataclass(frozen=True)
class NextStop:
    """Where to send the patient next: a department's pool, or a named doctor there
    (a referral to Dr. X, or the sending doctor themselves: back for review)."""

    department: Department
    doctor: Doctor | None = None
    note: str = ""


def clean_note(raw: str) -> str:
    """The short note for the next stop's staff (optional)."""
    if not (raw or "").strip():
        return ""
    try:
        return clean_text(raw, gettext_noop("note for the next stop"), MAX_NOTE_LENGTH)
    except InvalidText as exc:
        raise services.QueueError(str(exc)) from None


def check_next_stops(desk: Desk, stops: list[NextStop], *, now=None) -> None:
    """Refuse, before anything is written, stops that cannot be served today."""
    if len(stops) > MAX_NEW_STOPS:
        raise services.QueueError(
            gettext("Send the patient on to at most %(n)s stops at once.") % {"n": MAX_NEW_STOPS}
        )
    today = local_today(now)
    for stop in stops:
        department = stop.department
        if not department.is_active:
            raise services.QueueError(
                gettext("%(department)s is not taking patients at the moment.")
                % {"department": localized(department)}
            )
        if not department.is_open_on(today):
            raise services.QueueError(
                gettext("%(department)s is closed today.") % {"department": localized(department)}
            )
        if stop.doctor is not None:
            if stop.doctor.department_id != department.pk:
                raise services.QueueError(
                    gettext("%(doctor)s does not work in %(department)s.")
                    % {"doctor": stop.doctor.name, "department": localized(department)}
                )
        clean_note(stop.note)


def stop_kind(desk: Desk, stop: NextStop) -> str:
    if isinstance(desk, Doctor) and stop.doctor is not None and stop.doctor.pk == desk.pk:
        return VisitStop.Kind.REVIEW
    if stop.department.is_service:
        return VisitStop.Kind.SENT
    return VisitStop.Kind.REFERRAL


def describe(stop: VisitStop | NextStop, desk: Desk | None = None) -> str:
    """ "Laboratory", "Dr. Rao (review)": a stop as staff read it in the history."""
    if stop.doctor is not None:
        review = isinstance(desk, Doctor) and stop.doctor.pk == desk.pk
        return f"{stop.doctor.name}{' (review)' if review else ''}, {stop.department.name}"
    return stop.department.name


# --- Called by queues.services, inside their transactions -------------------------------


def start_visit(visit: Visit, token: Token, *, actor, now) -> VisitStop:
    return VisitStop.objects.create(
        visit=visit,
        position=1,
        kind=VisitStop.Kind.FIRST,
        status=VisitStop.Status.CURRENT,
        department=token.department,
        doctor=token.assigned_doctor,
        token=token,
        sent_by=actor if actor and actor.is_authenticated else None,
        sent_at=now,
    )


def lock_visit(visit_id: int) -> Visit:
    # One change to a visit at a time: two desks finishing, or a double click, see each
    # other's result (and the one-current-stop constraint backs this up). Always after
    # the departments the change reaches (services.lock_departments); FOR NO KEY UPDATE,
    # so a new stop or token referring to the visit need not wait.
    return Visit.objects.select_for_update(no_key=True).get(pk=visit_id)


def next_department_id(token: Token, send_on: list[NextStop] | None) -> int | None:
    """The department whose queue the patient joins when `token` is completed: the first
    stop they are sent on to, else the visit's next planned stop (None: the visit ends)."""
    if send_on:
        return send_on[0].department.pk
    if token.visit_id is None:
        return None
    return (
        VisitStop.objects.filter(visit_id=token.visit_id, status=VisitStop.Status.PLANNED)
        .order_by("position")
        .values_list("department_id", flat=True)
        .first()
    )


def stop_completed(token: Token, desk: Desk, send_on: list[NextStop], *, actor, now) -> None:
    """The patient is done at this stop: plan `send_on` right after it, then open the
    visit's next stop, or close the visit."""
    if token.visit_id is None:
        return  # a token from before visits
    visit = lock_visit(token.visit_id)
    current = VisitStop.objects.filter(token=token).first()
    position = current.position if current else visit.stops.count()
    if current:
        current.status = VisitStop.Status.DONE
        current.save(update_fields=["status"])
    if send_on:
        planned = plan_stops(
            visit, position, send_on, desk=desk, actor=actor, sent_from=token, now=now
        )
        referral = any(stop.kind == VisitStop.Kind.REFERRAL for stop in planned)
        services.record(
            token,
            TokenEvent.Kind.REFERRED if referral else TokenEvent.Kind.SENT_ON,
            actor,
            now,
            **services.desk_fields(desk),
            note=("To " + ", then ".join(describe(stop, desk) for stop in send_on))[:200],
        )
    open_next_stop(visit, token, actor=actor, now=now)


def plan_stops(
    visit: Visit,
    after: int,
    stops: list[NextStop],
    *,
    desk: Desk | None,
    actor,
    sent_from: Token,
    now,
    kind: str | None = None,
) -> list[VisitStop]:
    """Plan `stops` straight after position `after`, before stops planned earlier."""
    visit.stops.filter(position__gt=after).update(position=F("position") + len(stops))
    planned = [
        VisitStop(
            visit=visit,
            position=after + i,
            kind=kind or stop_kind(desk, stop),
            status=VisitStop.Status.PLANNED,
            department=stop.department,
            doctor=stop.doctor,
            note=clean_note(stop.note),
            sent_by=actor if actor and actor.is_authenticated else None,
            sent_from=sent_from,
            sent_at=now,
        )
        for i, stop in enumerate(stops, start=1)
    ]
    VisitStop.objects.bulk_create(planned)
    webhook_events.visit_sent_on(sent_from, planned, now=now)  # terminal, desk and API alike
    return planned


def token_cancelled(token: Token, *, actor, now) -> None:
    """The token's stop is cancelled with it; the visit moves on to its next stop."""
    if token.visit_id is None:
        return
    visit = lock_visit(token.visit_id)
    VisitStop.objects.filter(token=token).update(status=VisitStop.Status.CANCELLED)
    open_next_stop(visit, token, actor=actor, now=now)


def open_next_stop(
    visit: Visit,
    previous: Token,
    *,
    actor,
    now,
    queued_at=None,
    note: str = "",
) -> VisitStop | None:
    """Give the visit's next planned stop its token, or close the visit when no stop is
    left. Does nothing while a stop is still current. `queued_at` overrides the rank
    the calling policy gives the new token (a transfer keeps the patient's place)."""
    if visit.stops.filter(status=VisitStop.Status.CURRENT).exists():
        return None
    stop = (
        visit.stops.filter(status=VisitStop.Status.PLANNED)
        .select_related("department", "doctor")
        .first()
    )
    if stop is None:
        visit.status = Visit.Status.CLOSED
        visit.closed_at = now
        visit.save(update_fields=["status", "closed_at"])
        return None
    stop.token = services.create_token(
        stop.department,
        visit,
        service_date=previous.service_date,
        mobile=previous.mobile,
        # An emergency stays an emergency at every stop of the visit, and a senior
        # citizen a senior citizen.
        priority=previous.priority,
        category=previous.category,
        assigned_doctor=stop.doctor if previous.priority != Token.Priority.EMERGENCY else None,
        actor=actor,
        now=now,
        # The review rule (queues.reading.calling_order): back to the doctor who sent
        # them out, ranked from when they were sent, not from when they came back.
        queued_at=queued_at or (stop.sent_at if stop.kind == VisitStop.Kind.REVIEW else now),
        note=note or f"Stop {stop.position} of the visit",
        check_limits=False,
    )
    stop.status = VisitStop.Status.CURRENT
    stop.save(update_fields=["token", "status"])
    return stop


# --- Staff actions on a visit ---------------------------------------------------------


def cancel_stop(stop: VisitStop, *, actor, reason: str = "", now=None) -> VisitStop:
    """Cancel a stop the patient will not go to (they left, or it is not needed). The
    current stop's token leaves its queue, and the visit moves on to its next stop."""
    now = now or timezone.now()
    with transaction.atomic():
        # The stop's department and the one the visit goes on to first, then the visit:
        # the order completing and cancelling at a desk take them in.
        stop = VisitStop.objects.select_related("token").get(pk=stop.pk)
        if stop.token is not None:
            services.lock_departments(
                stop.token.department_id, next_department_id(stop.token, None)
            )
        visit = lock_visit(stop.visit_id)
        stop = VisitStop.objects.select_related("token").get(pk=stop.pk)
        if stop.status == VisitStop.Status.PLANNED:
            stop.status = VisitStop.Status.CANCELLED
            stop.save(update_fields=["status"])
            visit.refresh_from_db()
            return stop
        if stop.status != VisitStop.Status.CURRENT or stop.token is None:
            raise services.QueueError(
                gettext("That stop is %(status)s.") % {"status": stop.get_status_display().lower()}
            )
        services.cancel_token(stop.token, actor=actor, reason=reason, now=now)
        stop.refresh_from_db()
    return stop


def send_on(visit: Visit, stops: list[NextStop], *, actor, now=None) -> list[VisitStop]:
    """Send the patient on from outside a terminal (the reception desk, or the hospital's
    system through the API): plan `stops`, in order, straight after the visit's current
    stop, before stops planned earlier. A patient with no current stop (their visit had
    finished) gets the first new stop's token at once, and the visit is open again.
    Returns the planned stops, the first with its token when it was opened."""
    now = now or timezone.now()
    if not stops:
        raise services.QueueError(gettext("Choose at least one next stop."))
    check_next_stops(None, stops, now=now)
    with transaction.atomic():
        # The departments first, then the visit, as a desk completing this patient takes
        # them: the current stop's (its token gains an event) and the first new stop's
        # (where a finished visit's new token is made).
        current_departments = visit.stops.filter(status=VisitStop.Status.CURRENT).values_list(
            "department_id", flat=True
        )
        services.lock_departments(*current_departments, stops[0].department.pk)
        visit = lock_visit(visit.pk)
        if visit.service_date != local_today(now):
            raise services.QueueError(
                gettext("This visit was for %(day)s; only today's visits can be sent on.")
                % {"day": services.short_date(visit.service_date)}
            )
        current = visit.stops.filter(status=VisitStop.Status.CURRENT).first()
        last = visit.stops.order_by("-position").first()
        after = current.position if current else (last.position if last else 0)
        sent_from = (
            current.token
            if current and current.token_id
            else visit.tokens.order_by("-issued_at", "-pk").first()
        )
        if sent_from is None:
            raise services.QueueError(gettext("This visit has no token to send on from."))
        planned = plan_stops(
            visit, after, stops, desk=None, actor=actor, sent_from=sent_from, now=now
        )
        referral = any(stop.kind == VisitStop.Kind.REFERRAL for stop in planned)
        services.record(
            sent_from,
            TokenEvent.Kind.REFERRED if referral else TokenEvent.Kind.SENT_ON,
            actor,
            now,
            note=("To " + ", then ".join(describe(stop) for stop in stops))[:200],
        )
        if current is None:
            if visit.status == Visit.Status.CLOSED:
                visit.status, visit.closed_at = Visit.Status.OPEN, None
                visit.save(update_fields=["status", "closed_at"])
            open_next_stop(visit, sent_from, actor=actor, now=now)
    return list(VisitStop.objects.filter(pk__in=[p.pk for p in planned]).select_related("token"))


def link_patient(visit: Visit, patient, *, actor, now) -> Visit:
    """Tie a visit (a kiosk token, say) to the registered patient: their record lists it
    from now on. The caller owns the transaction and the patient's own history."""
    current = visit.tokens.order_by("-issued_at", "-pk").first()
    if current is not None:
        # The event below moves its department's screens on: that department first, then
        # the visit, as a desk completing the patient takes them.
        services.lock_departments(current.department_id)
    visit = lock_visit(visit.pk)
    if visit.patient_id not in (None, patient.pk):
        raise services.QueueError(gettext("This visit belongs to another registered patient."))
    visit.patient = patient
    visit.save(update_fields=["patient"])
    if current is not None:
        services.record(
            current,
            TokenEvent.Kind.LINKED,
            actor,
            now,
            note=f"Hospital no. {patient.hospital_number}",
        )
    return visit


def stops_of(visit: Visit) -> list[VisitStop]:
    return list(
        visit.stops.select_related(
            "department", "doctor", "token", "token__department", "token__doctor", "token__counter"
        )
    )


def current_stop(visit: Visit) -> VisitStop | None:
    return (
        visit.stops.filter(status=VisitStop.Status.CURRENT)
        .select_related("department", "token", "token__department")
        .first()
    )


def current_token(visit: Visit) -> Token | None:
    """The token the patient is waiting with now, or their last one once done."""
    stop = current_stop(visit)
    if stop is not None and stop.token is not None:
        return stop.token
    return visit.tokens.select_related("department").order_by("-issued_at", "-pk").first()

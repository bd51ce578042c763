"""The front desk's actions on the live queue: recall a skipped patient, move a token to
another department or doctor, reprint a slip (and, through queues.services, cancel, change
the priority category and announce a called token again).

Like queues.services, each function owns its transaction, refuses a bad request with a
services.QueueError a person can read, writes a TokenEvent saying who did it and why
(services.record), and the department's screens are told after commit. The reception
views (appointments/views_queue.py) call exactly one of these per request.
"""

import datetime

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from hospital.clock import local_today
from hospital.languages import localized
from hospital.models import Department, Doctor
from hospital.roles import is_receptionist
from hospital.text import InvalidText, clean_text
from queues import services, visits
from queues.models import Token, TokenEvent, VisitStop
from queues.services import QueueError

MAX_REASON_LENGTH = 200
# What a token may be moved from: it is not with a doctor or at a counter now.
MOVABLE = (Token.Status.WAITING, Token.Status.SKIPPED)


def clean_reason(raw: str | None) -> str:
    """Why the desk did it: required, one line, at most 200 characters."""
    try:
        return clean_text(raw, gettext_noop("reason"), MAX_REASON_LENGTH)
    except InvalidText as exc:
        raise QueueError(str(exc)) from None


def _check_actor(actor) -> None:
    if not (actor is not None and (is_receptionist(actor) or actor.is_staff)):
        raise QueueError(gettext("Only the reception desk can change the live queue from here."))


def _lock(token: Token, *departments: int | None) -> Token:
    # The token's row, locked until commit (after its department's and `departments`, as
    # Call next locks them): a double click, or the desk and a doctor acting at the same
    # moment, see each other's result and never deadlock.
    return services.lock_token(token, *departments)


# What _check_today refuses, per action: whole sentences, for the translators.
NOT_TODAY = {
    "recalled": gettext_lazy("%(number)s was for %(day)s; only today's tokens can be recalled."),
    "moved": gettext_lazy("%(number)s was for %(day)s; only today's tokens can be moved."),
    "reprinted": gettext_lazy("%(number)s was for %(day)s; only today's tokens can be reprinted."),
}


def _check_today(token: Token, now: datetime.datetime, doing: str) -> None:
    if token.service_date != local_today(now):
        raise QueueError(
            str(NOT_TODAY[doing])
            % {"number": token, "day": formats.date_format(token.service_date, "d M Y")}
        )


# --- Recall -------------------------------------------------------------------------------


def recall_by_reception(token: Token, *, actor, reason: str, now=None) -> Token:
    """A skipped patient (a no-show) came to the desk: back to the front of their queue,
    after emergencies, exactly like a doctor's Recall (queues.services.recall_token)."""
    now = now or timezone.now()
    _check_actor(actor)
    reason = clean_reason(reason)
    with transaction.atomic():
        token = _lock(token)
        _check_today(token, now, "recalled")
        if token.status != Token.Status.SKIPPED:
            raise QueueError(
                gettext("%(number)s is %(status)s; only a skipped token can be recalled.")
                % {"number": token, "status": token.get_status_display()}
            )
        left = (token.doctor_id, token.counter_id)
        token.status = Token.Status.WAITING
        token.recalled_at = now
        token.doctor = token.counter = token.called_at = None
        token.save(update_fields=["status", "recalled_at", "doctor", "counter", "called_at"])
        services.record(token, TokenEvent.Kind.RECALLED, actor, now, note=reason, left=left)
    return token


# --- Transfer -----------------------------------------------------------------------------


def _check_target(token: Token, department: Department, doctor: Doctor | None, today) -> None:
    name = localized(department)
    if not department.is_active:
        raise QueueError(
            gettext("%(department)s is not taking patients at the moment.") % {"department": name}
        )
    if not department.is_open_on(today):
        raise QueueError(gettext("%(department)s is closed today.") % {"department": name})
    if doctor is not None:
        if doctor.department_id != department.pk:
            raise QueueError(
                gettext("%(doctor)s does not work in %(department)s.")
                % {"doctor": doctor.name, "department": name}
            )
        if token.priority == Token.Priority.EMERGENCY:
            raise QueueError(
                gettext(
                    "An emergency is seen by the first free doctor: move it to the department, "
                    "not to a named doctor."
                )
            )
    if department.pk == token.department_id and (doctor.pk if doctor else None) == (
        token.assigned_doctor_id
    ):
        raise QueueError(
            gettext("%(number)s is already in %(who)s's queue.")
            % {"number": token, "who": doctor.name if doctor else name}
        )


def _where(department: Department, doctor: Doctor | None) -> str:
    return f"{doctor.name}, {department.name}" if doctor else department.name


def transfer(
    token: Token,
    department: Department,
    doctor: Doctor | None = None,
    *,
    actor,
    reason: str,
    now=None,
) -> Token:
    """Move a waiting (or skipped) token to another department's queue, or to a named
    doctor; returns the token the patient now waits with.

    Within the same department only the doctor changes: the token keeps its number and
    place, and is `doctor`'s only (or, with no doctor, the department's pool).

    To another department the visit's current stop is replaced: the old token is
    cancelled with a TRANSFERRED event, its stop is marked cancelled, and a new token of
    the target department is issued for the same visit as its new current stop (a
    referral whose note is the reason), in one transaction. The patient keeps their
    place by time: the new token's `queued_at` is the old token's, so in the calling
    order (queues.reading.calling_order) they rank by when they first joined a queue
    today, not by when the desk moved them. Their mobile, category and emergency flag go
    with them. A skipped token moved this way waits again in its new queue.
    """
    now = now or timezone.now()
    _check_actor(actor)
    reason = clean_reason(reason)
    today = local_today(now)
    with transaction.atomic():
        token = _lock(token, department.pk)  # the new queue's department too, up front
        _check_today(token, now, "moved")
        if token.status not in MOVABLE:
            raise QueueError(
                gettext("%(number)s is %(status)s; only a waiting or skipped token can be moved.")
                % {"number": token, "status": token.get_status_display()}
            )
        _check_target(token, department, doctor, today)
        note = f"To {_where(department, doctor)}: {reason}"[:MAX_REASON_LENGTH]
        if department.pk == token.department_id:
            return _reassign(token, doctor, actor=actor, now=now, note=note)
        return _move(token, department, doctor, actor=actor, now=now, note=note, reason=reason)


def _reassign(token: Token, doctor: Doctor | None, *, actor, now, note: str) -> Token:
    token.assigned_doctor = doctor
    token.save(update_fields=["assigned_doctor"])
    # The visit's stop names the same doctor, so the patient's page and the visit agree.
    VisitStop.objects.filter(token=token).update(doctor=doctor)
    services.record(token, TokenEvent.Kind.TRANSFERRED, actor, now, note=note)
    return token


def _move(token, department, doctor, *, actor, now, note: str, reason: str) -> Token:
    if token.visit_id is None:
        raise QueueError(
            gettext("%(number)s has no visit to move; cancel it and give a new token.")
            % {"number": token}
        )
    # Token first, then its visit: the order queues.services.cancel_token locks them in.
    visit = visits.lock_visit(token.visit_id)
    old_stop = VisitStop.objects.filter(token=token).first()
    token.status = Token.Status.CANCELLED
    token.save(update_fields=["status"])
    services.record(token, TokenEvent.Kind.TRANSFERRED, actor, now, note=note)
    if old_stop is not None:
        old_stop.status = VisitStop.Status.CANCELLED
        old_stop.save(update_fields=["status"])
    # The new stop goes straight after the one it replaces, before stops planned later.
    after = old_stop.position if old_stop is not None else visit.stops.count()
    visits.plan_stops(
        visit,
        after,
        [visits.NextStop(department, doctor, note=reason)],
        desk=None,
        actor=actor,
        sent_from=token,
        now=now,
        kind=VisitStop.Kind.REFERRAL,
    )
    stop = visits.open_next_stop(
        visit,
        token,
        actor=actor,
        now=now,
        queued_at=token.queued_at,
        note=f"Moved from {token.display_number}: {reason}"[:MAX_REASON_LENGTH],
    )
    return stop.token


# --- Reprint ------------------------------------------------------------------------------


def reprint(token: Token, *, actor, now=None) -> Token:
    """The patient lost the slip: log the reprint (the desk then prints the token's page)."""
    now = now or timezone.now()
    _check_actor(actor)
    with transaction.atomic():
        token = _lock(token)
        _check_today(token, now, "reprinted")
        if token.status in (Token.Status.COMPLETED, Token.Status.CANCELLED):
            raise QueueError(
                gettext("%(number)s is %(status)s; its slip is no longer needed.")
                % {"number": token, "status": token.get_status_display().lower()}
            )
        services.record(token, TokenEvent.Kind.REPRINTED, actor, now)
    return token


# --- Cancel, category, announce: queues.services' own, with the desk's checks ----------


def cancel(token: Token, *, actor, reason: str, now=None) -> Token:
    """Cancel a waiting token (the patient left), saying why; the visit moves on."""
    _check_actor(actor)
    return services.cancel_token(token, actor=actor, reason=clean_reason(reason), now=now)


def change_category(token: Token, category, *, actor, reason: str, now=None) -> Token:
    """Mark or unmark a waiting token's priority category (None: general), saying why."""
    _check_actor(actor)
    return services.change_category(
        token, category, actor=actor, reason=clean_reason(reason), now=now
    )


def announce_again(token: Token, *, actor, now=None) -> Token:
    """The displays call the called token once more."""
    _check_actor(actor)
    return services.announce_again(token, actor=actor, now=now)

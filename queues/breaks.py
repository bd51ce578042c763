"""A doctor or counter stepping away and coming back: a ward round, theatre, a break, an
emergency call (or a reason of their own), and saying they will start late.

While a desk is paused, "Call next" refuses it (queues.services.call_next), estimated
waits leave it out (queues.reading.doctors_on_duty), and the department's screens show a
neutral notice (queues.state.desk_notices). Nothing moves: a paused doctor's booked
patients stay theirs. Every change locks the desk's row, appends a DeskEvent naming who,
moves the department's state version on and tells its screens after commit.
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from hospital.clock import at_local, local_today
from hospital.text import InvalidText, clean_text
from queues import versions
from queues.models import DeskEvent
from queues.reading import Desk, open_token_for
from queues.services import QueueError, default_actor, desk_fields, lock_desk

# The reasons a terminal offers; anything else is the person's own words ("Other").
REASONS = ["ward round", "theatre", "break", "emergency call"]
LATE_REASON = "starting late"
MAX_REASON_LENGTH = 80


def back_time(time: datetime.time | None, now: datetime.datetime) -> datetime.datetime | None:
    """`time` today on the hospital's clock; refused once it has passed."""
    if time is None:
        return None
    back_at = at_local(local_today(now), time)
    if back_at <= now:
        raise QueueError(
            gettext("%(time)s has already passed today. Enter the time you expect to be back.")
            % {"time": f"{time:%H:%M}"}
        )
    return back_at


def pause(
    desk: Desk,
    *,
    reason: str,
    back_at: datetime.time | None = None,
    actor=None,
    now: datetime.datetime | None = None,
) -> Desk:
    """The desk steps away. Refused while a patient is open at it (they would be left
    called with nobody in the room). Pausing again while paused changes the reason or the
    time; the pause still runs from the first."""
    now = now or timezone.now()
    try:
        reason = clean_text(reason, gettext_noop("reason for the pause"), MAX_REASON_LENGTH)
    except InvalidText as exc:
        raise QueueError(str(exc)) from None
    return _step_away(desk, DeskEvent.Kind.PAUSED, reason, back_time(back_at, now), actor, now)


def late_start(
    desk: Desk,
    *,
    back_at: datetime.time | None,
    actor=None,
    now: datetime.datetime | None = None,
) -> Desk:
    """The desk says it will start late, and at about what time."""
    now = now or timezone.now()
    if back_at is None:
        raise QueueError(gettext("Enter the time you expect to start."))
    return _step_away(desk, DeskEvent.Kind.LATE, LATE_REASON, back_time(back_at, now), actor, now)


def _step_away(desk, kind, reason, back_at, actor, now) -> Desk:
    actor = default_actor(desk, actor)
    with transaction.atomic():
        # The desk's row lock serialises this with its own "Call next": a call and a
        # pause from two tabs cannot both pass the open-patient check.
        desk = lock_desk(desk)
        current = open_token_for(desk)
        if current:
            raise QueueError(
                gettext(
                    "Finish %(number)s first: complete it, or skip it as a no-show. Then pause."
                )
                % {"number": current.display_number}
            )
        if desk.paused_at is None:
            desk.paused_at = now
        desk.pause_reason, desk.back_at = reason, back_at
        desk.save(update_fields=["paused_at", "pause_reason", "back_at"])
        _record(desk, kind, actor, now, reason=reason, back_at=back_at)
    return desk


def resume(desk: Desk, *, actor=None, now: datetime.datetime | None = None) -> Desk:
    """The desk is back: it calls again and counts in the estimates again."""
    now = now or timezone.now()
    actor = default_actor(desk, actor)
    with transaction.atomic():
        desk = lock_desk(desk)
        if not desk.is_paused:
            raise QueueError(gettext("You are not paused."))
        desk.paused_at = desk.back_at = None
        desk.pause_reason = ""
        desk.save(update_fields=["paused_at", "pause_reason", "back_at"])
        _record(desk, DeskEvent.Kind.RESUMED, actor, now)
    return desk


def _record(desk, kind, actor, now, *, reason: str = "", back_at=None) -> DeskEvent:
    event = DeskEvent.objects.create(
        department_id=desk.department_id,
        kind=kind,
        reason=reason,
        back_at=back_at,
        actor=actor if actor is not None and actor.is_authenticated else None,
        at=now,
        **desk_fields(desk),
    )
    # As queues.services.record does for a token: the versions move on in the same
    # transaction and the screens are told after commit. Of the terminals, only the
    # desk's own shows its pause.
    versions.desk_changed(desk.department_id, type(desk), desk.pk)
    return event

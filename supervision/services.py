"""Thresholds and alerts: raising, clearing, acknowledging, and telling the duty manager.

check_thresholds runs after queue changes (from the supervisor board's socket, see
supervision.consumers) and every minute from the worker (migration 0002_schedule): a wait
crosses 60 minutes with no event at all.

One crossing, one alert: an alert stays open while the department is over its
threshold and is cleared when it is back under; the next crossing raises a new one. The
database holds at most one open alert per threshold (a unique constraint), so boards and
workers checking at once raise it once, and the duty manager is told once.
"""

import datetime
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from appointments.notify import queue_email, queue_sms
from hospital.phones import InvalidMobile, normalize_mobile
from supervision.access import is_supervisor
from supervision.figures import DepartmentFigures, department_figures
from supervision.models import Alert, Threshold

logger = logging.getLogger(__name__)

# The channel-layer group every supervisor board joins besides the departments' groups:
# told when an alert is raised, cleared or acknowledged.
BOARD_GROUP = "supervision.board"
NOTIFY_PURPOSE = "supervisor_alert"


class SupervisionError(Exception):
    """A refusal a person can read."""


LONGEST_WAIT = gettext_noop("Longest wait %(minutes)s min (over %(limit)s)")
TOO_MANY_WAITING = gettext_noop("%(waiting)s waiting (more than %(limit)s)")


def threshold_reasons(
    figures: DepartmentFigures, threshold: Threshold | None
) -> list[tuple[str, dict]]:
    """Why the department is over its threshold, as (message, its figures); empty when it
    is not. Kept untranslated so the alert's record stays in one language."""
    if threshold is None or not threshold.is_active:
        return []
    reasons = []
    limit = threshold.max_longest_wait_minutes
    longest = figures.longest_wait_minutes
    if limit is not None and longest is not None and longest > limit:
        reasons.append((LONGEST_WAIT, {"minutes": longest, "limit": limit}))
    limit = threshold.max_waiting
    if limit is not None and figures.waiting > limit:
        reasons.append((TOO_MANY_WAITING, {"waiting": figures.waiting, "limit": limit}))
    return reasons


def reasons_over(figures: DepartmentFigures, threshold: Threshold | None) -> list[str]:
    """Why the department is over its threshold, in English words (the alert's record and
    the duty manager's message); empty when it is not."""
    return [message % values for message, values in threshold_reasons(figures, threshold)]


def judged_figures(now: datetime.datetime | None = None) -> list[DepartmentFigures]:
    """Every active department's figures, with the reasons it is over its threshold."""
    figures = department_figures(now)
    thresholds = {t.department_id: t for t in Threshold.objects.filter(is_active=True)}
    for f in figures:
        found = threshold_reasons(f, thresholds.get(f.department_id))
        f.reasons = [message % values for message, values in found]
        # The tile says it in the page's language.
        f.reasons_shown = [gettext(message) % values for message, values in found]
    return figures


def check_thresholds(now: datetime.datetime | None = None) -> list[Alert]:
    """Raise an alert for each department newly over its threshold and clear those back
    under; returns the alerts raised. Safe to run from any number of processes at once."""
    now = now or timezone.now()
    figures = judged_figures(now)
    over = {f.department_id: f for f in figures if f.over_threshold}
    thresholds = {
        t.department_id: t
        for t in Threshold.objects.filter(is_active=True, department__is_active=True)
    }
    open_alerts = list(Alert.objects.filter(cleared_at__isnull=True))
    open_for = {alert.threshold_id for alert in open_alerts}
    to_clear = [
        alert.pk
        for alert in open_alerts
        if alert.department_id not in over
        or thresholds.get(alert.department_id) is None
        or thresholds[alert.department_id].pk != alert.threshold_id
    ]
    to_raise = [
        (thresholds[department_id], f)
        for department_id, f in over.items()
        if department_id in thresholds and thresholds[department_id].pk not in open_for
    ]
    if not (to_clear or to_raise):
        return []  # the usual case: no write, no lock taken
    raised, cleared = [], 0
    with transaction.atomic():
        # A compare-and-swap: of two checks clearing at once, one counts it.
        cleared = Alert.objects.filter(pk__in=to_clear, cleared_at__isnull=True).update(
            cleared_at=now
        )
        for threshold, f in to_raise:
            alert = _raise(threshold, f, now)
            if alert is not None:
                raised.append(alert)
        if raised or cleared:
            board_changed()
    return raised


def _raise(threshold: Threshold, figures: DepartmentFigures, now) -> Alert | None:
    try:
        # A savepoint: another check that raised this crossing first (the unique
        # constraint) must not undo what this one cleared or raised elsewhere.
        with transaction.atomic():
            alert = Alert.objects.create(
                department_id=threshold.department_id,
                threshold=threshold,
                reason=figures.reason_text[:200],
                raised_at=now,
            )
            alert.notified = _notify_duty_manager(alert, figures.name, now)
            if alert.notified:
                alert.save(update_fields=["notified"])
    except IntegrityError:
        return None
    logger.info("Supervisor alert %s raised for %s: %s", alert.pk, figures.name, alert.reason)
    return alert


def _notify_duty_manager(alert: Alert, department_name: str, now) -> bool:
    """Put the alert in the outbox for the duty manager, if the hospital set a mobile or
    an e-mail. Only the department and the figures: never a patient's name or mobile."""
    when = timezone.localtime(now).strftime("%H:%M")
    text = f"OPD alert {when}: {department_name}: {alert.reason}. See /supervisor/."
    queued = False
    mobile = settings.DUTY_MANAGER_MOBILE
    if mobile:
        try:
            queue_sms(normalize_mobile(mobile), text, purpose=NOTIFY_PURPOSE)
            queued = True
        except InvalidMobile:
            logger.warning("DUTY_MANAGER_MOBILE is not a valid mobile number; no SMS sent")
    if settings.DUTY_MANAGER_EMAIL:
        queue_email(
            settings.DUTY_MANAGER_EMAIL,
            f"OPD alert: {department_name}",
            text,
            purpose=NOTIFY_PURPOSE,
        )
        queued = True
    return queued


def acknowledge(alert: Alert, actor, *, now: datetime.datetime | None = None) -> Alert:
    """Record that `actor` has seen the alert (who and when, once)."""
    now = now or timezone.now()
    if not is_supervisor(actor):
        raise SupervisionError(gettext("Only hospital admins and supervisors acknowledge alerts."))
    with transaction.atomic():
        # A compare-and-swap: of two supervisors clicking at once, the first is recorded.
        done = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, acknowledged_by=actor
        )
        if not done:
            raise SupervisionError(gettext("This alert was already acknowledged."))
        board_changed()
    logger.info("Supervisor alert %s acknowledged by %s", alert.pk, actor.get_username())
    alert.refresh_from_db()
    return alert


def alerts_to_show(now: datetime.datetime | None = None, limit: int = 50):
    """The alerts a supervisor still has to see: open ones, and cleared ones nobody has
    acknowledged yet, newest first."""
    from django.db.models import Q

    return (
        Alert.objects.filter(Q(cleared_at__isnull=True) | Q(acknowledged_at__isnull=True))
        .select_related("department", "acknowledged_by")
        .order_by("-raised_at", "-pk")[:limit]
    )


def board_changed() -> None:
    """Tell every supervisor board to redraw, after commit."""
    transaction.on_commit(publish_board_changed)


def publish_board_changed() -> None:
    try:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(BOARD_GROUP, {"type": "board.changed"})
    except Exception as exc:
        # Redis down: the alert is committed; boards catch up on their next ping.
        logger.warning("Could not tell the supervisor boards: %r", exc)

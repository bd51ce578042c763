"""Messages to a patient about their place in the queue, by SMS: the status page's link
when the token is issued, "your turn is near" when few are ahead, and "please go to Room 4"
when called. Each in the patient's language (Token.language), naming the hospital and its
phone number, at most once of each kind per stop (a database constraint on the outbox,
appointments.models.Notification), and never to a number that opted out.

The issued and called messages are written in the service's own transaction
(queues.services), so they exist exactly when the change does. "Your turn is near" depends
on the whole line, which every change moves: after each change commits the worker is woken
to run check_near_turn for that department, and check_all_near_turns runs every minute as
the safety net (a lost wake-up, an appointment that became due with no event). Two workers
checking at once are safe: the outbox's constraint lets only one message through.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from django_q.tasks import async_task

from appointments import notify
from appointments.models import Notification
from hospital.clock import local_today
from hospital.languages import localized, patient_language
from hospital.models import Department
from queues.models import Token
from queues.reading import calling_sequence

logger = logging.getLogger(__name__)


# --- The texts ------------------------------------------------------------------------


def status_link(token: Token) -> str:
    """The absolute address of the patient's status page: the visit's (it follows them
    from stop to stop), or the token's own for a token from before visits."""
    if token.visit_id:
        path = reverse("visit_detail", args=[token.visit.public_id])
    else:
        path = reverse("token_detail", args=[token.public_id])
    return settings.PUBLIC_BASE_URL + path


def signature() -> str:
    """Who the message is from, in the active language: the hospital, never the product."""
    # Translators: the end of every SMS to a patient, e.g. "City General Hospital, help
    # desk +91 80 2222 0000".
    return gettext("%(hospital)s, help desk %(phone)s") % {
        "hospital": settings.HOSPITAL_NAME,
        "phone": settings.HOSPITAL_PHONE,
    }


def issued_text(token: Token) -> str:
    # Translators: an SMS sent when a patient takes a token; number is e.g. "ORTH-007".
    text = gettext("Your token %(number)s for %(department)s. Your place in the queue: %(link)s")
    values = {
        "number": token.display_number,
        "department": localized(token.department, "name"),
        "link": status_link(token),
    }
    return f"{text % values} {signature()}"


def near_text(token: Token, ahead: int) -> str:
    values = {
        "number": token.display_number,
        "department": localized(token.department, "name"),
        "count": ahead,
    }
    if ahead == 0:
        # Translators: an SMS to a waiting patient; number is e.g. "ORTH-007".
        text = gettext("%(number)s, %(department)s: you are next. Please stay close by.")
    else:
        # Translators: an SMS to a waiting patient; number is e.g. "ORTH-007".
        text = ngettext(
            "%(number)s, %(department)s: your turn is near, %(count)s patient is ahead of "
            "you. Please stay close by.",
            "%(number)s, %(department)s: your turn is near, %(count)s patients are ahead of "
            "you. Please stay close by.",
            ahead,
        )
    return f"{text % values} {signature()}"


def called_text(token: Token) -> str:
    # Translators: an SMS when the patient is called; place is e.g. "Room 4" or "Counter 2".
    text = gettext("%(number)s: please go to %(place)s now.") % {
        "number": token.display_number,
        "place": token.place,
    }
    return f"{text} {signature()}"


# --- Writing them (inside the caller's transaction) -------------------------------------


def _queue(token: Token, purpose: str, text_of, *args) -> Notification | None:
    if not token.mobile:
        return None
    language = patient_language(token.language)
    with translation.override(language):
        body = text_of(token, *args)
    return notify.queue_sms(token.mobile, body, purpose=purpose, token=token, language=language)


def token_issued(token: Token) -> Notification | None:
    """The status page's link, for a patient who gave a mobile (queues.services)."""
    return _queue(token, Notification.TOKEN_ISSUED, issued_text)


def token_called(token: Token) -> Notification | None:
    """ "ORTH-007: please go to Room 4", once per stop: a recall called again, or "call
    again" on the displays, sends nothing more."""
    return _queue(token, Notification.TOKEN_CALLED, called_text)


def sms_is_on(token: Token) -> bool:
    """Whether this token's patient is sent queue updates by SMS (for the status page)."""
    return bool(token.mobile) and not notify.is_opted_out(token.mobile)


def stop_sms(token: Token) -> None:
    """The patient pressed "Stop SMS for this number" on their status page: no more
    queue updates or reminders to that mobile (logged by notify.opt_out)."""
    if token.mobile:
        notify.opt_out(token.mobile, how=f"status page of {token.display_number}")


# --- "Your turn is near" (the worker) ----------------------------------------------------


def _awaiting_near_message(department_id: int, day: datetime.date):
    """Waiting tokens of the department's day that have a mobile and were not yet told."""
    return (
        Token.objects.filter(
            department_id=department_id, service_date=day, status=Token.Status.WAITING
        )
        .exclude(mobile="")
        .exclude(notifications__purpose=Notification.TURN_NEAR)
    )


def check_near_turn(department_id: int, day=None, *, now=None) -> int:
    """Tell each waiting patient of the department with a mobile whose turn is near (at
    most Department.near_turn_ahead ahead of them in the calling order) and who was not
    told yet at this stop. Returns how many messages were written. Run by the worker."""
    now = now or timezone.now()
    today = local_today(now)
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    if day is not None and day != today:
        return 0  # a later day's queue moves only when that day comes
    candidates = list(_awaiting_near_message(department_id, today).values_list("pk", flat=True))
    if not candidates:
        return 0
    department = Department.objects.get(pk=department_id)
    # Each token's place as its own status page counts it (queues.reading.tokens_ahead): a
    # pool token in the whole line, a booked patient's in their doctor's line.
    lines: dict[int | None, list[Token]] = {
        None: calling_sequence(department, today, now=now),
    }
    written = 0
    for token in lines[None]:
        if token.pk not in candidates:
            continue
        line = lines.get(token.assigned_doctor_id)
        if line is None:
            line = lines[token.assigned_doctor_id] = calling_sequence(
                department, today, doctor=token.assigned_doctor_id, now=now
            )
        ahead = next((i for i, t in enumerate(line) if t.pk == token.pk), None)
        if ahead is None or ahead > department.near_turn_ahead:
            continue
        with transaction.atomic():
            written += _queue(token, Notification.TURN_NEAR, near_text, ahead) is not None
    return written


def check_all_near_turns(*, now=None) -> int:
    """Every department's check, every minute (the worker's schedule, migration
    appointments 0010): catches what a lost wake-up or the clock alone changed."""
    now = now or timezone.now()
    today = local_today(now)
    departments = (
        Token.objects.filter(service_date=today, status=Token.Status.WAITING)
        .exclude(mobile="")
        .exclude(notifications__purpose=Notification.TURN_NEAR)
        .values_list("department_id", flat=True)
        .distinct()
    )
    return sum(check_near_turn(pk, today, now=now) for pk in list(departments))


def queue_changed(token: Token) -> None:
    """Called by queues.services.record for every change: after it commits, wake the
    worker to check the department's line, if anyone there still waits for the news."""
    department_id, day = token.department_id, token.service_date
    # One indexed query decides whether the worker is needed at all: most changes concern
    # patients without a mobile, or who were told already.
    if day != local_today() or not _awaiting_near_message(department_id, day).exists():
        return
    transaction.on_commit(lambda: _wake_worker(department_id, day))


def _wake_worker(department_id: int, day: datetime.date) -> None:
    try:
        async_task(
            "queues.messages.check_near_turn",
            department_id,
            day.isoformat(),
            task_name=f"near turn {department_id} {day}",
        )
    except Exception:
        # The every-minute check sends it a little later: a failed wake-up is logged,
        # never the patient's or the desk's problem.
        logger.exception("could not wake the worker to check department %s", department_id)

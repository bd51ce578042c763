"""Messages to patients: an outbox of SMS and email, sent by the worker.

A service calls queue_sms / queue_email inside its own transaction: the Notification row
commits or rolls back with the change that caused it, so a booking never lacks the record
of its message, even if the server dies right after the commit. After the commit the
worker (django-q2, `manage.py qcluster`) is asked to send it at once; send_due, scheduled
every minute, sends whatever is still due (a lost wake-up, a retry). Nothing slow happens
in a request.

Each try is recorded on the row. A failed try is retried with exponential backoff
(NOTIFY_RETRY_SECONDS, doubling) up to NOTIFY_MAX_ATTEMPTS; the last failure marks it
FAILED and writes an AppointmentEvent NOTIFY_FAILED, so reception sees it and tells the
patient in person. Without a transport the message is NOT_SENT, never "sent".

SMS backends (settings.SMS_BACKEND):
    none     no transport: messages are recorded as not sent (the default without DEBUG)
    console  the message goes to the server log, under DEBUG only (make run's default)
    outbox   one JSON object per line in OUTBOX_DIR/sms.jsonl (tests, browser tests)
    http     POST {"to", "message", "sender", "template_id", "entity_id", "message_id",
             "unicode"} to SMS_GATEWAY_URL with a Bearer key (TRAI DLT: dlt_fields)

Every message has a message_id, the same on each try. The claim on a row is a lease
(NOTIFY_CLAIM_SECONDS): a worker killed mid-send loses nothing, as the row is tried again
once the lease runs out; if it died after the gateway accepted the message but before the
worker recorded that, the gateway sees the same message_id again and drops the repeat.

Queue updates and reminders (Notification.OPTIONAL) are at most one of a kind per stop or
appointment (database constraints), and are neither queued nor sent to a number that
opted out (SmsOptOut).
Email goes through Django's email backend (EMAIL_URL; without it the console under DEBUG,
and hospital.mail.NoTransportBackend otherwise).

No log line carries a message's text or a full mobile number: a body may hold a code.
"""

import datetime
import json
import logging
import threading
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from appointments.models import AppointmentEvent, Notification, SmsOptOut
from hospital.phones import mask_mobile

logger = logging.getLogger(__name__)

GATEWAY_TIMEOUT_SECONDS = 5
MAX_ERROR_LENGTH = Notification._meta.get_field("error").max_length
NO_SMS_TRANSPORT = "no SMS transport configured (SMS_BACKEND=http and SMS_GATEWAY_URL)"
NO_EMAIL_TRANSPORT = "no e-mail transport configured (EMAIL_URL)"
OPTED_OUT = "the patient opted out of SMS"

# Appends from several threads go through one lock, so lines never interleave.
_outbox_lock = threading.Lock()


class DeliveryFailed(Exception):
    """A backend could not hand the message over; the text says why (never the body)."""


class NotConfigured(Exception):
    """There is nothing to send the message with; trying again would not help."""


class Misconfigured(Exception):
    """The settings name a transport that does not exist: failed at once, no retries."""


# --- Transports ---------------------------------------------------------------------------


def dlt_fields(notification: Notification) -> dict:
    """What an Indian gateway needs to deliver the message under TRAI DLT: the sender
    header and the registered template of its kind (in its language), the hospital's
    entity id, and the message's id, the same on every try, so the gateway can drop a
    repeat."""
    template = settings.SMS_TEMPLATES.get(notification.purpose, {})
    template_ids = template.get("template_ids", {})
    return {
        "sender": template.get("sender") or settings.SMS_SENDER,
        "template_id": template_ids.get(notification.language) or template.get("template_id", ""),
        "entity_id": settings.SMS_DLT_ENTITY_ID,
        "message_id": str(notification.message_id),
    }


def _sms_none(notification: Notification) -> None:
    raise NotConfigured(NO_SMS_TRANSPORT)


def _sms_console(notification: Notification) -> None:
    # The console is a developer's SMS gateway: with DEBUG off it would put codes in the
    # server log, so it is no transport at all there.
    if not settings.DEBUG:
        raise NotConfigured(NO_SMS_TRANSPORT)
    logger.info("SMS to %s (%s): %s", notification.to, notification.purpose, notification.body)


def _sms_outbox(notification: Notification) -> None:
    directory = settings.OUTBOX_DIR
    line = json.dumps(
        {
            "to": notification.to,
            "body": notification.body,
            "purpose": notification.purpose,
            "language": notification.language,
            "at": timezone.now().isoformat(),
            **dlt_fields(notification),
        },
        ensure_ascii=False,
    )
    try:
        with _outbox_lock:
            directory.mkdir(parents=True, exist_ok=True)
            with open(directory / "sms.jsonl", "a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")
    except OSError as exc:
        raise DeliveryFailed(f"could not write the SMS outbox: {exc.strerror or exc}") from None


def _sms_http(notification: Notification) -> None:
    url = settings.SMS_GATEWAY_URL
    if not url:
        raise NotConfigured(NO_SMS_TRANSPORT)
    body = notification.body
    payload = json.dumps(
        {
            "to": notification.to,
            "message": body,
            **dlt_fields(notification),
            # Hindi and Tamil go as Unicode SMS (shorter parts); the gateway must know.
            "unicode": not body.isascii(),
        }
    ).encode()
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {settings.SMS_GATEWAY_KEY}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=GATEWAY_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # The gateway's answer is not quoted: it may echo the message (and so a code).
        raise DeliveryFailed(f"the SMS gateway answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"could not reach the SMS gateway: {reason}") from None


SMS_BACKENDS = {
    "none": _sms_none,
    "console": _sms_console,
    "outbox": _sms_outbox,
    "http": _sms_http,
}


def sms_transport_configured() -> bool:
    """Whether an SMS would leave the machine (or reach the test outbox)."""
    backend = settings.SMS_BACKEND
    if backend == "http":
        return bool(settings.SMS_GATEWAY_URL)
    return backend == "outbox" or (backend == "console" and settings.DEBUG)


def email_transport_configured() -> bool:
    return settings.EMAIL_BACKEND != "hospital.mail.NoTransportBackend"


def _deliver(notification: Notification) -> None:
    """Hand one message to its transport; DeliveryFailed or NotConfigured says why not."""
    if notification.channel == "sms":
        backend = SMS_BACKENDS.get(settings.SMS_BACKEND)
        if backend is None:
            raise Misconfigured(f"unknown SMS_BACKEND {settings.SMS_BACKEND!r}")
        backend(notification)
        return
    if not email_transport_configured():
        raise NotConfigured(NO_EMAIL_TRANSPORT)
    try:
        send_mail(
            notification.subject,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.to],
            fail_silently=False,
        )
    except Exception as exc:  # SMTP down, refused, misconfigured: retried, then shown
        raise DeliveryFailed(f"the email could not be sent ({type(exc).__name__})") from None


# --- Queueing (inside the caller's transaction) -------------------------------------------


def queue_sms(
    to: str, body: str, *, purpose: str, appointment=None, secret: bool = False,
    expires_in: datetime.timedelta | None = None, token=None, language: str = "",
) -> Notification | None:  # fmt: skip
    """Write an SMS to `to` (E.164) into the outbox, in the caller's transaction; one not
    sent within `expires_in` is given up. A queue update or reminder (purpose in
    Notification.OPTIONAL) is not written for a number that opted out, nor a second time
    for the same stop (`token`) or appointment: then None is returned."""
    args = ("sms", purpose, to, "", body, appointment, secret, expires_in, token, language)
    if purpose not in Notification.OPTIONAL:
        return _queue(*args)
    if is_opted_out(to) or _already_queued(purpose, token, appointment):
        return None
    try:
        # A savepoint: losing the race to another worker must not spoil the caller's
        # transaction (on PostgreSQL a failed INSERT would abort all of it).
        with transaction.atomic():
            return _queue(*args)
    except IntegrityError:
        return None  # the same message, written by someone else a moment ago


def _already_queued(purpose: str, token, appointment) -> bool:
    if purpose in Notification.ONCE_PER_STOP:
        return Notification.objects.filter(token=token, purpose=purpose).exists()
    return Notification.objects.filter(appointment=appointment, purpose=purpose).exists()


def is_opted_out(mobile: str) -> bool:
    return bool(mobile) and SmsOptOut.objects.filter(mobile=mobile).exists()


def opt_out(mobile: str, *, how: str, now=None) -> SmsOptOut:
    """Stop queue updates and reminders to `mobile` (codes the patient asks for, and
    confirmations and cancellations of their appointments, still go). Messages already
    waiting are not sent either (send_one checks again). Saying it twice keeps the first."""
    now = now or timezone.now()
    opt, created = SmsOptOut.objects.get_or_create(
        mobile=mobile, defaults={"at": now, "how": how[:100]}
    )
    if created:
        logger.info("SMS opt-out: %s, %s", mask_mobile(mobile), opt.how)
    return opt


def queue_email(
    to: str, subject: str, body: str, *, purpose: str, appointment=None, secret: bool = False
) -> Notification:
    """Write an email into the outbox, in the caller's transaction. A `secret` one (a
    password-reset link) keeps its body only until it is sent or given up."""
    return _queue("email", purpose, to, subject, body, appointment, secret, None)


def _queue(
    channel, purpose, to, subject, body, appointment, secret, expires_in, token=None, language=""
):
    # The wall clock, not a service's `now=`: these times are for the worker, which runs
    # on the real clock.
    now = timezone.now()
    notification = Notification.objects.create(
        appointment=appointment,
        token=token,
        language=language,
        channel=channel,
        purpose=purpose,
        to=to,
        subject=subject[:200],
        body=body,
        secret=secret,
        created_at=now,
        next_attempt_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    transaction.on_commit(lambda: _wake_worker(notification.pk))
    return notification


def _wake_worker(pk: int) -> None:
    """Ask the worker to send `pk` now. If this fails the row is still due and the
    every-minute send_due picks it up, so a failure is logged, never raised."""
    try:
        async_task("appointments.notify.send_one", pk, task_name=f"notification {pk}")
    except Exception:
        logger.exception("could not wake the worker for notification %s", pk)


# --- Sending (the worker) -----------------------------------------------------------------


def send_due(*, now=None) -> int:
    """Send every message that is due; returns how many were tried. Scheduled every
    minute by the worker (migration 0005), and safe to run from any number of workers."""
    now = now or timezone.now()
    due = Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    tried = 0
    for pk in list(due.values_list("pk", flat=True)[:500]):
        tried += send_one(pk, now=now) is not None
    return tried


def send_one(pk: int, *, now=None) -> Notification | None:
    """Try to send one pending message, if it is due and no other worker has it.
    Returns the row, or None when there was nothing to do."""
    now = now or timezone.now()
    # The claim is a compare-and-swap on next_attempt_at: of two workers woken for the
    # same row only one moves it, so a message is not sent twice by a race.
    claimed = Notification.objects.filter(
        pk=pk, status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + datetime.timedelta(seconds=settings.NOTIFY_CLAIM_SECONDS))
    if not claimed:
        return None
    notification = Notification.objects.select_related("appointment").get(pk=pk)
    if notification.expires_at and notification.expires_at <= now:
        return _finish(
            notification, now, Notification.Status.FAILED, "it expired before it could be sent"
        )
    if notification.purpose in Notification.OPTIONAL and is_opted_out(notification.to):
        # The patient opted out after it was queued: their word is the later one.
        return _finish(notification, now, Notification.Status.OPTED_OUT, OPTED_OUT)
    try:
        _deliver(notification)
    except NotConfigured as exc:
        return _finish(notification, now, Notification.Status.NOT_SENT, f"not sent: {exc}")
    except Misconfigured as exc:
        return _finish(notification, now, Notification.Status.FAILED, str(exc))
    except DeliveryFailed as exc:
        return _retry_or_fail(notification, now, str(exc))
    except Exception as exc:  # a transport bug must not stop the worker either
        logger.exception("the %s backend crashed on notification %s", notification.channel, pk)
        return _retry_or_fail(
            notification, now, f"the {notification.channel} backend failed ({type(exc).__name__})"
        )
    return _finish(notification, now, Notification.Status.SENT, "")


def retry_delay(attempts_made: int) -> datetime.timedelta:
    """The wait after the n-th failed try: NOTIFY_RETRY_SECONDS, doubling each time."""
    return datetime.timedelta(seconds=settings.NOTIFY_RETRY_SECONDS * 2 ** (attempts_made - 1))


def _retry_or_fail(notification: Notification, now, error: str) -> Notification:
    made = len(notification.attempts) + 1
    if made >= settings.NOTIFY_MAX_ATTEMPTS:
        return _finish(notification, now, Notification.Status.FAILED, error)
    _record_attempt(notification, now, "failed", error)
    notification.next_attempt_at = now + retry_delay(made)
    notification.save(update_fields=["attempts", "error", "next_attempt_at"])
    logger.info(
        "%s (%s) to %s failed, try %d of %d: %s",
        notification.channel.upper(), notification.purpose, _shown_to(notification), made,
        settings.NOTIFY_MAX_ATTEMPTS, error,
    )  # fmt: skip
    return notification


def _finish(notification: Notification, now, status: str, error: str) -> Notification:
    result = "sent" if status == Notification.Status.SENT else status
    _record_attempt(notification, now, result, error)
    notification.status = status
    notification.next_attempt_at = None
    if status == Notification.Status.SENT:
        notification.sent_at = now
    if notification.secret:
        notification.body = ""  # sent or given up: the code is needed no more
    with transaction.atomic():
        notification.save()
        if error:
            logger.log(
                logging.INFO if status == Notification.Status.OPTED_OUT else logging.WARNING,
                "%s (%s) to %s: %s",
                notification.channel.upper(), notification.purpose, _shown_to(notification), error,
            )  # fmt: skip
            if notification.appointment_id and status != Notification.Status.OPTED_OUT:
                AppointmentEvent.objects.create(
                    appointment_id=notification.appointment_id,
                    kind=AppointmentEvent.Kind.NOTIFY_FAILED,
                    at=now,
                    reason=(
                        f"{notification.channel.upper()} {notification.purpose} to "
                        f"{_shown_to(notification)}: {error}"
                    )[:200],
                )
    return notification


def _record_attempt(notification: Notification, now, result: str, error: str) -> None:
    error = error[:MAX_ERROR_LENGTH]
    notification.attempts = [
        *notification.attempts,
        {"at": now.isoformat(), "result": result, "error": error},
    ]
    notification.error = error


def _shown_to(notification: Notification) -> str:
    if notification.channel == "sms":
        return mask_mobile(notification.to)
    local, _, domain = notification.to.partition("@")
    return f"{local[:1]}•••@{domain}"


# --- For tests and the browser tests ------------------------------------------------------


def outbox_messages() -> list[dict]:
    """The messages in the outbox file, oldest first (for tests and the browser test)."""
    path = settings.OUTBOX_DIR / "sms.jsonl"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as outbox:
        return [json.loads(line) for line in outbox if line.strip()]


def format_when(day: datetime.date, start: datetime.time) -> str:
    return f"{day:%a %d %b %Y} at {start:%H:%M}"

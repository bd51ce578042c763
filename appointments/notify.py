"""Messages to patients: SMS and email, through one small interface.

Every message is recorded as a Notification row (sent or failed). A transport failure is
never raised to the caller: a booking is already committed when its messages go out, and
a gateway being down must not turn it into an error page. Failures are recorded instead
(Notification FAILED, and an AppointmentEvent NOTIFY_FAILED when the message belongs to an
appointment), so reception can see them and tell the patient in person.

SMS backends (settings.SMS_BACKEND):
    console  the message goes to the server log (development)
    outbox   one JSON object per line in OUTBOX_DIR/sms.jsonl (tests, browser tests)
    http     POST {"to", "message", "sender"} to SMS_GATEWAY_URL with a Bearer key
Email goes through Django's email backend (EMAIL_URL; console when unset).

A message marked secret=True (a one-time code) is delivered but its text is never stored
or logged; only the console backend prints it, because printing it is its whole job.
"""

import datetime
import json
import logging
import threading
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from appointments.models import AppointmentEvent, Notification
from hospital.phones import mask_mobile

logger = logging.getLogger(__name__)

GATEWAY_TIMEOUT_SECONDS = 5
MAX_ERROR_LENGTH = Notification._meta.get_field("error").max_length

# Appends from several request threads go through one lock, so lines never interleave.
_outbox_lock = threading.Lock()


class DeliveryFailed(Exception):
    """A backend could not hand the message over; the text says why (never the body)."""


# --- SMS backends -------------------------------------------------------------------------


def _sms_console(to: str, body: str, purpose: str) -> None:
    logger.info("SMS to %s (%s): %s", to, purpose, body)


def _sms_outbox(to: str, body: str, purpose: str) -> None:
    directory = settings.OUTBOX_DIR
    line = json.dumps(
        {"to": to, "body": body, "purpose": purpose, "at": timezone.now().isoformat()}
    )
    try:
        with _outbox_lock:
            directory.mkdir(parents=True, exist_ok=True)
            with open(directory / "sms.jsonl", "a", encoding="utf-8") as outbox:
                outbox.write(line + "\n")
    except OSError as exc:
        raise DeliveryFailed(f"could not write the SMS outbox: {exc.strerror or exc}") from None


def _sms_http(to: str, body: str, purpose: str) -> None:
    url = settings.SMS_GATEWAY_URL
    if not url:
        raise DeliveryFailed("SMS_GATEWAY_URL is not set")
    payload = json.dumps({"to": to, "message": body, "sender": settings.SMS_SENDER}).encode()
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


SMS_BACKENDS = {"console": _sms_console, "outbox": _sms_outbox, "http": _sms_http}


# --- The interface ------------------------------------------------------------------------


def send_sms(
    to: str, body: str, *, purpose: str, appointment=None, secret: bool = False
) -> Notification:
    """Send `body` to the mobile `to` (E.164). Returns the Notification recorded."""
    backend = SMS_BACKENDS.get(settings.SMS_BACKEND)
    error = ""
    try:
        if backend is None:
            raise DeliveryFailed(f"unknown SMS_BACKEND {settings.SMS_BACKEND!r}")
        backend(to, body, purpose)
    except DeliveryFailed as exc:
        error = str(exc)
    except Exception as exc:  # a transport bug must not lose the booking either
        logger.exception("SMS backend %s crashed", settings.SMS_BACKEND)
        error = f"the SMS backend failed ({type(exc).__name__})"
    return _record(
        "sms", purpose, to, "" if secret else body, error, appointment, shown_to=mask_mobile(to)
    )


def send_email(to: str, subject: str, body: str, *, purpose: str, appointment=None) -> Notification:
    """Send an email through Django's configured backend. Returns the Notification."""
    error = ""
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception as exc:  # SMTP down, refused, misconfigured: recorded, not raised
        error = f"the email could not be sent ({type(exc).__name__}: {exc})"
    return _record("email", purpose, to, f"{subject}\n\n{body}", error, appointment, shown_to=to)


def _record(channel, purpose, to, body, error, appointment, *, shown_to) -> Notification:
    now = timezone.now()
    notification = Notification(
        appointment=appointment,
        channel=channel,
        purpose=purpose,
        to=to,
        body=body,
        status=Notification.Status.FAILED if error else Notification.Status.SENT,
        error=error[:MAX_ERROR_LENGTH],
        created_at=now,
    )
    if error:
        logger.warning("%s (%s) to %s failed: %s", channel.upper(), purpose, shown_to, error)
    try:
        notification.save()
        if error and appointment is not None:
            AppointmentEvent.objects.create(
                appointment=appointment,
                kind=AppointmentEvent.Kind.NOTIFY_FAILED,
                at=now,
                reason=f"{channel.upper()} {purpose} to {shown_to}: {error}"[:200],
            )
    except Exception:
        # Runs after the booking committed; a database hiccup here is logged, not raised.
        logger.exception("could not record a %s notification", channel)
    return notification


def outbox_messages() -> list[dict]:
    """The messages in the outbox file, oldest first (for tests and the browser test)."""
    path = settings.OUTBOX_DIR / "sms.jsonl"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as outbox:
        return [json.loads(line) for line in outbox if line.strip()]


def format_when(day: datetime.date, start: datetime.time) -> str:
    return f"{day:%a %d %b %Y} at {start:%H:%M}"

"""Sending webhooks: the worker's side of the outbox written by webhooks.events.

Each delivery is POSTed as JSON with the three headers of the Standard Webhooks spec
(https://www.standardwebhooks.com/): `webhook-id` (the delivery's message id, the same on
every try, so the receiver can drop a repeat), `webhook-timestamp` (seconds since the
epoch) and `webhook-signature` ("v1," and the base64 HMAC-SHA256 of "id.timestamp.body"
keyed with the endpoint's secret), made by the `standardwebhooks` library, the spec's
own reference implementation, which receivers use to verify.

A 2xx answer within WEBHOOK_TIMEOUT_SECONDS is delivered; anything else (another status,
a redirect, which is never followed, a timeout, a refused connection) is tried again
after WEBHOOK_RETRY_SECONDS, doubling, up to WEBHOOK_MAX_ATTEMPTS tries, then the
delivery is failed; the admin can send it again. Every try is recorded with its time,
HTTP status and response time.

The claim on a row is a lease (WEBHOOK_CLAIM_SECONDS), as for patients' messages
(appointments.notify): a worker killed mid-send loses nothing. Logs name the endpoint
and its host only: an endpoint's URL may carry a key in its path or query, and the
secret is never logged.
"""

import datetime
import json
import logging
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks.events import wake_worker
from webhooks.models import WebhookDelivery, WebhookEndpoint, new_secret

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = WebhookDelivery._meta.get_field("error").max_length
# Enough of the answer to let the receiver finish writing; it is not kept.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "OPD-Queue-Webhooks/1"


class WebhookError(Exception):
    """A request about webhooks that cannot be done; the message says why."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not a new address to send the patient's data to: the
    # 3xx is recorded as a failed try.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def body_of(delivery: WebhookDelivery) -> str:
    """The request body: the payload as compact JSON with sorted keys, so every try of
    a message carries the same bytes whatever order the database gives the keys in."""
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def signed_headers(delivery: WebhookDelivery, body: str, at: datetime.datetime) -> dict:
    """The Standard Webhooks headers for `body` sent at `at`."""
    # sign() reads the time's fields as UTC, so the time must be in UTC.
    at = at.astimezone(datetime.UTC)
    signature = Webhook(delivery.endpoint.secret).sign(delivery.message_id, at, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def host_of(url: str) -> str:
    """What a log line may say about where a delivery went."""
    return urlsplit(url).hostname or "?"


def post(delivery: WebhookDelivery) -> tuple[int | None, int, str]:
    """POST one delivery; returns (HTTP status or None, response time in ms, error)."""
    body = body_of(delivery)
    # The receiver checks the timestamp against its own clock (five minutes either way),
    # so it is the real time of this try, never a test's frozen clock.
    headers = signed_headers(delivery, body, datetime.datetime.now(datetime.UTC))
    request = urllib.request.Request(
        delivery.endpoint.url, data=body.encode(), method="POST", headers=headers
    )
    started = time.monotonic()
    status, error = None, ""
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(MAX_RESPONSE_BYTES)
            status = response.status
    except urllib.error.HTTPError as exc:
        # The answer's body is not kept: it is the receiver's, and may echo the payload.
        status, error = exc.code, f"the endpoint answered HTTP {exc.code}"
        exc.close()
    except TimeoutError:
        error = f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            error = f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s"
        else:
            error = f"could not reach the endpoint: {reason}"
    elapsed = round((time.monotonic() - started) * 1000)
    if status is not None and not 200 <= status < 300 and not error:
        error = f"the endpoint answered HTTP {status}"
    return status, elapsed, error[:MAX_ERROR_LENGTH]


# --- The worker ---------------------------------------------------------------------------


def send_due(*, now=None) -> int:
    """Send every delivery that is due; returns how many were tried. Scheduled every
    minute by the worker (migration 0002), and safe to run from any number of workers."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    tried = 0
    for pk in list(due.values_list("pk", flat=True)[:500]):
        tried += send_one(pk, now=now) is not None
    return tried


def send_one(pk: int, *, now=None) -> WebhookDelivery | None:
    """Try one pending delivery, if it is due and no other worker has it. Returns the
    row, or None when there was nothing to do."""
    now = now or timezone.now()
    # The claim is a compare-and-swap on next_attempt_at: of two workers woken for the
    # same row only one moves it, so a message is not sent twice by a race.
    claimed = WebhookDelivery.objects.filter(
        pk=pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + datetime.timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS))
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
    if not delivery.endpoint.is_active:
        return _record(delivery, now, None, None, "the endpoint was turned off", final=True)
    try:
        status, elapsed, error = post(delivery)
    except Exception as exc:  # a bug here must not stop the worker: tried again later
        logger.exception("sending webhook delivery %s crashed", pk)
        status, elapsed, error = None, None, f"the sender failed ({type(exc).__name__})"
    return _record(delivery, now, status, elapsed, error)


def retry_delay(tries_made: int) -> datetime.timedelta:
    """The wait after the n-th failed try: WEBHOOK_RETRY_SECONDS, doubling each time."""
    return datetime.timedelta(seconds=settings.WEBHOOK_RETRY_SECONDS * 2 ** (tries_made - 1))


def _record(delivery, now, status, elapsed, error, *, final=False) -> WebhookDelivery:
    delivered = not error and status is not None and 200 <= status < 300
    delivery.attempts = [
        *delivery.attempts,
        {
            "at": timezone.localtime(now).isoformat(timespec="seconds"),
            "result": "delivered" if delivered else "failed",
            "status_code": status,
            "response_ms": elapsed,
            "error": error,
        },
    ]
    delivery.response_status, delivery.response_ms, delivery.error = status, elapsed, error
    made = delivery.tries_since_resent()
    if delivered:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif final or made >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + retry_delay(made)
    delivery.save(
        update_fields=[
            "attempts", "response_status", "response_ms", "error", "status", "delivered_at",
            "next_attempt_at",
        ]
    )  # fmt: skip
    endpoint = delivery.endpoint
    logger.log(
        logging.INFO if delivered else logging.WARNING,
        "webhook %s (%s) to %s [%s], try %d: %s",
        delivery.message_id, delivery.event_type, endpoint.name, host_of(endpoint.url), made,
        f"HTTP {status} in {elapsed} ms" if delivered else f"{error}; {delivery.status}",
    )  # fmt: skip
    return delivery


# --- Staff actions (the admin) ------------------------------------------------------------


def send_again(delivery: WebhookDelivery, *, actor, now=None) -> WebhookDelivery:
    """A new try of a delivered or failed message, with the same webhook-id (the
    receiver may drop it as a repeat, which is its right), and a fresh count of tries."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status == WebhookDelivery.Status.PENDING:
            raise WebhookError(
                f"The delivery {delivery.message_id} is already waiting to be sent; the "
                "worker will try it."
            )
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = now
        who = actor.get_username() if actor is not None else ""
        delivery.attempts = [
            *delivery.attempts,
            {
                "at": timezone.localtime(now).isoformat(timespec="seconds"),
                "result": "resent",
                "by": who,
            },
        ]
        delivery.save(update_fields=["status", "next_attempt_at", "attempts"])
        logger.info("webhook %s sent again by %s", delivery.message_id, who or "?")
        transaction.on_commit(lambda: wake_worker(delivery.pk))
    return delivery


def rotate_secret(endpoint: WebhookEndpoint, *, actor) -> WebhookEndpoint:
    """Give the endpoint a new signing secret (the old one leaked, or is old). Every
    try from now on, of waiting deliveries too, is signed with the new one."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret"])
    logger.info(
        "webhook endpoint %s: secret rotated by %s",
        endpoint.name, actor.get_username() if actor is not None else "?",
    )  # fmt: skip
    return endpoint

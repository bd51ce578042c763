"""Webhooks: endpoints of other systems that are told what happens in the OPD, and the
outbox of deliveries to them (webhooks.events writes it, webhooks.delivery sends it)."""

import base64
import secrets
import uuid

from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone


class Event(models.TextChoices):
    TOKEN_ISSUED = "token.issued", "Token issued"
    TOKEN_CALLED = "token.called", "Token called"
    TOKEN_COMPLETED = "token.completed", "Token completed"
    TOKEN_SKIPPED = "token.skipped", "Token skipped (no-show)"
    VISIT_SENT_ON = "visit.sent_on", "Patient sent on to next stops"
    APPOINTMENT_BOOKED = "appointment.booked", "Appointment booked"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled", "Appointment rescheduled"
    APPOINTMENT_CANCELLED = "appointment.cancelled", "Appointment cancelled"
    APPOINTMENT_NO_SHOW = "appointment.no_show", "Appointment no-show"


SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret as the Standard Webhooks spec writes it: "whsec_" and 32 random
    bytes in base64 (the receiver's library decodes the part after the prefix)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    """Another system's address for events, registered by the hospital admin. The secret
    signs every delivery; the receiver keeps a copy to check the signature with."""

    name = models.CharField(max_length=100, unique=True, help_text="e.g. 'HIS', 'Kiosk app'")
    # http(s) only: a webhook is a POST to a web server, never a file or an FTP site.
    url = models.URLField(
        "URL", max_length=500, validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where deliveries are POSTed, e.g. https://his.example.org/opd-hooks",
    )  # fmt: skip
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    events = models.JSONField(default=list, help_text="The events this endpoint receives.")
    personal_data = models.BooleanField(
        default=False,
        help_text=(
            "Send the patient's name and mobile number. Leave off unless the receiving "
            "system is allowed to hold them."
        ),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str) -> bool:
        return self.is_active and event_type in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, written in the transaction of the
    change it reports, then sent by the worker with retries (webhooks.delivery)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40, choices=Event.choices)
    # The webhook-id header, the same on every try (a retry, "send again"): the receiver
    # uses it to drop a message it has already handled.
    message_id = models.CharField(
        max_length=40, unique=True, default=new_message_id, editable=False
    )
    # {"type", "timestamp", "data"}, already stripped of personal data for this endpoint.
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # One entry per try: {"at", "result": "delivered" | "failed", "status_code" (null when
    # no answer came), "response_ms", "error"}; "send again" adds {"at", "result": "resent",
    # "by"}.
    attempts = models.JSONField(default=list, blank=True)
    # The last try's answer, for the admin's columns.
    response_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    response_ms = models.PositiveIntegerField("response time (ms)", null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # When the worker may next try; also its claim on the row while it sends (a lease).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint}: {self.status}"

    def tries_since_resent(self) -> int:
        """Tries made since the row was last sent again by hand (or ever): what the
        retry limit and the backoff count."""
        count = 0
        for attempt in reversed(self.attempts):
            if attempt.get("result") == "resent":
                break
            count += 1
        return count

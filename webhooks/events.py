"""Events for other systems: the outbox side of webhooks.

A service calls one of the functions below inside its own transaction, right after it
has written the change: `emit` writes one WebhookDelivery per active endpoint subscribed
to the event, so the deliveries commit or roll back with the change (a rolled-back call
tells nobody anything), and after the commit the worker is woken to send them
(webhooks.delivery). The every-minute `send_due` schedule catches a lost wake-up.

Payloads are {"type", "timestamp", "data"}. Everything that names the patient (name,
mobile, hospital number) is under data["patient"], and only an endpoint marked
`personal_data` receives it: the rest get the same payload without that key. Nothing
clinical goes into a webhook at all (no appointment reason, no note to the next stop).

With no endpoint subscribed, an event costs one query and builds no payload.
"""

import copy
import logging

from django.db import transaction
from django.utils import timezone, translation
from django_q.tasks import async_task

from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# The one key of data that holds personal data (see the module's docstring).
PERSONAL = "patient"


def subscribers(event_type: str) -> list[WebhookEndpoint]:
    # Filtered in Python: JSON "contains" lookups are not supported on SQLite, and a
    # hospital has a handful of endpoints.
    return [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        if event_type in endpoint.events
    ]


def emit(
    event_type: str, payload: dict, *, endpoints: list[WebhookEndpoint] | None = None
) -> list[WebhookDelivery]:
    """Write `payload` (with its personal data, which is stripped here for endpoints not
    marked to receive it) as one delivery per subscribed endpoint, in the caller's
    transaction; the worker is woken after the commit."""
    if event_type not in Event.values:
        raise ValueError(f"unknown webhook event {event_type!r}")
    if endpoints is None:
        endpoints = subscribers(event_type)
    # The wall clock, not a service's `now=`: these times are for the worker.
    now = timezone.now()
    deliveries = [
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type=event_type,
            payload=payload if endpoint.personal_data else without_personal_data(payload),
            created_at=now,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    ]
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: wake_worker(pk))
    return deliveries


def without_personal_data(payload: dict) -> dict:
    stripped = copy.deepcopy(payload)
    stripped.get("data", {}).pop(PERSONAL, None)
    return stripped


def wake_worker(pk: int) -> None:
    """Ask the worker to send delivery `pk` now. If this fails the row is still due and
    the every-minute send_due picks it up, so a failure is logged, never raised."""
    try:
        async_task("webhooks.delivery.send_one", pk, task_name=f"webhook {pk}")
    except Exception:
        logger.exception("could not wake the worker for webhook delivery %s", pk)


def _event(event_type: str, build, now=None) -> list[WebhookDelivery]:
    """Build the payload only when someone listens, in English (places such as "Room 4"
    are words), and emit it."""
    endpoints = subscribers(event_type)
    if not endpoints:
        return []
    with translation.override("en"):
        data = build()
    payload = {"type": event_type, "timestamp": _iso(now or timezone.now()), "data": data}
    return emit(event_type, payload, endpoints=endpoints)


def _iso(moment):
    """A time in the hospital's time zone, ISO 8601 with its offset; None stays None."""
    return timezone.localtime(moment).isoformat() if moment else None


# --- Tokens (queues.services) --------------------------------------------------------------


def _token(token) -> dict:
    department = token.department
    server = token.doctor or token.counter
    return {
        "id": str(token.public_id),
        "number": token.display_number,
        "department": {"slug": department.slug, "code": department.code, "name": department.name},
        "service_date": token.service_date.isoformat(),
        "status": token.status,
        "emergency": token.priority == token.Priority.EMERGENCY,
        "category": token.category.name if token.category_id else None,
        "visit_id": str(token.visit.public_id) if token.visit_id else None,
        # A booked patient's token (check-in) names its appointment.
        "appointment_id": str(token.appointment.public_id) if token.appointment_id else None,
        "doctor": {"id": token.doctor.pk, "name": token.doctor.name} if token.doctor_id else None,
        "counter": {"id": token.counter.pk, "name": token.counter.name}
        if token.counter_id
        else None,
        "place": server.place if server else None,
        "issued_at": _iso(token.issued_at),
        "called_at": _iso(token.called_at),
        "started_at": _iso(token.started_at),
        "completed_at": _iso(token.completed_at),
    }


def _token_patient(token) -> dict:
    patient = token.visit.patient if token.visit_id and token.visit.patient_id else None
    return {
        "name": token.patient_name,
        "mobile": token.mobile or None,
        "hospital_number": patient.hospital_number if patient else None,
    }


def _token_event(event_type: str, token, now=None) -> list[WebhookDelivery]:
    return _event(
        event_type, lambda: {"token": _token(token), PERSONAL: _token_patient(token)}, now
    )


def token_issued(token, *, now=None) -> list[WebhookDelivery]:
    return _token_event(Event.TOKEN_ISSUED, token, now)


def token_called(token, *, now=None) -> list[WebhookDelivery]:
    return _token_event(Event.TOKEN_CALLED, token, now)


# The token events that a change of a called token's status sends (start, recall: none).
TRANSITIONS = {"completed": Event.TOKEN_COMPLETED, "skipped": Event.TOKEN_SKIPPED}


def token_changed(token, kind: str, *, now=None) -> list[WebhookDelivery]:
    """A desk moved `token` on (a TokenEvent kind): completed or skipped are told."""
    event_type = TRANSITIONS.get(kind)
    return _token_event(event_type, token, now) if event_type else []


# --- Visits (queues.visits) ----------------------------------------------------------------


def visit_sent_on(token, stops, *, now=None) -> list[WebhookDelivery]:
    """The patient of `token` was sent on to `stops` (planned VisitStops, in order); the
    first stop's own token follows as token.issued in the same transaction."""

    def build():
        return {
            "visit_id": str(token.visit.public_id),
            "from": _token(token),
            "stops": [
                {
                    "position": stop.position,
                    "kind": stop.kind,
                    "department": {
                        "slug": stop.department.slug,
                        "code": stop.department.code,
                        "name": stop.department.name,
                    },
                    "doctor": {"id": stop.doctor.pk, "name": stop.doctor.name}
                    if stop.doctor
                    else None,
                }
                for stop in stops
            ],
            PERSONAL: _token_patient(token),
        }

    return _event(Event.VISIT_SENT_ON, build, now)


# --- Appointments (appointments.booking, appointments.changes) ------------------------------


def _appointment(appointment) -> dict:
    doctor = appointment.doctor
    department = doctor.department
    return {
        "id": str(appointment.public_id),
        "status": appointment.status,
        "department": {"slug": department.slug, "code": department.code, "name": department.name},
        "doctor": {"id": doctor.pk, "name": doctor.name, "room": doctor.room},
        "date": appointment.date.isoformat(),
        "start": f"{appointment.start:%H:%M}",
        "end": f"{appointment.end:%H:%M}",
        "walk_in": appointment.is_walk_in,
        "emergency": appointment.is_emergency,
        "booked_at": _iso(appointment.booked_at),
    }


def _appointment_patient(appointment) -> dict:
    patient = appointment.patient
    return {
        "name": patient.name,
        "mobile": patient.mobile or None,
        "hospital_number": patient.hospital_number,
    }


def _appointment_event(event_type, appointment, now=None, **extra) -> list[WebhookDelivery]:
    return _event(
        event_type,
        lambda: {
            "appointment": _appointment(appointment),
            **extra,
            PERSONAL: _appointment_patient(appointment),
        },
        now,
    )


def appointment_booked(appointment, *, now=None) -> list[WebhookDelivery]:
    return _appointment_event(Event.APPOINTMENT_BOOKED, appointment, now)


def appointment_rescheduled(appointment, before: dict, *, now=None) -> list[WebhookDelivery]:
    """`before`: the old slot as appointments.changes._where gives it (date, start,
    doctor's name)."""
    return _appointment_event(
        Event.APPOINTMENT_RESCHEDULED, appointment, now, previous=dict(before)
    )


def appointment_cancelled(appointment, *, was: str, now=None) -> list[WebhookDelivery]:
    """Told for a booked appointment only (`was`, its status before): a slot held for a
    code and let go was never booked, so no one else knows of it. The reason is left
    out: desk staff write it in their own words, and it may name the illness."""
    if was != appointment.Status.BOOKED:
        return []
    return _appointment_event(Event.APPOINTMENT_CANCELLED, appointment, now)


def appointment_no_show(appointment, *, now=None) -> list[WebhookDelivery]:
    return _appointment_event(Event.APPOINTMENT_NO_SHOW, appointment, now)

"""Which events are written for whom: one outbox row per subscribed endpoint, in the
transaction of the change (a rolled-back change tells nobody), without the patient's
name or mobile unless the endpoint is marked for personal data."""

import datetime

import pytest
from django.db import transaction

from appointments import changes, walkins
from appointments.booking import hold_slot, verify_otp
from queues import services, visits
from tests.appointments.conftest import latest_code, place, t
from tests.conftest import WEDNESDAY, at
from webhooks import delivery, events
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

NOW = at(WEDNESDAY, 8)
NAME, MOBILE, TYPED_MOBILE = "Asha Kumar", "+919812345678", "98123 45678"

pytestmark = pytest.mark.usefixtures("clock")


def delivered_types(endpoint) -> list[str]:
    return list(endpoint.deliveries.order_by("pk").values_list("event_type", flat=True))


def only(endpoint, event_type) -> dict:
    (row,) = endpoint.deliveries.filter(event_type=event_type)
    return row.payload


@pytest.fixture
def hub(db):
    """An endpoint listening to every event, with personal data (nothing is sent: these
    tests read the outbox rows)."""
    return WebhookEndpoint.objects.create(
        name="HIS", url="http://127.0.0.1:9/hooks", events=Event.values, personal_data=True
    )


# --- The patient's personal data --------------------------------------------------------


def test_an_endpoint_without_personal_data_never_receives_the_name_or_mobile(
    orth, dr_rao, receiver, endpoint_for
):
    private, personal = receiver(), receiver()
    endpoint_for(private, [Event.TOKEN_ISSUED, Event.TOKEN_CALLED])
    endpoint_for(personal, [Event.TOKEN_ISSUED, Event.TOKEN_CALLED], personal_data=True)
    services.issue_token(orth, NAME, mobile=TYPED_MOBILE, now=NOW)
    services.call_next(dr_rao, now=NOW)
    delivery.send_due(now=NOW)
    assert len(private.requests) == len(personal.requests) == 2
    for request in private.requests:
        assert request.verified is not None
        for personal_value in ("Asha", "Kumar", "98123", "45678", MOBILE):
            assert personal_value not in request.body
        assert "patient" not in request.payload["data"]
        assert request.payload["data"]["token"]["number"] == "ORTH-001"
    for request in personal.requests:
        assert request.verified is not None
        assert request.payload["data"]["patient"] == {
            "name": NAME, "mobile": MOBILE, "hospital_number": None,
        }  # fmt: skip


def test_an_appointment_s_patient_and_reason_stay_out_without_personal_data(dr_rao, desk):
    private = WebhookEndpoint.objects.create(
        name="Board", url="http://127.0.0.1:9/", events=[Event.APPOINTMENT_CANCELLED]
    )
    booked = place(dr_rao, t(9), mobile=MOBILE)
    changes.cancel_appointment(booked, reason="Fever, feels worse", actor=desk, now=NOW)
    payload = only(private, Event.APPOINTMENT_CANCELLED)
    assert "patient" not in payload["data"]
    text = str(payload)
    for secret in ("Someone", MOBILE, "Fever", "Knee"):  # place()'s patient and reason
        assert secret not in text


# --- Who is told --------------------------------------------------------------------------


def test_an_endpoint_not_subscribed_to_an_event_gets_nothing(orth, dr_rao, hub):
    called_only = WebhookEndpoint.objects.create(
        name="Display vendor", url="http://127.0.0.1:9/", events=[Event.TOKEN_CALLED]
    )
    turned_off = WebhookEndpoint.objects.create(
        name="Old HIS", url="http://127.0.0.1:9/", events=Event.values, is_active=False
    )
    services.issue_token(orth, NAME, now=NOW)
    assert delivered_types(called_only) == []
    services.call_next(dr_rao, now=NOW)
    assert delivered_types(called_only) == ["token.called"]
    assert delivered_types(hub) == ["token.issued", "token.called"]
    assert delivered_types(turned_off) == []


def test_without_endpoints_an_event_writes_nothing(orth):
    services.issue_token(orth, NAME, now=NOW)
    assert not WebhookDelivery.objects.exists()


def test_a_rolled_back_change_emits_nothing_and_wakes_no_one(
    orth, dr_rao, hub, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.issue_token(orth, NAME, now=NOW)
            assert hub.deliveries.count() == 1  # written inside the transaction...
            raise RuntimeError("the request failed after the token was issued")
    assert not WebhookDelivery.objects.exists()  # ...and gone with it
    assert callbacks == []
    with pytest.raises(services.QueueError):
        services.call_next(dr_rao, now=NOW)  # refused: nobody is waiting
    assert not WebhookDelivery.objects.exists()


def test_after_the_commit_the_worker_is_woken_and_sends_at_once(
    orth, receiver, endpoint_for, django_capture_on_commit_callbacks
):
    """The test settings run the worker's tasks at once (WORKER_SYNC), as qcluster would
    moments after the commit."""
    server = receiver()
    endpoint_for(server, [Event.TOKEN_ISSUED])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.issue_token(orth, NAME, now=NOW)
        assert server.requests == []  # nothing leaves before the commit
    assert len(callbacks) >= 1
    (request,) = server.requests
    assert request.verified["type"] == "token.issued"
    assert WebhookDelivery.objects.get().status == "delivered"


def test_emit_refuses_an_unknown_event(db):
    with pytest.raises(ValueError, match="unknown webhook event"):
        events.emit("token.exploded", {"type": "token.exploded"})


# --- Each service's event -----------------------------------------------------------------


def test_token_events_carry_numbers_places_status_and_times(orth, dr_rao, hub):
    token = services.issue_token(orth, NAME, mobile=TYPED_MOBILE, now=NOW)
    issued = only(hub, Event.TOKEN_ISSUED)
    assert issued["type"] == "token.issued"
    assert issued["timestamp"] == "2026-11-18T08:00:00+05:30"
    data = issued["data"]["token"]
    assert data["id"] == str(token.public_id)
    assert data["visit_id"] == str(token.visit.public_id)
    assert data["appointment_id"] is None
    assert data["department"] == {"slug": "orth", "code": "ORTH", "name": "Orthopedic Surgery"}
    assert (data["status"], data["place"], data["doctor"]) == ("waiting", None, None)
    assert data["issued_at"] == "2026-11-18T08:00:00+05:30"

    called_at = NOW + datetime.timedelta(minutes=5)
    services.call_next(dr_rao, now=called_at)
    called = only(hub, Event.TOKEN_CALLED)["data"]["token"]
    assert (called["status"], called["place"]) == ("called", "Room 4")
    assert called["doctor"] == {"id": dr_rao.pk, "name": "Dr. Rao"}
    assert called["called_at"] == "2026-11-18T08:05:00+05:30"

    services.start_consultation(dr_rao, token, now=called_at)
    assert delivered_types(hub) == ["token.issued", "token.called"]  # a start is not told
    services.complete_token(dr_rao, token, now=called_at + datetime.timedelta(minutes=9))
    completed = only(hub, Event.TOKEN_COMPLETED)["data"]["token"]
    assert completed["status"] == "completed"
    assert completed["completed_at"] == "2026-11-18T08:14:00+05:30"


def test_a_no_show_is_token_skipped(orth, dr_rao, hub):
    services.issue_token(orth, NAME, now=NOW)
    token = services.call_next(dr_rao, now=NOW)
    services.skip_token(dr_rao, token, now=NOW)
    assert only(hub, Event.TOKEN_SKIPPED)["data"]["token"]["status"] == "skipped"


def test_sending_a_patient_on_is_visit_sent_on_then_the_new_token_is_issued(
    orth, dr_rao, lab, pharmacy, hub
):
    token = services.issue_token(orth, NAME, mobile=TYPED_MOBILE, now=NOW)
    services.call_next(dr_rao, now=NOW)
    services.start_consultation(dr_rao, token, now=NOW)
    stops = [visits.NextStop(lab, note="Fasting sugar"), visits.NextStop(pharmacy)]
    services.complete_token(dr_rao, token, now=NOW, send_on=stops)
    assert delivered_types(hub) == [
        "token.issued", "token.called", "token.completed", "visit.sent_on", "token.issued",
    ]  # fmt: skip
    sent_on = only(hub, Event.VISIT_SENT_ON)["data"]
    assert sent_on["visit_id"] == str(token.visit.public_id)
    assert sent_on["from"]["number"] == "ORTH-001"
    assert [(s["position"], s["department"]["slug"]) for s in sent_on["stops"]] == [
        (2, "lab"), (3, "phar"),
    ]  # fmt: skip
    assert "Fasting" not in str(sent_on)  # the note is for the next stop's staff only
    new = (
        hub.deliveries.filter(event_type=Event.TOKEN_ISSUED)
        .order_by("pk")
        .last()
        .payload["data"]["token"]
    )
    assert new["number"] == "LAB-001"


@pytest.mark.usefixtures("outbox", "rao_morning")
def test_appointment_events_from_booking_to_no_show(dr_rao, desk, hub, run_on_commit):
    held = run_on_commit(
        hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9, 15), patient_name=NAME,
        mobile=TYPED_MOBILE, reason="Knee pain", actor=desk, now=NOW,
    )  # fmt: skip
    assert delivered_types(hub) == []  # a hold is not a booking
    verify_otp(held, latest_code(), actor=desk, now=NOW)
    booked = only(hub, Event.APPOINTMENT_BOOKED)["data"]
    assert booked["appointment"]["id"] == str(held.public_id)
    assert booked["appointment"]["doctor"] == {"id": dr_rao.pk, "name": "Dr. Rao", "room": "4"}
    assert (booked["appointment"]["date"], booked["appointment"]["start"]) == (
        "2026-11-18", "09:15",
    )  # fmt: skip
    assert booked["patient"]["mobile"] == MOBILE
    assert "Knee" not in str(booked)

    changes.reschedule_appointment(held, day=WEDNESDAY, start=t(10), actor=desk, now=NOW)
    moved = only(hub, Event.APPOINTMENT_RESCHEDULED)["data"]
    assert moved["appointment"]["start"] == "10:00"
    assert moved["previous"] == {"date": "2026-11-18", "start": "09:15", "doctor": "Dr. Rao"}

    changes.mark_no_show(held, actor=desk, now=at(WEDNESDAY, 12))
    assert only(hub, Event.APPOINTMENT_NO_SHOW)["data"]["appointment"]["status"] == "no_show"


@pytest.mark.usefixtures("outbox", "rao_morning")
def test_cancelling_a_booked_appointment_is_told_and_a_held_one_is_not(dr_rao, desk, hub):
    held = hold_slot(doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name=NAME,
                     mobile=TYPED_MOBILE, reason="Knee pain", actor=desk, now=NOW)  # fmt: skip
    changes.cancel_appointment(held, reason="Wrong doctor", actor=desk, now=NOW)
    assert delivered_types(hub) == []
    booked = place(dr_rao, t(10), mobile="+919812345679")
    changes.cancel_appointment(booked, reason="Patient asked", actor=desk, now=NOW)
    cancelled = only(hub, Event.APPOINTMENT_CANCELLED)["data"]["appointment"]
    assert (cancelled["id"], cancelled["status"]) == (str(booked.public_id), "cancelled")


@pytest.mark.usefixtures("outbox", "rao_morning")
def test_a_walk_in_is_booked_at_once(dr_rao, desk, hub):
    appointment = walkins.book_walk_in(
        doctor=dr_rao, start=t(9), patient_name=NAME, mobile="98123 45699", reason="Back pain",
        emergency=False, actor=desk, now=NOW,
    )  # fmt: skip
    booked = only(hub, Event.APPOINTMENT_BOOKED)["data"]["appointment"]
    assert booked["id"] == str(appointment.public_id) and booked["walk_in"] is True
    # Checked in at once: the patient's token is issued in the same transaction.
    assert delivered_types(hub) == ["appointment.booked", "token.issued"]


@pytest.mark.usefixtures("outbox", "rao_morning")
def test_a_checked_in_patient_s_token_names_the_appointment(dr_rao, desk, hub):
    booked = place(dr_rao, t(9), mobile=MOBILE)
    token, _created = changes.check_in(booked, actor=desk, now=at(WEDNESDAY, 8, 50))
    issued = only(hub, Event.TOKEN_ISSUED)["data"]["token"]
    assert (issued["id"], issued["appointment_id"]) == (str(token.public_id), str(booked.public_id))

"""Webhooks in the admin: endpoints with their secret shown and rotated, the delivery log
with its filters, columns and "send again"."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from queues import services
from tests.conftest import WEDNESDAY, at, page_text
from webhooks import delivery
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

NOW = at(WEDNESDAY, 9)
ADD = reverse("admin:webhooks_webhookendpoint_add")
ENDPOINTS = reverse("admin:webhooks_webhookendpoint_changelist")
DELIVERIES = reverse("admin:webhooks_webhookdelivery_changelist")

pytestmark = pytest.mark.usefixtures("clock")


def change_url(endpoint) -> str:
    return reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])


def test_registering_an_endpoint_makes_its_secret_and_shows_it_read_only(staff):
    assert "whsec_" not in page_text(staff.get(ADD))  # made on saving, not before
    response = staff.post(
        ADD,
        {"name": "HIS", "url": "https://his.example.org/hooks", "is_active": "on",
         "events": [Event.TOKEN_CALLED, Event.APPOINTMENT_BOOKED]},
    )  # fmt: skip
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["token.called", "appointment.booked"]
    assert endpoint.personal_data is False  # off unless ticked
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 50
    page = page_text(staff.get(change_url(endpoint)))
    assert endpoint.secret in page
    assert 'name="secret"' not in page  # shown, not editable


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"events": []}, "This field is required"),
        ({"events": ["token.exploded"]}, "Select a valid choice"),
        ({"url": "ftp://his.example.org/"}, "Enter a valid URL"),
        ({"url": "javascript:alert(1)"}, "Enter a valid URL"),
        ({"url": "x" * 600}, "Enter a valid URL"),
        ({"name": "HIS\x00"}, "Null characters are not allowed"),
    ],
)
def test_a_bad_endpoint_is_refused_with_a_message_and_nothing_written(staff, changes, error):
    data = {"name": "HIS", "url": "https://his.example.org/hooks", "events": ["token.called"]}
    response = staff.post(ADD, {**data, **changes})
    assert response.status_code == 200
    assert error in page_text(response)
    assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_gives_a_new_one_and_logs_who(staff, admin_user):
    endpoint = WebhookEndpoint.objects.create(
        name="HIS", url="https://his.example.org/", events=["token.called"]
    )
    old = endpoint.secret
    response = staff.post(
        ENDPOINTS, {"action": "rotate_secret", "_selected_action": [endpoint.pk]}, follow=True
    )
    assert "1 secret(s) rotated" in page_text(response)
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    entry = LogEntry.objects.get(object_id=str(endpoint.pk))
    assert (entry.user, entry.change_message) == (admin_user, "Rotated the signing secret.")


def test_a_new_secret_signs_deliveries_already_waiting(orth, receiver, endpoint_for):
    server = receiver()
    endpoint = endpoint_for(server, [Event.TOKEN_ISSUED])
    services.issue_token(orth, "Asha Kumar", now=NOW)
    server.secret = delivery.rotate_secret(endpoint, actor=None).secret
    delivery.send_due(now=NOW)
    (request,) = server.requests
    assert request.verified is not None


@pytest.fixture
def log(orth, dr_rao, receiver, endpoint_for):
    """Three deliveries: token.issued delivered, token.called failed (HTTP 500, one try
    allowed) to a second endpoint, token.issued of a second patient waiting."""
    ok, broken = receiver([200]), receiver([500])
    endpoint_for(ok, [Event.TOKEN_ISSUED], name="HIS")
    endpoint_for(broken, [Event.TOKEN_CALLED], name="Board")
    services.issue_token(orth, "Asha Kumar", now=NOW)
    services.call_next(dr_rao, now=NOW)
    delivery.send_due(now=NOW)
    WebhookDelivery.objects.filter(status="pending").update(status="failed", next_attempt_at=None)
    services.issue_token(orth, "Ravi Shah", now=NOW)
    return ok, broken


def test_the_delivery_log_shows_status_response_and_time(staff, log):
    page = page_text(staff.get(DELIVERIES))
    for value in ("token.issued", "token.called", "HIS", "Board", "Delivered", "Failed",
                  "Waiting to be sent", ">200<", ">500<", " ms<"):  # fmt: skip
        assert value in page, value


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status__exact=delivered", ["token.issued"]),
        ("status__exact=failed", ["token.called"]),
        ("event_type__exact=token.called", ["token.called"]),
    ],
)
def test_the_delivery_log_filters(staff, log, query, expected):
    response = staff.get(f"{DELIVERIES}?{query}")
    shown = [row.event_type for row in response.context["cl"].result_list]
    assert shown == expected


def test_the_delivery_log_filters_by_endpoint(staff, log):
    board = WebhookEndpoint.objects.get(name="Board")
    response = staff.get(f"{DELIVERIES}?endpoint__id__exact={board.pk}")
    assert [row.endpoint for row in response.context["cl"].result_list] == [board]


def test_a_delivery_s_page_shows_its_payload_and_every_try(staff, log):
    failed = WebhookDelivery.objects.get(status="failed")
    page = page_text(staff.get(reverse("admin:webhooks_webhookdelivery_change", args=[failed.pk])))
    assert failed.message_id in page and '"number": "ORTH-001"' in page
    assert "failed: HTTP 500" in page and "the endpoint answered HTTP 500" in page
    assert 'name="payload"' not in page  # the log is read-only


def test_send_again_in_the_admin_tries_the_same_message_and_logs_who(
    staff, admin_user, log, settings
):
    _ok, broken = log
    broken.statuses = [200]
    failed = WebhookDelivery.objects.get(status="failed")
    waiting = WebhookDelivery.objects.get(status="pending")
    response = staff.post(
        DELIVERIES,
        {"action": "send_again", "_selected_action": [failed.pk, waiting.pk]},
        follow=True,
    )
    page = page_text(response)
    assert "1 delivery sent again." in page
    assert f"The delivery {waiting.message_id} is already waiting to be sent" in page
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.attempts[-1]["by"] == "admin"
    assert LogEntry.objects.get(object_id=str(failed.pk)).user == admin_user
    delivery.send_due(now=NOW)
    failed.refresh_from_db()
    assert failed.status == "delivered"
    assert [r.headers["webhook-id"] for r in broken.requests] == [failed.message_id] * 2


def test_deliveries_cannot_be_added_or_edited_in_the_admin(staff, log):
    assert staff.get(reverse("admin:webhooks_webhookdelivery_add")).status_code == 403
    row = WebhookDelivery.objects.get(status="failed")
    url = reverse("admin:webhooks_webhookdelivery_change", args=[row.pk])
    assert staff.get(url).status_code == 200  # to read
    assert staff.post(url, {"status": "delivered"}).status_code == 403
    row.refresh_from_db()
    assert row.status == "failed"


def test_the_delivery_log_costs_the_same_queries_for_3_rows_or_18(staff, log, orth):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff.get(DELIVERIES).status_code == 200
        return len(captured)

    queries()  # the session's first page reads more (sign-in checks)
    few = queries()
    for i in range(15):
        services.issue_token(orth, f"Patient {i}", now=NOW)
    assert queries() == few


def test_only_staff_see_webhooks(client, plain_user):
    client.force_login(plain_user)
    response = client.get(ENDPOINTS)
    assert response.status_code in (302, 403)
    assert "whsec_" not in response.content.decode()


def test_the_endpoint_list_names_the_events_and_the_host_never_the_path(staff):
    WebhookEndpoint.objects.create(
        name="Board", url="https://board.example.org/k3y?x=1", events=["token.called"]
    )
    WebhookEndpoint.objects.create(name="HIS", url="https://his.example.org/", events=Event.values)
    page = page_text(staff.get(ENDPOINTS))
    assert ">token.called<" in page and ">all events<" in page
    assert "board.example.org" in page and "k3y" not in page

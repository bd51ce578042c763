"""Issue 16's "done means", end to end: the hospital admin registers a webhook endpoint
in the admin and gives an integrator an API key; the integrator issues a token through
POST /api/v1/tokens/; a doctor calls it; the worker delivers a signed `token.called` to
the integrator's receiver, which verifies it with the Standard Webhooks library. The
integrator found the endpoint in /api/docs/; the admin made their key in the admin."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiKey, Scope
from queues import services
from tests.conftest import WEDNESDAY, at, page_text
from webhooks import delivery
from webhooks.models import Event, WebhookEndpoint

NOW = at(WEDNESDAY, 9)

pytestmark = pytest.mark.usefixtures("clock")


def test_a_token_issued_through_the_api_and_called_by_a_doctor_reaches_the_receiver_signed(
    staff, orth, dr_rao, receiver
):
    server = receiver()
    # The hospital admin registers the integrator's endpoint, for calls only...
    response = staff.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"name": "Kiosk vendor", "url": server.url, "events": [Event.TOKEN_CALLED],
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302, page_text(response)
    endpoint = WebhookEndpoint.objects.get()
    # ...and copies the signing secret from the endpoint's page to the integrator.
    page = page_text(
        staff.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    )
    assert endpoint.secret in page
    server.secret = endpoint.secret
    # The integrator reads the docs, served by the app...
    assert Client().get(reverse("api-docs")).status_code == 200
    schema = Client().get(reverse("api-schema"), {"format": "json"}).json()
    assert "post" in schema["paths"]["/api/v1/tokens/"]
    # ...and the admin makes their key in the admin, where it is shown once.
    response = staff.post(
        reverse("admin:api_apikey_add"),
        {"name": "Kiosk vendor", "scopes": [Scope.TOKENS]},
        follow=True,
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    raw = re.search(r"opdq_[0-9a-f]{8}_[A-Za-z0-9_-]+", shown).group(0)
    assert ApiKey.objects.get(name="Kiosk vendor").scopes == [Scope.TOKENS]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    issued = api.post(
        "/api/v1/tokens/",
        {"department": "orth", "patient_name": "Asha Kumar", "mobile": "98123 45678"},
        format="json",
    )
    assert issued.status_code == 201, issued.content
    public_id = issued.json()["public_id"]
    assert not endpoint.deliveries.exists()  # token.issued is not one of its events

    services.call_next(dr_rao, now=NOW)
    assert delivery.send_due(now=NOW) == 1  # the worker's every-minute job

    (request,) = server.requests
    assert request.refusal == ""
    called = request.verified  # what Webhook(secret).verify(body, headers) returned
    assert called["type"] == "token.called"
    token = called["data"]["token"]
    assert (token["id"], token["number"], token["status"]) == (public_id, "ORTH-001", "called")
    assert (token["place"], token["doctor"]["name"]) == ("Room 4", "Dr. Rao")
    assert "patient" not in called["data"] and "98123" not in request.body
    assert request.headers["webhook-id"] == endpoint.deliveries.get().message_id
    assert endpoint.deliveries.get().status == "delivered"

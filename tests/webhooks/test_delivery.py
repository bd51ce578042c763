"""The worker sends the webhook outbox: signed per the Standard Webhooks spec, retried with
backoff, every try recorded, redirects never followed, and nothing secret in the logs."""

import base64
import datetime
import hashlib
import hmac
import logging
import socket

import pytest

from queues import services
from tests.conftest import WEDNESDAY, at
from webhooks import delivery
from webhooks.models import Event, WebhookDelivery

NOW = at(WEDNESDAY, 9)

pytestmark = pytest.mark.usefixtures("clock")


def later(seconds: int) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


def issue(orth, name="Asha Kumar", mobile="98123 45678"):
    return services.issue_token(orth, name, mobile=mobile, now=NOW)


def test_a_delivery_is_signed_and_verified_by_the_standard_webhooks_library(
    orth, receiver, endpoint_for
):
    server = receiver()
    endpoint_for(server, [Event.TOKEN_ISSUED])
    token = issue(orth)
    assert delivery.send_due(now=NOW) == 1
    (request,) = server.requests
    assert request.refusal == "" and request.verified is not None
    assert request.verified["type"] == "token.issued"
    assert request.verified["data"]["token"]["number"] == "ORTH-001"
    assert request.verified["data"]["token"]["id"] == str(token.public_id)
    sent = WebhookDelivery.objects.get()
    assert request.headers["webhook-id"] == sent.message_id
    assert sent.message_id.startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    assert (sent.status, sent.response_status) == ("delivered", 200)
    assert sent.delivered_at == NOW and sent.next_attempt_at is None
    (attempt,) = sent.attempts
    assert (attempt["result"], attempt["status_code"], attempt["error"]) == ("delivered", 200, "")
    assert isinstance(attempt["response_ms"], int) and sent.response_ms == attempt["response_ms"]
    assert delivery.send_due(now=later(3600)) == 0  # delivered once, never again


def test_the_signature_is_the_spec_s_hmac_of_id_timestamp_and_body(orth, receiver, endpoint_for):
    """Checked by hand too, not only through the library that made it."""
    server = receiver()
    endpoint = endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    delivery.send_due(now=NOW)
    (request,) = server.requests
    key = base64.b64decode(endpoint.secret.removeprefix("whsec_"))
    assert len(key) == 32
    headers = request.headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{request.body}"
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode()
    assert request.headers["webhook-signature"] == f"v1,{expected}"


def test_a_wrong_secret_does_not_verify(orth, receiver, endpoint_for):
    server = receiver()
    endpoint_for(server, [Event.TOKEN_ISSUED])
    server.secret = "whsec_" + base64.b64encode(b"x" * 32).decode()  # not the endpoint's
    issue(orth)
    delivery.send_due(now=NOW)
    (request,) = server.requests
    assert request.verified is None and "No matching signature" in request.refusal


def test_a_receiver_that_fails_twice_gets_the_same_message_three_times_then_it_is_delivered(
    orth, receiver, endpoint_for
):
    server = receiver([500, 500, 200])
    endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    assert delivery.send_due(now=NOW) == 1
    assert delivery.send_due(now=later(29)) == 0  # the first retry waits 30 s
    assert delivery.send_due(now=later(30)) == 1
    assert delivery.send_due(now=later(89)) == 0  # then 60 s
    assert delivery.send_due(now=later(90)) == 1
    assert len(server.requests) == 3
    assert all(request.verified is not None for request in server.requests)
    assert len({request.headers["webhook-id"] for request in server.requests}) == 1
    assert len({request.body for request in server.requests}) == 1
    sent = WebhookDelivery.objects.get()
    assert sent.status == "delivered"
    assert [a["status_code"] for a in sent.attempts] == [500, 500, 200]
    assert [a["result"] for a in sent.attempts] == ["failed", "failed", "delivered"]
    assert sent.attempts[0]["error"] == "the endpoint answered HTTP 500"
    assert sent.error == "" and sent.delivered_at == later(90)


def test_after_the_last_try_the_delivery_is_failed(orth, receiver, endpoint_for, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_RETRY_SECONDS = 10
    server = receiver([503])
    endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    delivery.send_due(now=NOW)
    assert WebhookDelivery.objects.get().next_attempt_at == later(10)
    delivery.send_due(now=later(10))
    assert WebhookDelivery.objects.get().next_attempt_at == later(30)
    delivery.send_due(now=later(30))
    failed = WebhookDelivery.objects.get()
    assert (failed.status, failed.next_attempt_at, failed.response_status) == ("failed", None, 503)
    assert len(failed.attempts) == 3
    assert delivery.send_due(now=later(3600)) == 0
    assert len(server.requests) == 3


def test_a_redirect_is_not_followed(orth, receiver, endpoint_for):
    elsewhere = receiver()
    server = receiver([302], location=elsewhere.url)
    endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    delivery.send_due(now=NOW)
    assert len(server.requests) == 1 and elsewhere.requests == []
    tried = WebhookDelivery.objects.get()
    assert (tried.status, tried.response_status) == ("pending", 302)
    assert tried.error == "the endpoint answered HTTP 302"


def test_an_endpoint_that_cannot_be_reached_is_tried_again(orth, endpoint_for, receiver):
    server = receiver()
    endpoint = endpoint_for(server, [Event.TOKEN_ISSUED])
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    endpoint.url = f"http://127.0.0.1:{port}/hooks"
    endpoint.save()
    issue(orth)
    delivery.send_due(now=NOW)
    tried = WebhookDelivery.objects.get()
    assert tried.status == "pending" and tried.next_attempt_at == later(30)
    (attempt,) = tried.attempts
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("could not reach the endpoint")


def test_an_endpoint_that_answers_too_late_is_tried_again(orth, receiver, endpoint_for, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    server = receiver(delay=2.5)
    endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    delivery.send_due(now=NOW)
    tried = WebhookDelivery.objects.get()
    assert tried.status == "pending"
    assert tried.attempts[0]["error"] == "no answer within 1 s"


def test_a_claimed_delivery_is_not_sent_by_a_second_worker(orth, receiver, endpoint_for):
    server = receiver()
    endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    pk = WebhookDelivery.objects.get().pk
    # The second worker comes while the first holds the lease, or after it finished.
    WebhookDelivery.objects.filter(pk=pk).update(next_attempt_at=later(60))
    assert delivery.send_one(pk, now=NOW) is None
    assert delivery.send_one(pk, now=later(60)).status == "delivered"
    assert delivery.send_one(pk, now=later(60)) is None
    assert len(server.requests) == 1


def test_an_endpoint_turned_off_after_the_event_is_not_sent_to(orth, receiver, endpoint_for):
    server = receiver()
    endpoint = endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    endpoint.is_active = False
    endpoint.save()
    delivery.send_due(now=NOW)
    assert server.requests == []
    tried = WebhookDelivery.objects.get()
    assert (tried.status, tried.error) == ("failed", "the endpoint was turned off")


def test_sending_again_is_a_new_try_of_the_same_message(
    orth, receiver, endpoint_for, admin_user, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    server = receiver([500, 500, 200])
    endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    delivery.send_due(now=NOW)
    delivery.send_due(now=later(30))
    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed"
    resent = delivery.send_again(failed, actor=admin_user, now=later(600))
    assert (resent.status, resent.next_attempt_at) == ("pending", later(600))
    with pytest.raises(delivery.WebhookError, match="already waiting"):
        delivery.send_again(resent, actor=admin_user, now=later(601))
    delivery.send_due(now=later(600))
    sent = WebhookDelivery.objects.get()
    assert sent.status == "delivered"
    assert [a["result"] for a in sent.attempts] == ["failed", "failed", "resent", "delivered"]
    assert sent.attempts[2]["by"] == "admin"
    assert len({request.headers["webhook-id"] for request in server.requests}) == 1
    assert len(server.requests) == 3


def test_a_resent_delivery_gets_a_fresh_count_of_tries(
    orth, receiver, endpoint_for, admin_user, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    server = receiver([500])
    endpoint_for(server, [Event.TOKEN_ISSUED])
    issue(orth)
    delivery.send_due(now=NOW)
    delivery.send_due(now=later(30))
    delivery.send_again(WebhookDelivery.objects.get(), actor=admin_user, now=later(600))
    delivery.send_due(now=later(600))
    retried = WebhookDelivery.objects.get()
    assert (retried.status, retried.next_attempt_at) == ("pending", later(630))
    delivery.send_due(now=later(630))
    assert WebhookDelivery.objects.get().status == "failed"
    assert len(server.requests) == 4


def test_logs_name_the_endpoint_and_host_never_the_secret_or_the_address_s_path(
    orth, receiver, endpoint_for, caplog
):
    server = receiver([500, 200])
    endpoint = endpoint_for(server, [Event.TOKEN_ISSUED], name="HIS", personal_data=True)
    endpoint.url = server.url + "/k3y-in-path?token=s3cret-query"
    endpoint.save()
    issue(orth, name="Asha Kumar")
    with caplog.at_level(logging.INFO, logger="webhooks"):
        delivery.send_due(now=NOW)
        delivery.send_due(now=later(30))
    assert "HIS [127.0.0.1]" in caplog.text
    assert "HTTP 500" in caplog.text and "HTTP 200" in caplog.text
    for secret in ("k3y-in-path", "s3cret-query", endpoint.secret, "Asha", "98123"):
        assert secret not in caplog.text


def test_the_worker_sends_what_is_due_every_minute(db):
    """The safety net for a lost wake-up, and the retries' clock (migration 0002)."""
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="send_due_webhooks")
    assert (schedule.func, schedule.minutes, schedule.repeats) == (
        "webhooks.delivery.send_due", 1, -1,
    )  # fmt: skip
    assert callable(delivery.send_due)

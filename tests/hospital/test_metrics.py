"""/metrics: the queue per department read at scrape time, requests by status class,
publish latency and connected screens, in Prometheus' text format, to the hospital's
network only; and several processes added up in prometheus-client's multiprocess mode."""

import asyncio
import datetime
import os
import signal

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from hospital import metrics
from hospital.asgi import application
from queues import services
from tests.conftest import WEDNESDAY, at
from tests.servers import DaphneServer, GunicornServer

NOW = at(WEDNESDAY, 10, 0)


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, ((label, value), …)): value} of a scrape."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **extra) -> dict[tuple, float]:
    response = client.get(reverse("metrics"), **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def per_department(name: str, slug: str, kind: str = "clinical") -> tuple:
    return (name, (("department", slug), ("kind", kind)))


@pytest.mark.django_db
def test_the_queue_per_department_is_read_at_scrape_time(client, clock, orth, card, lab, dr_rao):
    services.issue_token(orth, "Asha Rao", now=NOW - datetime.timedelta(minutes=40))
    services.issue_token(orth, "Bala Iyer", now=NOW - datetime.timedelta(minutes=25))
    services.issue_token(orth, "Chitra Menon", now=NOW - datetime.timedelta(minutes=5))
    called = services.call_next(dr_rao, now=NOW - datetime.timedelta(minutes=20))
    services.start_consultation(dr_rao, called, now=NOW - datetime.timedelta(minutes=19))
    services.complete_token(dr_rao, called, now=NOW - datetime.timedelta(minutes=10))

    figures = scrape(client)

    assert figures[per_department("opdq_waiting", "orth")] == 2
    assert figures[per_department("opdq_longest_wait_seconds", "orth")] == 25 * 60
    assert figures[per_department("opdq_tokens_issued_today", "orth")] == 3
    assert figures[per_department("opdq_tokens_completed_today", "orth")] == 1
    # A department with nobody today is there, at zero, so a dashboard has every line.
    assert figures[per_department("opdq_waiting", "card")] == 0
    assert figures[per_department("opdq_longest_wait_seconds", "card")] == 0
    assert figures[per_department("opdq_tokens_issued_today", "lab", "service")] == 0
    assert figures[("opdq_queue_metrics_up", ())] == 1


@pytest.mark.django_db
def test_yesterdays_tokens_are_not_counted_today(client, clock, orth):
    services.issue_token(orth, "Asha Rao", now=NOW - datetime.timedelta(days=1))
    figures = scrape(client)
    assert figures[per_department("opdq_tokens_issued_today", "orth")] == 0


@pytest.mark.django_db
def test_responses_are_counted_by_status_class(client):
    before = scrape(client)
    client.get("/no-such-page/")
    client.get(reverse("healthz"))
    after = scrape(client)

    def count(figures, status):
        return figures.get(("opdq_http_requests_total", (("status", status),)), 0)

    assert count(after, "4xx") - count(before, "4xx") == 1
    # The healthz, and the first scrape itself (counted once its answer was made).
    assert count(after, "2xx") - count(before, "2xx") == 2


@pytest.mark.django_db
def test_publishing_a_change_is_timed(client, orth, django_capture_on_commit_callbacks):
    before = scrape(client)[("opdq_publish_seconds_count", ())]
    with django_capture_on_commit_callbacks(execute=True):
        services.issue_token(orth, "Asha Rao")
    after = scrape(client)
    assert after[("opdq_publish_seconds_count", ())] == before + 1
    assert after[("opdq_publish_seconds_bucket", (("le", "+Inf"),))] == before + 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_connected_screens_count_public_sockets_while_they_are_open(orth):
    async def screens():
        text = await sync_to_async(metrics.scrape)()
        return samples(text.decode())[("opdq_connected_screens", ())]

    def socket(path):
        headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
        return WebsocketCommunicator(application, path, headers=headers)

    start = await screens()
    tv = socket("/ws/departments/orth/")
    connected, _ = await tv.connect()
    assert connected
    await tv.receive_from(timeout=3)
    assert await screens() == start + 1
    await tv.disconnect()
    assert await screens() == start
    # A refused socket (no such department) is not a screen.
    refused = socket("/ws/departments/nope/")
    assert (await refused.connect())[0] is False
    assert await screens() == start


@pytest.mark.django_db
def test_addresses_outside_the_allowed_networks_are_refused(client):
    refused = client.get(reverse("metrics"), REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 403
    assert b"opdq_" not in refused.content
    assert client.get(reverse("metrics"), REMOTE_ADDR="::1").status_code == 200
    # A dual-stack socket's form of 127.0.0.1.
    assert client.get(reverse("metrics"), REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_the_allowed_networks_are_a_setting(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert client.get(reverse("metrics"), REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get(reverse("metrics"), REMOTE_ADDR="10.21.3.4").status_code == 403
    assert client.get(reverse("metrics"), REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_a_forwarded_address_counts_only_from_the_proxy(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    # A client outside writes an allowed address into X-Forwarded-For: ignored.
    forged = client.get(
        reverse("metrics"), REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.20.3.4"
    )
    assert forged.status_code == 403

    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # Through our proxy, the address it appended is the client's.
    via_proxy = client.get(
        reverse("metrics"), REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.20.3.4"
    )
    assert via_proxy.status_code == 200
    # And what the client wrote before it is not read.
    behind = client.get(
        reverse("metrics"),
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="10.20.3.4, 203.0.113.9",
    )
    assert behind.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_several_processes_are_added_up_in_multiprocess_mode(tmp_path, orth):
    """gunicorn's two workers and a daphne write to one PROMETHEUS_MULTIPROC_DIR; any of
    them serves the sum. A daphne killed outright takes its screens out of the gauge."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with GunicornServer(workers=2, extra_env=env) as web, DaphneServer(extra_env=env) as ws:
        with httpx.Client(base_url=web.url) as http:
            for _ in range(10):
                assert http.get("/healthz").status_code == 200
            assert http.get("/no-such-page/").status_code == 404
            assert httpx.get(f"{ws.url}/healthz").status_code == 200

            async def scenario():
                async with connect(ws.ws_url("/ws/departments/orth/"), origin=ws.url) as tv:
                    await tv.recv()
                    with_screen = samples(http.get("/metrics").text)
                    os.kill(ws.process.pid, signal.SIGKILL)  # no atexit, no goodbye
                    ws.process.wait()
                    return with_screen, samples(http.get("/metrics").text)

            with_screen, after = asyncio.run(scenario())
    assert with_screen[("opdq_http_requests_total", (("status", "2xx"),))] == 11
    assert with_screen[("opdq_http_requests_total", (("status", "4xx"),))] == 1
    assert with_screen[("opdq_connected_screens", ())] == 1
    assert with_screen[per_department("opdq_waiting", "orth")] == 0
    assert after[("opdq_connected_screens", ())] == 0
    # Counters of a process that is gone still count: totals never go backwards.
    assert after[("opdq_http_requests_total", (("status", "2xx"),))] == 12

"""/healthz and /readyz: the process, and what it needs to do its work (the database, the
channel layer, the background worker), each reported by name, 503 when one is down."""

import datetime
import importlib
import shutil
import time

import httpx
import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from django_q.models import Schedule

from hospital.health import record_heartbeat
from hospital.models import WorkerHeartbeat
from tests.conftest import WEDNESDAY, at, require_in_ci
from tests.servers import DaphneServer, RedisServer, WorkerProcess, unique_prefix

NOW = at(WEDNESDAY, 10, 0)


def test_healthz_answers_from_the_process_alone(client):
    # No `db` fixture: any database access would fail the test, as it must not matter
    # to healthz whether the database is up.
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_ready_with_every_check_named_and_timed(client, clock):
    record_heartbeat(now=NOW - datetime.timedelta(seconds=50))
    response = client.get(reverse("readyz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["failed"] == []
    checks = body["checks"]
    assert set(checks) == {"database", "channel_layer", "worker"}
    for check in checks.values():
        assert check["ok"] is True
        assert isinstance(check["latency_ms"], float) and check["latency_ms"] >= 0
    assert checks["database"]["detail"] == "ok"
    assert checks["channel_layer"]["detail"] == "in-memory"
    # When the worker last beat, in the hospital's time zone.
    assert checks["worker"]["last_heartbeat"] == "2026-11-18T09:59:10+05:30"
    assert checks["worker"]["heartbeat_age_seconds"] == 50


@pytest.mark.django_db
def test_a_stale_worker_heartbeat_makes_readyz_503_naming_the_worker(client, clock):
    record_heartbeat(now=NOW - datetime.timedelta(minutes=4))
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["failed"] == ["worker"]
    worker = body["checks"]["worker"]
    assert worker["ok"] is False
    assert worker["detail"] == "last heartbeat 240 s ago (more than 180 s)"
    assert worker["last_heartbeat"] == "2026-11-18T09:56:00+05:30"
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_the_heartbeat_age_limit_is_a_setting(client, clock, settings):
    settings.WORKER_HEARTBEAT_MAX_AGE = 600
    record_heartbeat(now=NOW - datetime.timedelta(minutes=4))
    assert client.get(reverse("readyz")).status_code == 200


@pytest.mark.django_db
def test_no_heartbeat_yet_is_not_ready(client, clock):
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["worker"]
    assert "no heartbeat yet" in response.json()["checks"]["worker"]["detail"]


@pytest.mark.django_db
def test_the_heartbeat_is_one_row_moved_forward():
    record_heartbeat(now=NOW)
    record_heartbeat(now=NOW + datetime.timedelta(minutes=1))
    assert list(WorkerHeartbeat.objects.values_list("beat_at", flat=True)) == [
        NOW + datetime.timedelta(minutes=1)
    ]


@pytest.mark.django_db
def test_the_worker_runs_the_heartbeat_every_minute():
    schedule = Schedule.objects.get(name="worker_heartbeat")
    assert schedule.func == "hospital.health.record_heartbeat"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1
    assert schedule.repeats == -1


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_moves_the_heartbeat_and_readyz_turns_ready():
    # The schedule as the migration makes it (a transactional test's database may have
    # been emptied by an earlier one).
    migration = importlib.import_module("hospital.migrations.0008_worker_heartbeat_schedule")
    migration.add_schedule(django_apps, None)
    with DaphneServer() as server:
        assert httpx.get(f"{server.url}/readyz").status_code == 503
        with WorkerProcess():
            # django-q's scheduler looks for due schedules every 30 seconds.
            assert wait_for(lambda: WorkerHeartbeat.objects.exists(), timeout=90)
        response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["worker"]["ok"] is True


def test_readyz_says_the_database_is_down_without_a_traceback(tmp_path):
    # A server whose database cannot be opened (a SQLite file in a folder that does not
    # exist): healthz still says the process is up, readyz names what is down.
    missing = tmp_path / "no-such-folder" / "db.sqlite3"
    with DaphneServer(extra_env={"DATABASE_URL": f"sqlite:///{missing}"}) as server:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database", "worker"]
    assert body["checks"]["database"] == {
        "ok": False,
        "detail": "error: OperationalError",
        "latency_ms": body["checks"]["database"]["latency_ms"],
    }
    assert "Traceback" not in response.text and str(tmp_path) not in response.text


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        require_in_ci("redis-server", "install the Debian package `redis-server`")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_readyz_turns_503_when_redis_stops_and_200_when_it_is_back(redis_server):
    record_heartbeat()  # the server's clock is the real one
    with DaphneServer(redis_url=redis_server.redis_url_of, prefix=unique_prefix()) as server:
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["channel_layer"]["detail"] == "ok"

        redis_server.stop()
        down = httpx.get(f"{server.url}/readyz", timeout=10)
        assert down.status_code == 503
        assert down.json()["failed"] == ["channel_layer"]
        assert down.json()["checks"]["channel_layer"]["detail"] == "error: ConnectionError"
        assert httpx.get(f"{server.url}/healthz").status_code == 200

        redis_server.start()
        back = httpx.get(f"{server.url}/readyz")
        assert back.status_code == 200, back.text
        assert back.json()["failed"] == []

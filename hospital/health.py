"""/healthz and /readyz: whether this process is up, and whether it can do its work.

/healthz answers from the process alone (no database), so systemd or the proxy can tell
a hung or dead process from a database outage. /readyz checks, each by name with how long
it took: the database (a trivial query), the channel layer (a Redis PING, to the master
the Sentinels name with REDIS_SENTINELS, or "in-memory" for the one-process layer) and
the background worker (its heartbeat, written every minute by a django-q2 schedule). Any
failed check gives 503. A check never raises: its error is
reported as a short text (the exception's class; the full message goes to the log, as it
may name hosts), and every check has a short timeout, so readyz answers within seconds
whatever is down.
"""

import datetime
import logging
import time
from dataclasses import dataclass, field

import redis
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis.sentinel import Sentinel

from hospital.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# Seconds a Redis PING may take (connect and answer) before the layer counts as down.
REDIS_TIMEOUT = 1.0


@dataclass
class Check:
    ok: bool
    detail: str
    latency_ms: float = 0.0
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "detail": self.detail,
            "latency_ms": round(self.latency_ms, 1),
            **self.extra,
        }


def _failed(name: str, exc: Exception) -> Check:
    logger.warning("Readiness check %s failed: %r", name, exc)
    return Check(False, f"error: {type(exc).__name__}")


def check_database() -> Check:
    # A connection that cannot be had fails within DB_POOL_TIMEOUT (PostgreSQL's pool) or
    # the SQLite busy timeout; the query itself is trivial.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failed("database", exc)
    return Check(True, "ok")


def _redis_hosts() -> list:
    config = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    return list(config.get("hosts", []))


def _ping(host) -> None:
    options = {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT}
    sentinel = None
    if isinstance(host, dict) and "master_name" in host:
        # A Sentinel host (hospital/redis_config.py): ping the master the Sentinels name
        # now, where the layer's next connection would go. No master named: down.
        host = dict(host)
        asked = {**(host.pop("sentinel_kwargs", None) or {}), **options}
        sentinel = Sentinel(host.pop("sentinels"), sentinel_kwargs=asked)
        client = sentinel.master_for(host.pop("master_name"), **{**host, **options})
    elif isinstance(host, dict):
        client = redis.Redis.from_url(host["address"], **options)
    else:
        client = redis.Redis.from_url(host, **options)
    try:
        client.ping()
    finally:
        client.close()
        if sentinel is not None:
            sentinel.close()


def check_channel_layer() -> Check:
    """A PING to each Redis the channel layer publishes through, with a short timeout: a
    round trip through the layer itself would need an event loop per request, and asks
    Redis nothing more than whether it answers."""
    try:
        layer = get_channel_layer()
    except Exception as exc:
        return _failed("channel_layer", exc)
    if layer is None:
        return Check(False, "error: no channel layer configured")
    if isinstance(layer, InMemoryChannelLayer):
        return Check(True, "in-memory")
    try:
        for host in _redis_hosts():
            _ping(host)
    except Exception as exc:
        return _failed("channel_layer", exc)
    return Check(True, "ok")


def check_worker(now: datetime.datetime | None = None) -> Check:
    now = now or timezone.now()
    try:
        beat_at = WorkerHeartbeat.objects.values_list("beat_at", flat=True).first()
    except Exception as exc:
        return _failed("worker", exc)
    if beat_at is None:
        return Check(False, "no heartbeat yet: is the worker (manage.py qcluster) running?")
    age = max(0, int((now - beat_at).total_seconds()))
    extra = {
        "last_heartbeat": timezone.localtime(beat_at).isoformat(),
        "heartbeat_age_seconds": age,
    }
    limit = settings.WORKER_HEARTBEAT_MAX_AGE
    if age > limit:
        return Check(False, f"last heartbeat {age} s ago (more than {limit} s)", extra=extra)
    return Check(True, "ok", extra=extra)


def _timed(check, *args) -> Check:
    started = time.perf_counter()
    result = check(*args)
    result.latency_ms = (time.perf_counter() - started) * 1000
    return result


def readiness(now: datetime.datetime | None = None) -> dict[str, Check]:
    return {
        "database": _timed(check_database),
        "channel_layer": _timed(check_channel_layer),
        "worker": _timed(check_worker, now),
    }


def record_heartbeat(now: datetime.datetime | None = None) -> None:
    """The worker's every-minute task (schedule "worker_heartbeat", hospital migration
    0008): one row, moved forward each time."""
    WorkerHeartbeat.objects.update_or_create(pk=1, defaults={"beat_at": now or timezone.now()})


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    checks = readiness()
    failed = [name for name, check in checks.items() if not check.ok]
    body = {
        "status": "not ready" if failed else "ready",
        "failed": failed,
        "checks": {name: check.as_json() for name, check in checks.items()},
    }
    return JsonResponse(body, status=503 if failed else 200)

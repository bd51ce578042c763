"""Prometheus metrics at /metrics, for the hospital's monitoring (prometheus-client).

Two kinds:
- The queue, read from the database at scrape time (QueueCollector): waiting and the
  longest wait per department, tokens issued and completed today. Two cheap queries per
  scrape, whatever the number of departments; nothing is counted on the request path.
- The processes, counted where things happen: HTTP responses by status class
  (RequestMetricsMiddleware), how long publishing a department's state to its screens
  took (queues.broadcast), public screens connected (queues.consumers).

With several server processes (gunicorn workers, daphnes) each counts its own. With
PROMETHEUS_MULTIPROC_DIR set (a directory shared by the machine's app processes, emptied
at boot) prometheus-client's multiprocess mode writes every process's values there and
any process's /metrics adds them up; without it each process shows its own
(docs/DEPLOYMENT.md, "Health checks and metrics").

Only addresses in METRICS_ALLOWED_NETWORKS may read /metrics: the client's address as
hospital.clientip finds it, so a forged X-Forwarded-For counts for nothing.
"""

import atexit
import glob
import ipaddress
import logging
import os
import re
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from hospital.clientip import client_ip
from hospital.clock import day_start, local_today
from hospital.models import Department
from queues.models import Token

logger = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "opdq_http_requests",
    "HTTP responses sent, by status class (2xx, 3xx, 4xx, 5xx).",
    ["status"],
)
PUBLISH_SECONDS = Histogram(
    "opdq_publish_seconds",
    "From a committed queue change to its state handed to the channel layer for the "
    "department's screens.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CONNECTED_SCREENS = Gauge(
    "opdq_connected_screens",
    "Public screens (TVs, boards, patients' phones) connected by websocket.",
    # Summed over the processes alive now: a stopped daphne's screens are gone with it.
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def _forget_this_process() -> None:
    # A live gauge's file names a process; one that has stopped connects no screens.
    mark_process_dead(os.getpid())


if multiprocess_dir():
    atexit.register(_forget_this_process)


_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db$")


def _forget_dead_processes(path: str) -> None:
    """Remove live gauges of processes that died without running atexit (killed, or a
    crash): process ids are the machine's, and so is the directory."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = _LIVE_FILE.search(name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)
        except PermissionError:
            pass  # alive, under another user


class QueueCollector:
    """The queue per department, read when Prometheus scrapes."""

    def describe(self):
        return []  # nothing to read at registration: the figures come at scrape time

    def collect(self):
        labels = ["department", "kind"]
        waiting = GaugeMetricFamily("opdq_waiting", "Tokens waiting now.", labels=labels)
        longest = GaugeMetricFamily(
            "opdq_longest_wait_seconds",
            "How long the longest-waiting token has waited (0: nobody waits).",
            labels=labels,
        )
        issued = GaugeMetricFamily(
            "opdq_tokens_issued_today",
            "Tokens in today's queue (the hospital's day), whatever their status.",
            labels=labels,
        )
        completed = GaugeMetricFamily(
            "opdq_tokens_completed_today", "Tokens completed today.", labels=labels
        )
        up = GaugeMetricFamily(
            "opdq_queue_metrics_up", "1 if the queue figures could be read from the database."
        )
        try:
            rows = queue_figures()
        except DatabaseError as exc:
            logger.warning("Metrics: could not read the queue figures: %r", exc)
            up.add_metric([], 0)
            yield up
            return
        for row in rows:
            key = [row["slug"], row["kind"]]
            waiting.add_metric(key, row["waiting"])
            longest.add_metric(key, row["longest_wait_seconds"])
            issued.add_metric(key, row["issued"])
            completed.add_metric(key, row["completed"])
        up.add_metric([], 1)
        yield from (waiting, longest, issued, completed, up)


def queue_figures(now=None) -> list[dict]:
    """Per active department: waiting, longest wait (s), issued and completed today."""
    now = now or timezone.now()
    today = local_today(now)
    # A token taken on an earlier day for today waits from the start of today, as the
    # supervisor board counts it (supervision.figures).
    opened = day_start(today)
    departments = list(
        Department.objects.filter(is_active=True)
        .order_by("kind", "slug")
        .values("pk", "slug", "kind")
    )
    waiting = Q(status=Token.Status.WAITING)
    counts = {
        row["department_id"]: row
        for row in Token.objects.filter(service_date=today)
        .values("department_id")
        .annotate(
            waiting=Count("pk", filter=waiting),
            completed=Count("pk", filter=Q(status=Token.Status.COMPLETED)),
            issued=Count("pk"),
            oldest=Min("issued_at", filter=waiting),
        )
    }
    figures = []
    for department in departments:
        row = counts.get(department["pk"], {})
        oldest = row.get("oldest")
        longest = max(0.0, (now - max(oldest, opened)).total_seconds()) if oldest else 0.0
        figures.append(
            {
                "slug": department["slug"],
                "kind": department["kind"],
                "waiting": row.get("waiting", 0),
                "longest_wait_seconds": longest,
                "issued": row.get("issued", 0),
                "completed": row.get("completed", 0),
            }
        )
    return figures


def allowed_networks() -> list:
    return [ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_NETWORKS]


def may_read_metrics(request) -> bool:
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped  # "::ffff:10.0.0.5" from a dual-stack socket
    return any(address in network for network in allowed_networks())


def scrape() -> bytes:
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path:
        _forget_dead_processes(path)
        MultiProcessCollector(registry, path=path)
    else:
        registry.register(REGISTRY)  # this process's metrics, and its CPU and memory
    registry.register(QueueCollector())
    return generate_latest(registry)


@never_cache
@require_safe
def metrics(request):
    if not may_read_metrics(request):
        return HttpResponseForbidden(
            "Metrics are served only to the addresses in METRICS_ALLOWED_NETWORKS.",
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Counts every response by its status class. First in MIDDLEWARE, so it sees what
    the client got: a 500 page, a redirect to sign in, a lockout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        HTTP_REQUESTS.labels(status=f"{response.status_code // 100}xx").inc()
        return response


def observe_publish(started: float) -> None:
    """Record a publish that began (or whose change was committed) at `started`,
    a time.monotonic() reading."""
    PUBLISH_SECONDS.observe(max(0.0, time.monotonic() - started))

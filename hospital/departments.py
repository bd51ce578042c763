"""The list of active departments, as the public pages read it.

The kiosk builds its form from this list on every request, and under a rush that query
was a fifth of the server's time per token (bench/tokens.py). Departments change a few
times a year, by an admin, so each process keeps the list for ACTIVE_TTL seconds and
forgets it at once when a department is saved or deleted in this process. A change made
in another server process shows here within ACTIVE_TTL seconds. Whether a department is
active, and its daily limit, are checked again by the database when a token is numbered
(queues.numbering), so a kiosk's stale list can never issue a token that should be
refused.
"""

import threading
import time

from hospital.models import Department

ACTIVE_TTL = 2.0

_lock = threading.Lock()
_cached: tuple[float, list[Department]] | None = None


def active_departments() -> list[Department]:
    """Active departments by name. The instances are shared between requests: read
    them, never change them."""
    global _cached
    cached = _cached
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1]
    with _lock:  # one thread reads; the others wait for its answer
        cached = _cached
        if cached is None or time.monotonic() >= cached[0]:
            departments = list(Department.objects.filter(is_active=True).order_by("name"))
            cached = _cached = (time.monotonic() + ACTIVE_TTL, departments)
    return cached[1]


def forget(**kwargs) -> None:
    """Drop the cached list (connected to Department's post_save and post_delete)."""
    global _cached
    _cached = None

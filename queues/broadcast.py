"""The one place that publishes queue changes to live screens.

Services call `department_changed` inside their transaction; the department's full state
is computed and sent only after commit, so no screen ever shows a change that was rolled
back. Sending is best effort: the database is the truth, and every screen checks its
version against the database on each ping (queues.consumers), so a message lost to a
Redis outage is made good within seconds. A broken channel layer is logged, never raised.

It runs in whichever thread committed, through `async_to_sync` as the Channels docs show
for sync code: under gunicorn on a short-lived event loop of its own, under daphne on the
server's loop (asgiref hands the call back to it), in tests on the test's loop.
"""

import json
import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from hospital.models import Department
from queues.state import public_state

logger = logging.getLogger(__name__)

# Coalescing: while one thread of this process computes and sends a department's state,
# changes that other threads commit for it are folded into one more round by that
# thread, instead of each computing the state again. Every message is the whole state,
# so nothing is lost by folding.
_lock = threading.Lock()
_publishing: set[int] = set()
_changed_again: set[int] = set()


def department_group(department_id: int) -> str:
    """Group name for a department's live screens; built from the id only, never from
    user input."""
    return f"department.{int(department_id)}"


def department_changed(department_id: int) -> None:
    transaction.on_commit(lambda: publish_soon(department_id))


def publish_soon(department_id: int) -> None:
    with _lock:
        if department_id in _publishing:
            _changed_again.add(department_id)
            return
        _publishing.add(department_id)
    try:
        while True:
            publish_department(department_id)
            with _lock:
                if department_id not in _changed_again:
                    break
                _changed_again.discard(department_id)
    finally:
        with _lock:
            _publishing.discard(department_id)
            _changed_again.discard(department_id)


def department_message(department_id: int) -> dict | None:
    """The channel-layer message carrying a department's state, serialised once here:
    consumers forward the text as it is, with no database work or encoding per socket."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        return None
    state = public_state(department)
    return {"type": "queue.state", "text": json.dumps(state), "version": state["version"]}


def publish_department(department_id: int) -> None:
    """Compute and send one department's state now."""
    try:
        message = department_message(department_id)
        layer = get_channel_layer()
        if message is not None and layer is not None:
            async_to_sync(layer.group_send)(department_group(department_id), message)
    except Exception as exc:
        # Redis down or unreachable: the change is committed; screens catch up by version.
        logger.warning("Could not publish the state of department %s: %r", department_id, exc)

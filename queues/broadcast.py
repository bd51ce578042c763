"""The one place that publishes queue changes to live screens.

Services call `department_changed` inside their transaction; the department's full state
is computed and sent only after commit, so no screen ever shows a change that was rolled
back. Sending is best effort: the database is the truth, and every screen checks its
version against the database on each ping (queues.consumers), so a message lost to a
Redis outage is made good within seconds. A broken channel layer is logged, never raised.

Two ways out, by channel layer, the same under gunicorn and daphne:
- Redis (several processes): each process has one publisher thread. A request only
  marks its department as changed; the thread computes the state and sends it, so the
  kiosk's answer never waits for it. A few changes in a row go out at once (BURST); in
  a rush they are folded into at most RUSH_RATE messages a second per department. Every
  message is the whole state, so nothing is lost by folding.
- The in-memory layer (one process: `make run`, tests): its queues belong to the event
  loop of the process's consumers, so the state is sent from the committing thread with
  `async_to_sync`, as the Channels docs show for sync code (under daphne asgiref runs it
  on the server's loop).
"""

import asyncio
import json
import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import close_old_connections, transaction

from hospital.metrics import observe_publish
from hospital.models import Department
from queues import versions
from queues.state import public_state

logger = logging.getLogger(__name__)

# Messages per department and process: up to BURST at once (a call, a skip, a call),
# then at most RUSH_RATE a second while changes keep coming (a kiosk rush), each carrying
# everything that changed meanwhile.
BURST = 3
RUSH_RATE = 4.0


def department_group(department_id: int) -> str:
    """Group name for a department's live screens; built from the id only, never from
    user input."""
    return f"department.{int(department_id)}"


def department_changed(department_id: int) -> None:
    transaction.on_commit(lambda: publish_soon(department_id))


def publish_soon(department_id: int) -> None:
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        started = time.monotonic()
        if publish_department(department_id):
            observe_publish(started)
    else:
        publisher.mark(department_id)


def department_message(department_id: int) -> dict | None:
    """The channel-layer message carrying a department's state, serialised once here:
    consumers forward the text as it is, with no database work or encoding per socket."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        return None
    state = public_state(department)
    return {
        "type": "queue.state",
        "text": json.dumps(state),
        "version": state["version"],
        # For the staff terminals' sockets: whether their panel changed (queues.versions).
        "panels": versions.terminal_keys(department_id, department.queue_version),
    }


def publish_department(department_id: int, send=None) -> bool:
    """Compute and send one department's state now (`send`: the layer's group_send run
    to completion, async_to_sync by default); whether it was sent."""
    try:
        message = department_message(department_id)
        layer = get_channel_layer()
        if message is not None and layer is not None:
            send = send or async_to_sync(layer.group_send)
            send(department_group(department_id), message)
            return True
    except Exception as exc:
        # Redis down or unreachable: the change is committed; screens catch up by version.
        logger.warning("Could not publish the state of department %s: %r", department_id, exc)
    return False


class Publisher:
    """One thread per process that sends what requests mark as changed."""

    def __init__(self):
        self._changed: dict[int, float] = {}  # department -> when it was first marked
        # Per department: (allowance, when it was counted), a token bucket of BURST
        # messages filling at RUSH_RATE a second.
        self._allowance: dict[int, tuple[float, float]] = {}
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def mark(self, department_id: int) -> None:
        with self._condition:
            self._changed.setdefault(department_id, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="queue-publisher", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def _allowed(self, department_id: int, now: float) -> float:
        allowance, counted = self._allowance.get(department_id, (BURST, now))
        return min(BURST, allowance + (now - counted) * RUSH_RATE)

    def _due(self) -> tuple[list[int], float | None]:
        """Departments whose message may go now, and how long until the next may."""
        now, due, wait = time.monotonic(), [], None
        for department_id in self._changed:
            allowance = self._allowed(department_id, now)
            if allowance >= 1:
                due.append(department_id)
                self._allowance[department_id] = (allowance - 1, now)
            else:
                ready_in = (1 - allowance) / RUSH_RATE
                wait = ready_in if wait is None else min(wait, ready_in)
        return due, wait

    def _run(self) -> None:
        # The thread's own event loop, run only while a message is handed to the layer:
        # the Redis connection stays open between messages, and the database is only
        # used outside it (Django refuses sync ORM calls while a loop runs).
        loop = asyncio.new_event_loop()
        while True:
            with self._condition:
                due, wait = self._due()
                while not due:
                    self._condition.wait(timeout=wait)
                    due, wait = self._due()
                marked = {department_id: self._changed.pop(department_id) for department_id in due}
            for department_id in due:
                layer = get_channel_layer()
                sent = publish_department(
                    department_id,
                    send=lambda group, message, layer=layer: loop.run_until_complete(
                        layer.group_send(group, message)
                    ),
                )
                if sent:  # timed from the change's commit, waiting for its turn included
                    observe_publish(marked[department_id])
            close_old_connections()  # hand the connection back to the pool between rounds


publisher = Publisher()

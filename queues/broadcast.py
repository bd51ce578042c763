"""The one place that publishes queue changes to live screens.

Services call `department_changed` inside their transaction; the state is computed and
sent only after commit, so no screen ever shows a change that was rolled back. Sending
is best effort: the database is the truth, and a screen that misses a message resyncs
by version. A broken channel layer (Redis down) is logged, never raised.

Under a server, publishing happens on one background thread per process, off the
request path, and coalesces: every change that arrives while a department's state is
being computed is folded into the next publish. Each message is the department's full
state, so screens lose nothing, and a rush of fifty kiosks costs a handful of publishes
instead of one per token. Without a server (management commands, plain tests) the
state is published at once, in the committing thread.
"""

import asyncio
import json
import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

# How long the publisher waits for the server's event loop to take a message.
SEND_TIMEOUT = 5.0

# At most this share of a process's time goes to publishing during a rush (Publisher),
# but a screen never waits more than MAX_PUBLISH_DELAY seconds for the next round.
PUBLISH_SHARE = 0.05
MAX_PUBLISH_DELAY = 1.0

# The version last published for each department by this process.
_last_sent: dict[int, int] = {}
_sent_lock = threading.Lock()


def department_group(department_id: int) -> str:
    """Group name for a department's live screens; built from the id only, never from
    user input."""
    return f"department.{int(department_id)}"


def department_changed(department_id: int) -> None:
    transaction.on_commit(lambda: _publisher.mark(department_id))


def department_message(department_id: int) -> dict | None:
    from hospital.models import Department
    from queues.state import public_state

    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        return None
    state = public_state(department)
    # Coalescing skips versions on purpose. "since" is the version this process last sent
    # for the department, so a screen asks for the state again only when it missed a
    # message, not when changes were folded into one (which would send thousands of
    # screens to the database at once after every rush).
    with _sent_lock:
        state["since"] = _last_sent.get(department_id)
        _last_sent[department_id] = max(state["version"], _last_sent.get(department_id, 0))
    # Serialised once here; consumers forward the text as it is, so fan-out to
    # thousands of sockets costs no JSON encoding and no database work per socket.
    return {"type": "queue.state", "text": json.dumps(state), "version": state["version"]}


def publish_department(department_id: int) -> None:
    """Compute and send one department's state now: through the server's event loop when
    there is one (it owns the channel layer's connections), else on a loop of our own."""
    try:
        message = department_message(department_id)
        layer = get_channel_layer()
        if message is None or layer is None:
            return
        group = department_group(department_id)
        loop = ServerLoop.running()
        if loop is None:
            async_to_sync(layer.group_send)(group, message)
        else:
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
            future.result(timeout=SEND_TIMEOUT)
    except Exception:
        logger.exception("Could not publish the state of department %s", department_id)


class ServerLoop:
    """ASGI middleware that remembers the server's event loop, so the publisher thread
    can hand messages to the channel layer on the loop that owns its connections."""

    loop: asyncio.AbstractEventLoop | None = None

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        ServerLoop.loop = asyncio.get_running_loop()
        return await self.app(scope, receive, send)

    @classmethod
    def running(cls) -> asyncio.AbstractEventLoop | None:
        loop = cls.loop
        return loop if loop is not None and loop.is_running() else None


class Publisher:
    def __init__(self, publish=None):
        # What one department's publish is; publish_department unless a test says.
        self._publish = publish or publish_department
        self._dirty: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def mark(self, department_id: int) -> None:
        if ServerLoop.running() is None:
            self._publish(department_id)
            return
        with self._lock:
            self._dirty.add(department_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="queue-publisher", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        next_round = 0.0
        while True:
            self._wake.wait()
            # A round costs more CPU the longer the queues are (each message carries
            # the whole waiting line). Under a rush the next round waits until the last
            # one's CPU is at most PUBLISH_SHARE of the time since it started, so
            # publishing can't starve the requests; what arrives meanwhile is folded
            # in. A change after a quiet spell goes out at once.
            delay = next_round - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._wake.clear()
            with self._lock:
                pending, self._dirty = self._dirty, set()
            started, cpu = time.monotonic(), time.thread_time()
            for department_id in pending:
                self._publish(department_id)
            # Give the connection back (to the pool on PostgreSQL) between rounds.
            close_old_connections()
            # CPU time, not wall time: waiting for the database or for a busy event loop
            # to take the message costs the requests nothing.
            next_round = started + min(
                (time.thread_time() - cpu) / PUBLISH_SHARE, MAX_PUBLISH_DELAY
            )


_publisher = Publisher()

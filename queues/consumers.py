"""Websocket consumers: thin pipes from queues.broadcast to the screens.

Public sockets (TVs, boards, patients' phones) read the database on connect, and
afterwards forward the state the broadcaster already serialised. Staff terminals' sockets
(doctors', counters') only say the department's version and their panel's key
(queues.versions): their pages fetch the panel when the key moved on.

Every screen pings with the version it shows after a few seconds without a push (a push
is the whole state, and came by the layer), and each ping checks the two ways a screen
can go stale:
- the channel layer: unless this process heard from the layer in the last
  LAYER_HEARD_SECONDS, the ping is echoed through this socket's own channel, so the pong
  says whether pushes can reach the screen now (with Redis down they cannot, and the
  screen's light says it is not sure it is current);
- the version: it is compared with the database's (read at most every VERSION_TTL
  seconds per department and process), and a screen that missed a push (a Redis outage,
  a restart) is sent the state again, layer or no layer.
"""

import asyncio
import json
import logging
import time

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from hospital.metrics import CONNECTED_SCREENS
from hospital.middleware import session_idle
from hospital.models import Department, Doctor, is_counter_staff, is_doctor
from hospital.two_factor import second_step_passed
from queues import versions
from queues.broadcast import department_group
from queues.state import public_state
from queues.terminal import load_counter_staff

logger = logging.getLogger(__name__)

# A client may ping or ask for the state at most this often (seconds); more is ignored,
# so a misbehaving page cannot turn a socket into a load generator.
REQUEST_INTERVAL = 1.0
# How long the channel layer may take to answer before the screen is told it is not live.
LAYER_TIMEOUT = 2.0
# How old this process's idea of a department's version may be when a ping is checked.
VERSION_TTL = 3.0
# The state last computed per department in this process: after a restart every TV
# reconnects at once, and they share one computation while the department is unchanged.
# The age limit is there because the calling order also moves with the clock (an
# appointment falling due) without a change of version.
STATE_CACHE_SECONDS = 15.0
# A channel-layer alias that is not configured: Channels then runs a consumer without a
# layer (get_channel_layer returns None), which is how a screen is served while Redis is
# down.
NO_LAYER = "unavailable"

# How recently this process must have heard from the channel layer for a ping to be
# answered "live" at once. Echoing every ping through Redis was about a sixth of daphne's
# CPU with thousands of screens (bench/day.py); any message the layer brings this process
# (a push, an echo) shows the road is open. With nothing heard for this long, pings are
# echoed through their own channel again, so an outage shows within a second.
LAYER_HEARD_SECONDS = 1.0
LAYER_MESSAGES = frozenset({"queue.state", "layer.echo"})

PONG_LIVE = json.dumps({"type": "pong", "live": True})
PONG_NOT_LIVE = json.dumps({"type": "pong", "live": False})

_layer_heard = [0.0]  # when this process last had a message from the channel layer
_versions: dict[int, tuple[float, int]] = {}
_states: dict[int, tuple[int, float, str]] = {}


read_version = database_sync_to_async(versions.state_version)


async def department_version(department_id: int) -> int:
    cached = _versions.get(department_id)
    if cached and time.monotonic() - cached[0] < VERSION_TTL:
        return cached[1]
    version = await read_version(department_id)
    _versions[department_id] = (time.monotonic(), version)
    return version


def note_version(department_id: int, version: int) -> None:
    """A pushed state is the freshest news there is: pings compare against it."""
    cached = _versions.get(department_id)
    if cached is None or version >= cached[1]:
        _versions[department_id] = (time.monotonic(), version)


def remember_state(department_id: int, version: int, text: str) -> None:
    """Keep the newest state text this process has seen, computed or pushed."""
    cached = _states.get(department_id)
    if cached is None or version >= cached[0]:
        _states[department_id] = (version, time.monotonic(), text)


def cached_state_text(department_id: int, version: int) -> str | None:
    """The department's state if this process holds one at least as new as `version`."""
    cached = _states.get(department_id)
    if cached and cached[0] >= version and time.monotonic() - cached[1] < STATE_CACHE_SECONDS:
        return cached[2]
    return None


@database_sync_to_async
def compute_state_text(department_id: int) -> str:
    state = public_state(Department.objects.get(pk=department_id))
    text = json.dumps(state)
    remember_state(department_id, state["version"], text)
    return text


async def department_state_text(department_id: int, version: int | None = None) -> str:
    """The state as of at least `version` (by default the database's version now): a
    pushed or computed text when this process has one that new, so a screen that
    missed a push is not a database read, nor is a burst of reconnects."""
    if version is None:
        version = await read_version(department_id)
        note_version(department_id, version)
    text = cached_state_text(department_id, version)
    return text if text is not None else await compute_state_text(department_id)


def parse_request(text_data: str | None) -> dict:
    try:
        request = json.loads(text_data or "")
    except ValueError:
        return {}
    return request if isinstance(request, dict) else {}


class LiveConsumer(AsyncWebsocketConsumer):
    """A screen watching one department: subclasses set department_id and group_name in
    connect() and say what "the state" is (send_state)."""

    department_id: int = 0
    group_name: str = ""
    in_group = False
    last_request = 0.0

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            # Channels asks the layer for this socket's channel (self.channel_name) before
            # it reads anything from the client; with Redis down that fails, and no
            # channel name is set. Serve the screen without a
            # layer instead of refusing it: it gets the state from the database, and its
            # pings keep it current until a reconnect finds the layer again.
            if self.channel_layer is None or getattr(self, "channel_name", None):
                raise
            logger.warning("Channel layer unavailable; serving a screen from the database")
            self.channel_layer_alias = NO_LAYER
            await super().__call__(scope, receive, send)

    # Messages whose handlers touch the database only through database_sync_to_async,
    # which tidies connections itself: the channel layer's (forwarding a ready state,
    # the ping's echo) and a screen's own (a ping, a request for the state).
    NO_DATABASE_MESSAGES = frozenset({"queue.state", "layer.echo", "websocket.receive"})

    async def dispatch(self, message):
        # Channels first closes stale database connections, a hop to its one sync
        # thread, before every handler. Per socket per push, and per ping, that hop was
        # most of the message's cost with thousands of TVs (bench/fanout.py,
        # bench/day.py), for handlers that need no connection of their own; connecting
        # and disconnecting go the stock way.
        if message["type"] in LAYER_MESSAGES:
            _layer_heard[0] = time.monotonic()
        if message["type"] in self.NO_DATABASE_MESSAGES:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def join_group(self) -> None:
        if self.channel_layer is None or self.in_group:
            return
        try:
            await asyncio.wait_for(
                self.channel_layer.group_add(self.group_name, self.channel_name), LAYER_TIMEOUT
            )
        except Exception as exc:
            logger.warning("Could not join %s: %r", self.group_name, exc)
        else:
            self.in_group = True

    async def websocket_disconnect(self, message):
        if self.in_group:
            try:
                await self.channel_layer.group_discard(self.group_name, self.channel_name)
            except Exception as exc:
                logger.warning("Could not leave %s: %r", self.group_name, exc)
        raise StopConsumer()

    async def send_state(self, version: int | None = None) -> None:
        """Send the state, as of at least `version` when the caller knows it."""
        raise NotImplementedError

    async def receive(self, text_data=None, bytes_data=None):
        request = parse_request(text_data)
        kind = request.get("type")
        if kind not in ("ping", "state"):
            return
        now = time.monotonic()
        if now - self.last_request < REQUEST_INTERVAL:
            return
        self.last_request = now
        if kind == "state":
            await self.send_state()
            return
        shown = request.get("version")
        latest = await department_version(self.department_id)
        if not isinstance(shown, int) or shown < latest:
            await self.send_state(latest)
        await self.check_layer()

    async def check_layer(self) -> None:
        """Answer a ping through the channel layer: the pong comes back by the same road
        as the pushes, or says at once that the road is closed. A layer heard from in the
        last LAYER_HEARD_SECONDS is taken as open without a round trip of its own."""
        await self.join_group()
        if not self.in_group:
            await self.send(text_data=PONG_NOT_LIVE)
            return
        if time.monotonic() - _layer_heard[0] < LAYER_HEARD_SECONDS:
            await self.send(text_data=PONG_LIVE)
            return
        # Twice: the first send after Redis came back fails on the connection the outage
        # broke, and the layer connects afresh for the next. (Two LAYER_TIMEOUTs at most:
        # within the 5 s a page waits for its pong.)
        for _attempt in range(2):
            try:
                await asyncio.wait_for(
                    self.channel_layer.send(self.channel_name, {"type": "layer.echo"}),
                    LAYER_TIMEOUT,
                )
            except Exception:
                continue
            return
        await self.send(text_data=PONG_NOT_LIVE)

    async def layer_echo(self, event):
        await self.send(text_data=PONG_LIVE)


@database_sync_to_async
def find_active_department(slug: str) -> Department | None:
    return Department.objects.filter(slug=slug, is_active=True).first()


class DepartmentConsumer(LiveConsumer):
    """`/ws/departments/<slug>/`: public and read-only."""

    counted = False  # whether this socket is in the connected-screens gauge

    async def connect(self):
        department = await find_active_department(self.scope["url_route"]["kwargs"]["slug"])
        if department is None:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self.department_id = department.pk
        self.group_name = department_group(department.pk)
        await self.join_group()
        await self.accept()
        CONNECTED_SCREENS.inc()
        self.counted = True
        await self.send_state()

    async def websocket_disconnect(self, message):
        if self.counted:
            CONNECTED_SCREENS.dec()
            self.counted = False
        await super().websocket_disconnect(message)

    async def send_state(self, version: int | None = None) -> None:
        await self.send(text_data=await department_state_text(self.department_id, version))

    async def queue_state(self, event):
        note_version(self.department_id, event["version"])
        remember_state(self.department_id, event["version"], event["text"])
        await self.send(text_data=event["text"])


def may_open_terminal(user, session) -> bool:
    """Whether the session could open a staff page now: not idle past
    STAFF_IDLE_MINUTES, and past the second step if the user has one."""
    return not session_idle(session) and second_step_passed(user, session)


@database_sync_to_async
def doctor_of(user, session):
    """The signed-in doctor, if their session could open the terminal's page."""
    if not is_doctor(user) or not may_open_terminal(user, session):
        return None
    return user.doctor


@database_sync_to_async
def counter_staff_of(user, session):
    """The signed-in counter staff member, if their session could open /counter/."""
    if not is_counter_staff(user) or not may_open_terminal(user, session):
        return None
    return user.counter_staff


class TerminalConsumer(LiveConsumer):
    """A staff member's own terminal: told the department's version and its panel's key on
    connect and on every change, after which the page's script fetches its panel over HTTP
    if the key moved on (queues.views.doctor_panel, counter_panel). A panel is the desk's
    own (its calling order, full names, the page's CSRF token) and tens of milliseconds to
    render with a long queue; rendered here, for every desk on every change, it took most of
    the socket server's time in a day's replay (bench/day.py) and held up the TVs' pushes.
    The HTTP servers render it instead, as many at once as they have processes, and a
    terminal whose panel is still being fetched asks once more for whatever came meanwhile.
    Subclasses find the staff member (desk_of) and name the message (kind)."""

    kind = ""
    key_prefix = ""  # the staff member's key in a change's "panels" (queues.versions)
    owner_id = 0  # the doctor's or counter staff member's id

    async def desk_of(self, user, session):
        raise NotImplementedError

    def versions_now(self) -> tuple[int, str]:
        """The department's version and this terminal's panel key, from the database."""
        raise NotImplementedError

    async def connect(self):
        owner = await self.desk_of(self.scope["user"], self.scope["session"])
        if owner is None:
            await self.close()
            return
        self.owner_id = owner.pk
        self.department_id = owner.department_id
        self.group_name = department_group(owner.department_id)
        await self.join_group()
        await self.accept()
        await self.send_state()

    async def send_state(self, version: int | None = None) -> None:
        # On connect, and to a ping behind the database: read afresh, key and all.
        version, key = await database_sync_to_async(self.versions_now)()
        await self.announce(version, key)

    async def announce(self, version: int, key: str | None) -> None:
        """Tell the page the department's version and, when known, its panel's key at that
        version: a page showing that key already shows that version."""
        message = {"type": self.kind, "version": version}
        if key is not None:
            message["key"] = key
        await self.send(text_data=json.dumps(message))

    async def queue_state(self, event):
        note_version(self.department_id, event["version"])
        key = event.get("panels", {}).get(f"{self.key_prefix}{self.owner_id}")
        await self.announce(event["version"], key)


class DoctorConsumer(TerminalConsumer):
    """`/ws/doctor/`: a signed-in doctor's own terminal: their department's changes."""

    kind = "doctor"
    key_prefix = "d"

    async def desk_of(self, user, session):
        return await doctor_of(user, session)

    def versions_now(self) -> tuple[int, str]:
        return versions.doctor_versions(Doctor.objects.get(pk=self.owner_id))


class CounterConsumer(TerminalConsumer):
    """`/ws/counter/`: a signed-in counter staff member's terminal: their department's
    changes (the panel they fetch shows the counter they work now)."""

    kind = "counter"
    key_prefix = "s"

    async def desk_of(self, user, session):
        return await counter_staff_of(user, session)

    def versions_now(self) -> tuple[int, str]:
        return versions.staff_versions(load_counter_staff(self.owner_id))

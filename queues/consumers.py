"""Websocket consumers: thin pipes from queues.broadcast to the screens.

Public sockets (TVs, boards, patients' phones) read the database once, on connect, and
afterwards only forward the state the broadcaster already serialised. Doctors' sockets
render their own panel on each change (a handful of doctors, not thousands of TVs).
"""

import json
import time

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from hospital.models import Department
from queues.broadcast import department_group
from queues.state import public_state

# A client may ask for the full state at most this often (seconds); more is ignored, so
# a misbehaving page cannot turn a socket into a database load generator.
STATE_REQUEST_INTERVAL = 1.0
PONG = json.dumps({"type": "pong"})


class ForwardingConsumer(AsyncWebsocketConsumer):
    """Base for consumers whose message handlers never touch the ORM outside
    database_sync_to_async (which cleans up connections itself)."""

    group_name: str = ""
    last_state_request = 0.0

    async def dispatch(self, message):
        # Channels (4.2+) runs aclose_old_connections() - a hop to the shared sync
        # thread - before every handler. With thousands of TV sockets that hop per
        # socket per message was the main cost of fan-out; these handlers don't need it.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)
        raise StopConsumer()

    async def wants_state(self, text_data: str | None) -> bool:
        """True for a well-formed, not-too-frequent {"type": "state"} request. Answers a
        {"type": "ping"} itself: pages ping so that a quiet department (no changes for
        minutes) is not mistaken for a dead connection; a pong costs no database work."""
        try:
            request = json.loads(text_data or "")
        except ValueError:
            return False
        if not isinstance(request, dict):
            return False
        if request.get("type") == "ping":
            await self.send(text_data=PONG)
            return False
        if request.get("type") != "state":
            return False
        now = time.monotonic()
        if now - self.last_state_request < STATE_REQUEST_INTERVAL:
            return False
        self.last_state_request = now
        return True


@database_sync_to_async
def find_active_department(slug: str) -> Department | None:
    return Department.objects.filter(slug=slug, is_active=True).first()


# The state last computed for a connect, per department, in this process: after a server
# restart every TV reconnects at once, and 5,000 connects each computing the state took
# 34 s on one process. Now a connect costs one version lookup while the department has not
# changed. The age limit is there because the calling order also moves with the clock (an
# appointment falling due) without a change of version.
STATE_CACHE_SECONDS = 15.0
_connect_states: dict[int, tuple[int, float, str]] = {}


@database_sync_to_async
def department_state_text(department_id: int) -> str:
    version = (
        Department.objects.filter(pk=department_id).values_list("state_version", flat=True).get()
    )
    cached = _connect_states.get(department_id)
    if cached and cached[0] == version and time.monotonic() - cached[1] < STATE_CACHE_SECONDS:
        return cached[2]
    state = public_state(Department.objects.get(pk=department_id))
    text = json.dumps(state)
    _connect_states[department_id] = (state["version"], time.monotonic(), text)
    return text


class DepartmentConsumer(ForwardingConsumer):
    """`/ws/departments/<slug>/`: public and read-only."""

    async def connect(self):
        department = await find_active_department(self.scope["url_route"]["kwargs"]["slug"])
        if department is None:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self.department_id = department.pk
        self.group_name = department_group(department.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send(text_data=await department_state_text(self.department_id))

    async def receive(self, text_data=None, bytes_data=None):
        # The only thing a public client may say is "send me the state again".
        if await self.wants_state(text_data):
            await self.send(text_data=await department_state_text(self.department_id))

    async def queue_state(self, event):
        await self.send(text_data=event["text"])


@database_sync_to_async
def doctor_of(user):
    from hospital.models import is_doctor

    if not is_doctor(user):
        return None
    return user.doctor


@database_sync_to_async
def doctor_panel_text(doctor_id: int, csrf_token: str) -> str:
    from queues.terminal import doctor_panel_message

    return json.dumps(doctor_panel_message(doctor_id, csrf_token))


class DoctorConsumer(ForwardingConsumer):
    """`/ws/doctor/`: a signed-in doctor's own terminal: their department's queue and
    their current token, re-rendered on every change in the department."""

    async def connect(self):
        doctor = await doctor_of(self.scope["user"])
        if doctor is None:
            await self.close()
            return
        self.doctor_id = doctor.pk
        # The panel's buttons are forms; they carry the CSRF secret from the page's own
        # cookie, which the CSRF middleware accepts as the form token.
        self.csrf_token = self.scope.get("cookies", {}).get("csrftoken", "")
        self.group_name = department_group(doctor.department_id)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_panel()

    async def send_panel(self):
        await self.send(text_data=await doctor_panel_text(self.doctor_id, self.csrf_token))

    async def receive(self, text_data=None, bytes_data=None):
        if await self.wants_state(text_data):
            await self.send_panel()

    async def queue_state(self, event):
        await self.send_panel()

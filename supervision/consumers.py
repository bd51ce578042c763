"""`/ws/supervisor/`: the supervisor board, pushed.

The socket joins every active department's group (the broadcaster already publishes
each queue change there) and the board's own group (alerts raised, cleared,
acknowledged). Each change checks the thresholds and re-sends the whole board, at most
once every BOARD_INTERVAL seconds: a kiosk rush in five departments is one redraw a
second, not one per token. Its pings (every few seconds) redraw it too, so the longest
wait keeps counting with no event at all.
"""

import asyncio
import json
import logging
import time
from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import translation

from hospital.models import Department
from queues.broadcast import department_group
from queues.consumers import (
    LAYER_TIMEOUT,
    REQUEST_INTERVAL,
    LiveConsumer,
    may_open_terminal,
    parse_request,
)
from supervision.access import is_supervisor
from supervision.board import board_message
from supervision.services import BOARD_GROUP

logger = logging.getLogger(__name__)

BOARD_INTERVAL = 1.0


@database_sync_to_async
def may_watch_board(user, session) -> bool:
    return is_supervisor(user) and may_open_terminal(user, session)


@database_sync_to_async
def active_department_ids() -> list[int]:
    return list(Department.objects.filter(is_active=True).values_list("pk", flat=True))


def socket_language(scope) -> str:
    """The language the board's page was rendered in, found as LocaleMiddleware found it
    (the language cookie, then the browser's Accept-Language), so pushed redraws match."""
    headers = dict(scope.get("headers") or [])
    request = SimpleNamespace(
        COOKIES=scope.get("cookies", {}),
        META={"HTTP_ACCEPT_LANGUAGE": headers.get(b"accept-language", b"").decode("latin-1")},
    )
    try:
        return translation.get_language_from_request(request)
    except Exception:  # a malformed header: the default, never a closed board
        return settings.LANGUAGE_CODE


@database_sync_to_async
def board_text(csrf_token: str, language: str = "") -> str:
    with translation.override(language or settings.LANGUAGE_CODE):
        return json.dumps(board_message(csrf_token))


class SupervisorConsumer(LiveConsumer):
    groups_joined: tuple[str, ...] = ()
    last_sent = 0.0
    pending: asyncio.Task | None = None

    async def connect(self):
        if not await may_watch_board(self.scope["user"], self.scope["session"]):
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self.csrf_token = self.scope.get("cookies", {}).get("csrftoken", "")
        self.language = socket_language(self.scope)
        self.group_name = BOARD_GROUP
        await self.join_group()
        await self.accept()
        await self.send_state()

    async def join_group(self) -> None:
        if self.channel_layer is None or self.in_group:
            return
        names = [BOARD_GROUP] + [department_group(pk) for pk in await active_department_ids()]
        try:
            for name in names:
                await asyncio.wait_for(
                    self.channel_layer.group_add(name, self.channel_name), LAYER_TIMEOUT
                )
        except Exception as exc:
            logger.warning("Could not join the supervisor board's groups: %r", exc)
        else:
            self.in_group = True
            self.groups_joined = tuple(names)

    async def websocket_disconnect(self, message):
        if self.pending is not None:
            self.pending.cancel()
        for name in self.groups_joined:
            try:
                await self.channel_layer.group_discard(name, self.channel_name)
            except Exception as exc:
                logger.warning("Could not leave %s: %r", name, exc)
        self.in_group = False
        await super().websocket_disconnect(message)

    async def send_state(self, version: int | None = None) -> None:
        self.last_sent = time.monotonic()
        await self.send(text_data=await board_text(self.csrf_token, self.language))

    async def receive(self, text_data=None, bytes_data=None):
        kind = parse_request(text_data).get("type")
        if kind not in ("ping", "state"):
            return
        now = time.monotonic()
        if now - self.last_request < REQUEST_INTERVAL:
            return
        self.last_request = now
        await self.send_state()
        if kind == "ping":
            await self.check_layer()

    async def queue_state(self, event):
        self.changed()

    async def board_changed(self, event):
        self.changed()

    def changed(self) -> None:
        """Redraw soon: at once if the last redraw is old enough, else once at the end
        of the interval, for everything that changed meanwhile."""
        if self.pending is not None and not self.pending.done():
            return
        delay = max(0.0, self.last_sent + BOARD_INTERVAL - time.monotonic())
        self.pending = asyncio.ensure_future(self._send_later(delay))

    async def _send_later(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self.send_state()
        except Exception:
            logger.exception("Could not redraw a supervisor board")

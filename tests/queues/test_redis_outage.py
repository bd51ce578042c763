"""Redis stops and starts again under a running server: requests go on, screens are never
refused, say when they cannot be sure they are current, and are right again without a
reload. Uses a Redis of the test's own (never the shared one); needs `redis-server`."""

import asyncio
import json
import shutil

import httpx
import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from queues import services
from queues.models import Token
from tests.conftest import require_in_ci
from tests.servers import DaphneServer, RedisServer, set_server_password, unique_prefix

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        require_in_ci("redis-server", "install the Debian package `redis-server`")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(redis_server, dr_rao):
    set_server_password(dr_rao.user, "pw-rao")
    with DaphneServer(redis_url=redis_server.redis_url_of, prefix=unique_prefix()) as running:
        yield running


async def next_message(ws, timeout: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def ping(ws, version) -> list[dict]:
    """What a page's ping brings back: a pong, and the state if the page is behind."""
    await ws.send(json.dumps({"type": "ping", "version": version}))
    replies = [await next_message(ws)]
    while replies[-1]["type"] != "pong":
        replies.append(await next_message(ws))
    return replies


async def pong_and_state(ws, version, wait: float = 10) -> tuple[dict, dict | None]:
    """Ping once a second (the server ignores faster), up to `wait` seconds, until the
    server has something to say beyond a live pong; returns (last pong, state or None)."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        await asyncio.sleep(1.1)
        replies = await ping(ws, version)
        state = next((r for r in replies if r["type"] == "state"), None)
        pong = replies[-1]
        if state or not pong["live"] or asyncio.get_running_loop().time() > deadline:
            return pong, state


async def call_next(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as doctor:
        await doctor.get("/accounts/login/")
        await doctor.post(
            "/accounts/login/",
            data={"username": "rao", "password": "pw-rao",
                  "csrfmiddlewaretoken": doctor.cookies["csrftoken"]},
        )  # fmt: skip
        response = await doctor.post(
            "/doctor/call-next/", data={"csrfmiddlewaretoken": doctor.cookies["csrftoken"]}
        )
        return response.status_code


async def take_token(base_url: str, name: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as kiosk:
        await kiosk.get("/")
        response = await kiosk.post(
            "/",
            data={"department": "orth", "patient_name": name, "mobile": "",
                  "csrfmiddlewaretoken": kiosk.cookies["csrftoken"]},
        )  # fmt: skip
        return response.status_code


def test_a_redis_outage_loses_no_change_and_screens_catch_up(orth, server, redis_server):
    for name in ("Asha Rao", "Bala Iyer", "Chitra Menon"):
        services.issue_token(orth, name)
    url = server.ws_url("/ws/departments/orth/")

    async def scenario():
        async with connect(url, origin=server.url) as tv:
            shown = await next_message(tv)
            assert shown["queue"] == ["ORTH-001", "ORTH-002", "ORTH-003"]
            pong, _ = await pong_and_state(tv, shown["version"], wait=0)
            assert pong["live"] is True

            redis_server.stop()
            # The doctor's click still works: the database is the truth.
            assert await call_next(server.url) == 302
            status = await sync_to_async(lambda: Token.objects.get(number=1).status)()
            assert status == Token.Status.CALLED

            # The TV's next ping says it is not live, and brings the state it missed.
            pong, state = await pong_and_state(tv, shown["version"])
            assert pong["live"] is False
            # The version check may come a few pings after the layer check: the server
            # remembers the department's version for VERSION_TTL seconds.
            for _ in range(8):
                if state is not None:
                    break
                pong, state = await pong_and_state(tv, shown["version"])
            assert [s["token"] for s in state["serving"]] == ["ORTH-001"]
            shown = state

            # A screen that connects now is served from the database, not refused.
            async with connect(url, origin=server.url) as late:
                first = await next_message(late)
                assert [s["token"] for s in first["serving"]] == ["ORTH-001"]
                pong, _ = await pong_and_state(late, first["version"], wait=0)
                assert pong["live"] is False

            redis_server.start()
            # Back: the TV's pings cross the layer again, and pushes reach it.
            deadline = asyncio.get_running_loop().time() + 15
            while True:
                pong, _ = await pong_and_state(tv, shown["version"], wait=0)
                if pong["live"] or asyncio.get_running_loop().time() > deadline:
                    break
            assert pong["live"] is True
            assert await take_token(server.url, "Dev Patel") == 302
            pushed = await next_message(tv)
            while pushed["type"] != "state":
                pushed = await next_message(tv)
            assert pushed["queue"] == ["ORTH-002", "ORTH-003", "ORTH-004"]

    asyncio.run(scenario())


def test_a_screen_silent_through_a_short_outage_is_live_at_its_first_ping_after(
    orth, server, redis_server
):
    # A busy screen does not ping while pushes come (static/js/live.js), so its first
    # ping may come only after Redis is back. The server's first send then fails on the
    # connection the outage broke; it sends again on a fresh one.
    url = server.ws_url("/ws/departments/orth/")

    async def scenario():
        async with connect(url, origin=server.url) as tv:
            shown = await next_message(tv)
            pong, _ = await pong_and_state(tv, shown["version"], wait=0)
            assert pong["live"] is True
            redis_server.stop()
            redis_server.start()
            await asyncio.sleep(3)  # the server subscribes again within a second or two
            pong, _ = await pong_and_state(tv, shown["version"], wait=0)
            assert pong["live"] is True

    asyncio.run(scenario())

"""Redis with Sentinel (issue 17, several machines): the app follows the master through a
failover with no restart.

A master, one replica and one Sentinel of the test's own (tests/servers.py,
RedisSentinelGroup), daphne serving a screen's socket and gunicorn taking kiosk tokens,
both given REDIS_SENTINELS and no REDIS_URL. A token pushes to the screen and /readyz
finds the master; then the master is killed (SIGKILL) and the Sentinel promotes the
replica. No kiosk request fails, the screen has every token within 15 s, pushes flow
again, /readyz is ready again, and the abuse limits count in the new master. With no
master left at all, /readyz names the channel layer as down. The settings' parsing is
tested in tests/hospital/test_redis_config.py.
"""

import asyncio
import json
import shutil
import signal
import time

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from hospital.clock import local_today
from hospital.health import record_heartbeat
from tests.conftest import require_in_ci
from tests.servers import DaphneServer, GunicornServer, RedisSentinelGroup, unique_prefix

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# What the brief of issue 17 asks of a screen after a failover.
WITHIN_15_S = 15.0
PUSH_TIMEOUT = 5.0


@pytest.fixture
def group(tmp_path):
    if shutil.which("redis-server") is None:
        require_in_ci("redis-server", "install the Debian package `redis-server`")
    with RedisSentinelGroup(tmp_path / "redis") as running:
        yield running


@pytest.fixture
def servers(group, orth):
    prefix = unique_prefix()
    # Given only the Sentinels: ServerProcess sets REDIS_URL only when given redis_url.
    app = {**group.app_env, "CHANNEL_PREFIX": prefix}
    with GunicornServer(workers=1, extra_env=app) as http, DaphneServer(extra_env=app) as ws:
        yield http, ws, prefix


class Kiosk:
    """A kiosk taking tokens through gunicorn; every answer is kept."""

    def __init__(self, base_url: str):
        self.client = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.statuses: list[int] = []

    async def take_token(self, name: str) -> None:
        if "csrftoken" not in self.client.cookies:
            await self.client.get("/")
        response = await self.client.post("/", data={
            "department": "orth", "patient_name": name, "mobile": "",
            "service_date": local_today().isoformat(),
            "csrfmiddlewaretoken": self.client.cookies["csrftoken"],
        })  # fmt: skip
        self.statuses.append(response.status_code)


class Screen:
    """A screen's socket on /ws/departments/orth/, keeping the newest state it was sent
    and pinging with its version as a TV does (static/js/live.js)."""

    def __init__(self, ws):
        self.ws = ws
        self.state: dict = {}
        self.live = False

    async def read(self, timeout: float) -> None:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if message.get("type") == "pong":
            self.live = message["live"]
        else:
            self.state = message

    async def pushed(self, version: int) -> dict:
        """Wait for a push of `version` without asking: only the channel layer brings it."""
        deadline = time.monotonic() + PUSH_TIMEOUT
        while self.state.get("version", 0) < version:
            await self.read(max(0.01, deadline - time.monotonic()))
        return self.state

    async def current(self, version: int, deadline: float) -> None:
        """Ping until the screen has `version` and its pong says pushes reach it again."""
        while self.state.get("version", 0) < version or not self.live:
            assert time.monotonic() < deadline, (self.state.get("version"), version, self.live)
            self.live = False
            await self.ws.send(json.dumps({"type": "ping", "version": self.state["version"]}))
            try:
                while True:  # a second between pings: the server ignores more
                    await self.read(1.1)
            except TimeoutError:
                pass


def prefix_counts(address: tuple[str, int], prefix: str) -> dict[bytes, int]:
    """The abuse limits' counters in the Redis at `address` (Django's cache: integers
    under the prefix)."""
    client = redis.Redis(host=address[0], port=address[1], socket_timeout=2)
    try:
        return {key: int(client.get(key)) for key in client.scan_iter(f"{prefix}:*")}
    finally:
        client.close()


def readyz(server) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=30)


def test_a_sentinel_failover_keeps_the_screens_current_and_no_request_fails(group, servers):
    http, ws, prefix = servers
    record_heartbeat()  # the worker is not what this test is about: /readyz can say ready
    kiosk = Kiosk(http.url)

    async def scenario():
        async with connect(ws.ws_url("/ws/departments/orth/"), origin=ws.url) as socket:
            screen = Screen(socket)
            await screen.read(PUSH_TIMEOUT)
            first = screen.state["version"]

            await kiosk.take_token("Asha Rao")
            assert (await screen.pushed(first + 1))["queue"] == ["ORTH-001"]
            ready = readyz(http)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["channel_layer"]["detail"] == "ok"
            counted = prefix_counts((group.master.host, group.master.port), prefix)
            assert counted, "the kiosk's token was not counted in Redis"

            group.master.process.send_signal(signal.SIGKILL)
            group.master.process.wait()
            killed = time.monotonic()
            # A token while the Sentinel has not yet noticed: the limits fail open, the
            # push may be lost on the way; the database has it.
            await kiosk.take_token("Bala Iyer")
            new_master = await asyncio.to_thread(group.wait_for_failover)
            await kiosk.take_token("Chitra Menon")
            # The screen's pings bring what a lost push did not, and say live once
            # daphne has subscribed again on the new master.
            await screen.current(first + 3, killed + WITHIN_15_S)
            assert screen.state["queue"] == ["ORTH-001", "ORTH-002", "ORTH-003"]
            print(f"screen current and live {time.monotonic() - killed:.1f} s after the kill")

            # Pushes flow through the new master without asking.
            await kiosk.take_token("Dev Anand")
            assert (await screen.pushed(first + 4))["queue"][-1] == "ORTH-004"

        assert kiosk.statuses == [302] * 4
        ready = readyz(http)
        assert ready.status_code == 200, ready.text
        # The limits count in the new master: the replica had the counts, and went on.
        after = prefix_counts(new_master, prefix)
        assert sum(after.values()) > sum(counted.values())

        # No master left to promote: /readyz says the channel layer is down, quickly.
        group.replica.process.send_signal(signal.SIGKILL)
        group.replica.process.wait()
        started = time.monotonic()
        down = readyz(http)
        assert down.status_code == 503
        assert down.json()["failed"] == ["channel_layer"]
        print(f"/readyz with no master answered in {time.monotonic() - started:.1f} s")
        await kiosk.client.aclose()

    asyncio.run(scenario())

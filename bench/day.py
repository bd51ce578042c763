#!/usr/bin/env python
"""A hospital's day, replayed: kiosks, API clients, reception desks, doctors' and
counters' terminals, TVs and patients' phones all at once, against the production layout.

It generates a synthetic day of a large OPD with a fixed seed (30 clinical and 5 service
departments, 120 doctors and counter staff, 12,000 visits of 2.4 stops on average arriving
with a morning peak 3x the mean, 20 % booked appointments, 5 % emergencies, the priority
categories, 2 % no-shows, breaks; 200 TVs, 3,000 phones, 20 reception desks), builds that
hospital on a scratch PostgreSQL database, starts gunicorn, daphne and the worker
(`manage.py qcluster`) on Redis under a prefix of the run's own, and replays the day (or
a window of it) through the real endpoints at a speed factor:

- patients take tokens at the kiosk form (POST /) or through the API (POST
  /api/v1/tokens/ with a key), or are checked in by a reception desk for their booked
  appointment; a desk marks emergencies; a share open their status page;
- every doctor and counter works their terminal as a browser does: Call next, the
  terminal page, Start, (the service time), Complete with Send on (up to three next stops,
  as the route was drawn), Skip for a no-show, Pause and Resume for their break;
- TVs and phones are websocket clients on /ws/departments/<slug>/, and each terminal page
  holds its own socket (/ws/doctor/, /ws/counter/, with the page's cookies) and fetches
  its panel when the socket announces a change, pinging as the pages do, all in a
  separate process; for a sample of calls and tokens the push latency is the time from
  the action to the LAST screen of the department receiving (or terminal showing) a
  version at least the one the API then reports (the screens and the terminal panels
  measured apart).

It prints Markdown tables (each kind of request: rate, p50/p99, errors; push latency;
CPU and memory per server process from /proc; gunicorn's own time per path, from its
access log, which leaves out the wait for a free worker) and checks the day's invariants
through the ORM (bench/day_orm.py). Exits non-zero when an invariant fails or a request errs.

    .venv/bin/python bench/day.py --visits 300 --from 09:00 --to 09:10 --speed 10
    .venv/bin/python bench/day.py --from 09:00 --to 10:00 --speed 10   # the morning peak

Only 127.0.0.1 is contacted; the scratch database is dropped and every server stopped at
the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import html
import json
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import zoneinfo
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import scratchdb
import stack
from fanout import raise_nofile, version_of
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode
from yarl import URL

HOST = stack.HOST
DAY_START = 8 * 3600  # the OPD opens at 08:00 and closes at 16:00 (sim seconds from 00:00)
DAY_LENGTH = 8 * 3600
# Arrivals per hour from 08:00, relative to the mean: the 09:00 hour is the peak, 3x.
HOUR_WEIGHTS = [1.6, 3.0, 1.3, 0.8, 0.5, 0.4, 0.25, 0.15]
# Service departments: name, code, share of the counter staff and of the sent-on stops.
SERVICES = [
    ("Laboratory", "LAB", 12),
    ("Pharmacy", "PHAR", 9),
    ("Billing", "BILL", 7),
    ("Radiology", "RAD", 5),
    ("Physiotherapy", "PHYS", 3),
]
EXTRA_STOPS = [(0, 0.2), (1, 0.3), (2, 0.4), (3, 0.1)]  # 2.4 stops a visit on average
CURRENT = re.compile(r'data-public-id="([0-9a-f-]{36})"')
CURRENT_NAME = re.compile(r'<p class="current-name">(Day Patient \d+)')
REFUSED = 'class="message message-error"'
REFUSAL_TEXT = re.compile(
    r'(?:class="message message-error">|class="errorlist nonfield"><li>)([^<]*)<'
)
TOKEN_URL = re.compile(r"^/tokens/([0-9a-f-]{36})/$")
ID_IN_PATH = re.compile(r"/(?:[0-9a-f]{8}-[0-9a-f-]{27}|\d+)/")
SLUG_STATE = re.compile(r"/departments/[^/]+/state/")
TERMINAL_ROW = "terminal panels: "  # the push table's rows for the terminals' sockets


# --- The day ---------------------------------------------------------------------------


def clock(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def plan_day(args) -> dict:
    """The synthetic day, the same for the same seed and sizes."""
    rng = random.Random(args.seed)
    clinical = args.departments
    services = SERVICES[: args.service_departments]
    departments = [
        {"name": f"Clinic {i + 1:02d}", "code": f"K{chr(65 + i // 26)}{chr(65 + i % 26)}",
         "service": False}
        for i in range(clinical)
    ] + [{"name": name, "code": code, "service": True} for name, code, _ in services]  # fmt: skip
    weights = [rng.uniform(0.5, 2.0) for _ in range(clinical)]
    counters = round(args.staff * 0.3) if services else 0
    doctors = args.staff - counters
    staff = []
    # Doctors in proportion to each department's patients, at least one each.
    shares = [max(1, round(doctors * w / sum(weights))) for w in weights]
    while sum(shares) > doctors and max(shares) > 1:
        shares[shares.index(max(shares))] -= 1
    while sum(shares) < doctors:
        shares[weights.index(max(weights))] += 1
    for d, n in enumerate(shares):
        for _ in range(n):
            i = len(staff) + 1
            staff.append({"username": f"dr{i:03d}", "name": f"Dr. Bench {i:03d}", "kind": "doctor",
                          "department": d, "place": str(100 + i)})  # fmt: skip
    service_weights = [w for _, _, w in services]
    for j in range(counters):
        d = clinical + (j % len(services) if j < len(services) else rng.choices(
            range(len(services)), service_weights)[0])  # fmt: skip
        i = len(staff) + 1
        staff.append({"username": f"ctr{i:03d}", "name": f"Counter staff {i:03d}",
                      "kind": "counter", "department": d, "place": f"Counter {i}"})  # fmt: skip
    for s in staff:  # breaks: most staff take one, a few doctors a ward round in the morning
        roll = rng.random()
        if s["kind"] == "doctor" and roll < 0.1:
            s["break"] = [rng.randrange(clock("08:30"), clock("10:30")), 1800, "ward round"]
        elif roll < 0.6:
            s["break"] = [rng.randrange(clock("11:00"), clock("14:30")), 900, "break"]

    visits = []
    hours = rng.choices(range(len(HOUR_WEIGHTS)), HOUR_WEIGHTS, k=args.visits)
    arrivals = sorted(DAY_START + h * 3600 + rng.randrange(3600) for h in hours)
    for i, arrival in enumerate(arrivals):
        roll = rng.random()
        source = "booked" if roll < 0.2 else "api" if roll < 0.2 + args.api_share else "kiosk"
        extra = rng.choices([n for n, _ in EXTRA_STOPS], [p for _, p in EXTRA_STOPS])[0]
        route: list = []
        while len(route) < extra:
            stop = "review" if services and rng.random() < 0.15 or not services else (
                clinical + rng.choices(range(len(services)), service_weights)[0])  # fmt: skip
            if not route or stop != route[-1]:
                route.append(stop)
        no_show = rng.random() < 0.02
        visits.append({
            "name": f"Day Patient {i:05d}",
            "index": i,
            "arrival": arrival - DAY_START,
            "department": rng.choices(range(clinical), weights)[0],
            "source": source,
            "emergency": source != "booked" and rng.random() < 0.05,
            "category": source != "booked" and rng.random() < 0.15,
            "no_show": no_show,
            "route": [] if no_show else route,
            # Minutes at each stop: a first consultation, a review, a counter.
            "service": [rng.uniform(1.5, 3.5) * 60] + [
                rng.uniform(0.7, 1.3) * 60 if s == "review" else rng.uniform(0.5, 1.5) * 60
                for s in route
            ],
            "mobile": f"97{i:08d}" if source == "booked" or rng.random() < 0.6 else "",
            "status_page": rng.random() < 0.25,
        })  # fmt: skip
    return {"departments": departments, "staff": staff, "visits": visits, "weights": weights,
            "service_weights": service_weights}  # fmt: skip


# --- Measurements ----------------------------------------------------------------------


@dataclass
class Kind:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict = field(default_factory=dict)


class Stats:
    def __init__(self):
        self.kinds: dict[str, Kind] = defaultdict(Kind)
        self.empty_calls = 0
        self.refusals: dict[str, str] = {}  # the first refusal's words, per kind

    def refused(self, kind: str, page: str = "", *, reason: str = "") -> None:
        """A request answered whose page (or `reason`, a terminal's message) says the
        action was refused."""
        entry = self.kinds[kind]
        said = REFUSAL_TEXT.search(page)
        if said:
            reason = html.unescape(said.group(1).strip())
        if reason and kind not in self.refusals:
            self.refusals[kind] = reason
        entry.errors += 1
        entry.statuses["refused"] = entry.statuses.get("refused", 0) + 1

    def record(self, kind: str, seconds: float, ok: bool, status) -> None:
        entry = self.kinds[kind]
        entry.latencies.append(seconds)
        if not ok:
            entry.errors += 1
            entry.statuses[status] = entry.statuses.get(status, 0) + 1


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


# --- Screens: TVs and phones in their own process ----------------------------------------


class Screen(ClientConnection):
    """A public socket that keeps only the versions it received and when: complete text
    frames are read straight from the protocol (no reader task, no JSON parsing), so the
    client process stays cheap beside the servers on the same two cores."""

    fleet: Fleet | None = None
    role = "screen"  # or "terminal": their messages and losses are counted apart
    history: deque | None = None
    department = 0
    counted = False  # connected, so a loss counts
    latest = -1
    rx = 0.0
    next_ping = 0.0  # a page pings about PING_EVERY_MS after its last push or ping

    def data_received(self, data: bytes) -> None:
        self.rx = time.monotonic()
        super().data_received(data)

    def heard_push(self) -> None:
        """A push (not a pong) came: the page puts its next ping off (live.js)."""
        self.next_ping = self.fleet.ping_after(self.rx)

    def process_event(self, event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.TEXT and event.fin:
            version = version_of(bytes(event.data))
            self.fleet.messages[self.role] += 1
            if version is not None:  # a push, not a pong
                self.heard_push()
            if version is not None and version > self.latest:
                self.latest = version
                if self.history is None:
                    self.history = deque(maxlen=64)
                self.history.append((version, self.rx))
            return
        super().process_event(event)

    @property
    def shown(self) -> int:
        return self.latest

    def connection_lost(self, exc) -> None:
        self.fleet.lost[self.role] += self.counted
        super().connection_lost(exc)


def desk_part(key: str) -> str:
    """A panel key's desk part (queues.versions.desk_part)."""
    return key.split(".", 1)[1] if "." in key else ""


class Terminal(Screen):
    """A doctor's or counter's terminal page: its socket says the department's version
    and the panel's key, and the page fetches its panel over HTTP, one fetch at a time,
    until it shows the newest version announced, unless the key announced with it is the
    one shown; when only the key's queue part moved on, it fetches the lists alone
    (static/js/doctor.js). While its own button is being pressed the page waits,
    and the page the button leads to shows that page's version and key (the replay tells
    this process: `page_loaded`). What it shows (`latest`, the push samples' measure) is
    the panel's version."""

    role = "terminal"
    panel_url = ""  # /doctor/panel/ or /counter/panel/
    cookies = ""  # the page's: the session and the CSRF secret
    announced = -1
    announced_key: str | None = None
    key = ""  # the key of the panel shown
    want_whole = False  # the lists came back with the desk's part moved on
    fetching = False
    pressing = False  # a button of the page was pressed: it waits for the next page

    @property
    def shown(self) -> int:
        return self.announced  # what the page's pings say, as live.js's do

    def process_event(self, event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.TEXT and event.fin:
            self.fleet.messages[self.role] += 1
            message = json.loads(bytes(event.data))
            version = message.get("version")  # a pong has none
            if isinstance(version, int):
                self.heard_push()
            if isinstance(version, int) and version >= self.announced:
                self.announced, self.announced_key = version, message.get("key")
                if not self.panel_url:  # on connect: the page, loaded just now, shows it
                    self.show(version, self.announced_key or "")
                self.catch_up()
            return
        super().process_event(event)

    def show(self, version: int, key: str) -> None:
        if version > self.latest:
            self.latest = version
            if self.history is None:
                self.history = deque(maxlen=64)
            self.history.append((version, time.monotonic()))
        self.key = key

    def page_loaded(self, version: int | None, key: str | None) -> None:
        self.pressing = False
        if version is not None and version >= self.latest:
            self.show(version, key or "")
        self.catch_up()

    def took_unchanged(self) -> bool:
        """Shows the announced version without a fetch if its key is the one shown (this
        panel did not change); whether it did."""
        if self.announced_key is None or self.announced_key != self.key or self.want_whole:
            return False
        self.show(self.announced, self.key)
        return True

    def catch_up(self) -> None:
        if self.announced <= self.latest or not self.panel_url or self.took_unchanged():
            return
        if not self.fetching and not self.pressing:
            self.fetching = True
            self.fleet.spawn(self.fetch_panels())

    def lists_only(self) -> bool:
        """Only the announced key's queue part moved on: the lists will do."""
        return (
            not self.want_whole
            and self.announced_key is not None
            and desk_part(self.announced_key) == desk_part(self.key)
        )

    async def fetch_panels(self) -> None:
        terminal = self.panel_url.strip("/").split("/")[0]
        try:
            while (
                self.announced > self.latest
                and not self.pressing
                and not self.transport.is_closing()
            ):
                if self.took_unchanged():
                    break
                lists_only = self.lists_only()
                url = self.panel_url + "lists/" if lists_only else self.panel_url
                kind = f"{terminal}: GET {'lists' if lists_only else 'panel'} (live)"
                started = time.perf_counter()
                try:
                    async with self.fleet.http.get(
                        url, headers={"Cookie": self.cookies}, allow_redirects=False
                    ) as response:
                        status, body = response.status, await response.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    status, body = type(exc).__name__, b""
                self.fleet.fetches.append((kind, time.perf_counter() - started, status))
                panel = json.loads(body) if status == 200 else {}
                if not isinstance(panel.get("version"), int):
                    await asyncio.sleep(3)  # the page's retry
                elif panel["version"] >= self.latest and not self.pressing:
                    key = panel.get("key", "")
                    self.want_whole = lists_only and desk_part(key) != desk_part(self.key)
                    if not self.want_whole:
                        self.show(panel["version"], key)
        finally:
            self.fetching = False


class Fleet:
    def __init__(self, conn, targets: list[tuple[str, int]], ping_every: float, http_base: str):
        self.conn, self.targets, self.ping_every = conn, targets, ping_every
        self.http_base = http_base
        self.fetches: list[tuple[str, float, object]] = []  # terminals' panels: kind, s, status
        self.by_department: dict[int, list[Screen]] = defaultdict(list)
        self.terminals: dict[int, list[Screen]] = defaultdict(list)
        self.terminal_of: dict[str, Terminal] = {}  # by the staff member's username
        self.screens: list[Screen] = []
        self.pinged: list[Screen] = []  # every open socket, screens and terminals
        self.failed = self.missed = 0
        self.terminals_open = self.terminals_failed = self.terminals_missed = 0
        self.messages = {"screen": 0, "terminal": 0, "pings": 0}  # received; pings sent
        self.lost = {"screen": 0, "terminal": 0}
        self.push: dict[str, list[float]] = defaultdict(list)
        self.tasks: set = set()
        self.samples: set = set()
        Screen.fleet = self

    def ping_after(self, heard: float) -> float:
        """When a page that last heard news at `heard` pings: within the last fifth of
        PING_EVERY_MS, at random (live.js)."""
        return heard + self.ping_every * (0.8 + 0.2 * random.random())

    def spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.commands: asyncio.Queue = asyncio.Queue()
        # The terminals' panel fetches: each sends its own page's cookies, none kept here.
        self.http = aiohttp.ClientSession(
            self.http_base,
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            timeout=aiohttp.ClientTimeout(total=60),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

        def pump():
            while True:
                try:
                    message = self.conn.recv()
                except (EOFError, OSError):
                    message = ("stop",)
                loop.call_soon_threadsafe(self.commands.put_nowait, message)
                if message[0] == "stop":
                    return

        threading.Thread(target=pump, daemon=True).start()
        while True:
            command, *rest = await self.commands.get()
            if command == "connect":
                await self.connect_all()
                self.conn.send(("connected", len(self.screens), self.failed))
                self.tasks.add(asyncio.create_task(self.ping_all()))
            elif command == "terminals":
                await self.connect_terminals(rest[0])
                self.conn.send(("terminals", self.terminals_open, self.terminals_failed))
            elif command == "pressing" and rest[0] in self.terminal_of:
                self.terminal_of[rest[0]].pressing = True
            elif command == "page" and rest[0] in self.terminal_of:
                self.terminal_of[rest[0]].page_loaded(*rest[1:])
            elif command == "sample":
                task = asyncio.create_task(self.sample(*rest))
                self.samples.add(task)
                task.add_done_callback(self.samples.discard)
            elif command == "stats":
                if self.samples:  # let the last samples finish
                    await asyncio.wait(self.samples, timeout=rest[0])
                self.conn.send(("stats", dict(self.push), self.missed, self.messages, self.lost,
                                self.terminals_missed, self.fetches))  # fmt: skip
            elif command == "stop":
                for screen in self.pinged:
                    screen.transport.abort()
                await self.http.close()
                return

    async def open_socket(
        self, url: str, department: int, kind: type[Screen], cookies: str = ""
    ) -> Screen | None:
        """One socket, opened as its page opens it: from the site's own origin, port
        included (hospital.sockets checks it), with the page's cookies if it has any.
        None if it could not open; an open one joins the pings."""
        try:
            ws = await connect(url, origin="http" + url[2:].split("/ws/")[0], compression=None,
                               additional_headers=[("Cookie", cookies)] if cookies else None,
                               ping_interval=None, open_timeout=30, close_timeout=2,
                               create_connection=kind)  # fmt: skip
        except Exception:
            return None
        ws.department, ws.counted = department, True
        self.pinged.append(ws)
        return ws

    async def connect_all(self) -> None:
        gate = asyncio.Semaphore(50)

        async def one(url: str, department: int) -> None:
            async with gate:
                ws = await self.open_socket(url, department, Screen)
                if ws is None:
                    self.failed += 1
                    return
                self.screens.append(ws)
                self.by_department[department].append(ws)

        await asyncio.gather(*(one(url, d) for url, d in self.targets))

    async def connect_terminals(self, targets: list[tuple[str, int, str]]) -> None:
        """Each terminal page's socket, opened as its page's script does: the page's
        cookies (the session, the CSRF secret its panels' forms carry) and the site's
        origin, which hospital.sockets checks."""
        gate = asyncio.Semaphore(50)

        async def one(url: str, department: int, cookies: str, username: str) -> None:
            async with gate:
                ws = await self.open_socket(url, department, Terminal, cookies)
                if ws is None:
                    self.terminals_failed += 1
                    return
                ws.cookies = cookies
                ws.panel_url = "/" + url.split("/ws/", 1)[1] + "panel/"
                self.terminals_open += 1
                self.terminals[department].append(ws)
                self.terminal_of[username] = ws

        await asyncio.gather(*(one(*target) for target in targets))

    async def ping_all(self) -> None:
        """Each page pings with the version it shows about PING_EVERY_MS after the last push
        it heard or its last ping (static/js/live.js, `ping_after`); the server answers with
        the state when the screen is behind. The first pings are spread over one interval."""
        step = 0.2
        spread = random.Random(3)
        for screen in self.pinged:
            screen.next_ping = time.monotonic() + spread.uniform(0, self.ping_every)
        while True:
            await asyncio.sleep(step)
            now = time.monotonic()
            for screen in list(self.pinged):
                if screen.next_ping > now:
                    continue
                screen.next_ping = self.ping_after(now)
                self.messages["pings"] += 1
                try:
                    await screen.send(f'{{"type": "ping", "version": {max(screen.shown, 0)}}}')
                except Exception:
                    pass

    async def sample(self, kind: str, department: int, version: int, started: float) -> None:
        """The department's screens and its terminals, waited for side by side."""
        screens = self.by_department.get(department, [])
        terminals = self.terminals.get(department, [])
        seen, panels = await asyncio.gather(
            self.last_received(screens, version, started),
            self.last_received(terminals, version, started),
        )
        if seen is None:
            self.missed += 1
        elif screens:
            self.push[kind].append(seen)
        if panels is None:
            self.terminals_missed += 1
            # Which terminal lagged, and why: a stuck page or a slow one.
            for t in terminals:
                if t.latest < version and not t.transport.is_closing():
                    print(f"terminal sample not received: {kind}, version {version}, "
                          f"shown {t.latest} ({t.key}), announced {t.announced} "
                          f"({t.announced_key}), fetching {t.fetching}, pressing "
                          f"{t.pressing}, wants the whole panel {t.want_whole}",
                          file=sys.stderr, flush=True)  # fmt: skip
        elif terminals:
            self.push[TERMINAL_ROW + kind].append(panels)

    @staticmethod
    async def last_received(sockets: list[Screen], version: int, started: float) -> float | None:
        """Seconds from `started` to the last of `sockets` receiving `version` or later;
        None if one still open has not within 15 s."""
        deadline = started + 15
        while any(s.latest < version for s in sockets if not s.transport.is_closing()):
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)
        last = started
        for s in sockets:
            for v, at in s.history or ():
                if v >= version:
                    last = max(last, at)
                    break
        return last - started


def fleet_process(conn, targets, ping_every, http_base) -> None:
    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(Fleet(conn, targets, ping_every, http_base).run())


# --- The replay --------------------------------------------------------------------------


class Replay:
    def __init__(self, args, plan, hospital, servers, conn, outbox_dir):
        self.args, self.plan, self.hospital, self.servers, self.conn = (
            args, plan, hospital, servers, conn)  # fmt: skip
        self.base = servers.http_url
        self.stats = Stats()
        self.visits = {v["name"]: v for v in plan["visits"]}
        self.progress: dict[str, int] = defaultdict(int)  # stops completed per visit
        self.waiting: dict[int, int] = defaultdict(int)
        self.personal: dict[str, int] = defaultdict(int)
        self.doctor_of: dict[str, str] = {}  # visit -> the doctor who saw them first
        self.work: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.departments = hospital["departments"]
        self.begin = clock(args.start) - DAY_START
        self.end = clock(args.to) - DAY_START
        self.desk_jobs: asyncio.Queue = asyncio.Queue()
        self.tz = zoneinfo.ZoneInfo(os.environ.get("TIME_ZONE", "Asia/Kolkata"))
        self.arrived = 0
        self.called: set[str] = set()  # tokens some desk has called
        self.late_emergencies = 0
        self.sample_rng = random.Random(args.seed + 1)
        self.terminals_open = self.terminals_failed = 0  # their sockets (open_pages)
        # Every client's CSRF cookie, set by the client itself: Django accepts its own
        # 32-character secret as the form's token, so no page needs parsing for one.
        self.csrf = secrets.token_hex(16)

    # Time: sim seconds since 08:00 <-> monotonic seconds of this run.
    def sim_now(self) -> float:
        return self.begin + (time.monotonic() - self.t0) * self.args.speed

    async def until(self, sim: float) -> None:
        delay = (sim - self.begin) / self.args.speed - (time.monotonic() - self.t0)
        if delay > 0:
            await asyncio.sleep(delay)

    async def sleep_sim(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.args.speed)

    def session(self, cookies: dict | None = None, headers: dict | None = None):
        # gunicorn's sync workers close the connection after each response.
        return aiohttp.ClientSession(
            self.base,
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
            timeout=aiohttp.ClientTimeout(total=60),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            cookies={"csrftoken": self.csrf, **(cookies or {})},
            headers=headers,
        )

    async def hit(self, kind, session, method, url, *, ok=(200,), **kw):
        started = time.perf_counter()
        status, headers, text = 0, {}, ""
        try:
            async with session.request(method, url, allow_redirects=False, **kw) as response:
                text = await response.text()
                status, headers = response.status, response.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            status = type(exc).__name__
        self.stats.record(kind, time.perf_counter() - started, status in ok, status)
        return status, headers, text

    def arrived_at(self, department: int, doctor: str = "") -> None:
        """A patient joins a queue: the department's pool, or one doctor's own (their
        booked patients and reviews, which no one else may call)."""
        if doctor:
            self.personal[doctor] += 1
        else:
            self.waiting[department] += 1
        self.work[department].set()

    async def push_sample(self, kind: str, department: int, started: float) -> None:
        """The version the department is at after the action, read through the API (a
        screen must reach at least this one): measured by the screens' process."""
        if self.sample_rng.random() >= self.args.push_sample:
            return
        slug = self.departments[department]["slug"]
        status, _, text = await self.hit(
            "API: GET department state", self.api, "GET", f"/api/v1/departments/{slug}/state/"
        )
        if status == 200:
            self.conn.send(("sample", kind, department, json.loads(text)["version"], started))

    # Patients ---------------------------------------------------------------------------

    async def patient(self, visit: dict, kiosk) -> None:
        department = visit["department"]
        slug = self.departments[department]["slug"]
        started = time.monotonic()
        token_id = None
        category = ""
        if visit["category"]:
            options = self.hospital["categories"]["kiosk"]
            category = str(options[visit["index"] % len(options)])
        if visit["source"] == "booked":
            appointment = self.hospital["appointments"].get(visit["name"])
            if appointment is None:
                return
            self.doctor_of[visit["name"]] = appointment[1]
            await self.desk_jobs.put(("check-in", visit, appointment[0]))
            return
        if visit["source"] == "api":
            body = {"department": slug, "patient_name": visit["name"],
                    "mobile": visit["mobile"], "language": "hi"}  # fmt: skip
            if category:
                body["category"] = int(category)
            status, headers, _ = await self.hit(
                "API: POST token", self.api, "POST", "/api/v1/tokens/", ok=(201,), json=body
            )
            if status != 201:
                return
            token_id = headers["Location"].rstrip("/").rsplit("/", 1)[1]
            await self.hit("API: GET token", self.api, "GET", f"/api/v1/tokens/{token_id}/")
            page = f"/tokens/{token_id}/"
        else:
            session, csrf = kiosk
            form = {"csrfmiddlewaretoken": csrf, "department": slug, "category": category,
                    "patient_name": visit["name"], "mobile": visit["mobile"],
                    "service_date": self.hospital["day"]}  # fmt: skip
            status, headers, _ = await self.hit(
                "kiosk: POST take a token", session, "POST", "/", ok=(302,), data=form
            )
            match = TOKEN_URL.match(headers.get("Location", "")) if status == 302 else None
            if not match:
                return
            token_id, page = match.group(1), match.group(0)
        self.arrived += 1
        self.arrived_at(department)
        await self.push_sample("token issued", department, started)
        if visit["emergency"]:
            await self.desk_jobs.put(("emergency", visit, token_id))
        if visit["status_page"]:
            await self.hit("phone: GET status page", self.anonymous, "GET", page)

    async def arrivals(self, kiosks) -> None:
        todo = [v for v in self.plan["visits"] if self.begin <= v["arrival"] < self.end]
        tasks = set()
        for i, visit in enumerate(todo):
            await self.until(visit["arrival"])
            task = asyncio.create_task(self.patient(visit, kiosks[i % len(kiosks)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    # Reception desks ----------------------------------------------------------------------

    async def desk(self, cookie: str) -> None:
        async with self.session({"sessionid": cookie}) as session:
            csrf = self.csrf  # the dashboard was opened before the window (open_pages)
            while True:
                job, visit, ref = await self.desk_jobs.get()
                if job == "check-in":
                    status, headers, _ = await self.hit(
                        "reception: POST check-in", session, "POST",
                        f"/reception/appointments/{ref}/check-in/", ok=(302,),
                        data={"csrfmiddlewaretoken": csrf},
                    )  # fmt: skip
                    if status == 302:
                        self.arrived += 1
                        self.arrived_at(visit["department"], self.doctor_of[visit["name"]])
                        _, _, text = await self.hit(
                            "reception: GET appointment", session, "GET", headers["Location"]
                        )
                        if REFUSED in text:
                            self.stats.refused("reception: POST check-in", text)
                else:
                    kind = "reception: POST emergency category"
                    status, _, answer = await self.hit(
                        kind, session, "POST", f"/reception/queue/{ref}/category/", ok=(302, 400),
                        data={"csrfmiddlewaretoken": csrf,
                              "category": self.hospital["categories"]["emergency"],
                              "reason": "Brought in by ambulance"},
                    )  # fmt: skip
                    # Refused because the doctor called the patient first: a real race
                    # at a short queue, told to the desk; anything else is an error. Under
                    # load the call's own answer may still be on its way, so the token's
                    # status is asked too.
                    if status == 400 and (ref in self.called or await self.not_waiting(ref)):
                        self.late_emergencies += 1
                    elif status == 400:
                        self.stats.refused(kind, answer)

    async def not_waiting(self, token_id: str) -> bool:
        status, _, text = await self.hit(
            "API: GET token", self.api, "GET", f"/api/v1/tokens/{token_id}/"
        )
        return status == 200 and json.loads(text)["status"] != "waiting"

    # Doctors and counters -----------------------------------------------------------------

    async def terminal(self, person: dict, cookie: str) -> None:
        doctor = person["kind"] == "doctor"
        base = "/doctor/" if doctor else "/counter/"
        who = "doctor" if doctor else "counter"
        department = person["department"]
        pause = person.get("break")

        async with self.session({"sessionid": cookie}) as session:
            csrf = self.csrf  # the page itself was opened before the window (open_pages)

            async def press(action: str, url: str, data: dict | None = None) -> str:
                # The page's socket waits while the button is pressed (doctor.js), which
                # sends the press itself and is answered with the panel as it is now (its
                # version and key, and the service's messages): no page load.
                self.conn.send(("pressing", person["username"]))
                kind = f"{who}: POST {action}"
                status, _, text = await self.hit(
                    kind, session, "POST", url, headers={"Accept": "application/json"},
                    data={"csrfmiddlewaretoken": csrf, **(data or {})},
                )  # fmt: skip
                answer = json.loads(text) if status == 200 else {}
                if answer:
                    self.conn.send(("page", person["username"], answer["version"], answer["key"]))
                else:
                    self.conn.send(("page", person["username"], None, None))
                refusals = [m for m in answer.get("messages", []) if "error" in m["tags"]]
                if refusals and action != "call next":
                    self.stats.refused(kind, reason=refusals[0]["text"])
                return answer.get("html", "")

            while True:
                now = self.sim_now()
                if pause and now >= pause[0]:
                    back = datetime.datetime.now(self.tz) + datetime.timedelta(
                        seconds=pause[1] / self.args.speed + 120
                    )
                    await press("pause", base + "pause/",
                                {"reason": pause[2], "back_at": f"{back:%H:%M}"})  # fmt: skip
                    await self.sleep_sim(pause[1])
                    await press("resume", base + "resume/")
                    pause = None
                    continue
                me = person["username"]
                if self.waiting[department] <= 0 and self.personal[me] <= 0:
                    self.work[department].clear()
                    try:
                        await asyncio.wait_for(self.work[department].wait(), 300 / self.args.speed)
                        continue
                    except TimeoutError:
                        pass  # five minutes with nobody: look again, by calling
                # Claim a patient from the counts before calling, so that one arrival does
                # not send every idle desk of the department to Call next at once.
                claim = "own" if self.personal[me] > 0 else "pool"
                if claim == "own":
                    self.personal[me] -= 1
                else:
                    self.waiting[department] = max(0, self.waiting[department] - 1)
                started = time.monotonic()
                page = await press("call next", base + "call-next/")
                token = CURRENT.search(page)
                name = CURRENT_NAME.search(page)
                if not token or not name:
                    # The counts were wrong (they are the load generator's guess): no
                    # one this desk may call. The claim is dropped, not given back.
                    self.stats.empty_calls += 1
                    await self.sleep_sim(30)
                    continue
                token = token.group(1)
                self.called.add(token)
                visit = self.visits[name.group(1)]
                stop = self.progress[visit["name"]]
                own = (stop == 0 and visit["source"] == "booked") or (
                    stop > 0 and visit["route"][stop - 1] == "review"
                )
                if own != (claim == "own"):  # the policy chose the other kind: swap claims
                    if own:
                        self.personal[me] = max(0, self.personal[me] - 1)
                        self.waiting[department] += 1
                    else:
                        self.personal[me] += 1
                        self.waiting[department] = max(0, self.waiting[department] - 1)
                if doctor and stop == 0:
                    self.doctor_of[visit["name"]] = me
                await self.push_sample("call next", department, started)
                if visit["no_show"]:
                    await self.sleep_sim(60)
                    await press("skip", f"{base}tokens/{token}/skip/")
                    continue
                await press("start", f"{base}tokens/{token}/start/")
                await self.sleep_sim(visit["service"][min(stop, len(visit["service"]) - 1)])
                send_on = {}
                if doctor and stop == 0:
                    for i, where in enumerate(visit["route"][:3], start=1):
                        pk = self.departments[where]["pk"] if where != "review" else None
                        send_on[f"stop_{i}"] = "review" if pk is None else f"department-{pk}"
                await press("complete" + (" and send on" if send_on else ""),
                            f"{base}tokens/{token}/complete/", send_on)  # fmt: skip
                self.progress[visit["name"]] = stop + 1
                if stop < len(visit["route"]):
                    nxt = visit["route"][stop]
                    if nxt == "review":
                        self.arrived_at(visit["department"], self.doctor_of[visit["name"]])
                    else:
                        self.arrived_at(nxt)

    # The whole run ------------------------------------------------------------------------

    async def open_pages(self) -> None:
        """Before the window, every terminal and reception desk opens its page, as the
        TVs load theirs: a morning's desks open over minutes, not all in the window's
        first instant, whose burst would otherwise be most of every page's p99."""
        gate = asyncio.Semaphore(8)

        async def one(kind: str, cookie: str, url: str) -> str:
            async with gate, self.session({"sessionid": cookie}) as session:
                status, _, _ = await self.hit(kind, session, "GET", url)
                # The cookies the browser holds once the page is loaded, for its socket.
                jar = session.cookie_jar.filter_cookies(URL(self.base))
                return "; ".join(f"{k}={m.value}" for k, m in jar.items()) if status == 200 else ""

        pages = [
            (f"{p['kind']}: GET terminal (opening)", s["session"], f"/{p['kind']}/")
            for p, s in zip(self.plan["staff"], self.hospital["staff"], strict=True)
        ] + [("reception: GET dashboard (opening)", c, "/reception/")
             for c in self.hospital["reception"]]  # fmt: skip
        cookies = await asyncio.gather(*(one(*page) for page in pages))
        # Each terminal page then opens its socket, in the screens' process (the load
        # generator's own CPU stays off this one), round-robin over the daphnes as the
        # screens are. The terminals' pages come first in `pages`.
        ports = self.servers.ws_ports
        staff = self.plan["staff"]
        targets = [
            (
                f"ws://{HOST}:{ports[i % len(ports)]}/ws/{p['kind']}/",
                p["department"],
                jar,
                p["username"],
            )  # fmt: skip
            for i, (p, jar) in enumerate(zip(staff, cookies[: len(staff)], strict=True))
            if jar
        ]
        self.conn.send(("terminals", targets))
        _, self.terminals_open, failed = await asyncio.to_thread(self.conn.recv)
        # A page that did not load opened no socket: counted as a failed one too.
        self.terminals_failed = failed + len(staff) - len(targets)
        print(f"{self.terminals_open} terminal sockets connected ({self.terminals_failed} failed)",
              flush=True)  # fmt: skip

    async def run(self) -> float:
        headers = {"Authorization": f"Bearer {self.hospital['api_key']}"}
        async with self.session(headers=headers) as self.api, self.session() as self.anonymous:
            kiosks = []
            sessions = [self.session() for _ in range(self.args.kiosks)]
            for session in sessions:
                await self.hit("kiosk: GET form (opening)", session, "GET", "/")
                kiosks.append((session, self.csrf))
            # The TVs load their page once; their sockets are already open.
            gate = asyncio.Semaphore(8)

            async def tv(slugs: str) -> None:
                async with gate:
                    await self.hit("TV: GET display", self.anonymous, "GET",
                                   f"/display/?departments={slugs}")  # fmt: skip

            await asyncio.gather(*(tv(s) for s in self.tv_pages))
            await self.open_pages()
            self.t0 = time.monotonic()
            staff = [
                asyncio.create_task(self.terminal(p, s["session"]))
                for p, s in zip(self.plan["staff"], self.hospital["staff"], strict=True)
            ]
            desks = [asyncio.create_task(self.desk(c)) for c in self.hospital["reception"]]
            arrivals = asyncio.create_task(self.arrivals(kiosks))
            await self.until(self.end)
            wall = time.monotonic() - self.t0
            for task in [*staff, *desks, arrivals]:
                task.cancel()
            await asyncio.gather(*staff, *desks, arrivals, return_exceptions=True)
            for session in sessions:
                await session.close()
        return wall


# --- Processes, CPU and memory -----------------------------------------------------------


def descendants(pid: int) -> list[int]:
    found = [pid]
    for child in stack.children(pid):
        found += descendants(child)
    return found


def by_name(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def processes(servers, fleet_pid: int) -> dict[str, list[int]]:
    """Label -> pids: each server process on its own, PostgreSQL and Redis as a whole."""
    named: dict[str, list[int]] = {}
    for proc, log in zip(servers.procs, servers.logs, strict=True):
        kind = log.stem.split("-")[0]
        if kind == "gunicorn":
            named[f"gunicorn master {proc.pid}"] = [proc.pid]
            for child in stack.children(proc.pid):
                named[f"gunicorn worker {child}"] = [child]
        elif kind == "worker":
            named[f"worker (qcluster) {proc.pid}"] = descendants(proc.pid)
        else:
            named[f"{kind} {proc.pid}"] = [proc.pid]
    named["PostgreSQL (all processes)"] = by_name("postgres")
    named["Redis"] = by_name("redis-server")
    named["load generator"] = [os.getpid(), fleet_pid]
    return named


class Sampler:
    """CPU from /proc at the start and end; RSS sampled every 2 s, the peak kept."""

    def __init__(self, named: dict[str, list[int]]):
        self.named = named
        self.cpu0 = {k: sum(stack.cpu_seconds(p) for p in v) for k, v in named.items()}
        self.rss: dict[str, float] = defaultdict(float)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self) -> None:
        while not self.stopped.wait(2):
            for label, pids in self.named.items():
                if not label.startswith(("PostgreSQL", "Redis")):  # shared memory: no sum
                    self.rss[label] = max(self.rss[label], sum(rss_mb(p) for p in pids))

    def stop(self) -> dict[str, float]:
        self.stopped.set()
        return {
            k: sum(stack.cpu_seconds(p) for p in v) - self.cpu0[k] for k, v in self.named.items()
        }


# --- Main ----------------------------------------------------------------------------------


def screens(plan: dict, hospital: dict, args, ws_ports: list[int]):
    """TVs (one department each, as many as the departments' share) and phones (spread
    over the departments by their patients), round-robin over the daphne processes."""
    rng = random.Random(args.seed + 2)
    clinical = len(plan["weights"])
    weights = plan["weights"] + [w * 2 for w in plan["service_weights"]]
    slugs = [d["slug"] for d in hospital["departments"]]
    tv_departments = [i % len(slugs) for i in range(args.tvs)]
    phone_departments = rng.choices(range(len(slugs)), weights, k=args.phones)
    targets = []
    for i, d in enumerate(tv_departments + phone_departments):
        port = ws_ports[i % len(ws_ports)]
        targets.append((f"ws://{HOST}:{port}/ws/departments/{slugs[d]}/", d))
    assert clinical <= len(slugs)
    return targets, [slugs[d] for d in tv_departments]


def run(args) -> int:
    plan = plan_day(args)
    begin, end = clock(args.start) - DAY_START, clock(args.to) - DAY_START
    window = [v for v in plan["visits"] if begin <= v["arrival"] < end]
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}")
    print(f"Day: {len(plan['departments'])} departments, {len(plan['staff'])} staff, "
          f"{len(plan['visits'])} visits ({sum(1 + len(v['route']) for v in plan['visits'])}"
          f" stops); window {args.start}-{args.to}: {len(window)} visits at x{args.speed:g}, "
          f"{(end - begin) / args.speed:.0f} s", flush=True)  # fmt: skip
    with (
        scratchdb.PostgresDatabase() as database,
        tempfile.TemporaryDirectory(prefix="opdq-day-") as tmp,
    ):
        tmp = Path(tmp)
        env = stack.app_env(
            database.url,
            redis_url=args.redis_url,
            SMS_BACKEND="outbox",
            OUTBOX_DIR=str(tmp),
            # One key stands for every integration of the hospital here.
            API_RATE_LIMIT="off",
        )
        started = time.monotonic()
        stack.manage(env, "migrate", "--noinput", "-v", "0")
        spec = {"departments": plan["departments"], "staff": plan["staff"],
                "reception_desks": args.desks,
                "booked": [v for v in window if v["source"] == "booked"]}  # fmt: skip
        hospital = orm(env, tmp, "setup", spec)
        print(f"Set up in {time.monotonic() - started:.0f} s: "
              f"{len(hospital['appointments'])} appointments booked", flush=True)  # fmt: skip
        with stack.Stack(env, tmp, workers=args.workers, threads=args.threads,
                         daphnes=args.daphnes, worker=True,
                         access_log=tmp / "access.log") as servers:  # fmt: skip
            targets, tv_pages = screens(plan, hospital, args, servers.ws_ports)
            parent, child = mp.Pipe()
            fleet = mp.get_context("fork").Process(
                target=fleet_process, args=(child, targets, 10.0, servers.http_url), daemon=True
            )
            fleet.start()
            parent.send(("connect",))
            _, connected, failed = parent.recv()
            print(f"{connected} screens connected ({failed} failed)", flush=True)
            replay = Replay(args, plan, hospital, servers, parent, tmp)
            replay.tv_pages = tv_pages
            sampler = Sampler(processes(servers, fleet.pid))
            spies = []
            if args.profile:
                gunicorn = servers.gunicorn.pid
                pids = stack.children(gunicorn) + [p for p in servers.pids("daphne")]
                pids += sorted({p for w in servers.pids("worker") for p in descendants(w)})
                spies = stack.start_profilers(
                    pids, Path(args.profile), f"day-x{args.speed:g}", args.profile_rate
                )
            wall = asyncio.run(replay.run())
            cpu = sampler.stop()
            stack.stop_profilers(spies)
            parent.send(("stats", 16))
            _, push, missed, messages, lost, terminals_missed, fetches = parent.recv()
            for kind, seconds, status in fetches:  # the terminals' panels, in the table
                replay.stats.record(kind, seconds, status == 200, status)
            parent.send(("stop",))
            fleet.join(10)
            time.sleep(3)  # the worker's last sends
            log = servers.log_text()
            served = server_times(tmp / "access.log")
        if args.keep_logs:
            Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
            for path in servers.logs:
                shutil.copy(path, Path(args.keep_logs) / path.name)
        spec = {"day": hospital["day"], "visits": plan["visits"],
                "outbox": str(tmp / "sms.jsonl")}  # fmt: skip
        checked = orm(env, tmp, "check", spec)

    report(args, replay, wall, push, missed, terminals_missed, messages, lost, cpu,
           sampler.rss, connected)  # fmt: skip
    report_server_times(served)
    tracebacks = log.count("Traceback")
    print("\n| invariant | failures | detail |\n|---|---|---|")
    failures = 0
    for name, count, detail in checked["invariants"]:
        failures += count
        print(f"| {name} | {count} | {detail} |")
    # What each traceback ended with (an error's type and message), so that a rare 500
    # under load can be told from another without keeping the logs.
    endings = re.findall(r"^Traceback[^\n]*\n(?:[ \t][^\n]*\n|\n)*([^\n]*)", log, re.M)
    said = "; ".join(f"{n}× {e[:120]}" for e, n in Counter(endings).most_common(3))
    print(f"| no traceback in the servers' logs | {tracebacks} | {said} |")
    errors = sum(k.errors for k in replay.stats.kinds.values())
    sockets_failed = failed or missed or replay.terminals_failed or terminals_missed
    return 1 if failures or tracebacks or errors or sockets_failed else 0


def server_times(access_log: Path) -> dict[str, list[float]]:
    """gunicorn's own time per request (ms) from its access log, by path with ids, numbers
    and department slugs folded: the client's latency less this is the wait for a worker
    and the way there and back."""
    times: dict[str, list[float]] = defaultdict(list)
    for line in access_log.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 4 or not parts[3].isdigit():
            continue
        path = ID_IN_PATH.sub("/<id>/", parts[1])
        path = SLUG_STATE.sub("/departments/<slug>/state/", path)
        times[f"{parts[0]} {path}"].append(float(parts[3]))
    return times


def report_server_times(times: dict[str, list[float]], rows: int = 12) -> None:
    busiest = sorted(times.items(), key=lambda item: -sum(item[1]))[:rows]
    print("\n| gunicorn's own time (its access log: in the worker, no wait for one), busiest "
          "paths | requests | p50 | p99 | worker-seconds |\n|---|---|---|---|---|")  # fmt: skip
    for path, values in busiest:
        p50, p99 = stack.percentile(values, 50), stack.percentile(values, 99)
        print(f"| {path} | {len(values)} | {p50:,.0f} ms | {p99:,.0f} ms | "
              f"{sum(values) / 1000:,.1f} |")  # fmt: skip


def orm(env: dict, tmp: Path, step: str, spec: dict) -> dict:
    source, target = tmp / f"{step}-in.json", tmp / f"{step}-out.json"
    source.write_text(json.dumps(spec))
    env = {**env, "DAY_IN": str(source), "DAY_OUT": str(target), "DAY_STEP": step}
    stack.manage(env, "shell", "-v", "0", "-c",
                 f"exec(open({str(Path(__file__).with_name('day_orm.py'))!r}).read())")  # fmt: skip
    return json.loads(target.read_text())


def report(args, replay, wall, push, missed, terminals_missed, messages, lost, cpu, rss,
           connected) -> None:  # fmt: skip
    stats = replay.stats
    print(f"\nReplayed {args.start}-{args.to} at x{args.speed:g} in {wall:.0f} s: "
          f"{replay.arrived} patients arrived; {stats.empty_calls} calls found nobody this desk "
          f"may call; {replay.late_emergencies} emergencies called before the desk marked them; "
          f"{messages['screen']:,} socket messages received, {messages['pings']:,} pings sent, "
          f"{lost['screen']} sockets lost; "
          f"{replay.terminals_open} terminal sockets opened ({replay.terminals_failed} failed),"
          f" {messages['terminal']:,} messages on them, {lost['terminal']} of them lost; "
          f"load {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| action or page | requests | req/s | p50 | p99 | errors |\n|---|---|---|---|---|---|")
    for name in sorted(stats.kinds):
        k = stats.kinds[name]
        errors = f"{k.errors} {k.statuses}" if k.errors else "0"
        print(f"| {name} | {len(k.latencies)} | {len(k.latencies) / wall:.1f} | "
              f"{ms(stack.percentile(k.latencies, 50))} | {ms(stack.percentile(k.latencies, 99))}"
              f" | {errors} |")  # fmt: skip
    for kind, words in stats.refusals.items():
        print(f"\n{kind} refused, e.g.: {words}")
    print(f"\n| push: action → last screen of the department ({connected} screens) | samples "
          "| p50 | p99 | not received in 15 s |\n|---|---|---|---|---|")  # fmt: skip
    screens = {k: v for k, v in push.items() if not k.startswith(TERMINAL_ROW)}
    panels = {k: v for k, v in push.items() if k.startswith(TERMINAL_ROW)}
    for kind, values in sorted(screens.items()):
        print(f"| {kind} | {len(values)} | {ms(stack.percentile(values, 50))} | "
              f"{ms(stack.percentile(values, 99))} | |")  # fmt: skip
    print(f"| (all) | {sum(map(len, screens.values()))} | | | {missed} |")
    # The terminals' sockets: action -> the last terminal of the department showing a
    # panel at least that version (each re-rendered by the server for its own desk).
    everything = [x for values in panels.values() for x in values]
    for kind, values in sorted(panels.items()):
        print(f"| {kind} | {len(values)} | {ms(stack.percentile(values, 50))} | "
              f"{ms(stack.percentile(values, 99))} | |")  # fmt: skip
    p50, p99 = (ms(stack.percentile(everything, q)) if everything else "—" for q in (50, 99))
    print(f"| {TERMINAL_ROW}(all, {replay.terminals_open} sockets) | {len(everything)} | "
          f"{p50} | {p99} | {terminals_missed} |")  # fmt: skip
    print("\n| process | CPU s | CPU % of one core | peak RSS |\n|---|---|---|---|")
    server = 0.0
    for label, seconds in cpu.items():
        if label != "load generator":
            server += seconds
        peak = f"{rss[label]:.0f} MB" if label in rss else "—"
        print(f"| {label} | {seconds:.1f} | {100 * seconds / wall:.0f} % | {peak} |")
    per_visit = 1000 * server / max(replay.arrived, 1)
    print(
        f"\nServer CPU (all but the load generator): {server:.1f} s, "
        f"{per_visit:.0f} ms per visit arrived ({replay.arrived})."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--visits", type=int, default=12000)
    parser.add_argument("--departments", type=int, default=30, help="clinical departments")
    parser.add_argument("--service-departments", type=int, default=5, choices=range(0, 6))
    parser.add_argument("--staff", type=int, default=120, help="doctors and counter staff")
    parser.add_argument("--desks", type=int, default=20, help="reception desks")
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--tvs", type=int, default=200)
    parser.add_argument("--phones", type=int, default=3000)
    parser.add_argument("--api-share", type=float, default=0.1, help="tokens through the API")
    parser.add_argument("--speed", type=float, default=1)
    parser.add_argument("--from", dest="start", default="08:00", help="window start, HH:MM")
    parser.add_argument("--to", default="16:00", help="window end, HH:MM")
    parser.add_argument(
        "--push-sample",
        type=float,
        default=0.3,
        help="share of calls and tokens whose push latency is measured",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--daphnes", type=int, default=2, help="daphne processes")
    parser.add_argument("--redis-url", default=stack.DEFAULT_REDIS_URL)
    parser.add_argument("--keep-logs", help="copy the servers' logs into this directory")
    parser.add_argument(
        "--profile", help="py-spy gunicorn's workers and daphne into this directory"
    )
    parser.add_argument(
        "--profile-rate", type=int, default=50, help="py-spy's samples a second (default 50)"
    )
    args = parser.parse_args()
    if not (DAY_START <= clock(args.start) < clock(args.to) <= DAY_START + DAY_LENGTH):
        parser.error("--from and --to must be within 08:00-16:00, --from first")
    stack.local_redis(args.redis_url)
    raise_nofile()
    # A stop from outside still stops the servers and drops the scratch database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

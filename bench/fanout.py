"""Live fan-out benchmark: how long from a doctor's "Call next" to the last TV's update.

Starts the app as production runs it on a fresh SQLite file in a temporary directory:
daphne (`hospital.asgi:application`, one process unless --servers says more) holds the
sockets, gunicorn (`hospital.wsgi:application`, one worker) serves the doctor's pages,
and the Redis pub/sub channel layer, under a prefix of the run's own, carries each change
from gunicorn to daphne. It opens N public sockets on /ws/departments/orth/, presses Call
next through the doctor's HTTP endpoint and records, per press, the time from sending
the request to the moment the LAST socket received the message carrying the new state
version. The same N sockets are also measured against a bare `websockets` broadcast
server (bench/floor_server.py), the floor for any Python server on this machine.

    .venv/bin/python bench/fanout.py --sizes 1000,5000 --presses 30
    .venv/bin/python bench/fanout.py --quick        # sizes 100,1000 and 10 presses

Needs Redis (--redis-url, default redis://127.0.0.1:6379/0). Targets 127.0.0.1 only.
Every wait has a timeout and the whole run stops itself after --time-limit seconds; all
servers and client processes are stopped and the temporary directory removed on exit.

How it measures: the sockets live in --client-procs separate client processes (asyncio,
`websockets` client), so that 5,000 sockets do not queue behind one Python core. Each
socket notes `time.monotonic()` when its connection's data_received() is called, and
complete text frames are taken from the library's protocol object right there (no reader
task per socket), so the stamp is when the client process first saw the bytes.
CLOCK_MONOTONIC is system-wide on Linux, so stamps from the client processes compare
directly with the press time taken in this process.
Between presses the doctor skips the called patient (that also broadcasts; it is waited
for on every socket and not timed), so the next press finds no open token.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import math
import multiprocessing as mp
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from importlib import metadata
from pathlib import Path

import stack
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode

ROOT, PYTHON, HOST = stack.ROOT, stack.PYTHON, stack.HOST
SLUG = "orth"
DOCTOR_USER = "bench-doctor"
POLL_INTERVAL_S = 5.0

VERSION_RE = re.compile(rb'"version":\s*(\d+)')


def version_of(data: bytes) -> int | None:
    """The state version of a message, found without decoding or parsing the whole JSON:
    the client must stay cheap, it shares the two cores with the server."""
    match = VERSION_RE.search(data)
    if match:
        return int(match.group(1))
    try:
        value = json.loads(data).get("version")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- Client processes ---------------------------------------------------------------------
# Each runs an asyncio loop holding its share of the sockets and answers commands from the
# main process over a pipe: connect, wait for a version, report delivery, close.


def client_process(conn) -> None:
    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    asyncio.run(ClientFleet(conn).serve())


class TvConnection(ClientConnection):
    """A `websockets` client connection that hands each complete text frame straight to
    the fleet from data_received(), stamped with the time the event loop gave it the bytes.

    No reader task per socket, no message queue, no UTF-8 decoding: 5,000 sockets cost the
    client process as little as the library allows, so the numbers are the server's.
    Control frames (ping, pong, close) take the library's normal path."""

    fleet: ClientFleet | None = None  # set once per client process
    rx_stamp = 0.0
    first_version: int | None = None
    first_waiter: asyncio.Future | None = None
    lost = False

    def data_received(self, data: bytes) -> None:
        self.rx_stamp = time.monotonic()
        super().data_received(data)

    def process_event(self, event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.TEXT and event.fin:
            version = version_of(bytes(event.data))
            if version is None:
                return
            if self.first_version is None:
                self.first_version = version
                if self.first_waiter is not None and not self.first_waiter.done():
                    self.first_waiter.set_result(version)
            self.fleet.on_message(self, version, self.rx_stamp)
            return
        super().process_event(event)

    def connection_lost(self, exc) -> None:
        self.lost = True
        if self.first_waiter is not None and not self.first_waiter.done():
            self.first_waiter.set_exception(ConnectionError("closed before the first message"))
        super().connection_lost(exc)


class ClientFleet:
    def __init__(self, conn):
        self.conn = conn
        self.socks: list[TvConnection] = []
        self.got: dict[TvConnection, dict[int, float]] = {}
        self.counts: dict[int, int] = {}
        self.first_stamp: dict[int, float] = {}
        self.last_stamp: dict[int, float] = {}
        self.waiters: dict[int, asyncio.Event] = {}
        self.duplicates = 0
        TvConnection.fleet = self

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                command, args = await loop.run_in_executor(None, self.conn.recv)
            except (EOFError, OSError):
                break  # the main process is gone
            try:
                reply = await getattr(self, "do_" + command)(*args)
            except Exception as exc:  # reported, not raised: the main process decides
                reply = ("error", f"{type(exc).__name__}: {exc}")
            self.conn.send(reply)
            if command == "close":
                break

    def on_message(self, ws: TvConnection, version: int, stamp: float) -> None:
        got = self.got.setdefault(ws, {})
        if version in got:
            self.duplicates += 1
            return
        got[version] = stamp
        count = self.counts[version] = self.counts.get(version, 0) + 1
        if count == 1 or stamp < self.first_stamp[version]:
            self.first_stamp[version] = stamp
        if stamp > self.last_stamp.get(version, 0.0):
            self.last_stamp[version] = stamp
        waiter = self.waiters.get(version)
        if waiter is not None and count >= len(self.socks):
            waiter.set()

    async def open_one(self, url: str, origin: str, timeout: float) -> None:
        ws = await connect(
            url,
            origin=origin,
            compression=None,
            ping_interval=None,  # the server pings; client pings would add load to measure
            open_timeout=timeout,
            close_timeout=5,
            create_connection=TvConnection,
        )
        if ws.first_version is None:
            ws.first_waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(ws.first_waiter, timeout)
            except BaseException:
                ws.transport.abort()
                raise
        self.socks.append(ws)

    async def do_connect(self, targets: list[tuple[str, str]], batch: int, timeout: float):
        errors: list[str] = []
        started = time.monotonic()
        for i in range(0, len(targets), batch):
            chunk = targets[i : i + batch]
            results = await asyncio.gather(
                *(self.open_one(url, origin, timeout) for url, origin in chunk),
                return_exceptions=True,
            )
            errors += [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
            if len(errors) > 20:
                break
        took = time.monotonic() - started
        versions = sorted({ws.first_version for ws in self.socks})
        return ("ok", len(self.socks), errors[:5], len(errors), versions, took)

    async def do_wait(self, version: int, timeout: float):
        if self.counts.get(version, 0) < len(self.socks):
            waiter = self.waiters.setdefault(version, asyncio.Event())
            try:
                await asyncio.wait_for(waiter.wait(), timeout)
            except TimeoutError:
                pass
            finally:
                self.waiters.pop(version, None)
        count = self.counts.get(version, 0)
        return (
            "ok" if count >= len(self.socks) else "timeout",
            count,
            self.first_stamp.get(version),
            self.last_stamp.get(version),
        )

    async def do_stats(self, versions: list[int]):
        full = sum(1 for ws in self.socks if all(v in self.got.get(ws, {}) for v in versions))
        lost = sum(1 for ws in self.socks if ws.lost)
        seen = sorted({v for got in self.got.values() for v in got})
        return ("ok", len(self.socks), full, lost, self.duplicates, seen)

    async def do_close(self):
        for i in range(0, len(self.socks), 500):
            chunk = self.socks[i : i + 500]
            try:
                await asyncio.wait_for(
                    asyncio.gather(*(ws.close() for ws in chunk), return_exceptions=True), 15
                )
            except TimeoutError:
                for ws in chunk:
                    ws.transport.abort()
        return ("ok",)


class Clients:
    """The client processes, seen from the main process."""

    def __init__(self, count: int, reaper: Reaper):
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for _ in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=client_process, args=(child,), daemon=True)
            proc.start()
            child.close()
            reaper.procs.append(proc)
            self.pipes.append(parent)
            self.procs.append(proc)

    def call(self, command: str, per_proc_args: list[tuple], timeout: float) -> list[tuple]:
        for pipe, args in zip(self.pipes, per_proc_args, strict=True):
            pipe.send((command, args))
        deadline = time.monotonic() + timeout
        replies = []
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"client process {proc.pid} did not answer {command!r}")
            reply = pipe.recv()
            if reply[0] == "error":
                raise RuntimeError(f"client process {proc.pid}: {reply[1]}")
            replies.append(reply)
        return replies

    def broadcast(self, command: str, args: tuple, timeout: float) -> list[tuple]:
        return self.call(command, [args] * len(self.pipes), timeout)

    def proc_cpu_seconds(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        try:
            self.broadcast("close", (), 40)
        except Exception as exc:
            print(f"  (client close: {exc})", flush=True)
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)


# --- Processes, clean-up, /proc -----------------------------------------------------------


class Reaper:
    """Everything this run started, stopped on any exit (finally and atexit)."""

    def __init__(self):
        self.popens: list[subprocess.Popen] = []
        self.stacks: list[stack.Stack] = []
        self.procs: list = []
        self.dirs: list[str] = []
        self.keep_dirs = False

    def cleanup(self) -> None:
        for servers in self.stacks:
            servers.stop()
        self.stacks.clear()
        for p in self.popens:
            if p.poll() is None:
                p.terminate()
        for p in self.popens:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.popens.clear()
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        self.procs.clear()
        if not self.keep_dirs:
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)
            self.dirs.clear()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    busy = user + nice + system + irq + softirq + steal
    hz = os.sysconf("SC_CLK_TCK")
    return busy / hz, (busy + idle + iowait) / hz


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout:.0f} s:\n{tail(log)}")


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --- The app: database, servers, doctor ----------------------------------------------------

SEED = """
import json, os
from django.contrib.auth import get_user_model
from hospital.models import Department, Doctor
from queues.services import issue_token
from queues.state import public_state

dept = Department.objects.create(name="Orthopedics", code="ORTH", slug="orth", open_weekdays=127)
user = get_user_model().objects.create_user(
    username=os.environ["BENCH_DOCTOR"], password=os.environ["BENCH_PASSWORD"]
)
Doctor.objects.create(user=user, name="Dr. Bench", department=dept, room="4")
names = ["Asha Kumari", "Ravi Shankar", "Meena Iyer", "Arjun Rao", "Fatima Shaikh"]
for i in range(int(os.environ["BENCH_TOKENS"])):
    issue_token(dept, f"{names[i % len(names)]} {i}")
dept.refresh_from_db()
with open(os.environ["BENCH_STATE"], "w") as f:
    json.dump(public_state(dept), f)
"""


def make_template_db(workdir: Path, tokens: int, password: str) -> tuple[Path, Path]:
    """Migrate and seed once; every configuration then starts from a copy of this file."""
    db = workdir / "template.sqlite3"
    state = workdir / "state.json"
    env = stack.app_env(f"sqlite:///{db}")
    stack.manage(env, "migrate", "--noinput", timeout=180)
    env.update(
        BENCH_DOCTOR=DOCTOR_USER,
        BENCH_PASSWORD=password,
        BENCH_TOKENS=str(tokens),
        BENCH_STATE=str(state),
    )
    stack.manage(env, "shell", "-c", SEED, timeout=180)
    return db, state


def copy_db(template: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(template) + suffix)
        if src.exists():
            shutil.copyfile(src, str(target) + suffix)


# For --what-if-no-close: daphne with Channels' per-message `aclose_old_connections()`
# (a hop to the sync thread before every handler) skipped for the state message, whose
# handler does no database work. Measures that hop's share; not a configuration to run.
NO_CLOSE_SITE = """
from channels.consumer import AsyncConsumer

_dispatch = AsyncConsumer.dispatch


async def dispatch(self, message):
    if message["type"] == "queue.state":
        return await self.queue_state(message)
    return await _dispatch(self, message)


AsyncConsumer.dispatch = dispatch
"""


class AppServers:
    """daphne for the sockets, gunicorn for the doctor's presses, Redis between them."""

    def __init__(
        self,
        count: int,
        db: Path,
        redis_url: str,
        workdir: Path,
        reaper: Reaper,
        no_close: bool = False,
    ):
        env = stack.app_env(f"sqlite:///{db}", redis_url=redis_url)
        if no_close:
            site = workdir / "no-close-site"
            site.mkdir(exist_ok=True)
            (site / "sitecustomize.py").write_text(NO_CLOSE_SITE, encoding="utf-8")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
        self.stack = stack.Stack(env, workdir, workers=1, daphnes=count)
        reaper.stacks.append(self.stack)
        self.stack.__enter__()
        self.ports = self.stack.ws_ports
        self.http_url = self.stack.http_url
        self.logs = self.stack.logs

    def targets(self, n: int) -> list[tuple[str, str]]:
        """Socket i goes to daphne i mod count: an even split."""
        return [
            (f"ws://{HOST}:{p}/ws/departments/{SLUG}/", f"http://{HOST}:{p}")
            for p in (self.ports[i % len(self.ports)] for i in range(n))
        ]

    def pids(self) -> list[int]:
        """The daphne processes: the fan-out is theirs."""
        return self.stack.pids("daphne")

    def stop(self) -> None:
        self.stack.stop()


class Doctor:
    """The doctor's browser: signs in, presses Call next, skips the no-show."""

    def __init__(self, base_url: str, password: str, db: Path):
        import httpx

        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
        self.db = db
        page = self.http.get("/accounts/login/")
        page.raise_for_status()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if not token:
            raise RuntimeError("no CSRF token on the login page")
        answer = self.http.post(
            "/accounts/login/",
            data={
                "username": DOCTOR_USER,
                "password": password,
                "csrfmiddlewaretoken": token.group(1),
            },
        )
        if answer.status_code != 302:
            raise RuntimeError(f"doctor login failed: HTTP {answer.status_code}")
        with sqlite3.connect(db, timeout=20) as con:
            row = con.execute(
                "SELECT d.id FROM hospital_doctor d JOIN auth_user u ON u.id = d.user_id "
                "WHERE u.username = ?",
                (DOCTOR_USER,),
            ).fetchone()
        self.doctor_id = row[0]

    def post(self, path: str) -> None:
        # The CSRF cookie's secret is accepted as the form token.
        csrf = self.http.cookies.get("csrftoken", "")
        answer = self.http.post(path, data={"csrfmiddlewaretoken": csrf})
        if answer.status_code != 302:
            raise RuntimeError(f"POST {path}: HTTP {answer.status_code}")

    def call_next(self) -> None:
        self.post("/doctor/call-next/")

    def open_token(self) -> str | None:
        con = sqlite3.connect(self.db, timeout=20)
        try:
            row = con.execute(
                "SELECT public_id FROM queues_token WHERE doctor_id = ? AND status = 'called'",
                (self.doctor_id,),
            ).fetchone()
        finally:
            con.close()
        return str(uuid.UUID(row[0])) if row else None

    def skip_current(self) -> None:
        public_id = self.open_token()
        if public_id is None:
            raise RuntimeError("Call next did not call anyone (is the queue empty?)")
        self.post(f"/doctor/tokens/{public_id}/skip/")

    def close(self) -> None:
        self.http.close()


class FloorServer:
    def __init__(self, state: Path, workdir: Path, reaper: Reaper):
        self.port, self.trigger_port = stack.free_port(), stack.free_port()
        log = workdir / f"floor-{self.port}.log"
        self.popen = subprocess.Popen(
            [PYTHON, str(ROOT / "bench" / "floor_server.py"), "--port", str(self.port),
             "--trigger-port", str(self.trigger_port), "--payload", str(state)],
            cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        reaper.popens.append(self.popen)
        wait_for_port(self.port, self.popen, log, 30)
        wait_for_port(self.trigger_port, self.popen, log, 30)
        self.control = socket.create_connection((HOST, self.trigger_port), timeout=30)
        self.replies = self.control.makefile("rb")

    def targets(self, n: int) -> list[tuple[str, str]]:
        url = f"ws://{HOST}:{self.port}/"
        return [(url, f"http://{HOST}:{self.port}")] * n

    def pids(self) -> list[int]:
        return [self.popen.pid]

    def press(self) -> int:
        self.control.sendall(b"go\n")
        return int(self.replies.readline())

    def stop(self) -> None:
        self.control.close()
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


# --- One configuration ---------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: with 30 samples p99 is the slowest press."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def split(items: list, parts: int) -> list[list]:
    size = len(items)
    return [items[size * i // parts : size * (i + 1) // parts] for i in range(parts)]


def wait_version(clients: Clients, version: int, timeout: float) -> tuple[bool, int, float, float]:
    replies = clients.broadcast("wait", (version, timeout), timeout + 15)
    ok = all(r[0] == "ok" for r in replies)
    count = sum(r[1] for r in replies)
    firsts = [r[2] for r in replies if r[2] is not None]
    lasts = [r[3] for r in replies if r[3] is not None]
    return ok, count, min(firsts, default=math.nan), max(lasts, default=math.nan)


def wait_for_quiet(max_wait: float, busy_limit: float = 20.0) -> float:
    """Wait (at most max_wait s) until the machine is quiet: under busy_limit % of all
    cores busy over 3 s. Other engineers run test suites on this machine; a row measured
    while they do is a measurement of the sharing. Returns the busy % last seen."""
    deadline = time.monotonic() + max_wait
    while True:
        b0, t0 = machine_cpu()
        time.sleep(3)
        b1, t1 = machine_cpu()
        busy = 100 * (b1 - b0) / max(t1 - t0, 1e-9)
        if busy < busy_limit or time.monotonic() >= deadline:
            return busy
        print(f"  (machine {busy:.0f} % busy; waiting for it to calm down)", flush=True)
        time.sleep(7)


def measure(kind: str, n: int, servers: int, args, ctx: dict, reaper: Reaper) -> dict:
    label = f"{kind} x{servers}" if kind != "floor" else kind
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    is_app = kind != "floor"
    print(f"\n== {label}, N = {n} (load {load()})", flush=True)
    result = {"kind": kind, "servers": servers, "n": n, "load_before": os.getloadavg()[0]}
    workdir = ctx["workdir"]
    server = doctor = clients = None
    try:
        if is_app:
            db = workdir / f"{kind}-{servers}-{n}.sqlite3"
            copy_db(ctx["template"], db)
            server = AppServers(
                servers, db, args.redis_url, workdir, reaper, no_close=kind == "app-no-close"
            )
            doctor = Doctor(server.http_url, ctx["password"], db)
        else:
            server = FloorServer(ctx["state"], workdir, reaper)
        clients = Clients(args.client_procs, reaper)
        per_proc = split(server.targets(n), args.client_procs)
        batch = max(1, args.batch // args.client_procs)
        replies = clients.call(
            "connect", [(t, batch, args.wait_timeout) for t in per_proc], args.connect_timeout
        )
        connected = sum(r[1] for r in replies)
        errors = sum(r[3] for r in replies)
        versions = sorted({v for r in replies for v in r[4]})
        result["connect_s"] = max(r[5] for r in replies)
        print(
            f"  connected {connected}/{n} in {result['connect_s']:.1f} s"
            + (f", {errors} failed: {replies[0][2] or replies[-1][2]}" if errors else ""),
            flush=True,
        )
        if connected < n:
            raise RuntimeError(f"only {connected} of {n} sockets connected")
        if len(versions) != 1:
            raise RuntimeError(f"sockets disagree on the initial state version: {versions}")
        version = versions[0]
        pids = server.pids()

        def ours() -> float:
            return sum(cpu_seconds(p) for p in pids) + clients.proc_cpu_seconds() + own_cpu()

        result["rss_mb"] = [round(rss_mb(pid), 1) for pid in pids]
        print(f"  server RSS after connecting: {result['rss_mb']} MB", flush=True)

        def press() -> tuple[float, int]:
            started = time.monotonic()
            if is_app:
                doctor.call_next()
                return started, version + 1
            return started, server.press()

        timed_versions: list[int] = []
        latencies: list[float] = []
        firsts: list[float] = []
        timeouts = 0
        cpu_server = cpu_clients = 0.0
        profilers: list[subprocess.Popen] = []
        others = None
        for i in range(args.warmup + args.presses):
            timed = i >= args.warmup
            if i == args.warmup and args.profile and is_app:
                name = f"{kind}-{servers}x-{n}"
                profilers = stack.start_profilers(pids, Path(args.profile), name)
                reaper.popens += profilers
            if timed:
                cpu0 = sum(cpu_seconds(p) for p in pids), clients.proc_cpu_seconds()
                if others is None:
                    others = machine_cpu(), ours()
            started, expected = press()
            ok, count, first, last = wait_version(clients, expected, args.wait_timeout)
            if timed:
                cpu_server += sum(cpu_seconds(p) for p in pids) - cpu0[0]
                cpu_clients += clients.proc_cpu_seconds() - cpu0[1]
                timed_versions.append(expected)
                latencies.append((last - started) * 1000)
                firsts.append((first - started) * 1000)
                if not ok:
                    timeouts += 1
                    print(f"  press {i}: only {count}/{n} got v{expected}", flush=True)
            elif not ok:
                raise RuntimeError(f"warm-up press: only {count}/{n} got v{expected}")
            version = expected
            if is_app:
                doctor.skip_current()  # untimed; broadcasts too, so wait for it everywhere
                version += 1
                ok, count, _, _ = wait_version(clients, version, args.wait_timeout)
                if not ok:
                    raise RuntimeError(f"skip: only {count}/{n} sockets got v{version}")
            time.sleep(args.gap)

        busy, total = machine_cpu()
        # Everyone else's share of the machine during the timed presses (other engineers'
        # tests): all busy CPU time less this run's servers, clients and main process.
        other_busy = busy - others[0][0] - (ours() - others[1])
        result["others_cpu_pct"] = max(0.0, 100 * other_busy / (total - others[0][1]))
        stack.stop_profilers(profilers)
        stats = clients.broadcast("stats", (timed_versions,), 60)
        full = sum(r[2] for r in stats)
        closed = sum(r[3] for r in stats)
        dups = sum(r[4] for r in stats)
        result.update(
            latencies_ms=[round(x, 2) for x in latencies],
            p50=statistics.median(latencies),
            p99=percentile(latencies, 99),
            first_p50=statistics.median(firsts),
            delivered=100.0 * full / n,
            closed=closed,
            duplicates=dups,
            timeouts=timeouts,
            server_cpu_ms_per_press=1000 * cpu_server / len(latencies),
            client_cpu_ms_per_press=1000 * cpu_clients / len(latencies),
            rss_mb_end=[round(rss_mb(pid), 1) for pid in pids],
            load_after=os.getloadavg()[0],
        )
        print(
            f"  p50 {result['p50']:.0f} ms  p99 {result['p99']:.0f} ms  "
            f"(first socket p50 {result['first_p50']:.0f} ms)  delivered "
            f"{result['delivered']:.1f} %  server CPU {result['server_cpu_ms_per_press']:.0f} "
            f"ms/press  clients CPU {result['client_cpu_ms_per_press']:.0f} ms/press  "
            f"others' CPU {result['others_cpu_pct']:.0f} %",
            flush=True,
        )
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        print(f"  FAILED: {result['error']}", flush=True)
        if server is not None and is_app:
            for log in server.logs:
                print(f"  --- {log.name}:\n{tail(log, 1500)}", flush=True)
    finally:
        if doctor is not None:
            doctor.close()
        if clients is not None:
            clients.stop()
        if server is not None:
            server.stop()
    return result


# --- Report --------------------------------------------------------------------------------


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def versions_line(redis_url: str) -> str:
    import redis

    try:
        info = redis.Redis.from_url(redis_url, socket_connect_timeout=2).info("server")
        redis_version = info.get("redis_version", "?")
    except redis.RedisError:
        redis_version = "?"
    packages = ["Django", "channels", "channels-redis", "daphne", "Twisted", "websockets"]
    found = []
    for name in packages:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} ?")
    return (
        f"Python {sys.version.split()[0]}, " + ", ".join(found) + f", redis-server {redis_version}"
    )


def app_line() -> str:
    """Which app was measured: the commit, and any uncommitted changes to its code."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "hospital", "queues", "appointments"],
            cwd=ROOT, capture_output=True, text=True,
        ).stdout.split("\n")  # fmt: skip
    except OSError:
        return "app: (no git)"
    changed = [line[3:] for line in changed if line.strip()]
    return f"app: commit {head}" + (f", uncommitted: {', '.join(changed)}" if changed else "")


def machine_line() -> str:
    with open("/proc/meminfo") as f:
        total_kb = int(f.readline().split()[1])
    return f"nproc {os.cpu_count()}, {total_kb / 1024**2:.0f} GiB RAM, loopback"


def table(results: list[dict]) -> str:
    rows = [
        "| server | processes | N | p50 ms | p99 ms | delivered % | server RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = {
        "floor": "floor: bare `websockets.broadcast`",
        "app": "app: daphne + Channels, Redis pub/sub, change from gunicorn",
        "app-no-close": "what-if: same, no DB-close hop before the state message",
    }
    for r in results:
        name = names[r["kind"]]
        if "error" in r:
            rows.append(f"| {name} | {r['servers']} | {r['n']:,} | failed: {r['error']} ||||")
            continue
        rss = " + ".join(f"{x:.0f}" for x in r["rss_mb"])
        rows.append(
            f"| {name} | {r['servers']} | {r['n']:,} | {r['p50']:.0f} | {r['p99']:.0f} "
            f"| {r['delivered']:.1f} | {rss} |"
        )
    poll = POLL_INTERVAL_S * 1000
    rows.append(
        f"| display polling every {POLL_INTERVAL_S:.0f} s (computed) | - | any | {poll / 2:,.0f} "
        f"| {poll * 0.99:,.0f} (worst {poll:,.0f}) | 100 | - |"
    )
    return "\n".join(rows)


def details(results: list[dict]) -> str:
    rows = [
        "| server | processes | N | connect s | first socket p50 ms | server CPU ms/press "
        "| client CPU ms/press | RSS after presses MB | others' CPU % | load before/after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        if "error" in r:
            continue
        rows.append(
            f"| {r['kind']} | {r['servers']} | {r['n']:,} | {r['connect_s']:.1f} "
            f"| {r['first_p50']:.0f} | {r['server_cpu_ms_per_press']:.0f} "
            f"| {r['client_cpu_ms_per_press']:.0f} "
            f"| {' + '.join(f'{x:.0f}' for x in r['rss_mb_end'])} "
            f"| {r['others_cpu_pct']:.0f} "
            f"| {r['load_before']:.2f} / {r['load_after']:.2f} |"
        )
    return "\n".join(rows)


# --- Main ----------------------------------------------------------------------------------


class RunTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise RunTimeout("the run hit --time-limit")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ints = lambda s: [int(x) for x in s.split(",") if x.strip()]  # noqa: E731
    parser.add_argument("--sizes", type=ints, default=[1000, 5000])
    parser.add_argument("--servers", type=ints, default=[1], help="daphne process counts")
    parser.add_argument("--presses", type=int, default=30, help="timed presses per row")
    parser.add_argument("--warmup", type=int, default=2, help="untimed presses first")
    parser.add_argument("--quick", action="store_true", help="sizes 100,1000 and 10 presses")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare-websockets rows")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes")
    parser.add_argument("--batch", type=int, default=50, help="sockets connecting at once")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds idle between presses")
    parser.add_argument("--wait-timeout", type=float, default=30, help="per message (s)")
    parser.add_argument("--connect-timeout", type=float, default=300, help="per row (s)")
    parser.add_argument("--time-limit", type=int, default=900, help="whole run (s)")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        help="before each row wait up to this many seconds for the machine to be idle",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--profile", help="py-spy record --native the servers into this directory (needs py-spy)"
    )
    parser.add_argument("--no-app", action="store_true", help="skip the stock app rows")
    parser.add_argument(
        "--what-if-no-close",
        action="store_true",
        help="also run daphne without Channels' DB-close hop before each state message",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.presses = [100, 1000], 10
    if not args.redis_url.startswith(("redis://127.0.0.1", "redis://localhost")):
        parser.error("only a local Redis (127.0.0.1) may be used")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()  # before spawning: servers and clients inherit it
    if nofile < max(args.sizes) + 1000:
        print(f"warning: open-file limit {nofile} is low for {max(args.sizes)} sockets")
    reaper = Reaper()
    reaper.keep_dirs = args.keep
    atexit.register(reaper.cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)
    results: list[dict] = []
    started = time.monotonic()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="opdq-fanout-"))
        reaper.dirs.append(str(workdir))
        password = secrets.token_urlsafe(16)
        tokens = args.warmup + args.presses + 20  # the queue never runs dry
        print(f"machine: {machine_line()}; load {load()}", flush=True)
        print(f"versions: {versions_line(args.redis_url)}", flush=True)
        print(app_line(), flush=True)
        print(f"clients: {args.client_procs} processes; open-file limit {nofile}", flush=True)
        template, state = make_template_db(workdir, tokens, password)
        ctx = {"workdir": workdir, "template": template, "state": state, "password": password}
        print(f"payload: {state.stat().st_size} bytes of JSON ({tokens} waiting)", flush=True)
        for n in args.sizes:
            if not args.no_floor:
                results.append(measure("floor", n, 1, args, ctx, reaper))
            for servers in args.servers:
                if not args.no_app:
                    results.append(measure("app", n, servers, args, ctx, reaper))
                if args.what_if_no_close:
                    results.append(measure("app-no-close", n, servers, args, ctx, reaper))
    except (RunTimeout, KeyboardInterrupt) as exc:
        print(f"\nstopped early: {exc or type(exc).__name__}", flush=True)
    finally:
        signal.alarm(0)
        reaper.cleanup()
    print(f"\nrun took {time.monotonic() - started:.0f} s; load {load()}\n")
    print(table(results))
    print()
    print(details(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    ok = results and all("error" not in r and r["delivered"] == 100.0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

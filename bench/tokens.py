#!/usr/bin/env python
"""Token issuing under load: 50 kiosks posting the real form to the real app.

For each database asked for, this script makes a fresh database (an SQLite file in a
temporary directory, or a new PostgreSQL database on 127.0.0.1 that it drops again),
migrates it, creates one department, starts the app under daphne (one or more
processes), and runs concurrent HTTP clients, each with its own cookie jar: GET / for the
CSRF cookie and form, then POST / with department, patient_name, mobile, service_date
until the wanted number of tokens is issued. A success is a 302 to /tokens/<uuid>/.

Afterwards it checks the database (no duplicate numbers, no gaps: exactly 1..N), counts
5xx responses and "database is locked" in responses and server logs, and prints tokens/s
and p50/p99 latency of the POSTs.

    .venv/bin/python bench/tokens.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/tokens.py --db sqlite --workers 1,2

Only 127.0.0.1 is ever contacted. Not part of the test suite.
"""

import argparse
import asyncio
import datetime
import os
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import scratchdb
from machine import reference_loop_seconds

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
# The checkout whose app is served: this one, or --root (another commit's worktree, run
# with this checkout's virtualenv) for before/after runs interleaved on one machine.
APP_ROOT = ROOT
PYTHON = BIN / "python" if (BIN / "python").exists() else Path(sys.executable)
DAPHNE = BIN / "daphne"
HOST = "127.0.0.1"
DEPARTMENT_CODE = "BNCH"
SUCCESS = re.compile(r"^/tokens/[0-9a-f-]{36}/$")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOCKED = "database is locked"


@dataclass
class Result:
    database: str
    workers: int
    clients: int
    wanted: int
    issued: int = 0
    failed: int = 0
    server_errors: int = 0
    locked: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    duplicates: int | None = None
    gaps: int | None = None
    stored: int | None = None
    other_statuses: dict[int, int] = field(default_factory=dict)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    load: tuple = ()

    @property
    def rate(self) -> float:
        return self.issued / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    def row(self) -> str:
        cells = [
            self.database,
            self.workers,
            self.clients,
            self.issued,
            f"{self.rate:.0f}",
            f"{self.percentile(50):.0f} ms",
            f"{self.percentile(99):.0f} ms",
            self.duplicates,
            self.gaps,
            self.server_errors,
            self.locked,
        ]
        return "| " + " | ".join(str(c) for c in cells) + " |"


HEADER = (
    "| database | workers | clients | tokens | tokens/s | p50 | p99 | duplicates | gaps "
    "| 5xx | locked |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


# --- Databases ----------------------------------------------------------------------------


class SqliteDatabase(scratchdb.SqliteDatabase):
    name = "sqlite"

    def numbers(self, day: str) -> list[int]:
        with sqlite3.connect(self.path) as db:
            rows = db.execute(
                "SELECT t.number FROM queues_token t JOIN hospital_department d "
                "ON d.id = t.department_id WHERE d.code = ? AND t.service_date = ?",
                (DEPARTMENT_CODE, day),
            ).fetchall()
        return [number for (number,) in rows]


class PostgresDatabase(scratchdb.PostgresDatabase):
    name = "postgresql"

    def numbers(self, day: str) -> list[int]:
        with self.psycopg.connect(self.url) as db:
            rows = db.execute(
                "SELECT t.number FROM queues_token t JOIN hospital_department d "
                "ON d.id = t.department_id WHERE d.code = %s AND t.service_date = %s",
                (DEPARTMENT_CODE, day),
            ).fetchall()
        return [number for (number,) in rows]


# --- The app under daphne -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def app_env(database_url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-" + secrets.token_hex(16),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": "hospital.settings",
    }
    env.pop("REDIS_URL", None)  # one process each: in-memory channel layer
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run(
        [str(PYTHON), "manage.py", *args], cwd=APP_ROOT, env=env, check=True, timeout=300
    )


def prepare(env: dict) -> str:
    """Migrate and create the department; returns its slug."""
    manage(env, "migrate", "--noinput", "-v", "0")
    code = (
        "from hospital.models import Department, ALL_WEEKDAYS; "
        f"d, _ = Department.objects.get_or_create(code='{DEPARTMENT_CODE}', defaults=dict("
        "name='Bench Medicine', open_weekdays=ALL_WEEKDAYS, booking_window_days=7)); "
        "print(d.slug)"
    )
    out = subprocess.run(
        [str(PYTHON), "manage.py", "shell", "-v", "0", "-c", code],
        cwd=APP_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return out.strip().splitlines()[-1]


# For --without-broadcast: the real app with the on-commit publish to live screens turned
# off, to measure what that publish costs per token. Not a configuration to run.
NO_BROADCAST_APP = """
from hospital.asgi import application  # noqa: F401
from queues import broadcast

broadcast.department_changed = lambda department_id: None
"""


class Servers:
    def __init__(self, env: dict, count: int, log_dir: Path, app: str):
        self.env, self.count, self.log_dir, self.app = env, count, log_dir, app
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.urls: list[str] = []

    def __enter__(self):
        for i in range(self.count):
            port = free_port()
            log = self.log_dir / f"daphne-{port}.log"
            handle = open(log, "wb")  # noqa: SIM115 - closed with the process
            proc = subprocess.Popen(
                [str(DAPHNE), "-b", HOST, "-p", str(port), self.app],
                cwd=APP_ROOT,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            handle.close()
            self.procs.append(proc)
            self.logs.append(log)
            self.urls.append(f"http://{HOST}:{port}")
            print(f"  daphne {i + 1}/{self.count} pid {proc.pid} on {self.urls[-1]}")
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        for proc, url in zip(self.procs, self.urls, strict=True):
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"daphne on {url} exited; see {self.log_dir}")
                try:
                    with urllib.request.urlopen(url + "/", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"daphne on {url} did not answer in {timeout:.0f} s")
                time.sleep(0.2)

    def __exit__(self, *exc):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU of all daphne processes so far (Linux /proc)."""
        total = 0
        for proc in self.procs:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())


# --- The clients --------------------------------------------------------------------------


async def run_clients(
    urls: list[str], slug: str, day: str, clients: int, wanted: int, cap: float, result: Result
) -> None:
    state = {"claimed": 0}
    deadline = time.monotonic() + cap

    async def kiosk(i: int) -> None:
        base = urls[i % len(urls)]
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(
            base, connector=connector, timeout=timeout, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as session:
            async with session.get("/") as response:
                page = await response.text()
            match = CSRF_INPUT.search(page)
            if response.status != 200 or not match:
                raise RuntimeError(f"GET / gave {response.status} without a form")
            csrf = match.group(1)
            n = 0
            while time.monotonic() < deadline:
                # Claim a request only while issued + in flight is below the target, so
                # the run stops at exactly `wanted` tokens unless requests fail.
                if result.issued + state["claimed"] >= wanted:
                    return
                state["claimed"] += 1
                n += 1
                form = {
                    "csrfmiddlewaretoken": csrf,
                    "department": slug,
                    "patient_name": f"Bench Patient {i}-{n}",
                    "mobile": "",
                    "service_date": day,
                }
                started = time.perf_counter()
                try:
                    async with session.post(
                        "/", data=form, allow_redirects=False, headers={"Referer": base + "/"}
                    ) as response:
                        body = await response.read()
                        status = response.status
                        location = response.headers.get("Location", "")
                except (TimeoutError, aiohttp.ClientError):
                    status, body, location = 0, b"", ""
                finally:
                    state["claimed"] -= 1
                result.latencies.append(time.perf_counter() - started)
                if status == 302 and SUCCESS.match(location):
                    result.issued += 1
                    continue
                result.failed += 1
                result.other_statuses[status] = result.other_statuses.get(status, 0) + 1
                if status >= 500:
                    result.server_errors += 1
                if LOCKED.encode() in body:
                    result.locked += 1

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(kiosk(i) for i in range(clients)), return_exceptions=True)
    result.seconds = time.perf_counter() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            print(f"  client failed: {outcome!r}")


def local_today() -> str:
    zone = zoneinfo.ZoneInfo(os.environ.get("TIME_ZONE", "Asia/Kolkata"))
    return datetime.datetime.now(zone).date().isoformat()


def bench(database_cls, workers: int, args) -> Result:
    result = Result(database_cls.name, workers, args.clients, args.tokens)
    speed = reference_loop_seconds()
    with database_cls() as database, tempfile.TemporaryDirectory(prefix="opdq-logs-") as logs:
        env = app_env(database.url)
        if args.pool_max:
            env["DB_POOL_MAX"] = str(args.pool_max)
        print(f"{database.name}, {workers} daphne process(es): preparing {database.url}")
        slug = prepare(env)
        day = local_today()
        app = "hospital.asgi:application"
        if args.without_broadcast:
            (Path(logs) / "bench_no_broadcast.py").write_text(NO_BROADCAST_APP)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [logs, env.get("PYTHONPATH")]))
            app = "bench_no_broadcast:application"
            result.database += " (no broadcast)"
        with Servers(env, workers, Path(logs), app) as servers:
            servers.wait_ready()
            server_cpu, client_cpu = servers.cpu_seconds(), time.process_time()
            asyncio.run(
                run_clients(servers.urls, slug, day, args.clients, args.tokens, args.cap, result)
            )
            result.server_cpu = servers.cpu_seconds() - server_cpu
            result.client_cpu = time.process_time() - client_cpu
            result.load = os.getloadavg()
            time.sleep(0.5)
        log = servers.log_text()
        result.locked += log.count(LOCKED)
        if args.show_log and log.strip():
            print(log[-5000:])
        numbers = database.numbers(day)
        result.stored = len(numbers)
        result.duplicates = len(numbers) - len(set(numbers))
        # Numbers missing from 1..max: a gap the patients would notice.
        result.gaps = (max(numbers) - len(set(numbers))) if numbers else 0
    print(
        f"  {result.issued} tokens in {result.seconds:.1f} s = {result.rate:.0f}/s, "
        f"p50 {result.percentile(50):.0f} ms, p99 {result.percentile(99):.0f} ms, "
        f"failed {result.failed} {result.other_statuses or ''}, stored {result.stored}\n"
        f"  CPU per token: servers {1000 * result.server_cpu / max(result.issued, 1):.2f} ms, "
        f"clients {1000 * result.client_cpu / max(result.issued, 1):.2f} ms; "
        f"load average at the end {' '.join(f'{x:.1f}' for x in result.load)}; "
        f"reference loop {speed:.2f} s before the row (bench/machine.py)"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--workers",
        default="1",
        help="daphne processes, one port each; a comma list runs each, e.g. 1,2",
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--cap", type=float, default=120, help="seconds of load at most")
    parser.add_argument("--pool-max", type=int, default=0, help="DB_POOL_MAX for PostgreSQL")
    parser.add_argument(
        "--without-broadcast",
        action="store_true",
        help="what-if: turn off the on-commit publish to live screens, to measure its cost",
    )
    parser.add_argument("--show-log", action="store_true", help="print the servers' log tail")
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="serve the app from this checkout (e.g. `git worktree add /tmp/before <commit>`)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each row this many times and add the medians (a shared machine is noisy)",
    )
    args = parser.parse_args()
    global APP_ROOT
    APP_ROOT = args.root.resolve()
    if APP_ROOT != ROOT:
        print(f"serving the app from {APP_ROOT}")

    databases = {
        "sqlite": [SqliteDatabase],
        "postgres": [PostgresDatabase],
        "both": [SqliteDatabase, PostgresDatabase],
    }[args.db]
    workers = [int(n) for n in args.workers.split(",")]
    print(
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"Python {sys.version.split()[0]}"
    )
    results = [bench(db, n, args) for _ in range(args.repeat) for db in databases for n in workers]

    print()
    print(HEADER)
    for result in results:
        print(result.row())
    if args.repeat > 1:
        print(f"\nMedians of {args.repeat} runs (each run's figures in the table above):\n")
        print("| database | workers | runs | tokens/s (each) | median tokens/s | median p99 |")
        print("|---|---|---|---|---|---|")
        for db in databases:
            for n in workers:
                runs = [r for r in results if r.database.startswith(db.name) and r.workers == n]
                rates = [r.rate for r in runs]
                p99s = [r.percentile(99) for r in runs]
                print(
                    f"| {db.name} | {n} | {len(runs)} | {', '.join(f'{x:.0f}' for x in rates)} "
                    f"| {statistics.median(rates):.0f} | {statistics.median(p99s):.0f} ms |"
                )
    clean = all(
        r.issued == r.wanted and r.duplicates == 0 and r.gaps == 0 and not r.server_errors
        and not r.locked and r.stored == r.issued
        for r in results
    )  # fmt: skip
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())

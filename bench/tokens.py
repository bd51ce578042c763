#!/usr/bin/env python
"""Token issuing under load: 50 kiosks posting the real form to the app under gunicorn.

For each database and worker count asked for, this script makes a fresh database (an
SQLite file in a temporary directory, or a new PostgreSQL database on 127.0.0.1 that it
drops again), migrates it, creates one department, starts gunicorn (`--workers N`) and
one daphne process as production does, both on the Redis pub/sub channel layer under a
prefix of the run's own (so every issued token is really published), and runs
concurrent HTTP clients, each with its own cookie jar: GET / for the CSRF cookie and
form, then POST / with department, patient_name, mobile, service_date until the wanted
number of tokens is issued. A success is a 302 to /tokens/<uuid>/.

Afterwards it checks the database (no duplicate numbers, no gaps: exactly 1..N), counts
5xx responses and "database is locked" in responses and server logs, and prints tokens/s
and p50/p99 latency of the POSTs.

    .venv/bin/python bench/tokens.py                          # SQLite and PostgreSQL
    .venv/bin/python bench/tokens.py --db sqlite --workers 1,2,4 --repeat 2

Only 127.0.0.1 is ever contacted. Not part of the test suite.
"""

import argparse
import asyncio
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import scratchdb
import stack

DEPARTMENT_CODE = "BNCH"
SUCCESS = re.compile(r"^/tokens/[0-9a-f-]{36}/$")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

SETUP = f"""
from hospital.clock import local_today
from hospital.models import ALL_WEEKDAYS, Department
d = Department.objects.create(name="Bench Medicine", code="{DEPARTMENT_CODE}",
                              open_weekdays=ALL_WEEKDAYS, booking_window_days=7)
print(d.slug, local_today().isoformat())
"""

CHECK = f"""
from queues.models import Token
numbers = list(Token.objects.filter(department__code="{DEPARTMENT_CODE}",
                                    service_date="{{day}}").values_list("number", flat=True))
distinct = len(set(numbers))
print(len(numbers), len(numbers) - distinct, (max(numbers) - distinct) if numbers else 0)
"""


# For --without-broadcast: the real app with the on-commit publish to live screens turned
# off, to measure what that publish costs per token. A what-if, not a configuration.
NO_BROADCAST_APP = """
from hospital.wsgi import application  # noqa: F401
from queues import broadcast

broadcast.department_changed = lambda department_id: None
"""


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
    stored: int = 0
    duplicates: int = 0
    gaps: int = 0
    other_statuses: dict[int, int] = field(default_factory=dict)
    server_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.issued / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return stack.percentile(self.latencies, q) * 1000

    @property
    def clean(self) -> bool:
        return self.issued == self.wanted == self.stored and not (
            self.duplicates or self.gaps or self.failed or self.locked
        )


HEADER = (
    "| database | gunicorn workers | kiosks | tokens | tokens/s | p50 | p99 | duplicates "
    "| gaps | errors | locked |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(r: Result) -> str:
    cells = [r.database, r.workers, r.clients, r.issued, f"{r.rate:.0f}",
             f"{r.p(50):.0f} ms", f"{r.p(99):.0f} ms", r.duplicates, r.gaps,
             r.failed, r.locked]  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"


async def run_clients(base: str, slug: str, day: str, args, result: Result) -> None:
    claimed = 0
    deadline = time.monotonic() + args.cap

    async def kiosk(i: int) -> None:
        nonlocal claimed
        # gunicorn's sync workers close the connection after each response.
        connector = aiohttp.TCPConnector(limit=1, force_close=True)
        async with aiohttp.ClientSession(
            base,
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=30),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        ) as session:
            async with session.get("/") as response:
                match = CSRF_INPUT.search(await response.text())
            if response.status != 200 or not match:
                raise RuntimeError(f"GET / gave {response.status} without a form")
            n = 0
            while time.monotonic() < deadline:
                # Claim a request only while issued + in flight is below the target, so
                # the run stops at exactly the wanted number unless requests fail.
                if result.issued + claimed >= args.tokens:
                    return
                claimed += 1
                n += 1
                form = {
                    "csrfmiddlewaretoken": match.group(1),
                    "department": slug,
                    "patient_name": f"Bench Patient {i}-{n}",
                    "mobile": "",
                    "service_date": day,
                }
                started = time.perf_counter()
                try:
                    async with session.post("/", data=form, allow_redirects=False) as response:
                        body = await response.read()
                        status, location = response.status, response.headers.get("Location", "")
                except (TimeoutError, aiohttp.ClientError):
                    status, body, location = 0, b"", ""
                finally:
                    claimed -= 1
                result.latencies.append(time.perf_counter() - started)
                if status == 302 and SUCCESS.match(location):
                    result.issued += 1
                    continue
                result.failed += 1
                result.other_statuses[status] = result.other_statuses.get(status, 0) + 1
                result.server_errors += status >= 500
                result.locked += stack.LOCKED.encode() in body

    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(kiosk(i) for i in range(args.clients)), return_exceptions=True
    )
    result.seconds = time.perf_counter() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            print(f"  kiosk failed: {outcome!r}")


def bench(database_cls, workers: int, args) -> Result:
    result = Result(database_cls.name, workers, args.clients, args.tokens)
    with database_cls() as database, tempfile.TemporaryDirectory(prefix="opdq-bench-") as logs:
        extra = {"DB_POOL_MAX": str(args.pool_max)} if args.pool_max else {}
        # --workers 0: the small clinic's layout, one daphne process serving pages and
        # sockets with the in-memory channel layer (docs/DEPLOYMENT.md), no Redis.
        redis_url = args.redis_url if workers else ""
        env = stack.app_env(database.url, redis_url=redis_url, **extra)
        stack.manage(env, "migrate", "--noinput", "-v", "0")
        slug, day = stack.shell(env, SETUP).split()
        layout = f"gunicorn --workers {workers} + daphne" if workers else "one daphne"
        print(f"{database.name}, {layout}: {database.url}", flush=True)
        app = "hospital.wsgi:application"
        if args.without_broadcast:
            (Path(logs) / "bench_no_broadcast.py").write_text(NO_BROADCAST_APP)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [logs, env.get("PYTHONPATH")]))
            app = "bench_no_broadcast:application"
            result.database += " (no broadcast)"
        with stack.Stack(env, Path(logs), workers=workers, daphnes=1, wsgi_app=app) as servers:
            if workers:
                workers_pids = [p for p in servers.pids("gunicorn") if p != servers.gunicorn.pid]
            else:
                workers_pids = servers.pids("daphne")
            spies = []
            if args.profile:
                name = f"tokens-{database.name}-{workers}w"
                spies = stack.start_profilers(workers_pids, Path(args.profile), name)
            cpu = servers.cpu_seconds()
            base = servers.http_url if workers else f"http://{stack.HOST}:{servers.ws_ports[0]}"
            asyncio.run(run_clients(base, slug, day, args, result))
            result.server_cpu = servers.cpu_seconds() - cpu
            stack.stop_profilers(spies)
            time.sleep(0.5)  # let the last on-commit publishes finish
        log = servers.log_text()
        result.locked += log.count(stack.LOCKED)
        if args.show_log and log.strip():
            print(log[-5000:])
        stored, duplicates, gaps = stack.shell(env, CHECK.format(day=day)).split()
        result.stored, result.duplicates, result.gaps = int(stored), int(duplicates), int(gaps)
    print(
        f"  {result.issued} tokens in {result.seconds:.1f} s = {result.rate:.0f}/s, "
        f"p50 {result.p(50):.0f} ms, p99 {result.p(99):.0f} ms, failed {result.failed} "
        f"{result.other_statuses or ''}, stored {result.stored}; server CPU "
        f"{1000 * result.server_cpu / max(result.issued, 1):.1f} ms/token; load "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--workers", default="2", help="gunicorn workers; a comma list runs each; 0: one daphne"
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--cap", type=float, default=120, help="seconds of load at most")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each row; medians shown")
    parser.add_argument("--pool-max", type=int, default=0, help="DB_POOL_MAX for PostgreSQL")
    parser.add_argument("--redis-url", default=stack.DEFAULT_REDIS_URL)
    parser.add_argument(
        "--without-broadcast",
        action="store_true",
        help="what-if: turn off the on-commit publish to live screens, to measure its cost",
    )
    parser.add_argument("--profile", help="py-spy the gunicorn workers into this directory")
    parser.add_argument("--show-log", action="store_true", help="print the servers' log tail")
    args = parser.parse_args()
    stack.local_redis(args.redis_url)
    # A stop from outside still stops the servers and drops the scratch database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    databases = {
        "sqlite": [scratchdb.SqliteDatabase],
        "postgres": [scratchdb.PostgresDatabase],
        "both": [scratchdb.SqliteDatabase, scratchdb.PostgresDatabase],
    }[args.db]
    workers = [int(n) for n in args.workers.split(",")]
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}")
    results = [bench(db, n, args) for _ in range(args.repeat) for db in databases for n in workers]

    print()
    print(HEADER)
    for result in results:
        print(row(result))
    if args.repeat > 1:
        print(f"\nMedians of {args.repeat} runs:\n")
        print(
            "| database | gunicorn workers | tokens/s (each run) | median tokens/s | median p99 |"
        )
        print("|---|---|---|---|---|")
        for db in databases:
            for n in workers:
                runs = [r for r in results if r.database.startswith(db.name) and r.workers == n]
                rates = [r.rate for r in runs]
                print(
                    f"| {db.name} | {n} | {', '.join(f'{x:.0f}' for x in rates)} "
                    f"| {statistics.median(rates):.0f} "
                    f"| {statistics.median(r.p(99) for r in runs):.0f} ms |"
                )
    return 0 if all(r.clean for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

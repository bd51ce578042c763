#!/usr/bin/env python
"""Slot holds under load: 50 reception desks booking through the reception pages.

For each database and worker count asked for, this script makes a fresh database (an
SQLite file in a temporary directory, or a new PostgreSQL database on 127.0.0.1 that it
drops again), migrates it, creates 50 receptionists and doctors with 5-minute OPD slots
for tomorrow, starts gunicorn (`--workers N`) and one daphne process on the Redis pub/sub
channel layer as production does, signs each desk in (its own session) and runs two
rounds, each attempt a POST of the booking form to /reception/book/:

1. Spread: the desks hold 2,000 slots across 10 doctors. Each desk picks a random slot
   from the list of slots it believes free (the list goes stale, as a receptionist's
   screen does), so some attempts collide; it goes on until every slot is held.
2. Hot slot: all 50 desks, released together, go for the same slot; repeated for
   several slots. Exactly one may win each time.

A hold is a 302 to the code page; a lost race is the booking page again saying the slot
is taken. Anything else (a 5xx, "database is locked", another page) is an error.
Afterwards it reads the database through the ORM: no slot with more than one slot-taking
appointment, every spread slot held, one hold per hot slot.

    .venv/bin/python bench/booking.py                          # SQLite and PostgreSQL
    .venv/bin/python bench/booking.py --db sqlite --workers 1,2 --repeat 2

Only 127.0.0.1 is ever contacted. Not part of the test suite.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import scratchdb
import stack

DOCTORS = 10
SLOT_MINUTES = 5
FIRST_SLOT = 6 * 60  # 06:00, in minutes
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HELD = re.compile(r"^/reception/appointments/[0-9a-f-]{36}/verify/$")
LOST = ("just taken", "not free")
ERROR_ITEM = re.compile(r'<ul class="errorlist[^"]*"[^>]*><li>([^<]*)</li>')

# Tomorrow's OPD for 10 doctors and a hot one, and a receptionist; prints the ids.
SETUP = """
import datetime, json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from appointments.models import DoctorSchedule
from hospital.clock import local_today
from hospital.models import ALL_WEEKDAYS, Department, Doctor, Roles

User = get_user_model()
day = local_today() + datetime.timedelta(days=1)
first, minutes, per_doctor = {first}, {minutes}, {per_doctor}
start = datetime.time(first // 60, first % 60)
last = first + minutes * per_doctor
end = datetime.time(last // 60, last % 60)
group = Group.objects.get_or_create(name=Roles.RECEPTIONIST)[0]
for i in range({desks}):
    User.objects.create_user(username=f"bench-desk-{{i}}", password="{password}").groups.add(group)
departments = [
    Department.objects.create(name=f"Bench {{i}}", code=f"BN{{i}}", open_weekdays=ALL_WEEKDAYS)
    for i in range(2)
]
doctors = []
for i in range({doctors} + 1):
    user = User.objects.create_user(username=f"bench-dr-{{i}}", password="{password}")
    doctor = Doctor.objects.create(
        user=user, name=f"Dr. Bench {{i:02d}}", department=departments[i % 2], room=str(i)
    )
    DoctorSchedule.objects.create(
        doctor=doctor, weekday=day.weekday(), start=start, end=end, slot_minutes=minutes
    )
    doctors.append(doctor.pk)
print(json.dumps({{"day": day.isoformat(), "doctors": doctors[:-1], "hot": doctors[-1]}}))
"""

CHECK = """
import json
from django.db.models import Count
from appointments.models import Appointment
taking = Appointment.objects.filter(status__in=Appointment.SLOT_TAKING)
double = taking.values("doctor", "date", "start").annotate(n=Count("id")).filter(n__gt=1).count()
print(json.dumps({{
    "double_booked": double,
    "held": taking.exclude(doctor_id={hot}).count(),
    "hot_held": taking.filter(doctor_id={hot}).count(),
}}))
"""


def slot_time(index: int) -> str:
    minutes = FIRST_SLOT + SLOT_MINUTES * index
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class Desk:
    """One receptionist's browser: its own session, signed in."""

    def __init__(self, base: str, username: str, password: str, serial):
        self.base, self.username, self.password, self.serial = base, username, password, serial
        self.session = aiohttp.ClientSession(
            base,
            connector=aiohttp.TCPConnector(limit=1, force_close=True),
            timeout=aiohttp.ClientTimeout(total=60),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )

    async def sign_in(self) -> None:
        async with self.session.get("/accounts/login/") as response:
            token = CSRF_INPUT.search(await response.text())
        form = {"username": self.username, "password": self.password}
        form["csrfmiddlewaretoken"] = token.group(1) if token else ""
        async with self.session.post(
            "/accounts/login/", data=form, allow_redirects=False
        ) as response:
            if response.status != 302:
                raise RuntimeError(f"sign-in gave HTTP {response.status}")

    async def hold(self, doctor: int, day: str, start: str) -> tuple[str, float]:
        """('held' | 'lost' | 'error: …', seconds)."""
        n = next(self.serial)
        csrf = next((c.value for c in self.session.cookie_jar if c.key == "csrftoken"), "")
        form = {
            "csrfmiddlewaretoken": csrf,
            "doctor": str(doctor),
            "date": day,
            "start": start,
            "patient_name": f"Bench Patient {n}",
            "mobile": f"+9198{n:08d}",
            "email": "",
            "reason": "Bench",
        }
        began = time.perf_counter()
        try:
            async with self.session.post(
                "/reception/book/", data=form, allow_redirects=False
            ) as response:
                body = await response.text()
                status, location = response.status, response.headers.get("Location", "")
        except (TimeoutError, aiohttp.ClientError) as exc:
            return f"error: {exc!r}", time.perf_counter() - began
        took = time.perf_counter() - began
        if status == 302 and HELD.match(location):
            return "held", took
        if status == 200 and any(words in body for words in LOST):
            return "lost", took
        locked = " (database is locked)" if stack.LOCKED in body else ""
        said = "; ".join(sorted(set(ERROR_ITEM.findall(body))))[:200]
        return f"error: HTTP {status} {location}{locked} {said}", took

    async def close(self) -> None:
        await self.session.close()


async def run_desks(base: str, plan: dict, args, password: str) -> dict:
    serial = iter(range(10**7))
    desks = [Desk(base, f"bench-desk-{i}", password, serial) for i in range(args.clients)]
    outcome = {"latencies": [], "hot_latencies": [], "hot_winners": [], "errors": []}
    try:
        await asyncio.gather(*(d.sign_in() for d in desks))
        targets = [(doc, slot_time(i)) for doc in plan["doctors"] for i in range(plan["per"])]
        targets = targets[: args.slots]
        believed_free = set(range(len(targets)))
        rng = random.Random(1)
        attempts = 0

        async def spread(desk: Desk) -> None:
            nonlocal attempts
            while believed_free:
                index = rng.choice(tuple(believed_free))
                doctor, start = targets[index]
                answer, took = await desk.hold(doctor, plan["day"], start)
                attempts += 1
                outcome["latencies"].append(took)
                if answer.startswith("error"):
                    outcome["errors"].append(answer)
                # Won or lost, the slot is taken now; the desk's list catches up.
                believed_free.discard(index)

        began = time.perf_counter()
        await asyncio.gather(*(spread(d) for d in desks))
        outcome["seconds"] = time.perf_counter() - began
        outcome["attempts"], outcome["slots"] = attempts, len(targets)

        for i in range(args.hot_rounds):
            answers = await asyncio.gather(
                *(d.hold(plan["hot"], plan["day"], slot_time(i)) for d in desks)
            )
            outcome["hot_winners"].append(sum(a == "held" for a, _ in answers))
            outcome["hot_latencies"] += [took for _, took in answers]
            outcome["errors"] += [a for a, _ in answers if a.startswith("error")]
    finally:
        await asyncio.gather(*(d.close() for d in desks))
    return outcome


def bench(database_cls, workers: int, args) -> dict:
    password = secrets.token_urlsafe(12)
    per_doctor = -(-max(args.slots, args.hot_rounds * DOCTORS) // DOCTORS)
    with database_cls() as database, tempfile.TemporaryDirectory(prefix="opdq-bench-") as tmp:
        extra = {"DB_POOL_MAX": str(args.pool_max)} if args.pool_max else {}
        # The codes are really "sent": appended to a file, as the tests read them.
        # Each desk holds far more slots than a receptionist would, without entering the
        # codes: the desk limits (an abuse guard) are raised so that the hold path is what
        # is measured.
        env = stack.app_env(
            database.url,
            redis_url=args.redis_url,
            SMS_BACKEND="outbox",
            OUTBOX_DIR=tmp,
            DESK_MAX_OPEN_HOLDS="100000",
            DESK_MAX_CODES_PER_HOUR="100000",
            **extra,
        )
        stack.manage(env, "migrate", "--noinput", "-v", "0")
        setup = SETUP.format(
            first=FIRST_SLOT, minutes=SLOT_MINUTES, per_doctor=per_doctor, password=password,
            doctors=DOCTORS, desks=args.clients,
        )  # fmt: skip
        plan = json.loads(stack.shell(env, setup))
        plan["per"] = per_doctor
        print(f"{database.name}, gunicorn --workers {workers} + daphne: {database.url}", flush=True)
        with stack.Stack(env, Path(tmp), workers=workers, daphnes=1) as servers:
            spies = []
            if args.profile:
                workers_pids = [p for p in servers.pids("gunicorn") if p != servers.gunicorn.pid]
                name = f"booking-{database.name}-{workers}w"
                spies = stack.start_profilers(workers_pids, Path(args.profile), name)
            cpu = servers.cpu_seconds()
            outcome = asyncio.run(run_desks(servers.http_url, plan, args, password))
            cpu = servers.cpu_seconds() - cpu
            stack.stop_profilers(spies)
        locked = servers.log_text().count(stack.LOCKED)
        check = json.loads(stack.shell(env, CHECK.format(hot=plan["hot"])))
    lat, hot = outcome["latencies"], outcome["hot_latencies"]
    result = {
        "database": database.name,
        "workers": workers,
        "clients": args.clients,
        "slots": outcome["slots"],
        "attempts": outcome["attempts"],
        "rate": outcome["attempts"] / outcome["seconds"],
        "p50": stack.percentile(lat, 50) * 1000,
        "p99": stack.percentile(lat, 99) * 1000,
        "hot_winners": outcome["hot_winners"],
        "hot_p99": stack.percentile(hot, 99) * 1000,
        "errors": len(outcome["errors"]),
        "locked": locked,
        **check,
    }
    for message in sorted(set(outcome["errors"]))[:5]:
        print(f"  {message}")
    print(
        f"  {result['attempts']} attempts for {result['slots']} slots in "
        f"{outcome['seconds']:.1f} s = {result['rate']:.0f}/s, p50 {result['p50']:.0f} ms, "
        f"p99 {result['p99']:.0f} ms; server CPU {1000 * cpu / max(result['attempts'], 1):.1f} "
        f"ms/attempt; hot winners {result['hot_winners']}; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result


HEADER = (
    "| database | gunicorn workers | desks | slots held | attempts | attempts/s | p50 | p99 "
    "| hot rounds: winners each | hot p99 | double-booked | errors | locked |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(r: dict) -> str:
    cells = [
        r["database"], r["workers"], r["clients"], f"{r['held']}/{r['slots']}", r["attempts"],
        f"{r['rate']:.0f}", f"{r['p50']:.0f} ms", f"{r['p99']:.0f} ms",
        f"{len(r['hot_winners'])}: {'/'.join(str(w) for w in sorted(set(r['hot_winners'])))}",
        f"{r['hot_p99']:.0f} ms", r["double_booked"], r["errors"], r["locked"],
    ]  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"


def clean(r: dict) -> bool:
    return (
        r["double_booked"] == 0 and r["errors"] == 0 and r["locked"] == 0
        and r["held"] == r["slots"] and set(r["hot_winners"]) == {1}
        and r["hot_held"] == len(r["hot_winners"])
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", default="2", help="gunicorn workers; a comma list runs each")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--slots", type=int, default=2000)
    parser.add_argument("--hot-rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each row; medians shown")
    parser.add_argument("--pool-max", type=int, default=0, help="DB_POOL_MAX for PostgreSQL")
    parser.add_argument("--redis-url", default=stack.DEFAULT_REDIS_URL)
    parser.add_argument("--profile", help="py-spy the gunicorn workers into this directory")
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
        print("| database | gunicorn workers | attempts/s (each run) | median attempts/s "
              "| median p99 |\n|---|---|---|---|---|")  # fmt: skip
        for db in databases:
            for n in workers:
                runs = [r for r in results if r["database"] == db.name and r["workers"] == n]
                rates = [r["rate"] for r in runs]
                print(
                    f"| {db.name} | {n} | {', '.join(f'{x:.0f}' for x in rates)} "
                    f"| {statistics.median(rates):.0f} "
                    f"| {statistics.median(r['p99'] for r in runs):.0f} ms |"
                )
    return 0 if all(clean(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

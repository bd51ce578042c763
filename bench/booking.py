#!/usr/bin/env python
"""Slot holding under load: 50 reception desks holding slots at once, through the
service layer (appointments.services.hold_slot) from 50 threads in one process.

Not through HTTP: the reception booking page was being built at the same time as this
script, and the hold is where the races are. Each thread stands for one desk and ends
every attempt as a request ends (`close_old_connections`, Django's request_finished
handler): on PostgreSQL (CONN_MAX_AGE=0) that hands the connection back to the psycopg
pool; on SQLite the server keeps one connection per request thread, and so does a desk.

For each database asked for, this script makes a fresh database (an SQLite file in a
temporary directory, or a new PostgreSQL database on 127.0.0.1 that it drops again),
migrates it in a child process, creates doctors with 5-minute OPD slots for tomorrow and
then runs two rounds:

1. Spread: 50 desks hold 2,000 slots across 10 doctors. Each desk picks a random slot from
   the list of slots it believes free (the list goes stale, as a receptionist's screen
   does), so some attempts collide; it goes on until every slot is held.
2. Hot slot: all 50 desks, released together by a barrier, go for the same slot; repeated
   for several slots. Exactly one may win each time.

Afterwards it checks the database: no slot with more than one slot-taking appointment,
one winner per hot slot, every loser told so in words (BookingError), never an
IntegrityError or "database is locked". It prints attempts/s and p50/p99 of hold_slot.

    .venv/bin/python bench/booking.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/booking.py --db sqlite --slots 500

Only 127.0.0.1 is ever contacted. Not part of the test suite.
"""

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import scratchdb
from machine import reference_loop_seconds

ROOT = Path(__file__).resolve().parent.parent
DOCTORS = 10
SLOT_MINUTES = 5


# --- Parent: databases and the table ------------------------------------------------------


class SqliteDatabase(scratchdb.SqliteDatabase):
    prefix = "opdq-bench-booking-"


class PostgresDatabase(scratchdb.PostgresDatabase):
    prefix = "opdq_bench_booking_"


def run_child(database_cls, args) -> dict:
    with database_cls() as database, tempfile.TemporaryDirectory(prefix="opdq-outbox-") as box:
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "SECRET_KEY": "bench-" + secrets.token_hex(16),
            "DEBUG": "0",
            "DJANGO_SETTINGS_MODULE": "hospital.settings",
            # The codes are really "sent": appended to a file, as the tests read them.
            "SMS_BACKEND": "outbox",
            "OUTBOX_DIR": box,
            "LOG_LEVEL": "WARNING",
        }
        if args.pool_max or args.keep_connections:
            # Kept connections: one per desk thread, all at once, from the pool.
            env["DB_POOL_MAX"] = str(args.pool_max or args.clients + 5)
        env.pop("REDIS_URL", None)
        print(f"{database.name}: {database.url}", flush=True)
        command = [
            sys.executable, __file__, "--child",
            "--clients", str(args.clients), "--slots", str(args.slots),
            "--hot-rounds", str(args.hot_rounds),
            *(["--keep-connections"] if args.keep_connections else []),
            *(["--returning"] if args.returning else []),
        ]  # fmt: skip
        out = subprocess.run(
            command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=1800
        )
        sys.stderr.write(out.stderr[-3000:])
        lines = out.stdout.strip().splitlines()
        for line in lines[:-1]:
            print("  " + line)
        result = json.loads(lines[-1])
        result["database"] = database.name + (", kept connections" if args.keep_connections else "")
        result["database"] += ", returning patients" if args.returning else ""
        return result


HEADER = (
    "| database | clients | slots | attempts | held | attempts/s | p50 | p99 | hot slots "
    "| winners each | hot p50 | hot p99 | double-booked | unexpected errors |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(r: dict) -> str:
    cells = [
        r["database"], r["clients"], r["slots"], r["attempts"], r["held"],
        f"{r['rate']:.0f}", f"{r['p50']:.0f} ms", f"{r['p99']:.0f} ms",
        r["hot_rounds"], "/".join(str(w) for w in sorted(set(r["hot_winners"]))),
        f"{r['hot_p50']:.0f} ms", f"{r['hot_p99']:.0f} ms",
        r["double_booked"], r["unexpected"],
    ]  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--slots", type=int, default=2000)
    parser.add_argument("--hot-rounds", type=int, default=10)
    parser.add_argument("--pool-max", type=int, default=0, help="DB_POOL_MAX for PostgreSQL")
    parser.add_argument(
        "--keep-connections",
        action="store_true",
        help="what-if: each desk keeps its database connection instead of ending every "
        "attempt as a request does (on PostgreSQL: back to the pool)",
    )
    parser.add_argument(
        "--returning",
        action="store_true",
        help="every hold is for a patient registered beforehand (found by mobile, their "
        "codes sent today counted) instead of a new one",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    databases = {
        "sqlite": [SqliteDatabase],
        "postgres": [PostgresDatabase],
        "both": [SqliteDatabase, PostgresDatabase],
    }[args.db]
    print(
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"Python {sys.version.split()[0]}"
    )
    results = []
    for db in databases:
        speed = reference_loop_seconds()
        print(f"  reference loop {speed:.2f} s before {db.name} (bench/machine.py)")
        results.append(run_child(db, args))
    print()
    print(HEADER)
    for result in results:
        print(row(result))
    clean = all(
        r["double_booked"] == 0 and r["unexpected"] == 0 and r["held"] == r["slots"]
        and set(r["hot_winners"]) == {1}
        for r in results
    )  # fmt: skip
    return 0 if clean else 1


# --- Child: Django in this process, 50 desks as threads -----------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def child(args) -> int:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import close_old_connections, connection
    from django.db.models import Count
    from django.utils import timezone

    from appointments.models import Appointment, DoctorSchedule, Patient
    from appointments.services import BookingError, free_slots, hold_slot
    from hospital.models import ALL_WEEKDAYS, Department, Doctor

    call_command("migrate", "--noinput", verbosity=0)
    User = get_user_model()
    desk = User.objects.create_user(username="bench-desk", password=secrets.token_hex(8))
    day = timezone.localdate() + datetime.timedelta(days=1)
    per_doctor = -(-args.slots // DOCTORS)
    session_end = (
        datetime.datetime.combine(day, datetime.time(6))
        + datetime.timedelta(minutes=SLOT_MINUTES * per_doctor)
    ).time()
    departments = [
        Department.objects.create(name=f"Bench {i}", code=f"BN{i}", open_weekdays=ALL_WEEKDAYS)
        for i in range(2)
    ]
    doctors = []
    for i in range(DOCTORS + 1):  # the last one is the hot doctor
        user = User.objects.create_user(username=f"bench-dr-{i}", password=secrets.token_hex(8))
        doctor = Doctor.objects.create(
            user=user, name=f"Dr. Bench {i:02d}", department=departments[i % 2], room=str(i)
        )
        DoctorSchedule.objects.create(
            doctor=doctor, weekday=day.weekday(), start=datetime.time(6), end=session_end,
            slot_minutes=SLOT_MINUTES,
        )  # fmt: skip
        doctors.append(doctor)
    hot_doctor = doctors.pop()
    targets = [(d, s.start) for d in doctors for s in free_slots(d, day)][: args.slots]
    hot_targets = [s.start for s in free_slots(hot_doctor, day)][: args.hot_rounds]
    if args.returning:
        # One patient per slot; attempts beyond that (lost races, hot rounds) reuse them,
        # a few codes each, under the daily limit.
        Patient.objects.bulk_create(
            Patient(name=f"Bench Patient {n}", mobile=f"+9198{n:08d}") for n in range(len(targets))
        )
    connection.close()

    lock = threading.Lock()
    serial = iter(range(10**7))
    unexpected: list[str] = []

    def attempt(doctor, start) -> tuple[bool, float]:
        with lock:
            n = next(serial)
            if args.returning:
                n %= len(targets)
        began = time.perf_counter()
        try:
            hold_slot(
                doctor=doctor, day=day, start=start, patient_name=f"Bench Patient {n}",
                mobile=f"+9198{n:08d}", reason="Bench", actor=desk,
            )  # fmt: skip
            won = True
        except BookingError as exc:
            won = False
            if "taken" not in str(exc) and "not free" not in str(exc):
                with lock:
                    unexpected.append(str(exc))
        except Exception as exc:  # IntegrityError, "database is locked": the failures
            won = False
            with lock:
                unexpected.append(repr(exc))
        finally:
            if not args.keep_connections:
                close_old_connections()  # as at the end of a request
        return won, time.perf_counter() - began

    # Round 1: spread over 2,000 slots, from a free list that goes stale.
    believed_free = list(range(len(targets)))
    latencies: list[float] = []
    attempts = [0]

    def spread_desk(seed: int) -> None:
        rng = random.Random(seed)
        while True:
            with lock:
                if not believed_free:
                    connection.close()
                    return
                index = rng.choice(believed_free)
            _, took = attempt(*targets[index])
            with lock:
                attempts[0] += 1
                latencies.append(took)
                # Won or lost, the slot is taken now; the desk's list catches up.
                if index in believed_free:
                    believed_free.remove(index)

    load_before = os.getloadavg()
    cpu_before = time.process_time()
    began = time.perf_counter()
    threads = [threading.Thread(target=spread_desk, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu_before

    # Round 2: everybody at once for one slot, several times.
    hot_latencies: list[float] = []
    hot_winners = []
    for start in hot_targets:
        barrier = threading.Barrier(args.clients)
        wins = []

        def hot_desk(start=start, barrier=barrier, wins=wins) -> None:
            barrier.wait(timeout=60)
            won, took = attempt(hot_doctor, start)
            connection.close()
            with lock:
                hot_latencies.append(took)
                wins.append(won)

        threads = [threading.Thread(target=hot_desk) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        hot_winners.append(sum(wins))

    taking = Appointment.objects.filter(status__in=Appointment.SLOT_TAKING)
    double_booked = (
        taking.values("doctor", "date", "start").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    held = taking.filter(doctor__in=doctors).count()
    hot_held = taking.filter(doctor=hot_doctor).count()
    load_after = os.getloadavg()
    connection.close()
    for message in sorted(set(unexpected))[:10]:
        print(f"unexpected: {message}")
    print(
        f"{attempts[0]} attempts for {len(targets)} slots in {seconds:.1f} s "
        f"= {attempts[0] / seconds:.0f}/s; CPU {1000 * cpu / max(attempts[0], 1):.1f} ms/attempt "
        f"(all threads); hot slots held {hot_held}/{len(hot_targets)}; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print(
        json.dumps(
            {
                "clients": args.clients,
                "slots": len(targets),
                "attempts": attempts[0],
                "held": held,
                "rate": attempts[0] / seconds,
                "p50": percentile(latencies, 50),
                "p99": percentile(latencies, 99),
                "hot_rounds": len(hot_targets),
                "hot_winners": hot_winners,
                "hot_p50": percentile(hot_latencies, 50),
                "hot_p99": percentile(hot_latencies, 99),
                "double_booked": double_booked,
                "unexpected": len(unexpected),
                "load": [load_before[0], load_after[0]],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

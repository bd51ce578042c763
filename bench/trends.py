#!/usr/bin/env python
"""The trends report over a large OPD: 90 days x 15,000 visits a day on PostgreSQL.

Makes a scratch PostgreSQL database on 127.0.0.1 (dropped afterwards), migrates it,
creates 30 departments with two doctors each, then fills it with bulk INSERT ... SELECT
statements (generate_series, in the database: millions of rows in a minute, where the
ORM's bulk_create would take many): per day and department, tokens issued from 08:00 to
17:00 local time (more in the morning), waits drawn from an exponential distribution
whose mean differs per department (capped at 4 hours), 5 % skipped, 3 % cancelled, the
rest seen for 5-15 minutes; each token's history (issued, called, started, completed /
skipped / cancelled events); a pause a day for every doctor; and appointment no-shows
and cancellations. Then VACUUM ANALYZE (as autovacuum would after a load).

The range is the last --days days, today included: the finished days are read from
their per-day summaries (appointments.summaries), built and timed first, as the worker's
nightly job or the report's first view would build them; today is counted live.

It renders /reception/reports/trends/?from=...&to=... for the whole range through
Django's test client as a signed-in receptionist, --repeat times, and prints the median;
then the queries of one run with their times, and EXPLAIN (ANALYZE, BUFFERS) of the
slowest when the median is over the aim (2 s).

    .venv/bin/python bench/trends.py                       # 90 days x 15,000
    .venv/bin/python bench/trends.py --days 28 --per-day 2000 --repeat 3
    .venv/bin/python bench/trends.py --keep                # leave the database (prints its URL)
    .venv/bin/python bench/trends.py --database-url postgres://postgres@127.0.0.1:5432/NAME

Only 127.0.0.1 is ever contacted. Not part of the test suite.
"""

import argparse
import datetime
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import scratchdb

ROOT = Path(__file__).resolve().parent.parent
AIM_SECONDS = 2.0
TIME_ZONE = "Asia/Kolkata"

TOKENS = """
WITH departments AS (
    SELECT d.id, row_number() OVER (ORDER BY d.id) AS k, min(doc.id) AS doc1, max(doc.id) AS doc2
    FROM hospital_department d JOIN hospital_doctor doc ON doc.department_id = d.id
    WHERE d.code LIKE 'B%%' GROUP BY d.id
), base AS (
    SELECT d.id AS department_id, d.k, day::date AS day, n,
           CASE WHEN n %% 2 = 0 THEN d.doc1 ELSE d.doc2 END AS doctor_id,
           random() AS r_wait, random() AS r_status, random() AS r_service,
           ((day::date + time '08:00') AT TIME ZONE %(tz)s)
             + make_interval(secs => 32400 * power(n::float / %(per)s, 1.3)) AS issued
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day,
         departments d, generate_series(1, %(per)s) AS n
), timed AS (
    SELECT base.*,
           CASE WHEN r_status < 0.05 THEN 'skipped'
                WHEN r_status < 0.08 THEN 'cancelled' ELSE 'completed' END AS status,
           make_interval(mins => LEAST(floor(-ln(1 - r_wait) * (8 + 4 * (k %% 8))), 240)::int)
             AS wait,
           make_interval(mins => (5 + floor(r_service * 11))::int) AS service
    FROM base
)
INSERT INTO queues_token (public_id, department_id, service_date, number, patient_name,
                          mobile, priority, status, issued_at, queued_at, called_at,
                          started_at, completed_at, doctor_id)
SELECT gen_random_uuid(), department_id, day, n, 'Bench patient', '', 0, status,
       issued, issued,
       CASE WHEN status <> 'cancelled' THEN issued + wait END,
       CASE WHEN status = 'completed' THEN issued + wait + interval '1 minute' END,
       CASE WHEN status = 'completed' THEN issued + wait + interval '1 minute' + service END,
       doctor_id
FROM timed
"""

EVENTS = """
INSERT INTO queues_tokenevent (token_id, department_id, service_date, token_number, kind,
                               at, note, doctor_id)
SELECT t.id, t.department_id, t.service_date, t.number, e.kind, e.at, '', t.doctor_id
FROM queues_token t CROSS JOIN LATERAL (VALUES
    ('issued', t.issued_at),
    ('called', t.called_at),
    ('started', t.started_at),
    ('completed', t.completed_at),
    ('skipped', CASE WHEN t.status = 'skipped' THEN t.called_at + interval '3 minutes' END),
    ('cancelled', CASE WHEN t.status = 'cancelled' THEN t.issued_at + interval '20 minutes' END)
) AS e(kind, at)
WHERE e.at IS NOT NULL
"""

PAUSES = """
INSERT INTO queues_deskevent (department_id, doctor_id, kind, reason, at)
SELECT doc.department_id, doc.id, e.kind, '', e.at
FROM hospital_doctor doc,
     generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day,
     LATERAL (SELECT ((day::date + time '11:00') AT TIME ZONE %(tz)s)
                     + make_interval(mins => (doc.id * 7 %% 120)::int) AS paused_at) p,
     LATERAL (VALUES
        ('paused', p.paused_at),
        ('resumed', p.paused_at + make_interval(mins => (10 + doc.id %% 20)::int))
     ) e(kind, at)
"""

APPOINTMENTS = """
WITH made AS (
    INSERT INTO appointments_appointment (public_id, patient_id, doctor_id, date, start, "end",
                                          reason, status, created_at, is_walk_in, is_emergency)
    SELECT gen_random_uuid(), %(patient)s, doc.id, day::date, time '09:00', time '09:15',
           'Bench', CASE WHEN i %% 3 = 0 THEN 'no_show' ELSE 'cancelled' END,
           (day::date + time '08:00') AT TIME ZONE %(tz)s, false, false
    FROM hospital_doctor doc,
         generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day,
         generate_series(1, 6) AS i
    RETURNING id, status, created_at
)
INSERT INTO appointments_appointmentevent (appointment_id, kind, at, reason, changes)
SELECT id, status, created_at + interval '2 hours', '', '{}'::jsonb FROM made
"""


def setup_django(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ["TIME_ZONE"] = TIME_ZONE
    os.environ["DJANGO_SETTINGS_MODULE"] = "hospital.settings"
    import django

    django.setup()


def build(days: int, per_day: int, departments: int) -> tuple[datetime.date, datetime.date]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from appointments.models import Patient
    from hospital.clock import local_today
    from hospital.models import ALL_WEEKDAYS, Department, Doctor

    call_command("migrate", verbosity=0)
    User = get_user_model()
    for i in range(1, departments + 1):
        department = Department.objects.create(
            name=f"Bench department {i:02d}", code=f"B{i:02d}", open_weekdays=ALL_WEEKDAYS
        )
        for j in (1, 2):
            user = User.objects.create_user(username=f"bench-dr-{i}-{j}")
            Doctor.objects.create(
                user=user, name=f"Dr. Bench {i}-{j}", department=department, room=str(i)
            )
    patient = Patient.objects.create(name="Bench patient")
    last = local_today()
    first = last - datetime.timedelta(days=days - 1)
    params = {
        "first": first, "last": last, "tz": TIME_ZONE, "per": -(-per_day // departments),
        "patient": patient.pk,
    }  # fmt: skip
    for name, sql in (("tokens", TOKENS), ("token events", EVENTS), ("pauses", PAUSES),
                      ("appointments", APPOINTMENTS)):  # fmt: skip
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.rowcount
        print(f"  {name}: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)
    return first, last


def summarise(first: datetime.date, last: datetime.date) -> None:
    """Build the finished days' summaries (what the nightly job or the first view does)."""
    from appointments import summaries
    from appointments.models import DaySummary

    started = time.perf_counter()
    days = summaries.build(first, last)
    elapsed = time.perf_counter() - started
    rows = DaySummary.objects.filter(service_date__range=(first, last)).count()
    print(f"  summaries: {days} days, {rows:,} rows in {elapsed:.1f} s "
          f"({elapsed / max(days, 1) * 1000:,.0f} ms a day)", flush=True)  # fmt: skip


def measure(first: datetime.date, last: datetime.date, repeat: int) -> float:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from hospital.models import Roles
    from hospital.roles import RECEPTION_PERMISSION

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(username="bench-reception")
    group = Group.objects.get_or_create(name=Roles.RECEPTIONIST)[0]
    app_label, codename = RECEPTION_PERMISSION.split(".")
    group.permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                 codename=codename))  # fmt: skip
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    url = f"{reverse('reception_trends')}?from={first}&to={last}"
    print(f"GET {url}", flush=True)
    times = []
    for run in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        assert b"Per department" in response.content
        label = "warm-up" if run == 0 else f"run {run}"
        print(f"  {label}: {elapsed * 1000:,.0f} ms ({len(response.content):,} bytes)", flush=True)
        if run:
            times.append(elapsed)
    median = statistics.median(times)

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    slow = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
    print("Queries of one run, slowest first:")
    for q in slow[:8]:
        print(f"  {float(q['time']) * 1000:8.0f} ms  {q['sql'][:150]}")
    if median > AIM_SECONDS and slow:
        print("EXPLAIN (ANALYZE, BUFFERS) of the slowest:")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slow[0]['sql']}")
            for (line,) in cursor.fetchall():
                print("  " + line)
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=int, default=15000, help="tokens a day, all departments")
    parser.add_argument("--departments", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--database-url", help="measure an already built database")
    args = parser.parse_args()

    if args.database_url:
        assert "@127.0.0.1:" in args.database_url, "only a local database"
        setup_django(args.database_url)
        from django.core.management import call_command

        from hospital.clock import local_today

        call_command("migrate", verbosity=0)
        last = local_today()
        first = last - datetime.timedelta(days=args.days - 1)
        summarise(first, last)
        median = measure(first, last, args.repeat)
    else:
        database = scratchdb.PostgresDatabase()
        database.__enter__()
        try:
            print(f"Building {args.days} days x {args.per_day:,} tokens in {database.url}")
            setup_django(database.url)
            first, last = build(args.days, args.per_day, args.departments)
            summarise(first, last)
            median = measure(first, last, args.repeat)
        finally:
            from django.db import connections

            connections.close_all()
            if args.keep:
                print(f"Kept: --database-url {database.url}")
            else:
                database.__exit__(None, None, None)
    verdict = "met" if median <= AIM_SECONDS else "MISSED"
    print(f"\n| {args.days} days x {args.per_day:,} tokens/day | median of {args.repeat} | "
          f"{median * 1000:,.0f} ms | aim ≤ {AIM_SECONDS:.0f} s: {verdict} |")  # fmt: skip
    return 0 if median <= AIM_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

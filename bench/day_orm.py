"""The day replay's database side (bench/day.py), run by `manage.py shell` in a child
process with Django set up: `setup` builds the hospital and the appointments booked before
the day, `check` verifies the day's invariants afterwards. Both read and write JSON files
named in the environment (DAY_IN, DAY_OUT), so nothing is parsed from standard output."""

import datetime
import json
import os
from collections import Counter as Tally
from collections import defaultdict
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.utils import timezone

from api.keys import create_key
from appointments.history import record_event
from appointments.models import Appointment, AppointmentEvent, DoctorSchedule, Notification
from appointments.patients import find_or_register_patient
from hospital.clock import local_today
from hospital.models import ALL_WEEKDAYS, Counter, CounterStaff, Department, Doctor, Roles
from hospital.phones import normalize_mobile
from queues.models import PriorityCategory, Token, TokenEvent, Visit, VisitStop

User = get_user_model()


def session_of(user) -> str:
    """A signed-in session for `user`, as the login form would give: the bench's 140
    staff would otherwise spend the first seconds of the run hashing Argon2 passwords."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def setup(spec: dict) -> dict:
    today = local_today()
    now = timezone.now()
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in Roles.ALL}
    out: dict = {"day": today.isoformat(), "departments": [], "staff": [], "reception": []}
    with transaction.atomic():
        departments = []
        for d in spec["departments"]:
            department = Department.objects.create(
                name=d["name"],
                code=d["code"],
                kind=Department.Kind.SERVICE if d["service"] else Department.Kind.CLINICAL,
                open_weekdays=ALL_WEEKDAYS,
                booking_window_days=7,
            )
            departments.append(department)
            out["departments"].append({"pk": department.pk, "slug": department.slug})
        doctors: dict[int, list[Doctor]] = defaultdict(list)
        for s in spec["staff"]:
            department = departments[s["department"]]
            user = User.objects.create_user(s["username"], password=None)
            if s["kind"] == "doctor":
                user.groups.add(groups[Roles.DOCTOR])
                doctor = Doctor.objects.create(
                    user=user, name=s["name"], department=department, room=s["place"]
                )
                doctors[s["department"]].append(doctor)
                DoctorSchedule.objects.create(
                    doctor=doctor,
                    weekday=today.weekday(),
                    start=datetime.time(8),
                    end=datetime.time(16),
                    slot_minutes=5,
                )
            else:
                user.groups.add(groups[Roles.COUNTER])
                counter = Counter.objects.create(department=department, name=s["place"])
                CounterStaff.objects.create(
                    user=user, name=s["name"], department=department, counter=counter
                )
            out["staff"].append({"username": s["username"], "session": session_of(user)})
        desks = []
        for i in range(spec["reception_desks"]):
            user = User.objects.create_user(f"desk{i + 1:02d}", password=None)
            user.groups.add(groups[Roles.RECEPTIONIST])
            desks.append(user)
            out["reception"].append(session_of(user))
        integrator = User.objects.create_user("bench-integrator", password=None)
        _key, raw = create_key("Bench HIS", ["read", "tokens"], created_by=integrator)
        out["api_key"] = raw

    # Appointments booked on earlier days, with the history booking writes (held, code
    # sent, booked); the day itself then only checks them in. Each gets the first free
    # 5-minute slot of its department's doctors from its arrival time on.
    taken: set[tuple[int, datetime.time]] = set()
    out["appointments"] = {}
    booked_on = now - datetime.timedelta(days=2)
    with transaction.atomic():
        for visit in spec["booked"]:
            choices = doctors[visit["department"]]
            minute = visit["arrival"] // 60
            doctor = start = None
            for step in range(0, 24 * 60, 5):
                at = (minute - minute % 5 + step) % (8 * 60)
                slot = datetime.time(8 + at // 60, at % 60)
                free = [d for d in choices if (d.pk, slot) not in taken]
                if free:
                    doctor, start = free[visit["index"] % len(free)], slot
                    break
            if doctor is None:
                continue
            taken.add((doctor.pk, start))
            desk = desks[visit["index"] % len(desks)]
            patient = find_or_register_patient(normalize_mobile(visit["mobile"]), visit["name"])
            end = (datetime.datetime.combine(today, start) + datetime.timedelta(minutes=5)).time()
            appointment = Appointment.objects.create(
                patient=patient,
                doctor=doctor,
                date=today,
                start=start,
                end=end,
                reason="Follow-up",
                status=Appointment.Status.BOOKED,
                created_by=desk,
                created_at=booked_on,
                booked_at=booked_on,
            )
            record_event(appointment, AppointmentEvent.Kind.HELD, desk, booked_on)
            record_event(appointment, AppointmentEvent.Kind.OTP_SENT, desk, booked_on)
            record_event(appointment, AppointmentEvent.Kind.BOOKED, desk, booked_on)
            out["appointments"][visit["name"]] = [str(appointment.public_id), doctor.user.username]
    categories = PriorityCategory.objects.filter(is_active=True)
    out["categories"] = {
        "kiosk": [
            c.pk
            for c in categories
            if c.at_kiosk and c.rule != c.Rule.ALWAYS_FIRST and not c.means_general
        ],
        "emergency": next(c.pk for c in categories if c.rule == c.Rule.ALWAYS_FIRST),
    }
    return out


def check(spec: dict) -> dict:
    """The day's invariants, each as (name, failures, detail)."""
    day = datetime.date.fromisoformat(spec["day"])
    plan = {v["name"]: v for v in spec["visits"]}
    results = []

    called = Tally(
        TokenEvent.objects.filter(token__service_date=day, kind=TokenEvent.Kind.CALLED).values_list(
            "token_id", flat=True
        )
    )
    twice = [pk for pk, n in called.items() if n > 1]
    results.append(("no token called twice", len(twice), f"{len(called)} tokens called"))

    skipped = Token.objects.filter(service_date=day, status=Token.Status.SKIPPED)
    wrong = [t.patient_name for t in skipped if not plan.get(t.patient_name, {}).get("no_show")]
    results.append(
        ("none skipped but the no-shows", len(wrong), f"{skipped.count()} skipped as no-shows")
    )

    numbers = defaultdict(list)
    for department_id, number in Token.objects.filter(service_date=day).values_list(
        "department_id", "number"
    ):
        numbers[department_id].append(number)
    gapped = [d for d, ns in numbers.items() if sorted(ns) != list(range(1, len(ns) + 1))]
    tokens = sum(len(ns) for ns in numbers.values())
    results.append(
        ("numbers gapless per department", len(gapped), f"{tokens} tokens in {len(numbers)}")
    )

    bad_visits = []
    closed = 0
    stops_by_visit = defaultdict(list)
    for stop in VisitStop.objects.filter(visit__service_date=day).select_related("token"):
        stops_by_visit[stop.visit_id].append(stop)
    visits = Visit.objects.filter(service_date=day)
    for visit in visits:
        stops = sorted(stops_by_visit[visit.pk], key=lambda s: s.position)
        problems = []
        first = stops[0].position if stops else 0
        if not stops or [s.position for s in stops] != list(range(first, first + len(stops))):
            problems.append("positions")
        open_stops = [s for s in stops if s.status in (VisitStop.Status.CURRENT, "planned")]
        if sum(s.status == VisitStop.Status.CURRENT for s in stops) > 1:
            problems.append("two current stops")
        for s in stops:
            if s.token and s.token.department_id != s.department_id:
                problems.append("token in another department")
            if s.status == VisitStop.Status.DONE and (
                not s.token or s.token.status != Token.Status.COMPLETED
            ):
                problems.append("done stop with an open token")
            if s.status == VisitStop.Status.PLANNED and s.token_id:
                problems.append("planned stop with a token")
        if (visit.status == Visit.Status.CLOSED) != (not open_stops):
            problems.append("closed with open stops, or open with none")
        planned = plan.get(visit.patient_name)
        if visit.status == Visit.Status.CLOSED:
            closed += 1
            if planned and len(stops) != 1 + len(planned["route"]):
                problems.append(f"{len(stops)} stops, planned {1 + len(planned['route'])}")
        if problems:
            bad_visits.append(f"{visit.patient_name}: {', '.join(sorted(set(problems)))}")
    results.append(
        (
            "every visit's stops consistent",
            len(bad_visits),
            f"{visits.count()} visits, {closed} finished; " + "; ".join(bad_visits[:3]),
        )
    )

    kinds = defaultdict(list)
    for appointment_id, kind in AppointmentEvent.objects.filter(appointment__date=day).values_list(
        "appointment_id", "kind"
    ):
        kinds[appointment_id].append(kind)
    with_token = set(
        Token.objects.filter(service_date=day, appointment__isnull=False).values_list(
            "appointment_id", flat=True
        )
    )
    incomplete = []
    appointments = Appointment.objects.filter(date=day)
    for a in appointments:
        k = kinds[a.pk]
        ok = k[:3] == ["held", "otp_sent", "booked"]
        checked_in = a.status in (Appointment.Status.CHECKED_IN, Appointment.Status.COMPLETED)
        ok = ok and (k.count("checked_in") == (1 if checked_in else 0))
        ok = ok and ((a.pk in with_token) == checked_in)
        if not ok:
            incomplete.append(f"{a.public_id} {a.status} {k}")
    results.append(
        (
            "every appointment's history complete",
            len(incomplete),
            f"{appointments.count()} appointments, {len(with_token)} checked in; "
            + "; ".join(incomplete[:3]),
        )
    )

    # SMS: the outbox rows (one per kind per stop, the database's constraint) and what
    # the worker actually wrote to the SMS_BACKEND=outbox file, by message id.
    outbox = Path(spec["outbox"])
    lines = outbox.read_text().splitlines() if outbox.exists() else []
    written = Tally(json.loads(line).get("message_id") for line in lines)
    near = Notification.objects.filter(purpose=Notification.TURN_NEAR, token__service_date=day)
    per_stop = Tally(near.values_list("token_id", flat=True))
    near_ids = {str(m) for m in near.values_list("message_id", flat=True)}
    repeated = [pk for pk, n in per_stop.items() if n > 1]
    repeated += [m for m in near_ids if written[m] > 1]
    sent = sum(1 for m in near_ids if written[m])
    results.append(
        (
            "near-turn SMS at most once per stop",
            len(repeated),
            f"{len(near_ids)} queued, {sent} sent; {len(lines)} SMS in all",
        )
    )
    return {"invariants": results}


def main() -> None:
    spec = json.loads(Path(os.environ["DAY_IN"]).read_text())
    step = os.environ["DAY_STEP"]
    out = setup(spec) if step == "setup" else check(spec)
    Path(os.environ["DAY_OUT"]).write_text(json.dumps(out))


main()

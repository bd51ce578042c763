"""Demo data for a laptop: departments, doctors with logins, service departments
(laboratory, radiology, pharmacy, billing) with their counters and counter staff, an
admin, a receptionist and a morning's worth of tokens for today, some of them visits
that went on from the doctor to the laboratory, back to the doctor and to the pharmacy;
and a compact history of the last four weeks (tokens, their events and the doctors'
pauses, bulk-created, with the trends report's per-day summaries of those days) so the
trends report has something to show.

Idempotent: everything is keyed on natural keys (department code, username), existing
rows are left as they are, today's tokens are only made when today has none, and a past
day's history only when that day has no tokens.
"""

import datetime
import heapq
import itertools
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from appointments import summaries
from hospital.clock import at_local, day_start, local_today
from hospital.models import (
    ALL_WEEKDAYS,
    MON_TO_SAT,
    Counter,
    CounterStaff,
    Department,
    Doctor,
    Roles,
)
from queues import reading, services, visits
from queues.models import (
    DeskEvent,
    PriorityCategory,
    Token,
    TokenCounter,
    TokenEvent,
    VisitStop,
)
from queues.visits import NextStop
from supervision.models import Threshold

MON, TUE, WED, THU, FRI, SAT = (1 << day for day in range(6))

ADMIN_PASSWORD = "admin-demo-2026"
RECEPTION_PASSWORD = "reception-demo-2026"
DOCTOR_PASSWORD = "doctor-demo-2026"
COUNTER_PASSWORD = "counter-demo-2026"
SUPERVISOR_PASSWORD = "supervisor-demo-2026"
# Every department's supervisor thresholds in the demo: the board turns a tile red when
# the longest wait passes an hour or more than 25 wait.
DEMO_THRESHOLD = {"max_longest_wait_minutes": 60, "max_waiting": 25}
# About one patient in six of the demo morning comes in a quota category.
QUOTA_SHARE = 1 / 6

# (code, name, open weekdays mask, daily token limit)
DEPARTMENTS = [
    ("ORTH", "Orthopedic Surgery", MON_TO_SAT, None),
    ("RHEU", "Rheumatology", MON | WED | FRI, None),
    ("CARD", "Cardiology", MON_TO_SAT, 60),
    ("GMED", "General Medicine", ALL_WEEKDAYS, None),
    ("PAED", "Paediatrics", MON_TO_SAT, None),
    ("ENT", "ENT", MON_TO_SAT, None),
    ("DERM", "Dermatology", TUE | THU | SAT, 40),
]

# Service departments, served at counters: open every day, so the demo works on a Sunday.
# (code, name, counters)
SERVICE_DEPARTMENTS = [
    ("LAB", "Laboratory", ["Counter 1", "Counter 2"]),
    ("RAD", "Radiology", ["X-ray room 1", "Ultrasound room"]),
    ("PHAR", "Pharmacy", ["Window A", "Window B"]),
    ("BILL", "Billing", ["Counter 1"]),
]

# The demo's names in Hindi and Tamil, so every screen shows all three languages:
# (Hindi, Tamil) by department code, and by the counter's English name.
LOCAL_NAMES = {
    "ORTH": ("हड्डी रोग विभाग", "எலும்பியல்"),
    "RHEU": ("गठिया रोग विभाग", "முடக்குவாதவியல்"),
    "CARD": ("हृदय रोग विभाग", "இதயவியல்"),
    "GMED": ("सामान्य चिकित्सा", "பொது மருத்துவம்"),
    "PAED": ("बाल रोग विभाग", "குழந்தை மருத்துவம்"),
    "ENT": ("नाक, कान, गला विभाग", "காது, மூக்கு, தொண்டை"),
    "DERM": ("त्वचा रोग विभाग", "தோல் மருத்துவம்"),
    "LAB": ("प्रयोगशाला", "ஆய்வகம்"),
    "RAD": ("रेडियोलॉजी", "கதிரியக்கவியல்"),
    "PHAR": ("फार्मेसी", "மருந்தகம்"),
    "BILL": ("बिलिंग", "கட்டணம்"),
}
COUNTER_LOCAL_NAMES = {
    "Counter 1": ("काउंटर 1", "கவுண்டர் 1"),
    "Counter 2": ("काउंटर 2", "கவுண்டர் 2"),
    "X-ray room 1": ("एक्स-रे कक्ष 1", "எக்ஸ்-ரே அறை 1"),
    "Ultrasound room": ("अल्ट्रासाउंड कक्ष", "அல்ட்ராசவுண்ட் அறை"),
    "Window A": ("खिड़की A", "சாளரம் A"),
    "Window B": ("खिड़की B", "சாளரம் B"),
}

# (username, name, department code, counter)
COUNTER_STAFF = [
    ("lab1", "Lata Pillai", "LAB", "Counter 1"),
    ("lab2", "Kiran Das", "LAB", "Counter 2"),
    ("xray", "Joseph Thomas", "RAD", "X-ray room 1"),
    ("pharmacy", "Farida Ansari", "PHAR", "Window A"),
    ("billing", "Ravi Menon", "BILL", "Counter 1"),
]

# Where a doctor sends a patient on, as (department code, back to the same doctor, note)
# stops; the first is the classic round: tests, back to the doctor, medicines.
ROUNDS = [
    [("LAB", False, "CBC, fasting blood sugar"), ("", True, "With the lab report"),
     ("PHAR", False, "")],
    [("PHAR", False, "")],
    [("RAD", False, "X-ray, both views"), ("", True, "With the X-ray")],
    [("BILL", False, ""), ("PHAR", False, "")],
    [("LAB", False, "Lipid profile"), ("", True, "With the lab report")],
]  # fmt: skip
# Minutes a counter takes per patient (before scaling), by department.
COUNTER_MINUTES = {"LAB": (3, 6), "RAD": (5, 10), "PHAR": (2, 5), "BILL": (1, 3)}

# (username, name, specialization, department code, room)
DOCTORS = [
    ("dr.rao", "Dr. Ramesh Rao", "Orthopaedic surgeon", "ORTH", "4"),
    ("dr.iyer", "Dr. Kavita Iyer", "Joint replacement & spine", "ORTH", "5"),
    ("dr.sundaram", "Dr. Meenakshi Sundaram", "Rheumatologist", "RHEU", "7"),
    ("dr.shah", "Dr. Vikram Shah", "Interventional cardiologist", "CARD", "12"),
    ("dr.menon", "Dr. Ananya Menon", "Cardiologist", "CARD", "14"),
    ("dr.patil", "Dr. Suresh Patil", "General physician", "GMED", "1"),
    ("dr.qureshi", "Dr. Farah Qureshi", "Internal medicine", "GMED", "2"),
    ("dr.nair", "Dr. Priya Nair", "Paediatrician", "PAED", "9"),
    ("dr.bhattacharya", "Dr. Arjun Bhattacharya", "ENT surgeon", "ENT", "16"),
    ("dr.kulkarni", "Dr. Neha Kulkarni", "Dermatologist", "DERM", "18"),
]

PATIENT_NAMES = [
    "Aarav Sharma", "Lakshmi Venkatesh", "Mohammed Irfan", "Sunita Devi", "Rajesh Kumar",
    "Anjali Gupta", "Harpreet Singh", "Fatima Begum", "Venkat Reddy", "Pooja Joshi",
    "Arun Pillai", "Kamala Krishnan", "Sanjay Verma", "Geeta Mishra", "Imran Khan",
    "Divya Hegde", "Manoj Yadav", "Rekha Das", "Thomas Mathew", "Sneha Deshpande",
    "Gopal Chatterjee", "Nirmala Rao", "Abdul Rahman", "Swati Kulkarni", "Ravi Shankar",
    "Usha Nambiar", "Karan Malhotra", "Shabana Sheikh", "Prakash Gowda", "Meera Bose",
    "Dinesh Choudhary", "Asha Menon", "Vijay Kamath", "Parvati Iyer", "Rohit Agarwal",
]  # fmt: skip

# The demo morning, before scaling: doctors start at 08:15, the last patient of the
# demo arrives around 10:00, and "now" is 10:30.
MORNING_START = datetime.time(8, 0)
MORNING = datetime.timedelta(minutes=150)
MINUTE = datetime.timedelta(minutes=1)


class Command(BaseCommand):
    help = "Load demo departments, doctors, logins and today's morning queue (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing (except print the logins) if any department exists already.",
        )

    def handle(self, *args, once=False, **options):
        if once and Department.objects.exists():
            # A demo database made before the names per language gets them now.
            fill_local_names()
            self.stdout.write("Demo data already present; nothing loaded.")
            self.print_logins()
            return
        now = timezone.now()
        with transaction.atomic():
            groups = self.make_groups()
            admin, _ = self.make_users(groups)
            departments = self.make_departments()
            doctors = self.make_doctors(departments, groups[Roles.DOCTOR])
            self.make_schedules(doctors)
            services_by_code = self.make_service_departments()
            counter_staff = self.make_counter_staff(services_by_code, groups[Roles.COUNTER])
            fill_local_names()
            for department in [*departments.values(), *services_by_code.values()]:
                Threshold.objects.get_or_create(department=department, defaults=DEMO_THRESHOLD)
            history = make_history(
                local_today(now), departments, doctors, services_by_code, counter_staff
            )
            made = self.make_morning(
                departments, doctors, admin, now,
                service_departments=services_by_code, counter_staff=counter_staff,
            )  # fmt: skip
        if history or made:
            # The trends report's summaries of the finished days (a past demo morning
            # may have been finished off above, too); the report would build the
            # missing ones on its first view, but not rebuild one built before.
            today = local_today(now)
            summaries.build(today - datetime.timedelta(days=HISTORY_DAYS), today)
        if history:
            self.stdout.write(f"Added {history} tokens of history over the last weeks.")
        if made:
            self.stdout.write(self.style.SUCCESS(f"Issued {made} demo tokens for today."))
        else:
            self.stdout.write("Today already has tokens (or every OPD is closed); none added.")
        self.print_logins()

    # --- Structure ------------------------------------------------------------------

    def make_groups(self) -> dict[str, Group]:
        groups = {name: Group.objects.get_or_create(name=name)[0] for name in Roles.ALL}
        # Hospital admins run the admin site without being superusers; the audit trail
        # stays read-only for them too.
        perms = Permission.objects.filter(
            content_type__app_label__in=["hospital", "queues"]
        ).exclude(
            content_type__model__in=["tokenevent", "tokencounter"],
            codename__regex=r"^(add|change|delete)_",
        )
        groups[Roles.HOSPITAL_ADMIN].permissions.add(*perms)
        return groups

    def make_users(self, groups):
        User = get_user_model()
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            admin = User.objects.create_superuser(
                "admin", email="admin@opd.example", password=ADMIN_PASSWORD
            )
        admin.groups.add(groups[Roles.HOSPITAL_ADMIN])

        reception, created = User.objects.get_or_create(
            username="reception",
            defaults={"first_name": "Front", "last_name": "Desk", "is_staff": False},
        )
        if created:
            reception.set_password(RECEPTION_PASSWORD)
            reception.save(update_fields=["password"])
        reception.groups.add(groups[Roles.RECEPTIONIST])

        supervisor, created = User.objects.get_or_create(
            username="supervisor", defaults={"first_name": "Medical", "last_name": "Superintendent"}
        )
        if created:
            supervisor.set_password(SUPERVISOR_PASSWORD)
            supervisor.save(update_fields=["password"])
        supervisor.groups.add(groups[Roles.SUPERVISOR])
        return admin, reception

    def make_departments(self) -> dict[str, Department]:
        departments = {}
        for code, name, days, limit in DEPARTMENTS:
            departments[code], _ = Department.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "open_weekdays": days,
                    "daily_token_limit": limit,
                    "booking_window_days": 7,
                },
            )
        return departments

    def make_doctors(self, departments, doctor_group) -> list[Doctor]:
        User = get_user_model()
        doctors = []
        for username, name, specialization, code, room in DOCTORS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": name.removeprefix("Dr. ")}
            )
            if created:
                user.set_password(DOCTOR_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.add(doctor_group)
            doctor, _ = Doctor.objects.get_or_create(
                user=user,
                defaults={
                    "name": name,
                    "specialization": specialization,
                    "department": departments[code],
                    "room": room,
                },
            )
            doctors.append(doctor)
        return doctors

    def make_service_departments(self) -> dict[str, Department]:
        departments = {}
        for code, name, counters in SERVICE_DEPARTMENTS:
            department, _ = Department.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": Department.Kind.SERVICE,
                    "open_weekdays": ALL_WEEKDAYS,
                    "booking_window_days": 0,
                },
            )
            for counter in counters:
                Counter.objects.get_or_create(department=department, name=counter)
            departments[code] = department
        return departments

    def make_counter_staff(self, departments, counter_group) -> list[CounterStaff]:
        User = get_user_model()
        staff = []
        for username, name, code, counter in COUNTER_STAFF:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": name.split()[0]}
            )
            if created:
                user.set_password(COUNTER_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.add(counter_group)
            member, _ = CounterStaff.objects.get_or_create(
                user=user,
                defaults={
                    "name": name,
                    "department": departments[code],
                    "counter": Counter.objects.get(department=departments[code], name=counter),
                },
            )
            staff.append(member)
        return staff

    def make_schedules(self, doctors) -> None:
        """Weekly OPD sessions for every doctor who has none yet: mornings 09:00-13:00
        on the department's open days, and a late session (14:00-20:00) on three of them,
        in 15-minute slots with the last slot of each session kept for emergencies.
        """
        from appointments.models import DoctorSchedule

        for doctor in doctors:
            if doctor.schedules.exists():
                continue
            open_days = [d for d in range(7) if doctor.department.is_open_on_weekday(d)]
            sessions = []
            for i, weekday in enumerate(open_days):
                sessions.append((weekday, datetime.time(9), datetime.time(13)))
                if i % 2 == doctor.pk % 2:
                    sessions.append((weekday, datetime.time(14), datetime.time(20)))
            DoctorSchedule.objects.bulk_create(
                DoctorSchedule(
                    doctor=doctor,
                    weekday=weekday,
                    start=start,
                    end=end,
                    slot_minutes=15,
                    emergency_slots=1,
                )
                for weekday, start, end in sessions
            )

    # --- Today's queue --------------------------------------------------------------

    def morning_window(self, now: datetime.datetime):
        """(start, scale): the demo morning squeezed, if need be, to end before `now`
        (seeding at 06:00 must not make tokens called at 09:00)."""
        midnight = day_start(local_today(now))
        start = at_local(local_today(now), MORNING_START)
        end = min(now - MINUTE, start + MORNING)
        if end - start < datetime.timedelta(minutes=30):
            start = max(midnight, end - MORNING)
        span = max(end - start, datetime.timedelta(0))
        return start, span / MORNING

    def make_morning(
        self, departments, doctors, admin, now, *, service_departments=None, counter_staff=()
    ) -> int:
        today = local_today(now)
        if Token.objects.filter(service_date=today).exists():
            return 0
        service_departments = service_departments or {}
        self.close_earlier_days(doctors, counter_staff, today)
        start, scale = self.morning_window(now)
        end = start + MORNING * scale
        morning = _Morning(today, start, scale, end, admin, service_departments)
        emergency_given = False
        for order, (code, department) in enumerate(departments.items()):
            if not (department.is_active and department.is_open_on(today)):
                continue
            staff = [d for d in doctors if d.department_id == department.pk and d.on_duty]
            emergency = not emergency_given and code in ("CARD", "GMED", "ORTH")
            morning.add_department(department, staff, order, emergency=emergency)
            emergency_given = emergency_given or emergency
        for member in counter_staff:
            counter = member.counter
            department = counter.department if counter else None
            if department and department.is_active and department.is_open_on(today):
                morning.add_counter(counter, member.user)
        morning.run()
        return Token.objects.filter(service_date=today).count()

    def close_earlier_days(self, doctors, counter_staff, today):
        """An earlier demo morning left desks mid-visit; finish those visits on their
        own day, or the desks could not call anyone today ("Finish ... first")."""
        desks = [(doctor, None) for doctor in doctors]
        desks += [(member.counter, member.user) for member in counter_staff if member.counter]
        for desk, actor in desks:
            token = reading.open_token_for(desk)
            if token is None or token.service_date >= today:
                continue
            if token.status == Token.Status.IN_CONSULTATION:
                done = token.started_at + datetime.timedelta(minutes=12)
                # That day is over: the rest of the patient's round is called off first,
                # so finishing them queues no one on a past day.
                for stop in VisitStop.objects.filter(
                    visit_id=token.visit_id, status=VisitStop.Status.PLANNED
                ):
                    visits.cancel_stop(stop, actor=actor, reason="The day ended", now=done)
                services.complete_token(desk, token, actor=actor, now=done)
            else:
                services.skip_token(desk, token, actor=actor, now=token.called_at + 3 * MINUTE)

    def print_logins(self):
        rows = [("admin", ADMIN_PASSWORD, "Hospital admin (superuser)", "/admin/")]
        rows.append(("reception", RECEPTION_PASSWORD, "Receptionist", "/"))
        rows.append(("supervisor", SUPERVISOR_PASSWORD, "Supervisor", "/supervisor/"))
        rows += [
            (username, DOCTOR_PASSWORD, f"{name}, {code} room {room}", "/doctor/")
            for username, name, _, code, room in DOCTORS
        ]
        rows += [
            (username, COUNTER_PASSWORD, f"{name}, {code} {counter}", "/counter/")
            for username, name, code, counter in COUNTER_STAFF
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        header = ("username", "password", "who", "page")
        widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]

        def line(row):
            return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))

        self.stdout.write("\nDemo logins:")
        self.stdout.write(line(header))
        self.stdout.write(line(["-" * w for w in widths]))
        for row in rows:
            self.stdout.write(line(row))


def fill_local_names() -> None:
    """Give the demo's departments and counters their Hindi and Tamil names where none is
    set; a name a hospital typed in the admin is never overwritten."""
    for department in Department.objects.filter(code__in=LOCAL_NAMES):
        _fill(department, LOCAL_NAMES[department.code])
    for counter in Counter.objects.filter(
        department__code__in=LOCAL_NAMES, name__in=COUNTER_LOCAL_NAMES
    ):
        _fill(counter, COUNTER_LOCAL_NAMES[counter.name])


def _fill(obj, names: tuple[str, str]) -> None:
    changed = []
    for field, name in zip(("name_hi", "name_ta"), names, strict=True):
        if not getattr(obj, field):
            setattr(obj, field, name)
            changed.append(field)
    if changed:
        obj.save(update_fields=changed)


def clock_after(t: datetime.datetime, minutes: float, scale: float, end) -> datetime.datetime:
    return min(t + datetime.timedelta(minutes=minutes) * scale, end)


class _Morning:
    """Replays a morning in time order, across every department at once: patients
    arrive at the clinical departments, each doctor and each staffed counter calls the
    next patient when free and serves them, now and then a patient does not turn up, and
    some patients are sent on (the laboratory, back to the doctor, the pharmacy...).

    Every change is an event run at its own time through the real services, so a patient
    sent on at 09:40 is in the laboratory's queue from 09:40, not before; a change due at
    or after the end of the window does not happen (the patient is still being seen).
    """

    MAX_SENT_ON = 3  # patients sent on, per clinical department

    def __init__(self, today, start, scale, end, admin, service_departments):
        self.today, self.start, self.scale, self.end = today, start, scale, end
        self.admin = admin
        self.service_departments = service_departments
        self.events: list = []
        self.order = itertools.count()
        self.rngs: dict[int, random.Random] = {}
        self.idle: dict[int, list] = {}  # department pk -> desks waiting for a patient
        self.no_show_done: set[int] = set()
        self.sent_on: dict[int, int] = {}
        self.quota = list(
            PriorityCategory.objects.filter(is_active=True, rule=PriorityCategory.Rule.QUOTA)
        )

    def at(self, minutes: float) -> datetime.datetime:
        return min(self.start + datetime.timedelta(minutes=minutes) * self.scale, self.end)

    def after(self, t, minutes: float) -> datetime.datetime:
        return clock_after(t, minutes, self.scale, self.end)

    def schedule(self, when, action, *args) -> None:
        heapq.heappush(self.events, (when, next(self.order), action, args))

    def rng(self, department) -> random.Random:
        if department.pk not in self.rngs:
            self.rngs[department.pk] = random.Random(f"{self.today}:{department.code}")
        return self.rngs[department.pk]

    # --- Setting up

    def add_department(self, department, doctors, order, *, emergency):
        rng = self.rng(department)
        count = rng.randint(8, 15)
        names = rng.sample(PATIENT_NAMES, count)
        emergency_at = rng.randrange(count // 2, count) if emergency else None
        t = 0.0
        for i, name in enumerate(names):
            t += rng.uniform(3, 10)
            quota = self.quota and rng.random() < QUOTA_SHARE
            category = rng.choice(self.quota) if quota else None
            self.schedule(self.at(t), self.arrive, department, name, i == emergency_at, category)
        for i, doctor in enumerate(doctors):
            self.schedule(self.at(15 + 40 * i), self.desk_free, doctor, None)

    def add_counter(self, counter, user):
        self.schedule(self.at(15), self.desk_free, counter, user)

    def run(self):
        while self.events:
            when, _, action, args = heapq.heappop(self.events)
            action(when, *args)

    # --- Events

    def arrive(self, when, department, name, is_emergency, category=None):
        # No mobile numbers: made-up ones belong to real people, and an SMS backend
        # would text them.
        services.issue_token(
            department,
            name,
            priority=Token.Priority.EMERGENCY if is_emergency else Token.Priority.NORMAL,
            category=None if is_emergency else category,
            actor=self.admin if is_emergency else None,
            now=when,
        )
        self.wake(department, when)

    def wake(self, department, when):
        """A patient joined the department's queue: its idle desks look again."""
        for desk, actor in self.idle.pop(department.pk, []):
            self.schedule(when, self.desk_free, desk, actor)

    def desk_free(self, when, desk, actor):
        if when >= self.end:
            return
        department = desk.department
        if not reading.waiting_tokens(department, self.today, desk=desk, now=when).exists():
            self.idle.setdefault(department.pk, []).append((desk, actor))
            return
        token = services.call_next(desk, actor=actor, now=when)
        rng = self.rng(department)
        if department.pk not in self.no_show_done and rng.random() < 0.2:
            # Nobody came: a no-show, skipped after a short wait.
            self.no_show_done.add(department.pk)
            skip_at = self.after(when, rng.uniform(2, 4))
            self.schedule(skip_at, self.skip, desk, actor, token)
            return
        started = self.after(when, rng.uniform(1, 3))
        self.schedule(started, self.begin, desk, actor, token)

    def skip(self, when, desk, actor, token):
        if when >= self.end:
            return
        services.skip_token(desk, token, actor=actor, now=when)
        self.desk_free(when, desk, actor)

    def begin(self, when, desk, actor, token):
        if when >= self.end:
            return  # called; the patient is walking there right now
        services.start_consultation(desk, token, actor=actor, now=when)
        rng = self.rng(desk.department)
        low, high = COUNTER_MINUTES.get(desk.department.code, (9, 18))
        self.schedule(self.after(when, rng.uniform(low, high)), self.finish, desk, actor, token)

    def finish(self, when, desk, actor, token):
        if when >= self.end:
            return  # still being seen
        send_on = self.next_stops(desk, token)
        done = services.complete_token(desk, token, actor=actor, now=when, send_on=send_on)
        # Whoever was sent on (or whose planned stop opened) is in a new queue now.
        opened = Token.objects.filter(visit=done.visit_id, status=Token.Status.WAITING)
        for department in {t.department for t in opened.select_related("department")}:
            self.wake(department, when)
        self.desk_free(when, desk, actor)

    def next_stops(self, desk, token) -> list[NextStop]:
        """Now and then a doctor sends the patient on, on a round of ROUNDS."""
        if not isinstance(desk, Doctor) or not self.service_departments:
            return []
        if token.visit_id is None or token.visit.stops.count() > 1:
            return []  # back for review: the rest of the round is planned already
        department = desk.department
        sent = self.sent_on.get(department.pk, 0)
        rng = self.rng(department)
        if sent >= self.MAX_SENT_ON or rng.random() > 0.45:
            return []
        round_ = ROUNDS[(department.pk + sent) % len(ROUNDS)]
        stops = []
        for code, back, note in round_:
            if back:
                stops.append(NextStop(department, doctor=desk, note=note))
                continue
            service = self.service_departments.get(code)
            if service is None or not service.is_active or not service.is_open_on(self.today):
                return []
            stops.append(NextStop(service, note=note))
        self.sent_on[department.pk] = sent + 1
        return stops


# --- The last weeks ---------------------------------------------------------------------

HISTORY_DAYS = 28


def make_history(today, departments, doctors, service_departments, counter_staff) -> int:
    """Tokens, their events and the doctors' pauses for each of the last HISTORY_DAYS
    days that has no tokens yet: bulk-created, not replayed through the services (a few
    thousand tokens in well under a second), but as the services would have left them:
    numbered 1..n per department and day with the day's counter row, each desk seeing
    one patient at a time, every token finished (seen, skipped or cancelled)."""
    days = [today - datetime.timedelta(days=n) for n in range(HISTORY_DAYS, 0, -1)]
    busy = set(Token.objects.filter(service_date__in=days).values_list("service_date", flat=True))
    counter_users = {member.counter_id: member.user for member in counter_staff if member.counter}
    desks_by_department: dict[int, list] = {}
    for doctor in doctors:
        if doctor.on_duty:
            desks_by_department.setdefault(doctor.department_id, []).append((doctor, doctor.user))
    for department in service_departments.values():
        for counter in Counter.objects.filter(department=department, pk__in=counter_users):
            desks_by_department.setdefault(department.pk, []).append(
                (counter, counter_users[counter.pk])
            )
    everyone = [*departments.values(), *service_departments.values()]
    history = _History()
    for day in days:
        if day in busy:
            continue
        for department in everyone:
            desks = desks_by_department.get(department.pk)
            if desks and department.is_active and department.is_open_on(day):
                history.add_day(day, department, desks)
    return history.save()


class _History:
    def __init__(self):
        self.tokens: list[Token] = []
        self.events: list[tuple[Token, str, datetime.datetime, object, object]] = []
        self.counters: list[TokenCounter] = []
        self.pauses: list[DeskEvent] = []

    def add_day(self, day, department, desks):
        rng = random.Random(f"history:{day}:{department.code}")
        service = department.is_service
        # Busier early in the week, as OPDs are.
        count = rng.randint(6, 14) if service else rng.randint(14, 28) + 2 * (day.weekday() < 2)
        opens = at_local(day, datetime.time(8, 30))
        arrivals = sorted(rng.triangular(0, 300, 40) for _ in range(count))
        free_at = {
            i: opens + datetime.timedelta(minutes=rng.uniform(0, 20)) for i in range(len(desks))
        }
        paused = set()
        for number, minute in enumerate(arrivals, start=1):
            issued = opens + datetime.timedelta(minutes=minute)
            token = Token(
                department=department, service_date=day, number=number,
                patient_name=rng.choice(PATIENT_NAMES), issued_at=issued, queued_at=issued,
            )  # fmt: skip
            self.tokens.append(token)
            self.events.append((token, TokenEvent.Kind.ISSUED, issued, None, None))
            if rng.random() < 0.03:
                token.status = Token.Status.CANCELLED
                self.events.append(
                    (token, TokenEvent.Kind.CANCELLED, issued + 12 * MINUTE, None, None)
                )
                continue
            i = min(free_at, key=lambda k: free_at[k])
            desk, actor = desks[i]
            called = max(issued, free_at[i]) + MINUTE * rng.uniform(0, 2)
            noon = at_local(day, datetime.time(11, 30))
            if not service and i not in paused and called > noon and rng.random() < 0.3:
                # A short break between two patients.
                paused.add(i)
                back = called + MINUTE * rng.randint(10, 25)
                self.pauses += [
                    DeskEvent(department=department, doctor=desk, kind=kind, at=when,
                              reason="Ward round" if kind == DeskEvent.Kind.PAUSED else "")
                    for kind, when in ((DeskEvent.Kind.PAUSED, called),
                                       (DeskEvent.Kind.RESUMED, back))
                ]  # fmt: skip
                called = back + MINUTE
            where = {"counter": desk} if service else {"doctor": desk}
            for name, value in where.items():
                setattr(token, name, value)
            token.called_at = called
            self.events.append((token, TokenEvent.Kind.CALLED, called, desk, actor))
            if rng.random() < 0.06:
                token.status = Token.Status.SKIPPED
                skipped = called + MINUTE * rng.uniform(2, 4)
                self.events.append((token, TokenEvent.Kind.SKIPPED, skipped, desk, actor))
                free_at[i] = skipped
                continue
            low, high = COUNTER_MINUTES.get(department.code, (8, 16))
            token.started_at = called + MINUTE * rng.uniform(0.5, 2)
            token.completed_at = token.started_at + MINUTE * rng.uniform(low, high)
            token.status = Token.Status.COMPLETED
            self.events.append((token, TokenEvent.Kind.STARTED, token.started_at, desk, actor))
            self.events.append((token, TokenEvent.Kind.COMPLETED, token.completed_at, desk, actor))
            free_at[i] = token.completed_at
        self.counters.append(TokenCounter(department=department, service_date=day, last=count))

    def save(self) -> int:
        Token.objects.bulk_create(self.tokens, batch_size=500)
        TokenCounter.objects.bulk_create(self.counters)
        DeskEvent.objects.bulk_create(self.pauses)
        TokenEvent.objects.bulk_create(
            (
                TokenEvent(
                    token=token, department_id=token.department_id,
                    service_date=token.service_date, token_number=token.number, kind=kind,
                    at=when, actor=actor,
                    doctor=desk if isinstance(desk, Doctor) else None,
                    counter=desk if isinstance(desk, Counter) else None,
                )
                for token, kind, when, desk, actor in self.events
            ),
            batch_size=500,
        )  # fmt: skip
        return len(self.tokens)

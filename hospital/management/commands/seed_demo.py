"""Demo data for a laptop: departments, doctors with logins, an admin, a receptionist and
a morning's worth of tokens for today.

Idempotent: everything is keyed on natural keys (department code, username), existing
rows are left as they are, and today's tokens are only made when today has none.
"""

import datetime
import heapq
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from hospital.clock import at_local, day_start, local_today
from hospital.models import ALL_WEEKDAYS, MON_TO_SAT, Department, Doctor, Roles
from queues import reading, services
from queues.models import Token

MON, TUE, WED, THU, FRI, SAT = (1 << day for day in range(6))

ADMIN_PASSWORD = "admin-demo-2026"
RECEPTION_PASSWORD = "reception-demo-2026"
DOCTOR_PASSWORD = "doctor-demo-2026"

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


@dataclass(order=True)
class _Shift:
    free_at: datetime.datetime
    order: int
    doctor: Doctor = field(compare=False)


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
            made = self.make_morning(departments, doctors, admin, now)
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

    def make_morning(self, departments, doctors, admin, now) -> int:
        today = local_today(now)
        if Token.objects.filter(service_date=today).exists():
            return 0
        self.close_earlier_days(doctors, today)
        start, scale = self.morning_window(now)
        end = start + MORNING * scale
        made = 0
        emergency_given = False
        for code, department in departments.items():
            if not (department.is_active and department.is_open_on(today)):
                continue
            staff = [d for d in doctors if d.department_id == department.pk and d.on_duty]
            rng = random.Random(f"{today}:{code}")
            emergency = not emergency_given and code in ("CARD", "GMED", "ORTH")
            made += self.run_department(
                department, staff, rng, start, scale, end, admin, emergency=emergency
            )
            emergency_given = emergency_given or emergency
        return made

    def close_earlier_days(self, doctors, today):
        """An earlier demo morning left doctors mid-visit; finish those visits on their
        own day, or the doctors could not call anyone today ("Finish ... first")."""
        for doctor in doctors:
            token = reading.open_token_for(doctor)
            if token is None or token.service_date >= today:
                continue
            if token.status == Token.Status.IN_CONSULTATION:
                done = token.started_at + datetime.timedelta(minutes=12)
                services.complete_token(doctor, token, now=done)
            else:
                services.skip_token(doctor, token, now=token.called_at + 3 * MINUTE)

    def run_department(self, department, staff, rng, start, scale, end, admin, *, emergency):
        """Replays a morning in time order: patients arrive, each doctor calls the next
        one when free, sees them, and now and then a patient does not turn up."""
        today = local_today(end)
        count = rng.randint(8, 15)
        names = rng.sample(PATIENT_NAMES, count)
        arrivals, t = [], 0.0
        for _ in range(count):
            t += rng.uniform(3, 10)
            arrivals.append(t)
        emergency_at = rng.randrange(count // 2, count) if emergency else None

        def clock(minutes: float) -> datetime.datetime:
            return min(start + datetime.timedelta(minutes=minutes) * scale, end)

        shifts = [_Shift(clock(15 + 40 * i), i, doctor) for i, doctor in enumerate(staff)]
        heapq.heapify(shifts)
        issued = 0
        no_show_done = False
        while issued < count or shifts:
            next_arrival = clock(arrivals[issued]) if issued < count else None
            if shifts and (next_arrival is None or shifts[0].free_at < next_arrival):
                shift = heapq.heappop(shifts)
                t0 = shift.free_at
                if t0 >= end:
                    continue
                if not reading.waiting_tokens(department, today).exists():
                    if next_arrival is not None:
                        shift.free_at = next_arrival
                        heapq.heappush(shifts, shift)
                    continue
                doctor = shift.doctor
                token = services.call_next(doctor, now=t0)
                if not no_show_done and rng.random() < 0.2:
                    # Nobody came to the room: a no-show, skipped after a short wait.
                    no_show_done = True
                    skip_at = clock_after(t0, rng.uniform(2, 4), scale, end)
                    if skip_at < end:
                        services.skip_token(doctor, token, now=skip_at)
                        shift.free_at = skip_at
                        heapq.heappush(shifts, shift)
                    continue
                started = clock_after(t0, rng.uniform(1, 3), scale, end)
                if started >= end:
                    continue  # called; the patient is walking to the room right now
                services.start_consultation(doctor, token, now=started)
                done = clock_after(started, rng.uniform(9, 18), scale, end)
                if done >= end:
                    continue  # still in consultation
                services.complete_token(doctor, token, now=done)
                shift.free_at = done
                heapq.heappush(shifts, shift)
            else:
                is_emergency = issued == emergency_at
                # No mobile numbers: made-up ones belong to real people, and an SMS
                # backend would text them.
                services.issue_token(
                    department,
                    names[issued],
                    priority=Token.Priority.EMERGENCY if is_emergency else Token.Priority.NORMAL,
                    actor=admin if is_emergency else None,
                    now=next_arrival,
                )
                issued += 1
        return count

    def print_logins(self):
        rows = [("admin", ADMIN_PASSWORD, "Hospital admin (superuser)", "/admin/")]
        rows.append(("reception", RECEPTION_PASSWORD, "Receptionist", "/"))
        rows += [
            (username, DOCTOR_PASSWORD, f"{name}, {code} room {room}", "/doctor/")
            for username, name, _, code, room in DOCTORS
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


def clock_after(t: datetime.datetime, minutes: float, scale: float, end) -> datetime.datetime:
    return min(t + datetime.timedelta(minutes=minutes) * scale, end)

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from hospital.management.commands import seed_demo
from hospital.models import Department, Doctor, Roles
from queues.models import Token, TokenCounter, TokenEvent
from tests.conftest import WEDNESDAY, at

SUNDAY = WEDNESDAY + datetime.timedelta(days=4)
User = get_user_model()


def seed(monkeypatch, now, *args) -> str:
    monkeypatch.setattr(timezone, "now", lambda: now)
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Department, Doctor, User, Group, Token, TokenEvent, TokenCounter)
    }


@pytest.fixture
def seeded(db, monkeypatch):
    return seed(monkeypatch, at(WEDNESDAY, 14))


def test_it_creates_the_demo_hospital(seeded):
    assert set(Department.objects.values_list("code", flat=True)) == {
        "ORTH", "RHEU", "CARD", "GMED", "PAED", "ENT", "DERM",
    }  # fmt: skip
    assert set(Group.objects.values_list("name", flat=True)) >= set(Roles.ALL)
    for department in Department.objects.all():
        assert 1 <= department.doctors.count() <= 2
        assert department.booking_window_days == 7
    assert Department.objects.exclude(daily_token_limit=None).exists()
    assert Doctor.objects.filter(user__groups__name=Roles.DOCTOR).count() == Doctor.objects.count()


def test_it_creates_the_admin_and_the_receptionist(seeded):
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.groups.filter(name=Roles.HOSPITAL_ADMIN).exists()
    reception = User.objects.get(username="reception")
    assert not reception.is_staff
    assert list(reception.groups.values_list("name", flat=True)) == [Roles.RECEPTIONIST]


def test_it_prints_the_demo_logins(seeded):
    assert "admin" in seeded and seed_demo.ADMIN_PASSWORD in seeded
    assert "dr.rao" in seeded and seed_demo.DOCTOR_PASSWORD in seeded
    assert seed_demo.RECEPTION_PASSWORD in seeded


@pytest.mark.parametrize(
    "username, password",
    [
        ("dr.rao", seed_demo.DOCTOR_PASSWORD),
        ("dr.shah", seed_demo.DOCTOR_PASSWORD),
        ("admin", seed_demo.ADMIN_PASSWORD),
        ("reception", seed_demo.RECEPTION_PASSWORD),
    ],
)
def test_the_demo_users_can_log_in(seeded, client, username, password):
    assert signs_in(client, username, password)


def test_every_doctor_can_log_in(seeded, client):
    for doctor in Doctor.objects.select_related("user"):
        assert signs_in(client, doctor.user.username, seed_demo.DOCTOR_PASSWORD)
        client.logout()


def signs_in(client, username: str, password: str) -> bool:
    """Through the real login page (and its lockout check), not client.login()."""
    client.post("/accounts/login/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def test_it_makes_a_morning_of_tokens_for_open_departments(seeded):
    # Wednesday: Dermatology (Tue/Thu/Sat) is closed, the others are open.
    per_department = dict(
        Token.objects.filter(service_date=WEDNESDAY)
        .values_list("department__code")
        .annotate(n=Count("id"))
    )
    assert "DERM" not in per_department
    assert set(per_department) == {"ORTH", "RHEU", "CARD", "GMED", "PAED", "ENT"}
    assert all(8 <= n <= 15 for n in per_department.values())
    statuses = set(Token.objects.values_list("status", flat=True))
    assert {Token.Status.COMPLETED, Token.Status.WAITING} <= statuses
    emergency = Token.objects.get(priority=Token.Priority.EMERGENCY)
    issued = TokenEvent.objects.get(token=emergency, kind=TokenEvent.Kind.ISSUED)
    assert issued.actor.username == "admin"


def test_the_morning_is_consistent(seeded):
    now = at(WEDNESDAY, 14)
    morning = at(WEDNESDAY, 8)
    for token in Token.objects.all():
        times = [token.issued_at, token.called_at, token.started_at, token.completed_at]
        present = [t for t in times if t is not None]
        assert present == sorted(present), token
        assert morning <= present[0] and present[-1] <= now, token
        if token.status == Token.Status.COMPLETED:
            assert None not in times
    # Each doctor sees one patient at a time.
    for doctor in Doctor.objects.all():
        visits = sorted(
            (t.called_at, t.completed_at or t.called_at)
            for t in Token.objects.filter(doctor=doctor, status=Token.Status.COMPLETED)
        )
        for (_, end), (start, _) in zip(visits, visits[1:], strict=False):
            assert end <= start
        assert Token.objects.filter(doctor=doctor, status__in=Token.OPEN_STATUSES).count() <= 1
    numbers = Token.objects.filter(department__code="ORTH").values_list("number", flat=True)
    assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_running_it_twice_changes_nothing(seeded, monkeypatch):
    before = counts()
    passwords = dict(User.objects.values_list("username", "password"))
    output = seed(monkeypatch, at(WEDNESDAY, 15))
    assert counts() == before
    assert dict(User.objects.values_list("username", "password")) == passwords
    assert "dr.rao" in output


def test_it_keeps_what_staff_changed(seeded, monkeypatch):
    Department.objects.filter(code="ENT").update(daily_token_limit=5, is_active=False)
    seed(monkeypatch, at(WEDNESDAY, 15))
    ent = Department.objects.get(code="ENT")
    assert (ent.daily_token_limit, ent.is_active) == (5, False)


def test_once_does_nothing_when_a_department_exists(seeded, monkeypatch):
    before = counts()
    # Another day: without --once it would add Thursday's morning.
    output = seed(monkeypatch, at(WEDNESDAY + datetime.timedelta(days=1), 14), "--once")
    assert counts() == before
    assert "dr.rao" in output and seed_demo.ADMIN_PASSWORD in output


def test_once_loads_an_empty_database(db, monkeypatch):
    seed(monkeypatch, at(WEDNESDAY, 14), "--once")
    assert Department.objects.count() == 7
    assert Token.objects.exists()


def test_a_new_day_gets_its_own_morning(seeded, monkeypatch):
    seed(monkeypatch, at(WEDNESDAY + datetime.timedelta(days=1), 14))
    thursday = Token.objects.filter(service_date=WEDNESDAY + datetime.timedelta(days=1))
    assert thursday.filter(department__code="DERM").exists()
    assert not thursday.filter(department__code="RHEU").exists()


def test_on_sunday_only_general_medicine_gets_tokens(db, monkeypatch):
    seed(monkeypatch, at(SUNDAY, 12))
    assert set(Token.objects.values_list("department__code", flat=True)) == {"GMED"}


@pytest.mark.parametrize("hour, minute", [(6, 0), (8, 5), (9, 0), (0, 3)])
def test_early_in_the_morning_nothing_happens_in_the_future(db, monkeypatch, hour, minute):
    now = at(WEDNESDAY, hour, minute)
    seed(monkeypatch, now)
    assert Token.objects.exists()
    midnight = at(WEDNESDAY, 0)
    for token in Token.objects.all():
        times = [token.issued_at, token.called_at, token.started_at, token.completed_at]
        for moment in filter(None, times):
            assert midnight <= moment <= now, (token, moment)
    assert set(Token.objects.values_list("service_date", flat=True)) == {WEDNESDAY}


def test_every_doctor_gets_weekly_sessions_on_open_days_only(seeded):
    from appointments.models import DoctorSchedule

    for doctor in Doctor.objects.select_related("department"):
        sessions = DoctorSchedule.objects.filter(doctor=doctor)
        assert sessions.exists()
        assert all(doctor.department.is_open_on_weekday(s.weekday) for s in sessions)


def test_schedules_are_not_duplicated_by_a_second_run(seeded):
    from appointments.models import DoctorSchedule

    before = DoctorSchedule.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert DoctorSchedule.objects.count() == before

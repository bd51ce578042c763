import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from hospital.management.commands import seed_demo
from hospital.models import Counter, CounterStaff, Department, Doctor, Roles
from queues.models import (
    DeskEvent,
    PriorityCategory,
    Token,
    TokenCounter,
    TokenEvent,
    Visit,
    VisitStop,
)
from supervision.models import Threshold
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
        for model in (
            Department,
            Doctor,
            User,
            Group,
            Token,
            TokenEvent,
            TokenCounter,
            Counter,
            CounterStaff,
            Visit,
            VisitStop,
        )  # fmt: skip
    }


@pytest.fixture
def seeded(db, monkeypatch):
    return seed(monkeypatch, at(WEDNESDAY, 14))


CLINICAL = {"ORTH", "RHEU", "CARD", "GMED", "PAED", "ENT", "DERM"}
SERVICE = {"LAB", "RAD", "PHAR", "BILL"}


def test_it_creates_the_demo_hospital(seeded):
    assert set(Department.objects.values_list("code", flat=True)) == CLINICAL | SERVICE
    assert set(Group.objects.values_list("name", flat=True)) >= set(Roles.ALL)
    for department in Department.objects.filter(kind=Department.Kind.CLINICAL):
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


def test_it_creates_service_departments_with_counters_open_every_day(seeded):
    counters = {
        code: sorted(Counter.objects.filter(department__code=code).values_list("name", flat=True))
        for code in SERVICE
    }
    assert counters == {
        "LAB": ["Counter 1", "Counter 2"],
        "RAD": ["Ultrasound room", "X-ray room 1"],
        "PHAR": ["Window A", "Window B"],
        "BILL": ["Counter 1"],
    }
    for department in Department.objects.filter(code__in=SERVICE):
        assert department.is_service
        assert all(department.is_open_on_weekday(day) for day in range(7))
        assert not department.doctors.exists()


def test_every_counter_login_works_a_counter_of_its_department(seeded, client):
    staff = CounterStaff.objects.select_related("user", "counter", "department")
    assert {m.user.username for m in staff} == {"lab1", "lab2", "xray", "pharmacy", "billing"}
    for member in staff:
        assert member.counter.department == member.department
        assert member.user.groups.filter(name=Roles.COUNTER).exists()
        assert not member.user.is_staff
        assert signs_in(client, member.user.username, seed_demo.COUNTER_PASSWORD)
        client.logout()


def test_it_prints_the_demo_logins(seeded):
    assert "admin" in seeded and seed_demo.ADMIN_PASSWORD in seeded
    assert "dr.rao" in seeded and seed_demo.DOCTOR_PASSWORD in seeded
    assert seed_demo.RECEPTION_PASSWORD in seeded
    lab1 = next(line for line in seeded.splitlines() if line.startswith("lab1 "))
    assert seed_demo.COUNTER_PASSWORD in lab1 and "/counter/" in lab1
    assert "LAB Counter 1" in lab1
    for username in ("lab2", "xray", "pharmacy", "billing"):
        assert f"\n{username} " in seeded


@pytest.mark.parametrize(
    "username, password",
    [
        ("dr.rao", seed_demo.DOCTOR_PASSWORD),
        ("dr.shah", seed_demo.DOCTOR_PASSWORD),
        ("admin", seed_demo.ADMIN_PASSWORD),
        ("reception", seed_demo.RECEPTION_PASSWORD),
        ("supervisor", seed_demo.SUPERVISOR_PASSWORD),
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
    arrived = dict(
        Token.objects.filter(service_date=WEDNESDAY, stop__kind=VisitStop.Kind.FIRST)
        .values_list("department__code")
        .annotate(n=Count("id"))
    )
    assert "DERM" not in arrived
    # Patients arrive at the doctors; the service departments see who was sent there.
    assert set(arrived) == {"ORTH", "RHEU", "CARD", "GMED", "PAED", "ENT"}
    assert all(8 <= n <= 15 for n in arrived.values())
    served = set(
        Token.objects.filter(service_date=WEDNESDAY, department__kind="service").values_list(
            "department__code", flat=True
        )
    )
    assert served == SERVICE
    statuses = set(Token.objects.values_list("status", flat=True))
    assert {Token.Status.COMPLETED, Token.Status.WAITING} <= statuses
    # (An emergency stays one at every later stop of the visit.)
    emergency = Token.objects.get(
        priority=Token.Priority.EMERGENCY, stop__kind=VisitStop.Kind.FIRST
    )
    issued = TokenEvent.objects.get(token=emergency, kind=TokenEvent.Kind.ISSUED)
    assert issued.actor.username == "admin"


def test_the_morning_is_consistent(seeded):
    now = at(WEDNESDAY, 14)
    morning = at(WEDNESDAY, 8)
    for token in Token.objects.all():
        times = [token.issued_at, token.called_at, token.started_at, token.completed_at]
        present = [t for t in times if t is not None]
        assert present == sorted(present), token
        if token.service_date == WEDNESDAY:
            assert morning <= present[0] and present[-1] <= now, token
        else:  # the last weeks' history: every token finished on its own day
            assert token.status not in (Token.Status.WAITING, *Token.OPEN_STATUSES), token
            assert {timezone.localdate(t) for t in present} == {token.service_date}, token
        if token.status == Token.Status.COMPLETED:
            assert None not in times
    # Each doctor, and each counter, sees one patient at a time.
    desks = [{"doctor": d} for d in Doctor.objects.all()]
    desks += [{"counter": c} for c in Counter.objects.all()]
    for desk in desks:
        visits = sorted(
            (t.called_at, t.completed_at or t.called_at)
            for t in Token.objects.filter(status=Token.Status.COMPLETED, **desk)
        )
        for (_, end), (start, _) in zip(visits, visits[1:], strict=False):
            assert end <= start
        assert Token.objects.filter(status__in=Token.OPEN_STATUSES, **desk).count() <= 1
    # A patient is never in two queues at once: each stop's token comes after the last.
    for visit in Visit.objects.all():
        tokens = list(visit.tokens.order_by("issued_at", "pk"))
        for before, after in zip(tokens, tokens[1:], strict=False):
            assert before.completed_at is not None and before.completed_at <= after.issued_at
    for day in set(Token.objects.values_list("service_date", flat=True)):
        numbers = Token.objects.filter(department__code="ORTH", service_date=day).values_list(
            "number", flat=True
        )
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        for counter in TokenCounter.objects.filter(service_date=day):
            issued = Token.objects.filter(department=counter.department_id, service_date=day)
            assert counter.last == issued.count()


def test_some_visits_went_to_the_laboratory_back_to_the_doctor_and_to_the_pharmacy(seeded):
    rounds = []
    for visit in Visit.objects.filter(service_date=WEDNESDAY).prefetch_related(
        "stops__department", "stops__token__counter", "stops__token__doctor"
    ):
        stops = list(visit.stops.all())
        rounds.append([(stop.department.code, stop.kind) for stop in stops])
        first = stops[0]
        for stop in stops[1:]:
            if stop.kind == VisitStop.Kind.REVIEW and stop.token and stop.token.doctor:
                # Back to the very doctor who sent them out.
                assert stop.doctor == first.token.doctor == stop.token.doctor
            if stop.department.is_service and stop.token and stop.token.called_at:
                assert stop.token.counter.department == stop.department
                called = TokenEvent.objects.get(token=stop.token, kind=TokenEvent.Kind.CALLED)
                assert called.actor == stop.token.counter.staff.get().user
    code_kinds = [[kind for _, kind in r] for r in rounds]
    assert ["first", "sent", "review", "sent"] in code_kinds
    lab_round = next(r for r in rounds if len(r) == 4)
    assert [code for code, _ in lab_round][1:] == ["LAB", lab_round[0][0], "PHAR"]
    assert sum(1 for r in rounds if len(r) >= 2) >= 5
    assert Visit.objects.filter(status=Visit.Status.CLOSED, stops__position=4).exists()


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
    assert Department.objects.count() == 11
    assert Token.objects.exists()


def test_a_new_day_gets_its_own_morning(seeded, monkeypatch):
    seed(monkeypatch, at(WEDNESDAY + datetime.timedelta(days=1), 14))
    thursday = Token.objects.filter(service_date=WEDNESDAY + datetime.timedelta(days=1))
    assert thursday.filter(department__code="DERM").exists()
    assert not thursday.filter(department__code="RHEU").exists()


def test_on_sunday_only_general_medicine_gets_tokens(db, monkeypatch):
    seed(monkeypatch, at(SUNDAY, 12))
    first_stops = Token.objects.filter(stop__kind=VisitStop.Kind.FIRST, service_date=SUNDAY)
    assert set(first_stops.values_list("department__code", flat=True)) == {"GMED"}
    # The laboratory and the pharmacy are open on Sundays, for patients sent there.
    sent = Token.objects.filter(department__kind="service", service_date=SUNDAY)
    assert sent.exists()
    assert set(sent.values_list("visit__stops__department__code", flat=True)) >= {"GMED"}


@pytest.mark.parametrize("hour, minute", [(6, 0), (8, 5), (9, 0), (0, 3)])
def test_early_in_the_morning_nothing_happens_in_the_future(db, monkeypatch, hour, minute):
    now = at(WEDNESDAY, hour, minute)
    seed(monkeypatch, now)
    assert Token.objects.exists()
    midnight = at(WEDNESDAY, 0)
    for token in Token.objects.all():
        times = [token.issued_at, token.called_at, token.started_at, token.completed_at]
        for moment in filter(None, times):
            if token.service_date == WEDNESDAY:
                assert midnight <= moment <= now, (token, moment)
            else:
                assert moment < midnight, (token, moment)
    assert max(Token.objects.values_list("service_date", flat=True)) == WEDNESDAY


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


# --- The last weeks ---------------------------------------------------------------------


def test_the_last_four_weeks_have_a_history_for_the_trends_report(seeded):
    from appointments import trends
    from appointments.models import SummarisedDay

    start = WEDNESDAY - datetime.timedelta(days=seed_demo.HISTORY_DAYS)
    # The report's per-day summaries of the history are built with it (not on first view).
    days = SummarisedDay.objects.filter(day__gte=start).values_list("day", flat=True)
    assert sorted(days) == [start + datetime.timedelta(days=n) for n in range(28)]
    assert trends.trends(start, WEDNESDAY - datetime.timedelta(days=1)) == trends.trends(
        start, WEDNESDAY - datetime.timedelta(days=1), summaries=False
    )
    result = trends.trends(start, WEDNESDAY - datetime.timedelta(days=1))
    # Every day has patients (General Medicine and the counters open on Sundays too).
    assert all(day.figures.patients for day in result.days)
    codes = {row.department.code for row in result.departments}
    assert codes == CLINICAL | SERVICE
    total = result.total
    assert total.patients > 2000
    assert 5 <= total.median_wait <= 120 and total.p90_wait >= total.median_wait
    assert total.skipped and total.tokens_cancelled and total.paused_minutes
    assert result.heatmap and min(hour for _, hour in result.heatmap) >= 8
    # Dermatology works on Tuesdays, Thursdays and Saturdays only.
    derm = Token.objects.filter(department__code="DERM").exclude(service_date=WEDNESDAY)
    assert {d.isoweekday() for d in derm.values_list("service_date", flat=True)} == {2, 4, 6}


def test_the_history_is_made_once_per_day(seeded, monkeypatch):
    before = Token.objects.count()
    # Thursday: its own morning, and no day of history again (Wednesday has its morning).
    seed(monkeypatch, at(WEDNESDAY + datetime.timedelta(days=1), 14))
    added = Token.objects.exclude(service_date=WEDNESDAY + datetime.timedelta(days=1))
    assert added.count() == before
    assert not TokenEvent.objects.filter(token__isnull=True).exists()
    assert (
        DeskEvent.objects.filter(kind=DeskEvent.Kind.PAUSED).count()
        == DeskEvent.objects.filter(kind=DeskEvent.Kind.RESUMED).count()
    )


def test_the_supervisor_sees_the_board_with_a_threshold_for_every_department(seeded, client):
    assert signs_in(client, "supervisor", seed_demo.SUPERVISOR_PASSWORD)
    assert client.get("/supervisor/").status_code == 200
    assert Threshold.objects.count() == Department.objects.count()
    assert "supervisor" in seeded and "/supervisor/" in seeded


def test_some_demo_patients_come_in_a_quota_category(seeded):
    quota = Token.objects.filter(category__rule=PriorityCategory.Rule.QUOTA)
    assert quota.exists()
    assert not Token.objects.filter(category__rule="quota", priority=Token.Priority.EMERGENCY)

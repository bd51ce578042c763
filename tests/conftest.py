"""Personas and helpers shared by every test: a small hospital with two departments,
two orthopaedic doctors, a cardiologist, an admin and a plain user; and two service
departments (a laboratory with two counters and its staff, a pharmacy with a window)."""

import datetime
import html
import importlib
import os
import re
import shutil
import threading

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.utils import timezone

from hospital.models import ALL_WEEKDAYS, Counter, CounterStaff, Department, Doctor, Roles
from hospital.roles import RECEPTION_PERMISSION

# A fixed Wednesday morning in the hospital's time zone; tests that care about the clock
# pass now= to the services.
WEDNESDAY = datetime.date(2026, 11, 18)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def clock(request, monkeypatch):
    """Stop the clock at the test module's NOW (timezone.now() returns it)."""
    now = request.module.NOW
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def page_text(response) -> str:
    """A page's HTML with entities decoded, for `in` checks."""
    return html.unescape(response.content.decode())


def flat_text(response) -> str:
    """A page's HTML with every run of white space made one space, for `in` checks."""
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def orth(db):
    # Open every day, so tests that use the real clock pass on a Sunday too.
    return Department.objects.create(
        name="Orthopedic Surgery", code="ORTH", booking_window_days=7, open_weekdays=ALL_WEEKDAYS
    )


@pytest.fixture
def card(db):
    return Department.objects.create(
        name="Cardiology", code="CARD", booking_window_days=7, open_weekdays=ALL_WEEKDAYS
    )


def make_doctor(username, name, department, room, **extra):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    return Doctor.objects.create(
        user=user, name=name, department=department, room=room, specialization="", **extra
    )


@pytest.fixture
def dr_rao(orth):
    return make_doctor("rao", "Dr. Rao", orth, "4")


@pytest.fixture
def dr_iyer(orth):
    return make_doctor("iyer", "Dr. Iyer", orth, "5")


@pytest.fixture
def dr_shah(card):
    return make_doctor("shah", "Dr. Shah", card, "12")


def make_service_department(name: str, code: str) -> Department:
    return Department.objects.create(
        name=name, code=code, kind=Department.Kind.SERVICE, open_weekdays=ALL_WEEKDAYS
    )


@pytest.fixture
def lab(db):
    return make_service_department("Laboratory", "LAB")


@pytest.fixture
def pharmacy(db):
    return make_service_department("Pharmacy", "PHAR")


@pytest.fixture
def lab_counter(lab):
    return Counter.objects.create(department=lab, name="Counter 1")


@pytest.fixture
def lab_counter_2(lab):
    return Counter.objects.create(department=lab, name="Counter 2")


@pytest.fixture
def pharmacy_window(pharmacy):
    return Counter.objects.create(department=pharmacy, name="Window B")


def make_counter_staff(username: str, name: str, department, counter=None) -> CounterStaff:
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    group = Group.objects.get_or_create(name=Roles.COUNTER)[0]
    user.groups.add(group)
    return CounterStaff.objects.create(user=user, name=name, department=department, counter=counter)


@pytest.fixture
def lab_tech(lab, lab_counter):
    """Laboratory staff working Counter 1."""
    return make_counter_staff("labtech", "Lata (lab)", lab, lab_counter)


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser(
        username="admin", password="pw-admin", email="admin@example.org"
    )


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user(username="visitor", password="pw-visitor")


def make_receptionist(username: str = "desk"):
    """A receptionist: in the Receptionist group, which carries the desk's permission.
    get_or_create, and the permission added again: a transactional test elsewhere may
    have flushed the rows the migration made."""
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    group = Group.objects.get_or_create(name=Roles.RECEPTIONIST)[0]
    app_label, codename = RECEPTION_PERMISSION.split(".")
    group.permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )
    user.groups.add(group)
    # A fresh instance: the permission cache of the old one predates the group.
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def receptionist(db):
    """The front desk's receptionist (signed in, not staff)."""
    return make_receptionist()


@pytest.fixture
def staff(client, admin_user):
    """The test client, signed in as the hospital admin (staff, superuser)."""
    client.force_login(admin_user)
    return client


def race(jobs: list) -> tuple[list, list[BaseException]]:
    """Run each job in its own thread, each on its own database connection, all released
    at once by a barrier; returns (results, errors). Use with
    django_db(transaction=True), so the threads see each other's commits."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []
    lock = threading.Lock()

    def run(i, job):
        try:
            barrier.wait(timeout=30)
            results[i] = job()
        except BaseException as exc:  # every failure is reported to the test
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    # The main thread's connection is not needed while the threads run; on PostgreSQL
    # it would otherwise hold one slot of the pool.
    connection.close()
    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium")
        or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    )


def require_in_ci(what: str, reason: str):
    """Skip on a laptop without `what`; in CI (CI=true) a missing service is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide {what}: {reason}")
    pytest.skip(f"{what} not available: {reason}")


@pytest.fixture(scope="session", autouse=True)
def end_stray_database_sessions(django_db_setup, django_db_blocker):
    """On PostgreSQL, end sessions that outlive their tests (a worker thread's or a
    stopped server's connection) so the test database can be dropped at the end."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        connection.close_pool()
        with connection._nodb_cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [connection.settings_dict["NAME"]],
            )


@pytest.fixture(autouse=True)
def fresh_limits():
    """Abuse limits count in the cache, which outlives a test's database: each test
    starts with nothing counted (and no terminal lists rendered by an earlier test)."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def default_language():
    """A page in Hindi leaves Hindi active in the test's thread (a server starts each
    request afresh; the test client does not): each test starts, and ends, in English."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def default_categories(request):
    """The priority categories a hospital starts with are made by a data migration, which
    a transactional test's flush removes for every test after it: put them back for each
    test that uses the database, exactly as the migration makes them."""
    uses = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in uses or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in uses or marker:
        request.getfixturevalue("db")
    else:
        return
    migration = importlib.import_module("queues.migrations.0006_priority_and_breaks")
    migration.add_default_categories(django_apps, None)
    importlib.import_module("queues.migrations.0008_languages").name_default_categories(
        django_apps, None
    )

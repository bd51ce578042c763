"""Reception personas: a receptionist at the desk, Dr. Rao's Wednesday morning OPD
(09:00-12:00 in 15-minute slots), and an outbox the tests read the texted codes from."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from appointments import notify
from appointments.models import Appointment, DoctorSchedule, Patient
from hospital.models import Roles
from tests.conftest import WEDNESDAY, at

# Before the morning session, so every slot of the day is still ahead.
MORNING = at(WEDNESDAY, 8)
MOBILE = "+919812345678"
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def desk(db):
    """A receptionist: signed in, not staff."""
    return get_user_model().objects.create_user(username="desk", password="pw-desk")


@pytest.fixture
def desk_client(client, db):
    """The test client, signed in as a receptionist (in the Receptionist group)."""
    user = get_user_model().objects.create_user(username="frontdesk", password="pw")
    user.groups.add(Group.objects.get_or_create(name=Roles.RECEPTIONIST)[0])
    client.force_login(user)
    return client


@pytest.fixture
def outbox(settings, tmp_path):
    settings.SMS_BACKEND = "outbox"
    settings.OUTBOX_DIR = tmp_path
    return tmp_path


@pytest.fixture
def rao_morning(dr_rao):
    return DoctorSchedule.objects.create(
        doctor=dr_rao,
        weekday=WEDNESDAY.weekday(),
        start=datetime.time(9),
        end=datetime.time(12),
        slot_minutes=15,
    )


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Calls fn as a view would, running its after-commit work (the texts) at the end."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def t(hour: int, minute: int = 0) -> datetime.time:
    return datetime.time(hour, minute)


def texts(purpose: str | None = None) -> list[dict]:
    return [m for m in notify.outbox_messages() if purpose is None or m["purpose"] == purpose]


def latest_code(mobile: str = MOBILE) -> str:
    sent = [m for m in texts("otp") if m["to"] == mobile]
    assert sent, f"no code was texted to {mobile}"
    return CODE.search(sent[-1]["body"]).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def place(doctor, start, status=Appointment.Status.BOOKED, *, day=WEDNESDAY, hold_until=None,
          mobile=None):  # fmt: skip
    """An appointment put straight into the database, for slot arithmetic tests."""
    mobile = mobile or f"+91981234{Appointment.objects.count():04d}"
    patient, _ = Patient.objects.get_or_create(mobile=mobile, defaults={"name": "Someone"})
    return Appointment.objects.create(
        patient=patient,
        doctor=doctor,
        date=day,
        start=start,
        end=(datetime.datetime.combine(day, start) + datetime.timedelta(minutes=15)).time(),
        reason="Knee pain",
        status=status,
        hold_expires_at=hold_until,
        created_at=MORNING,
    )

"""Reception personas: a receptionist at the desk, Dr. Rao's Wednesday morning OPD
(09:00-12:00 in 15-minute slots), and an outbox the tests read the texted codes from."""

import datetime
import re

import pytest
from django.db.models import Q

from appointments import notify
from appointments.models import Appointment, DoctorSchedule, Patient
from tests.conftest import WEDNESDAY, at, make_receptionist

# Before the morning session, so every slot of the day is still ahead.
MORNING = at(WEDNESDAY, 8)
MOBILE = "+919812345678"
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def desk(receptionist):
    """The receptionist at the desk (tests/conftest.py makes every receptionist)."""
    return receptionist


@pytest.fixture
def desk_client(client, db):
    """The test client, signed in as another receptionist."""
    client.force_login(make_receptionist("frontdesk"))
    return client


def nothing_taken(now):
    """Stands in for appointments.slots.taking_slots: the free-slot check sees every
    slot free, as it would have a moment before another desk's write. What is left to
    refuse a taken slot is the database constraint, through take_slot's savepoint."""
    return Q(pk__in=[])


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


@pytest.fixture
def post(desk_client, run_on_commit):
    """POST as the desk_client, running the after-commit work (the texts) as a real
    request does."""

    def run(url, data):
        return run_on_commit(desk_client.post, url, data)

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

"""What one receptionist may do: at most DESK_MAX_OPEN_HOLDS slots on hold awaiting a
code, and DESK_MAX_CODES_PER_HOUR codes texted an hour. One session (or a stolen one)
once held all 15 of a doctor's free slots in 0.1 s and texted 15 random mobiles."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.booking import hold_slot, send_otp
from appointments.errors import BookingError
from appointments.models import Appointment, AppointmentEvent
from tests.appointments.conftest import MORNING, t
from tests.conftest import WEDNESDAY, make_receptionist

pytestmark = pytest.mark.usefixtures("outbox", "rao_morning")

STARTS = [t(9 + i // 4, 15 * (i % 4)) for i in range(12)]  # the morning's 12 slots


def hold(doctor, desk, i, *, now=MORNING):
    return hold_slot(
        doctor=doctor, day=WEDNESDAY, start=STARTS[i], patient_name=f"Patient {i}",
        mobile=f"+9198123{i:05d}", reason="Knee pain", actor=desk, now=now,
    )  # fmt: skip


def test_a_desk_holds_at_most_five_slots_awaiting_codes(dr_rao, desk, settings):
    assert settings.DESK_MAX_OPEN_HOLDS == 5
    for i in range(5):
        hold(dr_rao, desk, i)
    with pytest.raises(BookingError, match="already have 5 slots on hold"):
        hold(dr_rao, desk, 5)
    assert Appointment.objects.count() == 5
    # Another receptionist is not held back by this one.
    hold(dr_rao, make_receptionist("other"), 5)


def test_a_lapsed_or_confirmed_hold_frees_the_desk_to_hold_again(dr_rao, desk):
    for i in range(5):
        hold(dr_rao, desk, i)
    later = MORNING + datetime.timedelta(minutes=11)  # every hold has lapsed
    hold(dr_rao, desk, 5, now=later)


def test_a_desk_has_at_most_30_codes_texted_an_hour(dr_rao, desk, settings):
    settings.DESK_MAX_OPEN_HOLDS = 100
    first = hold(dr_rao, desk, 0)
    AppointmentEvent.objects.bulk_create(
        AppointmentEvent(appointment=first, kind=AppointmentEvent.Kind.OTP_SENT, actor=desk,
                         at=MORNING - datetime.timedelta(minutes=m))
        for m in range(1, 30)
    )  # fmt: skip
    with pytest.raises(BookingError, match="30 codes texted in the last hour"):
        hold(dr_rao, desk, 1)
    with pytest.raises(BookingError, match="30 codes texted"):
        send_otp(first, actor=desk, now=MORNING + datetime.timedelta(minutes=2))
    # An hour after the first of them, the desk may text again.
    hold(dr_rao, desk, 1, now=MORNING + datetime.timedelta(minutes=31))


def test_the_receptionist_is_told_why_on_the_booking_page(client, dr_rao, desk, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: MORNING)
    for i in range(5):
        hold(dr_rao, desk, i)
    client.force_login(desk)
    response = client.post(
        reverse("reception_book"),
        {"doctor": dr_rao.pk, "date": WEDNESDAY.isoformat(), "start": "10:15",
         "patient_name": "Asha Rao", "mobile": "98123 99999", "email": "",
         "reason": "Knee pain"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "already have 5 slots on hold" in response.content.decode()
    assert Appointment.objects.count() == 5

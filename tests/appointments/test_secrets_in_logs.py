"""With DEBUG off no one-time code, password-reset link or full mobile number reaches the
log, and a message with no transport to carry it is recorded as not sent, never "sent"."""

import logging
import os
import re
import subprocess
import sys

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Notification
from tests.appointments.conftest import CODE, MOBILE
from tests.conftest import WEDNESDAY, at
from tests.servers import ROOT

pytestmark = pytest.mark.usefixtures("rao_morning")


@pytest.fixture
def desk_morning(monkeypatch):
    """The desk's clock at 08:00 on the Wednesday, before Dr. Rao's morning."""
    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 8))


@pytest.fixture
def no_transports(settings):
    """The production defaults without SMS_BACKEND or EMAIL_URL (DEBUG is off in tests)."""
    settings.SMS_BACKEND = "none"
    settings.EMAIL_BACKEND = "hospital.mail.NoTransportBackend"


def secrets_in(text: str) -> list[str]:
    found = re.findall(r"\+?91\s?98123\s?4567\d", text) + CODE.findall(text)
    found += re.findall(r"/accounts/reset/\S+", text)
    return found


def test_a_whole_booking_without_debug_logs_no_code_or_mobile(
    dr_rao, desk, post, no_transports, caplog, capsys, monkeypatch, desk_morning
):
    codes = []
    import appointments.booking as booking

    real_hmac = booking._code_hmac

    def remember(appointment, mobile, code):
        codes.append(code)
        return real_hmac(appointment, mobile, code)

    monkeypatch.setattr(booking, "_code_hmac", remember)
    with caplog.at_level(logging.DEBUG):
        post(reverse("reception_book"), {
            "doctor": dr_rao.pk, "date": WEDNESDAY.isoformat(), "start": "09:15",
            "patient_name": "Asha Rao", "mobile": "98123 45678", "email": "asha@example.org",
            "reason": "Knee pain",
        })  # fmt: skip
        appointment = Appointment.objects.get()
        verify = reverse("reception_verify", args=[appointment.public_id])
        post(verify, {"code": codes[0]})
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED
        post(reverse("reception_cancel", args=[appointment.public_id]),
             {"reason": "Patient asked"})  # fmt: skip
    logged = caplog.text + capsys.readouterr().err
    assert codes and not any(code in logged for code in codes)
    assert MOBILE not in logged and "98123" not in logged and "asha@example.org" not in logged
    assert "••••••5678" in logged  # masked, so staff can still tell messages apart
    statuses = set(Notification.objects.values_list("status", flat=True))
    assert statuses == {Notification.Status.NOT_SENT}
    assert not Notification.objects.filter(status="sent").exists()
    otp = Notification.objects.get(purpose="otp")
    assert (
        otp.error == "not sent: no SMS transport configured (SMS_BACKEND=http and SMS_GATEWAY_URL)"
    )
    assert otp.body == ""  # given up: the code is not kept


def test_a_password_reset_without_debug_logs_no_link(
    client, desk, no_transports, caplog, capsys, django_capture_on_commit_callbacks
):
    from appointments.models import Notification

    desk.email = "desk@opd.example"
    desk.save()
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "desk@opd.example"})
    assert response.status_code == 302
    logged = caplog.text + "".join(capsys.readouterr())
    assert "reset" not in logged.lower() or not secrets_in(logged)
    assert "/accounts/reset/" not in logged and "desk@opd.example" not in logged
    assert "no e-mail transport configured" in logged
    # Recorded as not sent, and its link wiped.
    reset = Notification.objects.get(purpose="password_reset")
    assert (reset.status, reset.body) == (Notification.Status.NOT_SENT, "")
    assert mail.outbox == []


def production_settings(**env) -> dict:
    """The settings a server reads from `env` (and nothing else), as a child process."""
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "from django.core.checks import run_checks; "
        "print(json.dumps({'sms': s.SMS_BACKEND, 'email': s.EMAIL_BACKEND, "
        "'checks': sorted(w.id for w in run_checks())}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "EMAIL_URL", "SMS_BACKEND"}}
    base.update(DJANGO_SETTINGS_MODULE="hospital.settings", SECRET_KEY="k" * 50, **env)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base,
                            capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    import json

    return {"out": json.loads(result.stdout.strip().splitlines()[-1]), "log": result.stderr}


def test_without_transports_the_server_says_so_at_start_up_and_prints_nothing():
    started = production_settings()
    assert started["out"]["sms"] == "none"
    assert started["out"]["email"] == "hospital.mail.NoTransportBackend"
    assert {"appointments.W001", "appointments.W002"} <= set(started["out"]["checks"])
    assert "SMS are not sent: no SMS transport configured" in started["log"]
    assert "Emails are not sent: no e-mail transport configured" in started["log"]


def test_with_transports_configured_there_is_no_warning():
    started = production_settings(
        SMS_BACKEND="http", SMS_GATEWAY_URL="https://sms.example/v1", EMAIL_URL="smtp://m:25"
    )
    assert not {"appointments.W001", "appointments.W002"} & set(started["out"]["checks"])
    assert "are not sent" not in started["log"]


def test_under_debug_the_console_backends_still_print_for_the_developer():
    started = production_settings(DEBUG="1")
    assert started["out"]["sms"] == "console"
    assert started["out"]["email"] == "django.core.mail.backends.console.EmailBackend"
    assert "are not sent" not in started["log"]

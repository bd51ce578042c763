"""Every SMS and email goes through appointments.notify: the console, outbox, HTTP gateway
and email backends, each recorded as a Notification; a failed send is recorded and shown,
never raised, and never loses the booking."""

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from appointments import notify
from appointments.booking import hold_slot, verify_otp
from appointments.models import Appointment, AppointmentEvent, Notification
from tests.appointments.conftest import MOBILE, MORNING, latest_code, t
from tests.conftest import WEDNESDAY


class Gateway:
    """A real SMS gateway stand-in on 127.0.0.1: records requests, answers `status`."""

    def __init__(self, status=200, delay=0.0):
        self.status, self.delay, self.requests = status, delay, []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                time.sleep(gateway.delay)
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if gateway.status < 300 else b'{"error": 1}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    servers = []

    def start(status=200, delay=0.0):
        server = Gateway(status, delay)
        servers.append(server)
        settings.SMS_BACKEND = "http"
        settings.SMS_GATEWAY_URL = server.url
        settings.SMS_GATEWAY_KEY = "gw-key-123"
        settings.SMS_SENDER = "CITYHO"
        return server

    yield start
    for server in servers:
        server.close()


# --- Backends -----------------------------------------------------------------------------


def test_the_console_backend_writes_the_message_to_the_server_log(db, settings, caplog):
    settings.SMS_BACKEND = "console"
    with caplog.at_level(logging.INFO, logger="appointments.notify"):
        sent = notify.send_sms(MOBILE, "Your appointment is confirmed.", purpose="confirmation")
    assert f"SMS to {MOBILE} (confirmation): Your appointment is confirmed." in caplog.text
    sent.refresh_from_db()
    assert (sent.channel, sent.status, sent.to) == ("sms", "sent", MOBILE)
    assert sent.body == "Your appointment is confirmed."


def test_a_secret_message_is_delivered_but_its_text_not_recorded(db, settings, caplog):
    settings.SMS_BACKEND = "console"
    with caplog.at_level(logging.INFO, logger="appointments.notify"):
        sent = notify.send_sms(MOBILE, "123456 is your code", purpose="otp", secret=True)
    assert "123456 is your code" in caplog.text  # the console backend's whole job
    assert Notification.objects.get(pk=sent.pk).body == ""


def test_the_outbox_backend_appends_one_json_line_per_message(db, outbox):
    notify.send_sms(MOBILE, "first", purpose="otp", secret=True)
    notify.send_sms("+919812345679", "second", purpose="confirmation")
    lines = (outbox / "sms.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"to", "body", "purpose", "at"}
    assert (first["to"], first["body"], first["purpose"]) == (MOBILE, "first", "otp")
    assert json.loads(lines[1])["body"] == "second"


def test_an_unwritable_outbox_is_a_failed_notification(db, settings, tmp_path):
    (tmp_path / "file").write_text("")
    settings.SMS_BACKEND = "outbox"
    settings.OUTBOX_DIR = tmp_path / "file"  # a file, not a directory
    sent = notify.send_sms(MOBILE, "hello", purpose="confirmation")
    assert sent.status == "failed" and "outbox" in sent.error


def test_email_goes_through_django_mail(db):
    sent = notify.send_email("asha@example.org", "Confirmed", "See you.", purpose="confirmation")
    (email,) = mail.outbox
    assert (email.to, email.subject, email.body) == (["asha@example.org"], "Confirmed", "See you.")
    sent.refresh_from_db()
    assert (sent.channel, sent.status, sent.body) == ("email", "sent", "Confirmed\n\nSee you.")


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


def test_a_failed_email_is_recorded_not_raised(db, settings):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenEmailBackend"
    sent = notify.send_email("asha@example.org", "Confirmed", "See you.", purpose="confirmation")
    sent.refresh_from_db()
    assert sent.status == "failed"
    assert "ConnectionRefusedError" in sent.error


def test_the_http_gateway_gets_json_with_a_bearer_key(db, gateway):
    server = gateway()
    sent = notify.send_sms(MOBILE, "Your appointment is confirmed.", purpose="confirmation")
    (request,) = server.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer gw-key-123"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "to": MOBILE, "message": "Your appointment is confirmed.", "sender": "CITYHO",
    }  # fmt: skip
    assert Notification.objects.get(pk=sent.pk).status == "sent"


def test_a_gateway_error_is_a_failed_notification(db, gateway):
    gateway(status=500)
    sent = notify.send_sms(MOBILE, "123456 is your code", purpose="otp", secret=True)
    sent.refresh_from_db()
    assert (sent.status, sent.error) == ("failed", "the SMS gateway answered HTTP 500")
    assert sent.body == ""


def test_an_unreachable_gateway_is_a_failed_notification(db, gateway):
    server = gateway()
    server.close()  # nothing listens on the port any more
    sent = notify.send_sms(MOBILE, "hello", purpose="confirmation")
    assert sent.status == "failed" and "could not reach the SMS gateway" in sent.error


def test_a_slow_gateway_times_out(db, gateway, monkeypatch):
    monkeypatch.setattr(notify, "GATEWAY_TIMEOUT_SECONDS", 0.2)
    gateway(delay=1.0)
    started = time.monotonic()
    sent = notify.send_sms(MOBILE, "hello", purpose="confirmation")
    assert time.monotonic() - started < 1.0
    assert sent.status == "failed" and "timed out" in sent.error


def test_the_gateway_timeout_is_five_seconds():
    assert notify.GATEWAY_TIMEOUT_SECONDS == 5


def test_a_missing_gateway_url_or_unknown_backend_is_a_failed_notification(db, settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = ""
    assert "SMS_GATEWAY_URL is not set" in notify.send_sms(MOBILE, "x", purpose="otp").error
    settings.SMS_BACKEND = "pigeon"
    assert "unknown SMS_BACKEND" in notify.send_sms(MOBILE, "x", purpose="otp").error


# --- Failures during a booking ------------------------------------------------------------


def test_a_failing_gateway_never_loses_the_booking(
    db, dr_rao, desk, rao_morning, gateway, outbox, run_on_commit, settings, caplog
):
    settings.SMS_BACKEND = "outbox"  # the code gets through...
    held = run_on_commit(hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
                         mobile=MOBILE, reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    code = latest_code()
    server = gateway(status=500)  # ...the confirmation does not
    booked = run_on_commit(verify_otp, held, code, actor=desk, now=MORNING)
    assert len(server.requests) == 1
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
    failed = booked.notifications.get(status="failed")
    assert (failed.purpose, failed.error) == ("confirmation", "the SMS gateway answered HTTP 500")
    event = booked.events.get(kind=AppointmentEvent.Kind.NOTIFY_FAILED)
    assert "SMS confirmation to ••••••5678" in event.reason and event.actor is None
    assert code not in caplog.text


def test_a_failed_code_sms_leaves_the_hold_in_place(db, dr_rao, desk, rao_morning, gateway,
                                                    run_on_commit):  # fmt: skip
    gateway(status=503)
    held = run_on_commit(hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
                         mobile=MOBILE, reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    held.refresh_from_db()
    assert held.status == Appointment.Status.HELD
    assert held.notifications.get().status == "failed"
    assert list(held.events.values_list("kind", flat=True)) == ["held", "otp_sent",
                                                                "notify_failed"]  # fmt: skip

"""Every SMS and email goes through appointments.notify's outbox: written in the
transaction of the change that causes it, sent by the worker through the console, outbox,
HTTP gateway or email backend, each try recorded; a failure is retried with backoff, then
recorded and shown, never raised, and never loses the booking."""

import datetime
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from appointments import notify
from appointments.booking import hold_slot, verify_otp
from appointments.models import Appointment, AppointmentEvent, Notification
from tests.appointments.conftest import MOBILE, MORNING, latest_code, t
from tests.conftest import WEDNESDAY


class Gateway:
    """A real SMS gateway stand-in on 127.0.0.1: records requests, answers `status`."""

    def __init__(self, status=200, delay=0.0):
        # `status` may be a list: one answer per request, the last one repeated.
        self.status, self.delay, self.requests = status, delay, []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                time.sleep(gateway.delay)
                answers = gateway.status if isinstance(gateway.status, list) else [gateway.status]
                status = answers[min(len(gateway.requests), len(answers)) - 1]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": 1}')

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


def send_sms(to, body, *, purpose, secret=False, **kwargs) -> Notification:
    """Queue an SMS and let the worker try it once, as it would after the commit."""
    queued = notify.queue_sms(to, body, purpose=purpose, secret=secret, **kwargs)
    notify.send_one(queued.pk)
    return Notification.objects.get(pk=queued.pk)


def send_email(to, subject, body, *, purpose) -> Notification:
    queued = notify.queue_email(to, subject, body, purpose=purpose)
    notify.send_one(queued.pk)
    return Notification.objects.get(pk=queued.pk)


def test_the_console_backend_writes_the_message_to_the_server_log_under_debug(db, settings, caplog):
    settings.DEBUG = True
    settings.SMS_BACKEND = "console"
    with caplog.at_level(logging.INFO, logger="appointments.notify"):
        sent = send_sms(MOBILE, "Your appointment is confirmed.", purpose="confirmation")
    assert f"SMS to {MOBILE} (confirmation): Your appointment is confirmed." in caplog.text
    assert (sent.channel, sent.status, sent.to) == ("sms", "sent", MOBILE)
    assert sent.body == "Your appointment is confirmed."
    assert [a["result"] for a in sent.attempts] == ["sent"]


def test_without_debug_the_console_is_no_transport_and_prints_nothing(db, settings, caplog):
    settings.SMS_BACKEND = "console"
    with caplog.at_level(logging.DEBUG):
        sent = send_sms(MOBILE, "123456 is your code", purpose="otp", secret=True)
    assert sent.status == Notification.Status.NOT_SENT
    assert sent.error == f"not sent: {notify.NO_SMS_TRANSPORT}"
    assert "123456" not in caplog.text and MOBILE not in caplog.text
    assert "SMS (otp) to ••••••5678: not sent: no SMS transport configured" in caplog.text


def test_a_secret_message_is_delivered_and_its_text_then_cleared(db, settings, caplog):
    settings.DEBUG = True
    settings.SMS_BACKEND = "console"
    with caplog.at_level(logging.INFO, logger="appointments.notify"):
        queued = notify.queue_sms(MOBILE, "123456 is your code", purpose="otp", secret=True)
        assert Notification.objects.get(pk=queued.pk).body == "123456 is your code"  # to send
        notify.send_one(queued.pk)
    assert "123456 is your code" in caplog.text  # the console backend's whole job, in DEBUG
    sent = Notification.objects.get(pk=queued.pk)
    assert (sent.status, sent.body) == ("sent", "")


def test_the_outbox_backend_appends_one_json_line_per_message(db, outbox):
    send_sms(MOBILE, "first", purpose="otp", secret=True)
    send_sms("+919812345679", "second", purpose="confirmation")
    lines = (outbox / "sms.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"to", "body", "purpose", "at", "language", "sender", "template_id",
                          "entity_id", "message_id"}  # fmt: skip
    assert (first["to"], first["body"], first["purpose"]) == (MOBILE, "first", "otp")
    assert json.loads(lines[1])["body"] == "second"


def test_an_unwritable_outbox_is_tried_again_later(db, settings, tmp_path):
    (tmp_path / "file").write_text("")
    settings.SMS_BACKEND = "outbox"
    settings.OUTBOX_DIR = tmp_path / "file"  # a file, not a directory
    sent = send_sms(MOBILE, "hello", purpose="confirmation")
    assert sent.status == "pending" and "outbox" in sent.error
    assert sent.attempts[0]["result"] == "failed"


def test_email_goes_through_django_mail(db):
    sent = send_email("asha@example.org", "Confirmed", "See you.", purpose="confirmation")
    (email,) = mail.outbox
    assert (email.to, email.subject, email.body) == (["asha@example.org"], "Confirmed", "See you.")
    assert (sent.channel, sent.status, sent.subject, sent.body) == (
        "email", "sent", "Confirmed", "See you.",
    )  # fmt: skip


def test_without_an_email_transport_an_email_is_not_sent(db, settings, caplog):
    settings.EMAIL_BACKEND = "hospital.mail.NoTransportBackend"
    with caplog.at_level(logging.DEBUG):
        sent = send_email("asha@example.org", "Confirmed", "See you.", purpose="confirmation")
    assert (sent.status, sent.error) == ("not_sent", f"not sent: {notify.NO_EMAIL_TRANSPORT}")
    assert mail.outbox == [] and "asha@example.org" not in caplog.text


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


def test_a_failed_email_is_recorded_and_retried_not_raised(db, settings):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenEmailBackend"
    sent = send_email("asha@example.org", "Confirmed", "See you.", purpose="confirmation")
    assert sent.status == "pending"
    assert "ConnectionRefusedError" in sent.error


def test_the_http_gateway_gets_json_with_a_bearer_key(db, gateway):
    server = gateway()
    sent = send_sms(MOBILE, "Your appointment is confirmed.", purpose="confirmation")
    (request,) = server.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer gw-key-123"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "to": MOBILE, "message": "Your appointment is confirmed.", "sender": "CITYHO",
        "template_id": "", "entity_id": "", "message_id": str(sent.message_id), "unicode": False,
    }  # fmt: skip
    assert sent.status == "sent"


def test_an_unreachable_gateway_is_a_failed_try(db, gateway):
    server = gateway()
    server.close()  # nothing listens on the port any more
    sent = send_sms(MOBILE, "hello", purpose="confirmation")
    assert sent.status == "pending" and "could not reach the SMS gateway" in sent.error


def test_a_slow_gateway_times_out(db, gateway, monkeypatch):
    monkeypatch.setattr(notify, "GATEWAY_TIMEOUT_SECONDS", 0.2)
    gateway(delay=1.0)
    started = time.monotonic()
    sent = send_sms(MOBILE, "hello", purpose="confirmation")
    assert time.monotonic() - started < 1.0
    assert sent.status == "pending" and "timed out" in sent.error


def test_the_gateway_timeout_is_five_seconds():
    assert notify.GATEWAY_TIMEOUT_SECONDS == 5


def test_a_missing_gateway_url_is_not_sent_and_an_unknown_backend_failed(db, settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = ""
    sent = send_sms(MOBILE, "x", purpose="otp")
    assert sent.status == "not_sent" and "no SMS transport configured" in sent.error
    settings.SMS_BACKEND = "pigeon"
    sent = send_sms(MOBILE, "x", purpose="otp")
    assert (sent.status, sent.error) == ("failed", "unknown SMS_BACKEND 'pigeon'")


# --- Retries ------------------------------------------------------------------------------


def test_a_failing_gateway_is_retried_with_backoff_until_it_answers(db, gateway, settings):
    settings.NOTIFY_RETRY_SECONDS = 30
    server = gateway(status=[500, 503, 200])  # fails twice, then takes the message
    queued = notify.queue_sms(MOBILE, "123456 is your code", purpose="otp", secret=True)
    start = timezone.now()

    def worker_runs(after_seconds):
        notify.send_due(now=start + datetime.timedelta(seconds=after_seconds))
        return Notification.objects.get(pk=queued.pk)

    first = worker_runs(0)
    assert (first.status, first.error) == ("pending", "the SMS gateway answered HTTP 500")
    assert first.next_attempt_at == start + datetime.timedelta(seconds=30)
    assert first.body  # kept until it is sent: the worker needs it
    assert worker_runs(29).attempts == first.attempts  # not due yet: nothing tried
    second = worker_runs(30)
    assert second.next_attempt_at == start + datetime.timedelta(seconds=30 + 60)  # doubled
    assert worker_runs(89).attempts == second.attempts
    third = worker_runs(90)
    assert third.status == "sent" and third.body == ""
    assert [(a["result"], a["error"]) for a in third.attempts] == [
        ("failed", "the SMS gateway answered HTTP 500"),
        ("failed", "the SMS gateway answered HTTP 503"),
        ("sent", ""),
    ]
    assert [a["at"] for a in third.attempts] == [
        (start + datetime.timedelta(seconds=s)).isoformat() for s in (0, 30, 90)
    ]
    assert len(server.requests) == 3


def test_after_the_last_try_the_message_is_failed_and_shown_to_reception(
    db, dr_rao, desk, rao_morning, gateway, outbox, run_on_commit, settings
):
    from appointments.views import failed_notifications

    held = run_on_commit(hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
                         mobile=MOBILE, reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    code = latest_code()
    server = gateway(status=500)
    booked = run_on_commit(verify_otp, held, code, actor=desk, now=MORNING)
    later = timezone.now()
    for _ in range(settings.NOTIFY_MAX_ATTEMPTS):
        later += datetime.timedelta(hours=1)
        notify.send_due(now=later)
    assert len(server.requests) == settings.NOTIFY_MAX_ATTEMPTS
    failed = booked.notifications.get(purpose="confirmation")
    assert (failed.status, failed.error) == ("failed", "the SMS gateway answered HTTP 500")
    assert len(failed.attempts) == settings.NOTIFY_MAX_ATTEMPTS
    assert failed_notifications(booked) == [
        "The confirmation SMS could not be sent: the SMS gateway answered HTTP 500"
    ]
    event = booked.events.get(kind=AppointmentEvent.Kind.NOTIFY_FAILED)
    assert "SMS confirmation to ••••••5678" in event.reason and event.actor is None


def test_a_code_not_sent_before_it_expires_is_given_up_and_cleared(db, gateway, settings):
    gateway(status=500)
    queued = notify.queue_sms(
        MOBILE, "123456 is your code", purpose="otp", secret=True,
        expires_in=datetime.timedelta(minutes=10),
    )  # fmt: skip
    notify.send_due()
    notify.send_due(now=timezone.now() + datetime.timedelta(minutes=11))
    gone = Notification.objects.get(pk=queued.pk)
    assert (gone.status, gone.body) == ("failed", "")
    assert gone.error == "it expired before it could be sent"


def test_two_workers_woken_for_one_message_send_it_once(db, gateway):
    server = gateway()
    queued = notify.queue_sms(MOBILE, "hello", purpose="confirmation")
    assert notify.send_one(queued.pk) is not None
    assert notify.send_one(queued.pk) is None
    assert len(server.requests) == 1


# --- The outbox and the change that causes it ---------------------------------------------


class Boom(Exception):
    pass


def test_a_message_is_written_in_the_transaction_of_its_change(
    db, dr_rao, desk, rao_morning, outbox, monkeypatch, django_capture_on_commit_callbacks
):
    real_queue = notify.queue_sms

    def queue_then_fail(*args, **kwargs):
        real_queue(*args, **kwargs)
        raise Boom  # the booking fails after its SMS was queued

    monkeypatch.setattr(notify, "queue_sms", queue_then_fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom):
        hold_slot(doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha", mobile=MOBILE,
                  reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    assert not Appointment.objects.exists()
    assert not Notification.objects.exists()  # rolled back with the hold
    assert notify.send_due() == 0
    assert not (outbox / "sms.jsonl").exists()


def test_a_message_committed_but_never_woken_is_sent_by_the_schedule(
    db, dr_rao, desk, rao_morning, outbox, django_capture_on_commit_callbacks
):
    # The server dies right after the commit: its after-commit work never runs.
    with django_capture_on_commit_callbacks(execute=False):
        held = hold_slot(doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
                         mobile=MOBILE, reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    waiting = held.notifications.get()
    assert (waiting.purpose, waiting.status) == ("otp", "pending")
    assert not (outbox / "sms.jsonl").exists()
    assert notify.send_due() == 1  # what the worker runs every minute
    assert len(latest_code()) == 6
    assert held.notifications.get().status == "sent"


def test_outside_a_transaction_nothing_is_queued_half_way(db):
    with pytest.raises(Boom), transaction.atomic():
        notify.queue_email("asha@example.org", "Hi", "Hello", purpose="confirmation")
        raise Boom
    assert not Notification.objects.exists()


# --- Failures during a booking ------------------------------------------------------------


def test_a_failing_gateway_never_loses_the_booking(
    db, dr_rao, desk, rao_morning, gateway, outbox, run_on_commit, settings, caplog
):
    settings.SMS_BACKEND = "outbox"  # the code gets through...
    held = run_on_commit(hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
                         mobile=MOBILE, reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    code = latest_code()
    server = gateway(status=500)  # ...the confirmation does not, at first
    booked = run_on_commit(verify_otp, held, code, actor=desk, now=MORNING)
    assert len(server.requests) == 1
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
    waiting = booked.notifications.get(purpose="confirmation")
    assert (waiting.status, waiting.error) == ("pending", "the SMS gateway answered HTTP 500")
    assert code not in caplog.text


def test_a_code_sms_not_sent_leaves_the_hold_in_place_and_says_so(
    db, dr_rao, desk, rao_morning, settings, run_on_commit
):
    settings.SMS_BACKEND = "none"
    held = run_on_commit(hold_slot, doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
                         mobile=MOBILE, reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    held.refresh_from_db()
    assert held.status == Appointment.Status.HELD
    assert held.notifications.get().status == "not_sent"
    assert list(held.events.values_list("kind", flat=True)) == ["held", "otp_sent",
                                                                "notify_failed"]  # fmt: skip

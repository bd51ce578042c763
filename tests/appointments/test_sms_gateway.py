"""The HTTP SMS gateway as an Indian gateway sees it (TRAI DLT): each message with its
kind's template id and sender header, the hospital's entity id, and a message id that is
the same on every try. A gateway that fails twice then succeeds delivers exactly one SMS;
a worker killed mid-send loses nothing, and the message goes to the gateway a second time
only when the worker died after the gateway's answer and before recording it, with the
same message id, which is how the gateway drops the repeat."""

import datetime
import json
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from appointments import notify
from appointments.models import Notification
from queues import services
from tests.appointments.conftest import MOBILE
from tests.servers import ROOT, child_env, database_url

TEMPLATES = {
    "token_called": {
        "sender": "CGHOPD",
        "template_id": "1107160000000000001",
        "template_ids": {"en": "1107160000000000001", "ta": "1107160000000000002"},
    }
}


class DltGateway:
    """An SMS gateway on 127.0.0.1 that, like a real one, delivers a message id once and
    drops a repeat (answering it as accepted). `answers` lists the HTTP status of each
    request, the last repeated. With `hold` set, a request is accepted (delivered) on
    arrival but not answered until the test releases it, or (with `hold_answer`) it is
    answered and the gateway then waits for the client to hang up."""

    def __init__(self, answers=(200,)):
        self.answers = list(answers)
        self.requests: list[dict] = []
        self.delivered: dict[str, dict] = {}
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.answered = threading.Event()
        self.hold = self.hold_answer = False
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append(payload)
                status = gateway.answers[min(len(gateway.requests), len(gateway.answers)) - 1]
                if status == 200:
                    gateway.delivered.setdefault(payload["message_id"], payload)
                if gateway.hold:
                    gateway.arrived.set()
                    gateway.release.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "12")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                    self.wfile.flush()
                    if gateway.hold_answer:
                        # The client has read the answer once it hangs up.
                        self.connection.recv(1)
                        gateway.answered.set()
                except OSError:
                    pass  # the worker was killed while we held its request

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    server = DltGateway()
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = server.url
    settings.SMS_GATEWAY_KEY = "gw-key"
    settings.SMS_DLT_ENTITY_ID = "1201160000000000009"
    settings.SMS_TEMPLATES = TEMPLATES
    yield server
    server.close()


def called_message(department, doctor, *, language="en") -> Notification:
    services.issue_token(department, "Asha Rao", mobile=MOBILE, language=language)
    token = services.call_next(doctor)
    called = Notification.objects.get(token=token, purpose="token_called")
    Notification.objects.exclude(pk=called.pk).delete()  # only the call's SMS under test
    return called


def test_a_gateway_failing_twice_then_succeeding_delivers_exactly_one_sms(
    orth, dr_rao, gateway, settings
):
    gateway.answers = [500, 500, 200]
    message = called_message(orth, dr_rao, language="ta")
    start = timezone.now()
    notify.send_one(message.pk, now=start)
    retry = start + datetime.timedelta(seconds=settings.NOTIFY_RETRY_SECONDS)
    assert notify.send_due(now=retry - datetime.timedelta(seconds=1)) == 0  # backing off
    assert notify.send_due(now=retry) == 1
    assert notify.send_due(now=retry + datetime.timedelta(seconds=59)) == 0
    assert notify.send_due(now=retry + datetime.timedelta(seconds=60)) == 1
    message.refresh_from_db()
    assert message.status == "sent"
    assert [a["result"] for a in message.attempts] == ["failed", "failed", "sent"]
    assert len(gateway.requests) == 3 and len(gateway.delivered) == 1
    for request in gateway.requests:
        assert request == {
            "to": MOBILE,
            "message": message.body,
            "sender": "CGHOPD",
            "template_id": "1107160000000000002",  # the Tamil text's own template
            "entity_id": "1201160000000000009",
            "message_id": str(message.message_id),
            "unicode": not message.body.isascii(),
        }
    assert notify.send_due(now=retry + datetime.timedelta(hours=1)) == 0  # sent is final


def test_a_kind_without_its_own_sender_uses_sms_sender(orth, dr_rao, gateway, settings):
    settings.SMS_SENDER = "CGHOSP"
    issued = Notification.objects.get(
        token=services.issue_token(orth, "Asha", mobile=MOBILE), purpose="token_issued"
    )
    notify.send_one(issued.pk)
    (request,) = gateway.requests
    assert (request["sender"], request["template_id"]) == ("CGHOSP", "")


def test_a_hindi_or_tamil_text_goes_as_unicode(db, gateway):
    queued = notify.queue_sms(MOBILE, "ORTH-007: कृपया कमरा 4 में जाएँ", purpose="token_called")
    notify.send_one(queued.pk)
    assert gateway.requests[0]["unicode"] is True


# --- A worker killed mid-send -----------------------------------------------------------

CLAIM_SECONDS = 4


def start_worker(pk: int, gateway: DltGateway) -> subprocess.Popen:
    """A worker process trying notification `pk` (notify.send_one), as the worker's task
    does, on the test's database, with a short lease."""
    env = child_env()
    env.update(
        SMS_BACKEND="http",
        SMS_GATEWAY_URL=gateway.url,
        SMS_DLT_ENTITY_ID="1201160000000000009",
        SMS_TEMPLATE_TOKEN_CALLED="1107160000000000001",
        SMS_SENDER_TOKEN_CALLED="CGHOPD",
        NOTIFY_CLAIM_SECONDS=str(CLAIM_SECONDS),
        LOG_LEVEL="WARNING",
    )
    code = f"from appointments import notify; notify.send_one({pk})"
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def restart_after_the_lease(message: Notification, gateway: DltGateway) -> None:
    """Nobody takes the message while the dead worker's lease runs; after it, a new
    worker sends it."""
    message.refresh_from_db()
    assert message.status == "pending" and message.attempts == []  # nothing recorded
    lease_end = message.next_attempt_at
    assert notify.send_due(now=lease_end - datetime.timedelta(seconds=1)) == 0
    while timezone.now() < lease_end:
        time.sleep(0.2)
    gateway.hold = gateway.hold_answer = False
    worker = start_worker(message.pk, gateway)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output.decode()[-3000:]


def queued_call(orth, dr_rao, monkeypatch) -> Notification:
    # The worker's task queue as in production: nothing sends in this process.
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    return called_message(orth, dr_rao)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_the_gateway_hangs_loses_no_message(
    orth, dr_rao, gateway, monkeypatch
):
    message = queued_call(orth, dr_rao, monkeypatch)
    gateway.hold = True
    worker = start_worker(message.pk, gateway)
    assert gateway.arrived.wait(60), worker.communicate()[0].decode()[-3000:]
    worker.kill()  # SIGKILL, mid-send
    worker.wait()
    gateway.release.set()
    restart_after_the_lease(message, gateway)
    message.refresh_from_db()
    assert message.status == "sent"
    # The gateway saw the message twice, with one id, and delivered it once.
    assert [r["message_id"] for r in gateway.requests] == [str(message.message_id)] * 2
    assert list(gateway.delivered) == [str(message.message_id)]
    assert gateway.requests[0]["template_id"] == "1107160000000000001"
    assert gateway.requests[0]["sender"] == "CGHOPD"
    # A recorded message is never sent again.
    assert notify.send_due(now=timezone.now() + datetime.timedelta(hours=1)) == 0
    assert len(gateway.requests) == 2


class RowLock:
    """Holds a write lock on the outbox row from another connection, so the worker's
    recording of the gateway's answer waits for it (SQLite: the database's write lock;
    PostgreSQL: the row's lock)."""

    def __init__(self, pk: int):
        self.pk = pk
        self.vendor = connection.vendor

    def __enter__(self):
        if self.vendor == "sqlite":
            self.db = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
            self.db.execute("BEGIN IMMEDIATE")
        else:
            self.db = psycopg.connect(database_url().replace("postgres://", "postgresql://"))
            self.db.execute(
                "SELECT id FROM appointments_notification WHERE id = %s FOR UPDATE", [self.pk]
            )
        return self

    def __exit__(self, *exc):
        self.db.rollback() if self.vendor != "sqlite" else self.db.execute("ROLLBACK")
        self.db.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_the_gateways_answer_sends_again_with_the_same_id(
    orth, dr_rao, gateway, monkeypatch
):
    message = queued_call(orth, dr_rao, monkeypatch)
    gateway.hold = gateway.hold_answer = True
    worker = start_worker(message.pk, gateway)
    assert gateway.arrived.wait(60), worker.communicate()[0].decode()[-3000:]
    with RowLock(message.pk):
        gateway.release.set()  # the gateway accepts and answers 200...
        assert gateway.answered.wait(30)  # ...the worker has read it...
        worker.kill()  # ...and dies before it can record it (the row is locked)
        worker.wait()
    restart_after_the_lease(message, gateway)
    message.refresh_from_db()
    assert message.status == "sent" and [a["result"] for a in message.attempts] == ["sent"]
    # Sent twice with one id: the gateway dropped the repeat, the patient got one SMS.
    assert [r["message_id"] for r in gateway.requests] == [str(message.message_id)] * 2
    assert len(gateway.delivered) == 1

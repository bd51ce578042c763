"""The worker sends the outbox outside the request: a slow SMS gateway no longer holds up
the desk, and the real worker process (`manage.py qcluster`) sends what a booking queued."""

import time

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf

from appointments import notify
from appointments.booking import hold_slot
from appointments.models import Notification
from tests.appointments.conftest import MOBILE, MORNING, latest_code, t
from tests.appointments.test_notify import gateway  # noqa: F401 (a fixture)
from tests.conftest import WEDNESDAY, at
from tests.servers import WorkerProcess


@pytest.fixture
def real_worker_queue(monkeypatch):
    """Tasks go to the database queue, as in production, instead of running at once."""
    monkeypatch.setattr(Conf, "SYNC", False)


@pytest.fixture
def desk_morning(monkeypatch):
    """The desk's clock at 08:00 on the Wednesday, before Dr. Rao's morning."""
    monkeypatch.setattr(timezone, "now", lambda: at(WEDNESDAY, 8))


def test_a_slow_gateway_no_longer_blocks_the_request(
    desk_client, dr_rao, rao_morning, gateway, real_worker_queue, desk_morning,  # noqa: F811
    django_capture_on_commit_callbacks,
):  # fmt: skip
    server = gateway(delay=3.0)
    book = {
        "doctor": dr_rao.pk, "date": WEDNESDAY.isoformat(), "start": "09:15",
        "patient_name": "Asha Rao", "mobile": "98123 45678", "email": "", "reason": "Knee pain",
    }  # fmt: skip
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = desk_client.post(reverse("reception_book"), book)
    assert response.status_code == 302
    assert time.monotonic() - started < 1.5
    assert server.requests == []  # the request returned before the gateway was called
    assert Notification.objects.get().status == "pending"
    assert notify.send_due() == 1  # the worker, later
    assert len(server.requests) == 1
    assert Notification.objects.get().status == "sent"


def test_the_worker_process_sends_a_queued_code_to_the_outbox(
    transactional_db, dr_rao, desk, rao_morning, outbox, real_worker_queue
):
    held = hold_slot(doctor=dr_rao, day=WEDNESDAY, start=t(9), patient_name="Asha",
                     mobile=MOBILE, reason="Knee pain", actor=desk, now=MORNING)  # fmt: skip
    assert held.notifications.get().status == "pending"
    assert not (outbox / "sms.jsonl").exists()
    # The same key as this test process, which signed the queued task.
    env = {"SMS_BACKEND": "outbox", "OUTBOX_DIR": str(outbox), "SECRET_KEY": settings.SECRET_KEY}
    with WorkerProcess(extra_env=env) as worker:
        deadline = time.monotonic() + 30
        while not (outbox / "sms.jsonl").exists() and time.monotonic() < deadline:
            assert worker.process.poll() is None, worker.log.read_text()[-3000:]
            time.sleep(0.2)
    assert (outbox / "sms.jsonl").exists(), worker.log.read_text()[-3000:]
    assert len(latest_code()) == 6
    for _ in range(50):  # the worker records the send just after writing the line
        if held.notifications.get().status == "sent":
            break
        time.sleep(0.1)
    sent = held.notifications.get()
    assert (sent.status, sent.body) == ("sent", "")

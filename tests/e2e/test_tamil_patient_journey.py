"""Issue 15's "done", as in production: daphne and the worker process, a registered kiosk
with a network printer, the outbox SMS backend and a TV whose browser has no Tamil voice.

A Tamil-speaking patient takes a token in Tamil at the kiosk; the worker prints a Tamil
slip on the kiosk's printer; an SMS in Tamil comes when three are ahead; and the TV says
the call in Tamil and then Hindi, from the generated clips."""

import json
import re
import shutil
import time

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from hospital.models import ALL_WEEKDAYS, Department
from queues import announce, services
from queues.kiosk import KIOSK_COOKIE, key_hash
from queues.models import KioskDevice, Token
from tests.conftest import make_doctor, require_in_ci
from tests.e2e.conftest import log_in, press
from tests.queues.test_printing import Printer
from tests.servers import DaphneServer, WorkerProcess

pytestmark = pytest.mark.browser

KEY = "entrance-kiosk-" + "k" * 20
TAMIL = re.compile("[\u0b80-\u0bff]")
QR_COMMAND = b"\x1d(k"


def wait_for(probe, what: str, seconds: float = 120):
    """Poll `probe` until it returns something truthy: the worker is another process,
    which on a busy CI machine may take a while to start and to poll its queue."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := probe():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def serve(terminal) -> None:
    press(terminal, "Call next")
    press(terminal, "Start consultation")
    press(terminal, "Complete")


def sms(outbox, purpose: str) -> list[dict]:
    path = outbox / "sms.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [m for m in map(json.loads, filter(None, lines)) if m["purpose"] == purpose]


@pytest.fixture
def hospital(transactional_db, tmp_path):
    if shutil.which("espeak-ng") is None:
        require_in_ci("espeak-ng", "install the Debian package `espeak-ng`")
    # Open every day, so the journey is today's whatever the calendar says.
    orth = Department.objects.create(
        name="Orthopaedics", name_hi="हड्डी रोग", name_ta="எலும்பியல்", code="ORTH",
        open_weekdays=ALL_WEEKDAYS,
    )  # fmt: skip
    doctor = make_doctor("rao", "Dr. Rao", orth, "4")
    clips = tmp_path / "clips"
    call_command("make_audio_clips", "--languages", "ta,hi", "--out", str(clips))
    return orth, doctor, clips


def test_a_tamil_patient_is_served_in_tamil_from_kiosk_to_call(
    hospital, tmp_path, browser_with_autoplay
):
    orth, doctor, clips = hospital
    printer = Printer()
    outbox = tmp_path / "outbox"
    KioskDevice.objects.create(
        name="OPD entrance", key_hash=key_hash(KEY), registered_at=timezone.now(),
        paper_width=58, printer_host="127.0.0.1", printer_port=printer.port,
    )  # fmt: skip
    for name in ["Asha Rao", "Bala Iyer", "Chitra Das", "Deepak Jain"]:
        services.issue_token(orth, name)
    env = {
        "SMS_BACKEND": "outbox", "OUTBOX_DIR": str(outbox), "WORKER_SYNC": "0",
        "AUDIO_CLIPS_DIR": str(clips), "RECORDED_AUDIO_DIR": str(tmp_path / "recorded"),
    }  # fmt: skip
    with WorkerProcess(extra_env=env), DaphneServer(extra_env=env) as server:
        kiosk_context = browser_with_autoplay.new_context(viewport={"width": 1080, "height": 1920})
        kiosk_context.add_cookies([{"name": KIOSK_COOKIE, "value": KEY, "url": server.url}])
        kiosk = kiosk_context.new_page()
        kiosk.goto(f"{server.url}/kiosk/")
        kiosk.get_by_role("button", name="தமிழ்").click()
        kiosk.get_by_role("link", name=re.compile("எலும்பியல்")).click()
        kiosk.fill("#id_patient_name", "Kumar Selvam")
        kiosk.fill("#id_mobile", "9812345678")
        kiosk.locator("#kiosk-form button[type=submit]").click()

        # The slip on the screen, in Tamil.
        expect(kiosk.locator("html")).to_have_attribute("lang", "ta")
        expect(kiosk.locator(".ts-number")).to_have_text(re.compile("ORTH-005"))
        token = Token.objects.get(number=5)
        assert token.language == "ta"

        # The worker printed it on the kiosk's printer: the number as text, the QR code
        # as the printer's own command, the Tamil words as pictures.
        wait_for(lambda: token.print_jobs.filter(status="printed").exists(), "the print job")
        printer.close()
        (slip,) = printer.received
        assert b"ORTH-005" in slip and QR_COMMAND in slip

        # The status page's link at once, in Tamil; nothing about the turn yet (4 ahead).
        (issued,) = wait_for(lambda: sms(outbox, "token_issued"), "the link SMS")
        assert TAMIL.search(issued["body"]) and str(token.visit.public_id) in issued["body"]
        # The doctor works at the terminal, on the same servers, in English.
        terminal = browser_with_autoplay.new_context().new_page()
        log_in(terminal, server.url, "rao", "pw-rao")
        serve(terminal)
        # Three ahead now: the worker sends "your turn is near", in Tamil, once.
        (near,) = wait_for(lambda: sms(outbox, "turn_near"), "the near-turn SMS")
        assert TAMIL.search(near["body"]) and "ORTH-005" in near["body"]
        assert near["to"] == "+919812345678"

        for _ in range(3):
            serve(terminal)

        # The TV: no Tamil voice in this browser, so only the clips can say it.
        tv = browser_with_autoplay.new_page(viewport={"width": 1920, "height": 1080})
        tv.goto(f"{server.url}/display/?departments=orth&lang=ta&languages=ta,hi")
        tv.wait_for_selector("#tv-status.live")
        voices = tv.evaluate("speechSynthesis.getVoices().map(v => v.lang)")
        assert not [v for v in voices if v.startswith("ta")]

        press(terminal, "Call next")
        called = Token.objects.get(pk=token.pk)
        assert called.status == Token.Status.CALLED
        said = announce.announcement(called, ["ta", "hi"])
        expected = ["chime"] + [
            f"/static/audio/{clip}.wav" for lang in ("ta", "hi") for clip in said[lang]["clips"]
        ]
        tv.wait_for_function(
            "n => window.announcementLog.length >= n", arg=len(expected), timeout=60_000
        )
        assert tv.evaluate("window.announcementLog") == expected
        expect(tv.locator("body")).to_contain_text("ORTH-005")

        # And the SMS that sends the patient to the room, in Tamil, once.
        (go,) = wait_for(lambda: sms(outbox, "token_called"), "the called SMS")
        assert TAMIL.search(go["body"]) and "ORTH-005" in go["body"]
        kiosk_context.close()
    assert len(sms(outbox, "turn_near")) == 1

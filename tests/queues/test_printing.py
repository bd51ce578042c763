"""Server-side printing on a kiosk's network ESC/POS printer (queues.printing): the slip
goes to a real TCP listener as the printer's bytes (text and the printer's own QR code),
and a printer that does not answer is recorded, shown at the kiosk, and loses no token."""

import socket
import threading

import pytest
from django.urls import reverse

from queues import printing
from queues.kiosk import KIOSK_COOKIE, key_hash
from queues.models import KioskDevice, PrintJob, Token
from tests.conftest import WEDNESDAY, at, page_text

NOW = at(WEDNESDAY, 9)
pytestmark = pytest.mark.usefixtures("clock")
QR_COMMAND = b"\x1d(k"  # GS ( k: the printer draws a 2D code
RASTER_IMAGE = b"\x1dv0"  # GS v 0: a raster picture (a Hindi or Tamil line)
KEY = "kiosk-key-" + "x" * 20


class Printer:
    """A pretend network printer that is a real socket server: it accepts connections on
    127.0.0.1 and keeps every byte it receives, until the sender closes."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        # A short accept timeout, so that close() is noticed; a connection already
        # waiting is still accepted first, so nothing sent is lost.
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                if self.stopping.is_set():
                    return
                continue
            with conn:
                conn.settimeout(10)
                chunks = []
                while data := conn.recv(65536):
                    chunks.append(data)
                self.received.append(b"".join(chunks))

    def close(self):
        """Stop after every connection made so far is read (call before reading)."""
        self.stopping.set()
        self.thread.join(timeout=15)
        self.server.close()


@pytest.fixture
def printer():
    running = Printer()
    yield running
    running.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kiosk_with_printer(client, port: int, **fields) -> KioskDevice:
    device = KioskDevice.objects.create(
        name="Entrance", key_hash=key_hash(KEY), registered_at=NOW,
        printer_host="127.0.0.1", printer_port=port, **fields,
    )  # fmt: skip
    client.cookies[KIOSK_COOKIE] = KEY
    return device


def take(client, department, django_capture_on_commit_callbacks, language="en"):
    """A patient takes a token at the kiosk; the worker (synchronous in tests) runs the
    print job when the request's changes commit."""
    client.cookies["django_language"] = language
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("kiosk_department", args=[department.slug]),
            {"patient_name": "Kumar Selvam", "service_date": WEDNESDAY.isoformat()},
        )
    assert response.status_code == 302
    return response


def test_the_kiosk_prints_the_slip_on_its_network_printer(
    client, orth, printer, django_capture_on_commit_callbacks
):
    device = kiosk_with_printer(client, printer.port)
    response = take(client, orth, django_capture_on_commit_callbacks)
    token = Token.objects.get()
    job = PrintJob.objects.get()
    assert (job.token, job.kiosk, job.status, job.attempts) == (token, device, "printed", 1)
    assert job.printed_at is not None and job.error == ""
    printer.close()
    [data] = printer.received
    assert b"ORTH-001" in data
    assert QR_COMMAND in data
    visit_url = f"http://testserver{reverse('visit_detail', args=[token.visit.public_id])}"
    assert visit_url.encode() in data  # the QR code's content
    assert b"\x1dV" in data  # and the paper is cut
    # The kiosk's slip page follows the job and does not print a second time itself.
    page = page_text(client.get(response["Location"]))
    assert 'data-print="server"' in page and "Your slip is printed" in page
    status = client.get(reverse("token_print_status", args=[token.public_id])).json()
    assert status["status"] == "printed"


def test_a_tamil_slip_prints_its_words_as_pictures_and_the_number_as_text(
    client, orth, printer, django_capture_on_commit_callbacks
):
    orth.name_ta = "எலும்பியல்"
    orth.save()
    kiosk_with_printer(client, printer.port)
    take(client, orth, django_capture_on_commit_callbacks, language="ta")
    assert PrintJob.objects.get().status == "printed"
    printer.close()
    [data] = printer.received
    assert b"ORTH-001" in data and QR_COMMAND in data
    assert RASTER_IMAGE in data
    assert "எலும்பியல்".encode() not in data  # no code page has Tamil


def test_without_a_font_for_the_language_the_slip_is_printed_in_english(
    orth, monkeypatch, settings
):
    settings.SLIP_FONT = {}
    monkeypatch.setenv("PATH", "/nonexistent")  # no fontconfig on this machine
    printing.slip_font.cache_clear()
    try:
        from queues import services

        token = services.issue_token(orth, "Kumar Selvam", now=NOW, language="ta")
        data = printing.slip_bytes(token, qr_url="http://testserver/visits/x/")
    finally:
        printing.slip_font.cache_clear()
    assert RASTER_IMAGE not in data
    assert b"Scan to follow your visit" in data and b"ORTH-001" in data


def test_a_printer_that_refuses_is_recorded_shown_at_the_kiosk_and_the_token_kept(
    client, orth, django_capture_on_commit_callbacks, caplog
):
    kiosk_with_printer(client, closed_port())
    response = take(client, orth, django_capture_on_commit_callbacks)
    token = Token.objects.get()
    assert token.display_number == "ORTH-001" and token.status == "waiting"
    job = PrintJob.objects.get()
    assert job.status == "failed" and job.attempts == 1 and job.printed_at is None
    assert job.error
    assert "Print job" in caplog.text and "failed" in caplog.text
    page = page_text(client.get(response["Location"]))
    assert "The printer did not answer — please show this screen at the desk." in page
    assert "ORTH-001" in page
    status = client.get(reverse("token_print_status", args=[token.public_id])).json()
    assert status["status"] == "failed" and "ORTH-001" in status["message"]


def test_a_job_is_printed_once_even_if_the_worker_runs_it_twice(
    client, orth, printer, django_capture_on_commit_callbacks
):
    kiosk_with_printer(client, printer.port)
    take(client, orth, django_capture_on_commit_callbacks)
    job = PrintJob.objects.get()
    printing.print_job(job.pk)
    printer.close()
    assert len(printer.received) == 1
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_kiosk_without_a_printer_queues_no_job(client, orth, django_capture_on_commit_callbacks):
    KioskDevice.objects.create(name="Entrance", key_hash=key_hash(KEY), registered_at=NOW)
    client.cookies[KIOSK_COOKIE] = KEY
    response = take(client, orth, django_capture_on_commit_callbacks)
    assert PrintJob.objects.count() == 0
    assert 'data-print="browser"' in page_text(client.get(response["Location"]))


def test_the_58_mm_slip_is_built_for_its_narrower_roll(orth):
    from queues import services

    token = services.issue_token(orth, "Kumar Selvam", now=NOW)
    wide = printing.slip_bytes(token, qr_url="http://testserver/v/", paper_width=80)
    narrow = printing.slip_bytes(token, qr_url="http://testserver/v/", paper_width=58)
    # The number's size (GS ! n): 3x on 80 mm, 2x on 58 mm.
    assert b"\x1d!\x22" in wide and b"\x1d!\x11" in narrow

"""Printing a token's slip on a kiosk's network ESC/POS printer, by the worker.

A kiosk whose KioskDevice has a printer_host prints on the server's side: the kiosk's
view issues the token (committed), then queue_slip() records a PrintJob and, after that
commit, asks the worker (django-q2) to run print_job(). A printer that is off, out of
paper or unreachable never loses the token: the job is marked failed with the reason,
the failure is logged, and the kiosk's slip page (which polls the job's state) tells the
patient to show the screen at the desk.

The slip is built in memory with python-escpos (text, the token number large, and the
printer's own QR code, `GS ( k`) and sent in one piece over raw TCP (port 9100), so a
printer never gets half a slip from us.

Thermal printers' code pages have no Devanagari or Tamil: lines in Hindi or Tamil are
drawn as pictures with Pillow in a Noto font found on the machine (settings.SLIP_FONT, or
fontconfig's `fc-list :lang=ta`). Without such a font the slip is printed in English, so
that it is at least readable; the patient's screen and status page stay in their language.
Token numbers are always printer text (Latin letters and digits).
"""

import functools
import logging
import shutil
import subprocess

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_q.tasks import async_task
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, Network
from PIL import Image, ImageDraw, ImageFont, features

from hospital.languages import localized, patient_language
from queues import reading
from queues.models import KioskDevice, PrintJob, Token

logger = logging.getLogger(__name__)

PRINTER_TIMEOUT_SECONDS = 5
MAX_ERROR_LENGTH = PrintJob._meta.get_field("error").max_length
# Printable width in dots at 203 dpi: 48 mm of a 58 mm roll, 72 mm of an 80 mm roll.
PRINTABLE_DOTS = {58: 384, 80: 576}
# Languages whose letters a thermal printer's code pages carry.
PRINTER_TEXT_LANGUAGES = {"en"}


# --- Queuing ------------------------------------------------------------------------------


def queue_slip(token: Token, kiosk: KioskDevice, *, qr_url: str) -> PrintJob | None:
    """Record a print job for the kiosk's printer and wake the worker after commit.
    None when the kiosk has no printer (its browser prints). Call after the token is
    committed (issue_token commits it)."""
    if not kiosk.printer_host:
        return None
    with transaction.atomic():
        job = PrintJob.objects.create(
            token=token,
            kiosk=kiosk,
            printer_host=kiosk.printer_host,
            printer_port=kiosk.printer_port,
            paper_width=kiosk.paper_width,
            qr_url=qr_url,
            created_at=timezone.now(),
        )
        transaction.on_commit(lambda: _wake_worker(job.pk))
    return job


def _wake_worker(pk: int) -> None:
    try:
        async_task("queues.printing.print_job", pk, task_name=f"print job {pk}")
    except Exception:  # the job stays pending; the kiosk says so after its wait
        logger.exception("Could not hand print job %s to the worker", pk)


def latest_job(token: Token) -> PrintJob | None:
    return token.print_jobs.order_by("-created_at", "-id").first()


# --- The worker's task --------------------------------------------------------------------


def print_job(pk: int) -> PrintJob | None:
    """Print one job: claim it (pending only, so a repeated task prints nothing twice),
    build the slip, send it, and record printed or failed."""
    now = timezone.now()
    claimed = PrintJob.objects.filter(pk=pk, status=PrintJob.Status.PENDING).update(
        attempts=F("attempts") + 1, tried_at=now
    )
    job = PrintJob.objects.select_related("token__department", "kiosk").filter(pk=pk).first()
    if not claimed or job is None:
        return job
    try:
        data = slip_bytes(job.token, qr_url=job.qr_url, paper_width=job.paper_width)
        send(job.printer_host, job.printer_port, data)
    except (OSError, EscposError, ValueError) as exc:
        job.status = PrintJob.Status.FAILED
        job.error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        logger.warning(
            "Print job %s for %s on %s:%s failed: %s",
            job.pk, job.token.display_number, job.printer_host, job.printer_port, job.error,
        )  # fmt: skip
    else:
        job.status = PrintJob.Status.PRINTED
        job.printed_at = timezone.now()
        job.error = ""
        logger.info("Print job %s printed %s", job.pk, job.token.display_number)
    job.save(update_fields=["status", "error", "printed_at"])
    return job


def send(host: str, port: int, data: bytes) -> None:
    """Send a built slip to a network printer over raw TCP, in one piece."""
    printer = Network(host, port=port, timeout=PRINTER_TIMEOUT_SECONDS)
    printer.open()  # raises DeviceNotFoundError (an escpos Error) when nobody answers
    try:
        printer._raw(data)
    finally:
        printer.close()


# --- The slip as ESC/POS ------------------------------------------------------------------


def slip_bytes(token: Token, *, qr_url: str, paper_width: int = 80) -> bytes:
    """The whole slip as the printer's bytes: hospital, department, the token number
    large, room or counter, date, category, position, the QR code, the phone number."""
    language = patient_language(token.language)
    font_path = slip_font(language) if language not in PRINTER_TEXT_LANGUAGES else None
    if language not in PRINTER_TEXT_LANGUAGES and font_path is None:
        logger.warning("No font for %s on this machine: slip printed in English", language)
        language = settings.LANGUAGE_CODE
    dots = PRINTABLE_DOTS.get(paper_width, PRINTABLE_DOTS[80])
    printer = Dummy()
    line = functools.partial(_line, printer, font_path=font_path, dots=dots)
    with translation.override(language):
        facts = slip_facts(token, language)
        printer.set(align="center")
        line(settings.HOSPITAL_NAME, size=30, bold=True)
        line(facts["department"], size=28)
        printer.ln()
        # The number in the printer's own font, as large as the roll allows.
        big = 3 if paper_width == 80 else 2
        printer.set(align="center", bold=True, custom_size=True, width=big, height=big)
        printer.textln(token.display_number)
        printer.set(align="center", normal_textsize=True, bold=False)
        printer.ln()
        for text in facts["lines"]:
            line(text, size=24)
        printer.ln()
        # The QR code drawn by the printer (GS ( k): sharp at any size, and tiny to send.
        printer.qr(qr_url, size=6 if paper_width == 80 else 5, native=True)
        line(_("Scan to follow your visit"), size=22)
        line(_("Hospital phone: %(phone)s") % {"phone": settings.HOSPITAL_PHONE}, size=22)
        printer.ln(2)
        printer.cut()
    return printer.output


def slip_facts(token: Token, language: str) -> dict:
    """The slip's words in the active language (the paper slip and the page share them)."""
    lines = []
    place = token.place or (token.assigned_doctor.place if token.assigned_doctor else "")
    if place:
        lines.append(place)
    lines.append(formats.date_format(token.service_date, "l, j F Y"))
    if token.category_id:
        lines.append(token.category.label_in(language))
    ahead = ahead_at_print(token)
    if ahead is not None:
        lines.append(
            ngettext(
                "%(count)s patient ahead of you",
                "%(count)s patients ahead of you",
                ahead,
            )
            % {"count": ahead}
        )
    return {"department": localized(token.department, "name", language), "lines": lines}


def ahead_at_print(token: Token) -> int | None:
    """Patients ahead now (None once the token has been called): at the kiosk, right
    after issue, this is the position at issue."""
    if token.status != Token.Status.WAITING:
        return None
    return reading.tokens_ahead(token)


def _line(printer, text: str, *, font_path: str | None, dots: int, size: int, bold=False):
    if not text:
        return
    if font_path is None:
        printer.set(align="center", bold=bold)
        printer.textln(text)
        printer.set(align="center", bold=False)
        return
    printer.image(text_image(text, font_path, dots=dots, size=size), center=False)


def text_image(text: str, font_path: str, *, dots: int, size: int) -> Image.Image:
    """One line (wrapped at word boundaries) as a 1-bit picture the printer's width,
    centred. Raqm shapes Devanagari and Tamil (conjuncts, vowel signs) when Pillow has
    it; its wheels do."""
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    font = ImageFont.truetype(font_path, size, layout_engine=layout)
    rows = _wrap(text, font, dots)
    ascent, descent = font.getmetrics()
    row_height = ascent + descent + 4
    image = Image.new("1", (dots, row_height * len(rows)), 1)
    draw = ImageDraw.Draw(image)
    for i, row in enumerate(rows):
        width = draw.textlength(row, font=font)
        draw.text(((dots - width) / 2, i * row_height), row, font=font, fill=0)
    return image


def _wrap(text: str, font, dots: int) -> list[str]:
    rows: list[str] = []
    for word in text.split():
        if rows and font.getlength(f"{rows[-1]} {word}") <= dots:
            rows[-1] = f"{rows[-1]} {word}"
        else:
            rows.append(word)
    return rows or [""]


@functools.lru_cache(maxsize=8)
def slip_font(language: str) -> str | None:
    """A font file with the language's letters: settings.SLIP_FONT (a path, or a dict of
    language code to path), else the first Noto Sans (regular) fontconfig lists for the
    language, else any font it lists for it; None when there is none."""
    configured = getattr(settings, "SLIP_FONT", "")
    if isinstance(configured, dict):
        configured = configured.get(language, "")
    if configured:
        return configured
    if shutil.which("fc-list") is None:
        return None
    try:
        listed = subprocess.run(
            ["fc-list", "-f", "%{file}\n", f":lang={language}"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(f for f in listed if f.endswith((".ttf", ".otf")))

    def preference(path: str) -> tuple:
        name = path.rsplit("/", 1)[-1]
        return (not name.startswith("NotoSans"), "Regular" not in name, name)

    return min(files, key=preference) if files else None

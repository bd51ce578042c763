"""Kiosk mode and the thermal slip.

/kiosk/ is the touch screen at the OPD entrance: no site navigation, a language picker
(each language in its own script; it posts to Django's set_language), big tiles per
department in the patient's language, then one page for the category, the name and an
optional mobile. The token is issued by services.issue_token under the same limits as
the take-a-token page (queues.kiosk.token_refusal), in the page's language.

/tokens/<id>/slip/ is the slip laid out for 58 mm or 80 mm thermal paper, in the token's
language. From the kiosk (?kiosk=1) it prints itself (window.print(); Chromium started
with `--kiosk --kiosk-printing` prints without a dialog) or, when the kiosk has a network
printer, shows the server's print job (queues.printing) and says plainly if the printer
did not answer; then it goes back to the start screen in the kiosk's own language, so
the next patient never sees the previous one's name.
"""

import logging

import segno
from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from hospital.clock import local_today
from hospital.languages import current_language, language_choices, localized, patient_language
from hospital.models import Department
from queues import kiosk, printing, reading, services
from queues.forms import TokenForm
from queues.kiosk_days import closed_today_text, first_token_day
from queues.models import KioskDevice, PrintJob, Token
from queues.services import QueueError

logger = logging.getLogger(__name__)

# Seconds the kiosk shows the slip page before it returns to the start screen.
KIOSK_RETURN_SECONDS = 8
# After a failed print the screen stays for the desk, but not for ever: the next patient
# must not find this one's name.
KIOSK_FAILED_RETURN_SECONDS = 120
PAPER_WIDTHS = {str(width): width for width in KioskDevice.PaperWidth.values}


def kiosk_language(device: KioskDevice | None) -> str:
    """The language the kiosk's start screen returns to after each patient."""
    return patient_language(device.language if device else settings.LANGUAGE_CODE)


def department_tiles(today) -> list[dict]:
    """Every active department as the start screen shows it: its name in the page's
    language, whether it is closed today (and for which day it gives tokens), and
    whether anybody is on duty now."""
    tiles = []
    for department in Department.objects.filter(is_active=True).order_by("name"):
        closed = closed_today_text(department, today)
        tiles.append(
            {
                "department": department,
                "name": localized(department),
                "closed_today": closed,
                "bookable": first_token_day(department, today) is not None,
                # Only today matters: a token for Monday is served by Monday's doctors.
                "nobody_on_duty": not closed and reading.doctors_on_duty(department) == 0,
            }
        )
    return tiles


@never_cache
@require_GET
def kiosk_start(request):
    device = kiosk.registered_kiosk(request)
    response = render(
        request,
        "queues/kiosk_start.html",
        {
            "tiles": department_tiles(local_today()),
            "languages": language_choices(),
            "language": current_language(),
            "device": device,
        },
    )
    return kiosk.remember_client(request, response)


@never_cache
@require_http_methods(["GET", "POST"])
def kiosk_department(request, slug):
    """Category, name and optional mobile for one department; POST issues the token."""
    department = Department.objects.filter(is_active=True, slug=slug).first()
    if department is None:
        messages.error(request, _("That department is not taking tokens. Please choose one."))
        return redirect("kiosk")
    today = local_today()
    day = first_token_day(department, today)
    if day is None:
        messages.error(
            request,
            _("%(department)s is not giving tokens now. Please ask at the reception desk.")
            % {"department": localized(department)},
        )
        return redirect("kiosk")
    status = 200
    form = TokenForm(
        kiosk_post(request, department, day) if request.method == "POST" else None,
        departments=[department],
        today=today,
    )
    if request.method == "POST" and request.POST.get("service_date") != day.isoformat():
        # The page was opened before midnight (or before a change of opening days): say
        # which day the token is now for, and let the patient press again.
        form.is_valid()
        form.add_error(None, _("The day has changed. Please check the date and try again."))
    elif request.method == "POST" and form.is_valid():
        token, status = issue_at_kiosk(request, form)
        if token is not None:
            url = reverse("token_slip", args=[token.public_id])
            return redirect(f"{url}?kiosk=1")
    response = render(
        request,
        "queues/kiosk_department.html",
        {
            "department": department,
            "name": localized(department),
            "form": form,
            "day": day,
            "closed_today": closed_today_text(department, today),
            "is_today": day == today,
            "categories": [
                {
                    "pk": str(c.pk),
                    "label": c.label,
                    "proof_note": localized(c, "proof_note") if c.proof_note else "",
                }
                for c in form.offered_categories
            ],
            "chosen_category": str(form["category"].value() or ""),
        },
        status=status,
    )
    return kiosk.remember_client(request, response)


def kiosk_post(request, department: Department, day) -> dict:
    """The kiosk's form as TokenForm reads it: the department and the day come from the
    page, not from the patient."""
    return {
        "department": department.slug,
        "service_date": day.isoformat(),
        "patient_name": request.POST.get("patient_name", ""),
        "mobile": request.POST.get("mobile", ""),
        "category": request.POST.get("category", ""),
    }


def issue_at_kiosk(request, form: TokenForm) -> tuple[Token | None, int]:
    """Issue the token under the kiosk's limits, then (committed) queue its slip on the
    kiosk's network printer if it has one. (None, status) with the form's error when
    refused."""
    data = form.cleaned_data
    refusal = kiosk.token_refusal(request, data["mobile"])
    if refusal:
        form.add_error(None, refusal)
        return None, 429
    try:
        token = services.issue_token(
            data["department"],
            data["patient_name"],
            mobile=data["mobile"],
            service_date=data["service_date"],
            category=data["category"],
            actor=request.user,
            language=current_language(),
        )
    except QueueError as exc:
        form.add_error(None, str(exc))
        return None, 200
    device = kiosk.registered_kiosk(request)
    if device is not None and device.printer_host:
        printing.queue_slip(token, device, qr_url=visit_url(request, token))
    return token, 302


def visit_url(request, token: Token) -> str:
    """The address the slip's QR code leads to: the visit's page (the token's if it has
    no visit), always the page's own address, never the request's query."""
    if token.visit_id:
        path = reverse("visit_detail", args=[token.visit.public_id])
    else:
        path = reverse("token_detail", args=[token.public_id])
    return request.build_absolute_uri(path)


# --- The slip -----------------------------------------------------------------------------


def paper_width(request, device: KioskDevice | None) -> int:
    """?paper=58|80; otherwise the registered kiosk's roll; otherwise 80 mm. Anything
    else in ?paper is ignored (the default layout is printed)."""
    chosen = PAPER_WIDTHS.get(request.GET.get("paper", "").strip())
    if chosen:
        return chosen
    return device.paper_width if device else KioskDevice.PaperWidth.MM80


def get_token(public_id) -> Token:
    return get_object_or_404(
        Token.objects.select_related(
            "department", "doctor", "counter", "assigned_doctor", "category", "visit"
        ),
        public_id=public_id,
    )


@never_cache
@require_GET
def token_slip(request, public_id):
    token = get_token(public_id)
    device = kiosk.registered_kiosk(request)
    kiosk_mode = request.GET.get("kiosk") == "1"
    job = printing.latest_job(token) if kiosk_mode else None
    language = patient_language(token.language)
    qr_url = visit_url(request, token)
    with translation.override(language):
        facts = printing.slip_facts(token, language)
        qr_svg = segno.make(qr_url, error="m").svg_inline(
            scale=5, border=2, omitsize=True, title=_("QR code: link to your visit's page")
        )
        return render(
            request,
            "queues/slip.html",
            {
                "token": token,
                "facts": facts,
                "qr_svg": qr_svg,
                "qr_url": qr_url,
                "paper": paper_width(request, device),
                "kiosk_mode": kiosk_mode,
                "print_job": job,
                "reset_language": kiosk_language(device),
                "return_seconds": KIOSK_RETURN_SECONDS,
                "failed_return_seconds": KIOSK_FAILED_RETURN_SECONDS,
                "printed_at": timezone.localtime(),
                "hospital_name": settings.HOSPITAL_NAME,
                "hospital_phone": settings.HOSPITAL_PHONE,
            },
        )


@never_cache
@require_GET
def token_print_status(request, public_id):
    """The state of the token's last server-side print, for the kiosk's slip page:
    {"status": "none" | "pending" | "printed" | "failed", "message": "..."} in the
    token's language."""
    token = get_token(public_id)
    job = printing.latest_job(token)
    with translation.override(patient_language(token.language)):
        return JsonResponse(
            {
                "token": token.display_number,
                "status": job.status if job else "none",
                "message": print_message(job, token),
            }
        )


def print_message(job: PrintJob | None, token: Token) -> str:
    if job is None:
        return ""
    if job.status == PrintJob.Status.PRINTED:
        return _("Your slip is printed. Please take it.")
    if job.status == PrintJob.Status.FAILED:
        return _(
            "The printer did not answer — please show this screen at the desk. "
            "Your token is %(number)s."
        ) % {"number": token.display_number}
    return _("Printing your slip…")

"""Server-rendered pages of the token queue.

Views stay thin: parse the input, check the user's role, call ONE service from
queues.services, and show a QueueError's message as it is. They never save a Token.
"""

import re

import segno
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from hospital.clock import local_today
from hospital.models import Department, Doctor, is_doctor
from hospital.roles import doctor_required, is_receptionist
from queues import kiosk, reading, services, terminal, visits
from queues.forms import TokenForm
from queues.models import Token, Visit
from queues.services import QueueError
from queues.state import public_state

# --- Read-only helpers (no service exists for these pages' reads) ------------------------


def active_departments() -> list[Department]:
    return list(Department.objects.filter(is_active=True).order_by("name"))


def progress_boards(day) -> list[dict]:
    """Every active department's tokens being served and waiting count, in three
    queries whatever the number of departments (a board refreshes often)."""
    departments = active_departments()
    serving: dict[int, list[Token]] = {d.pk: [] for d in departments}
    for token in (
        Token.objects.filter(
            department__in=departments, service_date=day, status__in=Token.OPEN_STATUSES
        )
        .select_related("department", "doctor")
        .order_by("doctor__room", "called_at")
    ):
        serving[token.department_id].append(token)
    waiting = dict(
        Token.objects.filter(
            department__in=departments, service_date=day, status=Token.Status.WAITING
        )
        .values_list("department")
        .annotate(n=Count("pk"))
        .values_list("department", "n")
    )
    return [
        {"department": d, "serving": serving[d.pk], "waiting_count": waiting.get(d.pk, 0)}
        for d in departments
    ]


# --- Kiosk and public pages ---------------------------------------------------------------


def home(request):
    today = local_today()
    form = TokenForm(request.POST or None, departments=active_departments(), today=today)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        refusal = kiosk.token_refusal(request, data["mobile"])
        if refusal:
            form.add_error(None, refusal)
            status = 429
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            token = services.issue_token(
                data["department"],
                data["patient_name"],
                mobile=data["mobile"],
                service_date=data["service_date"],
                actor=request.user,
            )
        except QueueError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("token_detail", public_id=token.public_id)
    response = render(request, "queues/home.html", {"form": form, "today": today}, status=status)
    return kiosk.remember_client(request, response)


def token_detail(request, public_id):
    """One token's page. The slip's QR code leads to the visit's page instead, which
    follows the patient from stop to stop."""
    token = get_object_or_404(
        Token.objects.select_related("department", "doctor", "counter", "visit"),
        public_id=public_id,
    )
    return status_page(request, token, token.visit)


def visit_detail(request, public_id):
    """The patient's page for the whole visit: every stop (done, now, next) and the
    position and wait at the current one. The slip's QR code leads here."""
    visit = get_object_or_404(Visit, public_id=public_id)
    token = visits.current_token(visit)
    if token is None:
        raise Http404("This visit has no token.")
    return status_page(request, token, visit)


def status_page(request, token: Token, visit: Visit | None):
    ahead = reading.tokens_ahead(token)
    # The page's own address, never the request's: a query string (?x=<5,000 characters>)
    # would make the QR code too big to exist, and it is nothing the patient needs.
    target = ("visit_detail", visit.public_id) if visit else ("token_detail", token.public_id)
    page_url = request.build_absolute_uri(reverse(target[0], args=[target[1]]))
    qr_svg = segno.make(page_url, error="m").svg_inline(
        scale=4, omitsize=True, title="QR code: link to this visit's page"
    )
    today = local_today()
    return render(
        request,
        "queues/token_detail.html",
        {
            "token": token,
            "visit": visit,
            "stops": visits.stops_of(visit) if visit else [],
            "on_visit_page": request.resolver_match.url_name == "visit_detail",
            "ahead": ahead,
            "estimate": reading.estimated_wait_minutes(token, ahead),
            "is_today": token.service_date == today,
            "is_future": token.service_date > today,
            "page_url": page_url,
            "qr_svg": qr_svg,
        },
    )


def progress(request):
    today = local_today()
    return render(
        request, "queues/progress.html", {"boards": progress_boards(today), "today": today}
    )


# The waiting-room TV shows at most this many departments side by side.
DISPLAY_MAX_DEPARTMENTS = 6
SLUG = re.compile(r"[-a-z0-9_]{1,50}")
SPEECH_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


def _flag(request, name: str) -> bool:
    return request.GET.get(name, "1").strip().lower() not in {"0", "off", "no", "false"}


def display(request):
    """The waiting-room TV. `?departments=orth,card` (or the picker's `d=` boxes) chooses
    what it shows; `sound=0`, `voice=0` and `lang=hi-IN` set the chime and spoken call."""
    slugs = [s.strip().lower() for s in request.GET.get("departments", "").split(",")]
    slugs = [s for s in dict.fromkeys(slugs + request.GET.getlist("d")) if s]
    # Only what could be a slug is looked up: PostgreSQL refuses a NUL in a parameter.
    by_slug = {
        d.slug: d
        for d in Department.objects.filter(
            is_active=True, slug__in=[s for s in slugs if SLUG.fullmatch(s)]
        )
    }
    departments = [by_slug[s] for s in slugs if s in by_slug][:DISPLAY_MAX_DEPARTMENTS]
    if not departments:
        unknown = ", ".join(s for s in slugs if s not in by_slug and s.isprintable())
        if unknown:
            messages.error(request, f"No open department called {unknown[:100]}. Choose below.")
        return render(
            request, "queues/display_picker.html", {"all_departments": active_departments()}
        )
    lang = request.GET.get("lang", "en-IN")
    return render(
        request,
        "queues/display.html",
        {
            "departments": departments,
            "initial_states": {d.slug: public_state(d) for d in departments},
            "sound": _flag(request, "sound"),
            "voice": _flag(request, "voice"),
            "lang": lang if SPEECH_LANGUAGE.match(lang) else "en-IN",
        },
    )


# --- Doctor terminal ----------------------------------------------------------------------


@doctor_required
def doctor_terminal(request):
    doctor = Doctor.objects.select_related("department").get(pk=request.user.doctor.pk)
    return render(request, "queues/doctor.html", terminal.panel_context(doctor))


def _doctor_action(service, success: str):
    """A POST-only doctor button: run `service` on the token and go back to /doctor/."""

    @require_POST
    @doctor_required
    def action(request, public_id):
        token = get_object_or_404(Token.objects.select_related("department"), public_id=public_id)
        try:
            token = service(request.user.doctor, token, actor=request.user)
        except QueueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, success.format(token=token))
        return redirect("doctor_terminal")

    action.__name__ = service.__name__
    return action


@require_POST
@doctor_required
def doctor_call_next(request):
    try:
        token = services.call_next(request.user.doctor, actor=request.user)
    except QueueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Called {token.display_number} — {token.patient_name}.")
    return redirect("doctor_terminal")


doctor_start = _doctor_action(
    services.start_consultation, "Consultation with {token.display_number} started."
)
doctor_complete = _doctor_action(services.complete_token, "{token.display_number} completed.")
doctor_skip = _doctor_action(
    services.skip_token, "{token.display_number} skipped as a no-show; you can recall it today."
)
doctor_recall = _doctor_action(
    services.recall_token, "{token.display_number} recalled to the front of the queue."
)


# --- Sign-in ------------------------------------------------------------------------------


class StaffAuthenticationForm(AuthenticationForm):
    """One message for every failed sign-in, so the page never tells an attacker whether
    the username exists or the account is disabled."""

    error_messages = {
        "invalid_login": "Invalid credentials",
        "inactive": "Invalid credentials",
    }


class LoginView(DjangoLoginView):
    """Doctors land on their terminal when no ?next= says otherwise."""

    authentication_form = StaffAuthenticationForm

    def get_default_redirect_url(self):
        user = self.request.user
        if is_doctor(user):
            return reverse("doctor_terminal")
        if is_receptionist(user) and not user.is_superuser:
            return reverse("reception_dashboard")
        return super().get_default_redirect_url()

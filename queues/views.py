"""Server-rendered pages of the token queue.

Views stay thin: parse the input, check the user's role, call ONE service from
queues.services, and show a QueueError's message as it is. They never save a Token.
"""

import datetime
import re

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView as DjangoLoginView
from django.db.models import Count, Min
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hospital.clock import local_today
from hospital.languages import current_language, language_choices, patient_language
from hospital.middleware import not_activity
from hospital.models import Counter, Department, Doctor, is_counter_staff, is_doctor
from hospital.roles import counter_required, doctor_required, is_receptionist
from queues import announce, breaks, kiosk, kiosk_views, reading, services, terminal, visits
from queues import messages as patient_messages
from queues.forms import (
    CategoryForm,
    CounterChoiceForm,
    LateForm,
    NoForm,
    PauseForm,
    SendOnForm,
    TokenForm,
    describe_destination,
    first_error,
)
from queues.models import Token, Visit
from queues.services import QueueError
from queues.state import notices_by_department, public_state

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
        .select_related("department", "doctor", "counter")
        .order_by("doctor__room", "counter__name", "called_at")
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
    notices = notices_by_department(departments, day)
    return [
        {
            "department": d,
            "serving": serving[d.pk],
            "waiting_count": waiting.get(d.pk, 0),
            "notices": notices[d.pk],
        }
        for d in departments
    ]


# --- Kiosk and public pages ---------------------------------------------------------------


def home(request):
    today = local_today()
    form = TokenForm(request.POST or None, departments=active_departments(), today=today)
    status = 200
    if request.method == "POST" and form.is_valid():
        # The same rules, limits and printing as the kiosk's, in the page's language.
        token, status = kiosk_views.issue_at_kiosk(request, form)
        if token is not None:
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


def page_language(request, token: Token) -> str:
    """The patient page's language: `?lang=` when the patient switched (one of the
    patient languages; anything else is ignored), else the token's own language, which
    the patient chose at the kiosk."""
    chosen = request.GET.get("lang", "").strip().lower()
    if chosen in settings.PATIENT_LANGUAGES:
        return chosen
    return patient_language(token.language)


def opening_time(department: Department, day) -> datetime.time | None:
    """When `department` opens on `day`: the earliest start of its doctors' sessions on
    that weekday (appointments' DoctorSchedule, through the reverse relation, since the
    queue never imports the appointments app), leaving out doctors on leave that day.
    None when no schedule says (a service department, or no sessions that weekday)."""
    on_leave = Doctor.objects.filter(leaves__start_date__lte=day, leaves__end_date__gte=day)
    on_leave = on_leave.values("pk")
    return (
        Doctor.objects.filter(department=department, schedules__weekday=day.weekday())
        .exclude(pk__in=on_leave)
        .aggregate(first=Min("schedules__start"))["first"]
    )


def status_page(request, token: Token, visit: Visit | None):
    """The patient's phone page, in the patient's language (page_language)."""
    language = page_language(request, token)
    with translation.override(language):
        response = render(
            request, "queues/token_detail.html", status_context(request, token, visit, language)
        )
    # LocaleMiddleware would name the request's language; the page is in the patient's.
    response["Content-Language"] = language
    return response


def status_context(request, token: Token, visit: Visit | None, language: str) -> dict:
    ahead = reading.tokens_ahead(token)
    # The page's own address, never the request's: a query string (?x=<5,000 characters>)
    # would make the QR code too big to exist, and it is nothing the patient needs.
    target = ("visit_detail", visit.public_id) if visit else ("token_detail", token.public_id)
    page_url = request.build_absolute_uri(reverse(target[0], args=[target[1]]))
    qr_svg = segno.make(page_url, error="m").svg_inline(
        scale=4, omitsize=True, title=gettext("QR code: link to this visit's page")
    )
    today = local_today()
    is_future = token.service_date > today
    return {
        "token": token,
        "visit": visit,
        "stops": visits.stops_of(visit) if visit else [],
        "on_visit_page": request.resolver_match.url_name == "visit_detail",
        "ahead": ahead,
        "estimate": reading.estimated_wait_minutes(token, ahead),
        "notices": patient_notices(token),
        "doctor_places": doctor_places(token.assigned_doctor) if token.assigned_doctor else [],
        "is_today": token.service_date == today,
        "is_future": is_future,
        "opens_at": opening_time(token.department, token.service_date) if is_future else None,
        # The SMS switch (queues/_sms_opt_out.html); the number itself is never shown.
        "sms_on": patient_messages.sms_is_on(token),
        "page_url": page_url,
        "qr_svg": qr_svg,
        "page_language": language,
        # The switcher: each language in its own script, a link to this page in it.
        "languages": [
            {"code": code, "name": name, "url": f"{request.path}?lang={code}"}
            for code, name in language_choices()
        ],
    }


def patient_notices(token: Token) -> list[dict]:
    """The notices a waiting patient sees: their own doctor's if the token is booked
    with one, else every paused desk of the department. (token.js filters the live
    state the same way.)"""
    if token.status != Token.Status.WAITING or token.service_date != local_today():
        return []
    notices = notices_by_department([token.department])[token.department_id]
    doctor = token.assigned_doctor
    if doctor is not None:
        places = doctor_places(doctor)
        notices = [n for n in notices if n["who"] == doctor.name and n["place"] in places]
    return notices


def doctor_places(doctor: Doctor) -> list[str]:
    """The doctor's place as a notice may name it: in English, or in the page's language."""
    with translation.override(settings.LANGUAGE_CODE):
        english = doctor.place
    return list(dict.fromkeys([english, doctor.place]))


def progress(request):
    today = local_today()
    return render(
        request, "queues/progress.html", {"boards": progress_boards(today), "today": today}
    )


# The waiting-room TV shows this many departments at a time, big enough to read at 5 m;
# more are shown in pages that take turns (display.js), never left out.
DISPLAY_PER_PAGE = 4
SLUG = re.compile(r"[-a-z0-9_]{1,50}")


def _flag(request, name: str) -> bool:
    return request.GET.get(name, "1").strip().lower() not in {"0", "off", "no", "false"}


def _display_language(value: str) -> str | None:
    """ "hi", or the old speech tag "hi-IN", as one of our languages; None if neither."""
    code = value.strip().lower().split("-")[0]
    return code if code in announce.LANGUAGES else None


def display(request):
    """The waiting-room TV. `?departments=orth,card` (or the picker's `d=` boxes) chooses
    what it shows; `lang=hi` the screen's language (default the browser's); `languages=
    ta,hi` the languages calls are spoken in, in that order (default the screen's);
    `sound=0` / `voice=0` turn the chime / the spoken call off."""
    slugs = [s.strip().lower() for s in request.GET.get("departments", "").split(",")]
    slugs = [s for s in dict.fromkeys(slugs + request.GET.getlist("d")) if s]
    # Only what could be a slug is looked up: PostgreSQL refuses a NUL in a parameter.
    by_slug = {
        d.slug: d
        for d in Department.objects.filter(
            is_active=True, slug__in=[s for s in slugs if SLUG.fullmatch(s)]
        )
    }
    departments = [by_slug[s] for s in slugs if s in by_slug]
    language = _display_language(request.GET.get("lang", "")) or current_language()
    spoken = [
        _display_language(code)
        for value in request.GET.getlist("languages")
        for code in value.split(",")
    ]
    spoken = [code for code in dict.fromkeys(spoken) if code] or [language]
    with translation.override(language):
        if not departments:
            unknown = ", ".join(s for s in slugs if s not in by_slug and s.isprintable())
            if unknown:
                messages.error(
                    request,
                    gettext("No open department called %(names)s. Choose below.")
                    % {"names": unknown[:100]},
                )
            return render(
                request,
                "queues/display_picker.html",
                {
                    "all_departments": active_departments(),
                    "languages": language_choices(),
                    "language": language,
                    "spoken": spoken,
                },
            )
        return render(
            request,
            "queues/display.html",
            {
                "departments": departments,
                "initial_states": {d.slug: public_state(d) for d in departments},
                "sound": _flag(request, "sound"),
                "voice": _flag(request, "voice"),
                "language": language,
                "spoken": spoken,
                "per_page": DISPLAY_PER_PAGE,
                # The clips on disk, recorded before generated: a call is played from
                # clips only when all of its are here, else said by the browser's voice.
                "clips": announce.available_clips(spoken),
            },
        )


# --- Staff terminals: the doctor's and a service counter's ------------------------------
#
# The same buttons on both, through the same services: a terminal's "desk" is the doctor,
# or the counter the staff member works now. Every button is a POST that runs one service
# and comes back to the terminal with the service's message.


def nothing_changed(form) -> str:
    """A terminal form's refusal: "Nothing was changed." and the form's first error."""
    return gettext("Nothing was changed. %(error)s") % {"error": first_error(form)}


class NoDesk(Exception):
    """The signed-in staff member has no desk to act from (no counter chosen)."""


def doctor_desk(request) -> Doctor:
    return request.user.doctor


def counter_desk(request) -> Counter:
    counter = terminal.counter_of(request.user.counter_staff)
    if counter is None:
        raise NoDesk(gettext("Choose the counter you work at first."))
    return counter


# terminal page name -> (role guard, the desk of the request)
TERMINALS = {
    "doctor_terminal": (doctor_required, doctor_desk),
    "counter_terminal": (counter_required, counter_desk),
}

# terminal page name -> (its panel's kind, the panel's context for the signed-in user)
PANELS = {
    "doctor_terminal": ("doctor", lambda user: terminal.doctor_panel(user.doctor.pk)),
    "counter_terminal": ("counter", lambda user: terminal.counter_panel(user.counter_staff.pk)),
}


def pressed_by_script(request) -> bool:
    """Whether the terminal's own script sent this button press (static/js/doctor.js asks
    for JSON first); a plain form post, a browser's, asks for HTML."""
    return request.headers.get("Accept", "").split(",")[0].strip() == "application/json"


def back_to_terminal(request, terminal_name: str):
    """Where every terminal button leads, with the service's message: back to the
    terminal page; or, pressed by the page's script, the panel as it is now with the
    messages, which the script puts in place. A press then costs no page load: the
    page's socket, script and word catalogue stay as they were."""
    if not pressed_by_script(request):
        return redirect(terminal_name)
    kind, panel_of = PANELS[terminal_name]
    message = terminal.panel_message(kind, panel_of(request.user), request)
    # Reading them marks them shown, so the next page does not show them again.
    message["messages"] = [
        {"tags": m.tags or "info", "text": str(m)} for m in messages.get_messages(request)
    ]
    return JsonResponse(message)


@doctor_required
def doctor_terminal(request):
    return render(request, "queues/doctor.html", terminal.doctor_panel(request.user.doctor.pk))


@counter_required
def counter_terminal(request):
    context = terminal.counter_panel(request.user.counter_staff.pk)
    return render(request, "queues/counter.html", context)


def _live_panel(kind: str, guard, panel_of):
    """The panel a terminal page's script fetches when its socket says the department
    changed: rendered here, by the HTTP servers, rather than by the socket server for
    every desk on every change. Fetching is not the staff member's activity (a terminal
    that only watches is idle), but an idle session is still signed out by it."""

    @not_activity
    @require_GET
    @guard
    def live_panel(request):
        return JsonResponse(terminal.panel_message(kind, panel_of(request.user), request))

    return live_panel


def _live_lists(kind: str, guard, lists_of):
    """The lists a terminal page's script fetches when only its key's queue part moved
    on (queues.versions): the same for every counter of a department, rendered once."""

    @not_activity
    @require_GET
    @guard
    def live_lists(request):
        return JsonResponse(terminal.lists_message(kind, lists_of(request.user)))

    return live_lists


doctor_panel = _live_panel("doctor", doctor_required, PANELS["doctor_terminal"][1])
counter_panel = _live_panel("counter", counter_required, PANELS["counter_terminal"][1])
doctor_lists = _live_lists(
    "doctor", doctor_required, lambda user: terminal.doctor_lists(user.doctor.pk)
)
counter_lists = _live_lists(
    "counter", counter_required, lambda user: terminal.counter_lists(user.counter_staff.pk)
)


def _token_action(terminal_name: str, service, success):
    """A POST-only terminal button: run `service` on the token from the user's desk and
    go back to the terminal with its message (`success`, a lazy translation with
    %(number)s for the token's number, said in the staff member's language)."""
    guard, desk_of = TERMINALS[terminal_name]

    @require_POST
    @guard
    def action(request, public_id):
        token = get_object_or_404(Token.objects.select_related("department"), public_id=public_id)
        try:
            token = service(desk_of(request), token, actor=request.user)
        except (QueueError, NoDesk) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, str(success) % {"number": token.display_number})
        return back_to_terminal(request, terminal_name)

    action.__name__ = service.__name__
    return action


def _call_next(terminal_name: str):
    guard, desk_of = TERMINALS[terminal_name]

    @require_POST
    @guard
    def call_next(request):
        try:
            token = services.call_next(desk_of(request), actor=request.user)
        except (QueueError, NoDesk) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                gettext("Called %(number)s — %(name)s.")
                % {"number": token.display_number, "name": token.patient_name},
            )
        return back_to_terminal(request, terminal_name)

    return call_next


def completed_message(token: Token, stops: list, desk) -> str:
    """ "ORTH-003 completed; sent to Laboratory, then back to you, then Pharmacy." """
    if not stops:
        return gettext("%(number)s completed.") % {"number": token.display_number}
    # Translators: joins the stops a patient is sent to: "Laboratory, then Pharmacy".
    where = gettext(", then ").join(describe_destination(stop, desk) for stop in stops)
    return gettext("%(number)s completed; sent to %(stops)s.") % {
        "number": token.display_number,
        "stops": where,
    }


def _complete(terminal_name: str):
    """Complete, and optionally send the patient on (queues.forms.SendOnForm): the
    completion and the next stop's token are one transaction in the service."""
    guard, desk_of = TERMINALS[terminal_name]

    @require_POST
    @guard
    def complete(request, public_id):
        token = get_object_or_404(Token.objects.select_related("department"), public_id=public_id)
        try:
            desk = desk_of(request)
        except NoDesk as exc:
            messages.error(request, str(exc))
            return back_to_terminal(request, terminal_name)
        form = SendOnForm(request.POST, desk=desk)
        if not form.is_valid():
            messages.error(request, nothing_changed(form))
            return back_to_terminal(request, terminal_name)
        stops = form.cleaned_data["stops"]
        try:
            token = services.complete_token(desk, token, actor=request.user, send_on=stops)
        except QueueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, completed_message(token, stops, desk))
        return back_to_terminal(request, terminal_name)

    return complete


doctor_call_next = _call_next("doctor_terminal")
doctor_start = _token_action(
    "doctor_terminal",
    services.start_consultation,
    gettext_lazy("Consultation with %(number)s started."),
)
doctor_complete = _complete("doctor_terminal")
doctor_skip = _token_action(
    "doctor_terminal",
    services.skip_token,
    gettext_lazy("%(number)s skipped as a no-show; you can recall it today."),
)
doctor_recall = _token_action(
    "doctor_terminal",
    services.recall_token,
    gettext_lazy("%(number)s recalled to the front of the queue."),
)

counter_call_next = _call_next("counter_terminal")
counter_start = _token_action(
    "counter_terminal", services.start_consultation, gettext_lazy("Serving %(number)s.")
)
counter_complete = _complete("counter_terminal")
counter_skip = _token_action(
    "counter_terminal",
    services.skip_token,
    gettext_lazy("%(number)s skipped as a no-show; you can recall it today."),
)
counter_recall = _token_action(
    "counter_terminal",
    services.recall_token,
    gettext_lazy("%(number)s recalled to the front of the queue."),
)


# --- Stepping away, "call again" and a patient's category, from a terminal -------------


def _desk_form_action(terminal_name: str, form_class, act):
    """A POST-only terminal button with a small form: parse it (a bad form changes
    nothing and says why), then `act(desk, data, request)` runs one service and returns
    the success message."""
    guard, desk_of = TERMINALS[terminal_name]

    @require_POST
    @guard
    def action(request):
        form = form_class(request.POST)
        if not form.is_valid():
            messages.error(request, nothing_changed(form))
            return back_to_terminal(request, terminal_name)
        try:
            message = act(desk_of(request), form.cleaned_data, request)
        except (QueueError, NoDesk) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, message)
        return back_to_terminal(request, terminal_name)

    return action


def _pause(desk, data, request) -> str:
    breaks.pause(desk, reason=data["reason"], back_at=data["back_at"], actor=request.user)
    return gettext("You are paused. Your patients wait; press Resume when you are back.")


def _late(desk, data, request) -> str:
    breaks.late_start(desk, back_at=data["back_at"], actor=request.user)
    return gettext("Patients are told you start at about %(time)s.") % {
        "time": f"{data['back_at']:%H:%M}"
    }


def _resume(desk, data, request) -> str:
    breaks.resume(desk, actor=request.user)
    return gettext("Welcome back. You can call patients again.")


def _call_again(terminal_name: str):
    guard, desk_of = TERMINALS[terminal_name]

    @require_POST
    @guard
    def call_again(request, public_id):
        token = get_object_or_404(Token.objects.select_related("department"), public_id=public_id)
        try:
            desk = desk_of(request)
            if token.server != desk:
                raise QueueError(
                    gettext("%(number)s is not your patient.") % {"number": token.display_number}
                )
            token = services.announce_again(token, actor=request.user)
        except (QueueError, NoDesk) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                gettext("%(number)s is announced again on the display.")
                % {"number": token.display_number},
            )
        return back_to_terminal(request, terminal_name)

    return call_again


def _change_category(terminal_name: str):
    guard, desk_of = TERMINALS[terminal_name]

    def own_queue(request, token):
        if token.department_id != desk_of(request).department_id:
            raise QueueError(
                gettext("%(number)s is not in your department's queue.")
                % {"number": token.display_number}
            )

    @require_http_methods(["GET", "POST"])
    @guard
    def change_category(request, public_id):
        """A waiting row's "Change" link opens this form (its own page, so the panel that
        every desk is sent carries no form per row); its Save changes the category."""
        token = get_object_or_404(
            Token.objects.select_related("department", "category"), public_id=public_id
        )
        if request.method == "GET":
            try:
                own_queue(request, token)
                services.check_category_changeable(token)
            except (QueueError, NoDesk) as exc:
                messages.error(request, str(exc))
                return redirect(terminal_name)
            return render(
                request,
                "queues/category.html",
                {
                    "token": token,
                    "choices": terminal.category_choices(token.category_id),
                    "terminal": terminal_name,
                },
            )
        form = CategoryForm(request.POST)
        if not form.is_valid():
            messages.error(request, nothing_changed(form))
            return back_to_terminal(request, terminal_name)
        category = form.cleaned_data["category"]
        try:
            own_queue(request, token)
            token = services.change_category(
                token, category, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except (QueueError, NoDesk) as exc:
            messages.error(request, str(exc))
        else:
            shown = category.label if category else gettext("General")
            messages.success(
                request,
                gettext("%(number)s is now %(category)s.")
                % {"number": token.display_number, "category": shown},
            )
        return back_to_terminal(request, terminal_name)

    return change_category


doctor_pause = _desk_form_action("doctor_terminal", PauseForm, _pause)
doctor_late = _desk_form_action("doctor_terminal", LateForm, _late)
doctor_resume = _desk_form_action("doctor_terminal", NoForm, _resume)
doctor_call_again = _call_again("doctor_terminal")
doctor_category = _change_category("doctor_terminal")
counter_pause = _desk_form_action("counter_terminal", PauseForm, _pause)
counter_late = _desk_form_action("counter_terminal", LateForm, _late)
counter_resume = _desk_form_action("counter_terminal", NoForm, _resume)
counter_call_again = _call_again("counter_terminal")
counter_category = _change_category("counter_terminal")


@require_POST
@counter_required
def counter_choose(request):
    """The staff member chooses which counter of their department they work at."""
    staff = terminal.load_counter_staff(request.user.counter_staff.pk)
    form = CounterChoiceForm(request.POST, staff=staff)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return back_to_terminal(request, "counter_terminal")
    counter = form.cleaned_data["counter"]
    try:
        terminal.choose_counter(staff, counter, actor=request.user)
    except QueueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, gettext("You now work at %(counter)s.") % {"counter": counter.place}
        )
    return back_to_terminal(request, "counter_terminal")


# --- Sign-in ------------------------------------------------------------------------------


class StaffAuthenticationForm(AuthenticationForm):
    """One message for every failed sign-in, so the page never tells an attacker whether
    the username exists or the account is disabled."""

    error_messages = {
        "invalid_login": gettext_lazy("Invalid credentials"),
        "inactive": gettext_lazy("Invalid credentials"),
    }


class LoginView(DjangoLoginView):
    """Doctors and counter staff land on their terminal when no ?next= says otherwise."""

    authentication_form = StaffAuthenticationForm

    def get_default_redirect_url(self):
        user = self.request.user
        if is_doctor(user):
            return reverse("doctor_terminal")
        if is_counter_staff(user):
            return reverse("counter_terminal")
        if is_receptionist(user) and not user.is_superuser:
            return reverse("reception_dashboard")
        return super().get_default_redirect_url()

"""The front desk's live queue, /reception/queue/: every token of today per department
(kiosk, walk-in and checked-in alike), searchable by token number, name or mobile, with
the desk's actions on each: recall a skipped patient, reprint the slip, cancel, move to
another department or doctor, mark or unmark a priority category, call again.

Views stay thin: a form parses the input, reception_required checks the role, one
queues.desk function acts and logs who and why. A refusal or bad input is shown on the
page with a 400 and nothing written; an unknown token is a 404. Every change is a POST
followed by a redirect back to the same view of the queue.
"""

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from appointments.forms import (
    QueueCategoryForm,
    QueueFilterForm,
    QueueReasonForm,
    QueueTransferForm,
    error_list,
)
from appointments.views import render_reception
from hospital.clock import local_today
from hospital.languages import localized
from hospital.models import Department, Doctor
from hospital.phones import mask_mobile, mobile_search
from hospital.roles import reception_required
from queues import desk
from queues.models import PriorityCategory, Token, Visit
from queues.reading import calling_sequence
from queues.services import QueueError

BAD_REQUEST = 400
# "ORTH-012", "orth 12", "12": a token number as typed at the desk.
TOKEN_NUMBER = re.compile(r"(?:([A-Z][A-Z0-9]{0,5})\s*-?\s*)?0*([0-9]{1,4})", re.ASCII)
# How the patient came, as the desk says it.
SOURCES = {
    Visit.Source.KIOSK: _("Kiosk"),
    Visit.Source.WALK_IN: _("Walk-in"),
    Visit.Source.BOOKED: _("Checked in"),
}


# --- Reading ------------------------------------------------------------------------------


def search(tokens, query: str):
    """Tokens whose number, patient's name or mobile matches `query`."""
    if not query:
        return tokens
    match = Q(patient_name__icontains=query)
    number = TOKEN_NUMBER.fullmatch(query.upper())
    if number:
        code, digits = number.groups()
        by_number = Q(number=int(digits))
        match |= by_number & Q(department__code=code) if code else by_number
    match |= mobile_search(query, min_digits=5)
    return tokens.filter(match)


def queue_rows(departments: list[Department], query: str) -> list[dict]:
    """Today's tokens of `departments` (matching `query`) with their place in the line."""
    today = local_today()
    positions = {}
    for department in departments:
        for place, token in enumerate(calling_sequence(department, today), start=1):
            positions[token.pk] = place
    tokens = search(
        Token.objects.filter(service_date=today, department__in=departments).select_related(
            "department", "category", "visit", "assigned_doctor", "doctor", "counter"
        ),
        query,
    ).order_by("department__name", "number")
    return [
        {
            "token": token,
            "mobile": mask_mobile(token.mobile) if token.mobile else "",
            "source": SOURCES.get(token.visit.source, "") if token.visit else "",
            "category": token.category.label if token.category else gettext("General"),
            "position": positions.get(token.pk),
        }
        for token in tokens
    ]


def queue_context(request, form: QueueFilterForm) -> dict:
    active = list(Department.objects.filter(is_active=True).order_by("name"))
    chosen, query, notes = None, "", []
    if form.is_valid():
        chosen, query = form.cleaned_data["department"], form.cleaned_data["q"]
    else:
        notes = [*error_list(form), gettext("Showing every department.")]
        query = form.cleaned_data.get("q", "")
    shown = [chosen] if chosen else active
    params = {"department": chosen.slug if chosen else "", "q": query}
    shown_params = {key: value for key, value in params.items() if value}
    fragment_url = f"{reverse('reception_queue')}?{urlencode({**shown_params, 'fragment': 1})}"
    return {
        "title": gettext("Live queue"),
        "filter": params,
        "fragment_url": fragment_url,
        "departments": active,
        "shown": shown,
        "notes": notes,
        "rows": queue_rows(shown, query),
        "categories": PriorityCategory.objects.filter(is_active=True),
        "doctors": Doctor.objects.select_related("department").order_by("name"),
    }


@require_GET
@reception_required
def queue(request):
    """The page; with ?fragment=1 only its table, which the page's script fetches again
    whenever a shown department's state changes."""
    context = queue_context(request, QueueFilterForm(request.GET))
    if request.GET.get("fragment") == "1":
        return render_reception(request, "appointments/queue_table.html", context)
    return render_reception(request, "appointments/queue.html", context)


# --- Acting -------------------------------------------------------------------------------


def back_to_queue(request) -> str:
    """The queue as the desk was looking at it (the department and search posted back)."""
    form = QueueFilterForm({"department": request.POST.get("department_shown", ""),
                            "q": request.POST.get("q_shown", "")})  # fmt: skip
    params = {}
    if form.is_valid():
        if form.cleaned_data["department"]:
            params["department"] = form.cleaned_data["department"].slug
        if form.cleaned_data["q"]:
            params["q"] = form.cleaned_data["q"]
    url = reverse("reception_queue")
    return f"{url}?{urlencode(params)}" if params else url


def refused(request, errors: list[str]):
    """The queue again, with what was wrong; nothing was written."""
    form = QueueFilterForm({"department": request.POST.get("department_shown", ""),
                            "q": request.POST.get("q_shown", "")})  # fmt: skip
    context = queue_context(request, form)
    context["errors"] = errors
    return render_reception(request, "appointments/queue.html", context, status=BAD_REQUEST)


def act(request, public_id, form_class, action):
    """Parse the form, find today's token, call `action(token, data)`; its return is the
    message shown. A QueueError is shown as it is."""
    token = get_object_or_404(
        Token.objects.select_related("department"), public_id=public_id,
        service_date=local_today(),
    )  # fmt: skip
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        return refused(request, [f"{token}: {line}" for line in error_list(form)])
    try:
        done = action(token, form.cleaned_data if form is not None else {})
    except QueueError as exc:
        return refused(request, [str(exc)])
    messages.success(request, done)
    return redirect(back_to_queue(request))


@require_POST
@reception_required
def recall(request, public_id):
    def run(token, data):
        desk.recall_by_reception(token, actor=request.user, reason=data["reason"])
        return gettext("%(token)s is recalled: called next in %(department)s.") % {
            "token": token,
            "department": localized(token.department),
        }

    return act(request, public_id, QueueReasonForm, run)


@require_POST
@reception_required
def cancel(request, public_id):
    def run(token, data):
        desk.cancel(token, actor=request.user, reason=data["reason"])
        return gettext("%(token)s is cancelled.") % {"token": token}

    return act(request, public_id, QueueReasonForm, run)


@require_POST
@reception_required
def transfer(request, public_id):
    def run(token, data):
        new = desk.transfer(
            token, data["department"], data["doctor"], actor=request.user, reason=data["reason"]
        )
        where = (
            gettext("%(doctor)s's queue") % {"doctor": data["doctor"].name}
            if data["doctor"]
            else gettext("the department's queue")
        )
        if new.pk == token.pk:
            return gettext("%(token)s is now in %(where)s.") % {"token": token, "where": where}
        return gettext(
            "%(token)s is moved to %(department)s (%(where)s) as %(new)s, keeping its place by "
            "time. Reprint the slip for the new number."
        ) % {"token": token, "department": localized(new.department), "where": where, "new": new}

    return act(request, public_id, QueueTransferForm, run)


@require_POST
@reception_required
def category(request, public_id):
    def run(token, data):
        before = token.category_id
        changed = desk.change_category(
            token, data["category"], actor=request.user, reason=data["reason"]
        )
        if changed.category_id == before:
            return gettext("%(token)s is already %(category)s.") % {
                "token": token,
                "category": localized(data["category"]),
            }
        return gettext("%(token)s is now %(category)s.") % {
            "token": token,
            "category": data["category"].label,
        }

    return act(request, public_id, QueueCategoryForm, run)


@require_POST
@reception_required
def announce(request, public_id):
    def run(token, data):
        desk.announce_again(token, actor=request.user)
        return gettext("%(token)s is called again on the displays.") % {"token": token}

    return act(request, public_id, None, run)


@require_POST
@reception_required
def reprint(request, public_id):
    """Log the reprint, then open the token's slip for printing."""
    token = get_object_or_404(Token, public_id=public_id, service_date=local_today())
    try:
        desk.reprint(token, actor=request.user)
    except QueueError as exc:
        return refused(request, [str(exc)])
    return redirect("token_slip", public_id=token.public_id)

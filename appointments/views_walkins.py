"""Walk-ins at the desk and the waiting list.

Views stay thin: a form parses the input, the role is checked (reception_required), one
service from appointments.walkins is called, and a BookingError is shown as it is. Bad
input is a message, never a 500; an unknown entry is a 404.
"""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from appointments import walkins
from appointments.errors import BookingError
from appointments.forms import (
    WaitingOfferForm,
    WaitingRemoveForm,
    WalkInForm,
    error_list,
    waiting_priority,
)
from appointments.models import Appointment, WaitingListEntry
from appointments.views import render_reception
from hospital.clock import local_today
from hospital.languages import localized
from hospital.models import Department, Doctor
from hospital.phones import mask_mobile
from hospital.roles import reception_required


def option_value(option) -> str:
    return f"{option.doctor.pk}@{option.start:%H:%M}"


def offer_url(entry, doctor_id: int, day: datetime.date, start: datetime.time) -> str:
    query = urlencode({"doctor": doctor_id, "date": day.isoformat(), "start": f"{start:%H:%M}"})
    return f"{reverse('reception_waiting_offer', args=[entry.pk])}?{query}"


# --- Walk-in ------------------------------------------------------------------------------


def _book_walk_in(request, form: WalkInForm, errors: list):
    data = form.cleaned_data
    doctor, start = data["option"]
    try:
        appointment = walkins.book_walk_in(
            doctor=doctor, start=start, emergency=data["emergency"], actor=request.user,
            patient_name=data["patient_name"], mobile=data["mobile"], reason=data["reason"],
            language=data["language"],
        )  # fmt: skip
    except BookingError as exc:
        # Another desk took it, or it just ended: the options below are fresh.
        errors.append(
            gettext("%(refusal)s The free slots have been updated below.") % {"refusal": exc}
        )
        return None
    token = getattr(appointment, "token", None)
    messages.success(
        request,
        walk_in_booked_message(appointment, token),
    )
    return redirect("reception_appointment", public_id=appointment.public_id)


def walk_in_booked_message(appointment, token) -> str:
    values = {
        "name": appointment.patient.name,
        "doctor": appointment.doctor.name,
        "room": appointment.doctor.room,
        "time": f"{appointment.start:%H:%M}",
    }
    if token is None:
        return (
            gettext(
                "%(name)s is booked with %(doctor)s (room %(room)s) at %(time)s and checked in."
            )
            % values
        )
    values["token"] = token.display_number
    return (
        gettext(
            "%(name)s is booked with %(doctor)s (room %(room)s) at %(time)s and checked in: "
            "token %(token)s."
        )
        % values
    )


def _add_to_waiting_list(request, form: WalkInForm, errors: list):
    data = form.cleaned_data
    try:
        entry = walkins.add_to_waiting_list(
            department=data["department"], doctor=data["doctor"], actor=request.user,
            priority=waiting_priority(data["emergency"]), patient_name=data["patient_name"],
            mobile=data["mobile"], reason=data["reason"],
        )  # fmt: skip
    except BookingError as exc:
        errors.append(str(exc))
        return None
    messages.success(
        request,
        (
            gettext("%(name)s is on the waiting list for %(whom)s as an emergency.")
            if data["emergency"]
            else gettext("%(name)s is on the waiting list for %(whom)s.")
        )
        % {
            "name": entry.patient.name,
            "whom": entry.doctor.name if entry.doctor else localized(entry.department),
        },
    )
    return redirect("reception_dashboard")


@require_http_methods(["GET", "POST"])
@reception_required
def walk_in(request):
    form = WalkInForm(request.POST if request.method == "POST" else request.GET)
    form.is_valid()
    errors = error_list(form)
    data = form.cleaned_data
    action = data.get("action") if request.method == "POST" else ""
    if not errors and action in ("book", "wait"):
        act = _book_walk_in if action == "book" else _add_to_waiting_list
        done = act(request, form, errors)
        if done is not None:
            return done

    department = data.get("department")
    doctor = data.get("doctor") if "doctor" not in form.errors else None
    emergency = data.get("emergency", False)
    options = walkins.walk_in_options(department=department, emergency=emergency)
    if doctor is not None:
        options = [o for o in options if o.doctor.pk == doctor.pk]
    chosen_option = str(form["option"].value() or "")
    return render_reception(
        request,
        "appointments/walkin.html",
        {
            "title": gettext("Walk-in"),
            "errors": errors,
            "patient": {
                name: str(form[name].value() or "")[:300]
                for name in ("patient_name", "mobile", "reason", "language")
            },
            "languages": settings.LANGUAGES,
            "emergency": emergency,
            "department": department,
            "doctor": doctor,
            "departments": Department.objects.filter(is_active=True).order_by("name"),
            "doctors": Doctor.objects.filter(on_duty=True)
            .select_related("department")
            .order_by("department__name", "name"),
            "options": [
                {"option": o, "value": option_value(o), "checked": option_value(o) == chosen_option}
                for o in options
            ],
            "now": timezone.localtime(),
        },
    )


# --- Waiting list -------------------------------------------------------------------------


def _entry_or_404(pk) -> WaitingListEntry:
    return get_object_or_404(
        WaitingListEntry.objects.select_related("patient", "department", "doctor"), pk=pk
    )


@require_http_methods(["GET", "POST"])
@reception_required
def waiting_offer(request, pk):
    """Offer a waiting patient a slot: ?doctor=<id>&date=YYYY-MM-DD&start=HH:MM (a freed
    slot, linked from a cancellation), or the free slots now when none is given."""
    entry = _entry_or_404(pk)
    data = request.POST if request.method == "POST" else request.GET
    today = local_today()
    errors = []
    form = WaitingOfferForm(data)
    slot_chosen = any(data.get(name) for name in ("doctor", "date", "start"))
    slot_given = slot_chosen and form.is_valid()
    if slot_chosen and not slot_given:
        errors += error_list(form)
    waiting = entry.status == WaitingListEntry.Status.WAITING
    if not waiting:
        errors.append(
            gettext("%(name)s is no longer on the waiting list.") % {"name": entry.patient.name}
        )
    slot = form.cleaned_data if slot_given else {}

    if request.method == "POST" and not errors:
        if not slot_given:
            errors.append(gettext("Choose a slot to offer."))
        else:
            try:
                appointment = walkins.book_from_waiting_list(
                    entry, doctor=slot["doctor"], day=slot["date"], start=slot["start"],
                    actor=request.user, check_in=slot["check_in"] and slot["date"] == today,
                )  # fmt: skip
            except BookingError as exc:
                errors.append(str(exc))
            else:
                checked_in = appointment.status == Appointment.Status.CHECKED_IN
                messages.success(
                    request,
                    (
                        gettext(
                            "%(name)s is booked with %(doctor)s on %(day)s at %(time)s and "
                            "checked in."
                        )
                        if checked_in
                        else gettext("%(name)s is booked with %(doctor)s on %(day)s at %(time)s.")
                    )
                    % {
                        "name": entry.patient.name,
                        "doctor": appointment.doctor.name,
                        "day": dateformat.format(appointment.date, "D d M"),
                        "time": f"{appointment.start:%H:%M}",
                    },
                )
                return redirect("reception_appointment", public_id=appointment.public_id)

    options = []
    if not slot_given and waiting:
        options = [
            {"option": o, "url": offer_url(entry, o.doctor.pk, o.day, o.start)}
            for o in walkins.walk_in_options(
                department=entry.department,
                emergency=entry.priority == WaitingListEntry.Priority.EMERGENCY,
            )
            if entry.doctor_id in (None, o.doctor.pk)
        ]
    return render_reception(
        request,
        "appointments/waiting_offer.html",
        {
            "title": gettext("Offer a slot to %(name)s") % {"name": entry.patient.name},
            "entry": entry,
            "mobile": mask_mobile(entry.patient.mobile),
            "errors": errors,
            "slot_given": slot_given,
            "doctor": slot.get("doctor"),
            "day": slot.get("date"),
            "start": slot.get("start"),
            "is_today": slot.get("date") == today,
            "options": options,
            "waiting": waiting,
            "emergency": entry.priority == WaitingListEntry.Priority.EMERGENCY,
        },
    )


@require_POST
@reception_required
def waiting_remove(request, pk):
    entry = _entry_or_404(pk)
    form = WaitingRemoveForm(request.POST)
    if not form.is_valid():
        for error in error_list(form):
            messages.error(request, error)
        return redirect("reception_dashboard")
    try:
        walkins.remove_from_waiting_list(
            entry, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            gettext("%(name)s was taken off the waiting list.") % {"name": entry.patient.name},
        )
    return redirect("reception_dashboard")

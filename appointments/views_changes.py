"""Reception pages that change a booked appointment: find it on any date, reschedule,
cancel (with a reason), check in (a token in the live queue), mark a no-show, and the
log of cancellations. Thin like appointments.views: a form parses, the role is checked,
ONE service from appointments.changes is called, its BookingError shown as it is."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import dateformat
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments import changes
from appointments.errors import BookingError, status_refusal
from appointments.forms import RescheduleForm, SlotPickerForm, error_list
from appointments.models import Appointment
from appointments.slots import free_slots
from appointments.views import (
    appointment_or_404,
    render_reception,
    requested_day,
    search_query,
)
from hospital.clock import local_today
from hospital.phones import mask_mobile
from hospital.roles import reception_required

OTHER_REASON = "other"


def _back(request, appointment: Appointment):
    """Where a quick action returns: the page it was pressed on (`next`, same site only),
    else the appointment."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("reception_appointment", public_id=appointment.public_id)


# --- Find ---------------------------------------------------------------------------------


@require_GET
@reception_required
def find(request):
    query = search_query(request)
    found = list(changes.find_appointments(query)) if query else []
    return render_reception(
        request,
        "appointments/find.html",
        {
            "title": gettext("Find an appointment"),
            "query": query,
            "rows": [{"appointment": a, "mobile": mask_mobile(a.patient.mobile)} for a in found],
            "limit": changes.FIND_LIMIT,
        },
    )


# --- Reschedule ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@reception_required
def reschedule(request, public_id):
    appointment = appointment_or_404(public_id)
    today = local_today()
    if request.method == "POST":
        form = RescheduleForm(request.POST, appointment=appointment)
    else:
        form = SlotPickerForm(request.GET, appointment=appointment)
    valid = form.is_valid()
    errors = error_list(form)
    data = form.cleaned_data
    doctor = data.get("doctor") or appointment.doctor
    if request.method == "POST" and valid:
        try:
            changes.reschedule_appointment(
                appointment, day=data["date"], start=data["start"], doctor=doctor,
                reason=data["reason"], actor=request.user,
            )  # fmt: skip
        except BookingError as exc:
            errors.append(str(exc))
        else:
            messages.success(
                request,
                gettext(
                    "Rescheduled: %(name)s with %(doctor)s on %(day)s at %(time)s. "
                    "The patient has been told."
                )
                % {
                    "name": appointment.patient.name,
                    "doctor": doctor.name,
                    "day": dateformat.format(data["date"], "D d M"),
                    "time": f"{data['start']:%H:%M}",
                },
            )
            return redirect("reception_appointment", public_id=appointment.public_id)
    day = data.get("date") or (today if request.method == "POST" else max(appointment.date, today))
    status = 400 if errors and request.method == "POST" else 200
    refusal = status_refusal(appointment, changes.BOOKED, changes.ONLY_BOOKED_RESCHEDULED)
    if refusal:
        errors.append(refusal)
    return render_reception(
        request,
        "appointments/appointment_reschedule.html",
        {
            "title": gettext("Reschedule %(name)s") % {"name": appointment.patient.name},
            "appointment": appointment,
            "doctor": doctor,
            "doctors": form.fields["doctor"].queryset.order_by("name"),
            "day": day,
            "today": today,
            "slots": free_slots(doctor, day),
            "chosen_start": str(form["start"].value() or "") if "start" in form.fields else "",
            "reason": str(form["reason"].value() or "")[:200] if "reason" in form.fields else "",
            "errors": errors,
            "can_reschedule": appointment.status == Appointment.Status.BOOKED,
        },
        status=status,
    )


# --- Cancel -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@reception_required
def cancel(request, public_id):
    appointment = appointment_or_404(public_id)
    errors = []
    choice = request.POST.get("reason_choice", "")
    other = request.POST.get("reason_other", "")
    if request.method == "POST":
        reason = other if choice in ("", OTHER_REASON) else choice
        if choice not in ("", OTHER_REASON, *changes.CANCEL_REASONS):
            reason = ""
        try:
            changes.cancel_appointment(appointment, reason=reason, actor=request.user)
        except BookingError as exc:
            errors.append(str(exc))
        else:
            messages.success(
                request,
                gettext("Cancelled: %(name)s. The slot is free.")
                % {"name": appointment.patient.name},
            )
            return redirect("reception_appointment", public_id=appointment.public_id)
    return render_reception(
        request,
        "appointments/appointment_cancel.html",
        {
            "title": gettext("Cancel the appointment of %(name)s")
            % {"name": appointment.patient.name},
            "appointment": appointment,
            "mobile": mask_mobile(appointment.patient.mobile),
            "reasons": changes.CANCEL_REASONS,
            "choice": choice,
            "other": other[:200],
            "errors": errors,
            "can_cancel": appointment.status
            in (Appointment.Status.HELD, Appointment.Status.BOOKED),
        },
        status=400 if errors else 200,
    )


# --- Check-in and no-show -----------------------------------------------------------------


@require_POST
@reception_required
def check_in(request, public_id):
    appointment = appointment_or_404(public_id)
    try:
        token, created = changes.check_in(appointment, actor=request.user)
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        if created:
            messages.success(
                request,
                gettext("Checked in: %(name)s has token %(number)s for %(doctor)s.")
                % {
                    "name": appointment.patient.name,
                    "number": token.display_number,
                    "doctor": appointment.doctor.name,
                },
            )
        else:
            messages.info(
                request,
                gettext("Already checked in: %(number)s") % {"number": token.display_number},
            )
    return _back(request, appointment)


@require_POST
@reception_required
def no_show(request, public_id):
    appointment = appointment_or_404(public_id)
    try:
        changes.mark_no_show(appointment, actor=request.user)
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            gettext("Marked as a no-show: %(name)s.") % {"name": appointment.patient.name},
        )
    return _back(request, appointment)


# --- Cancellations log --------------------------------------------------------------------


@require_GET
@reception_required
def cancellations(request):
    day = requested_day(request)
    today = local_today()

    def link(when: datetime.date) -> str:
        return "?" + urlencode({"date": when.isoformat()})

    return render_reception(
        request,
        "appointments/cancellations.html",
        {
            "title": gettext("Cancellations"),
            "day": day,
            "is_today": day == today,
            "events": [
                {"event": e, "mobile": mask_mobile(e.appointment.patient.mobile)}
                for e in changes.cancellations_on(day)
            ],
            "previous_link": link(day - datetime.timedelta(days=1)),
            "next_link": link(day + datetime.timedelta(days=1)),
            "today_link": link(today),
            "dashboard_link": reverse("reception_dashboard"),
        },
    )

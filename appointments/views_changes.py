"""Reception pages that change a booked appointment: find it on any date, reschedule,
cancel (with a reason), check in (a token in the live queue), mark a no-show, and the
log of cancellations. Thin like appointments.views: parse, check the role, call ONE
service from appointments.changes, show its BookingError as it is."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments import changes
from appointments.forms import parse_day
from appointments.models import Appointment, AppointmentEvent
from appointments.services import BookingError, free_slots, status_refusal
from appointments.views import (
    appointment_or_404,
    render_reception,
    requested_day,
    search_query,
)
from hospital.models import Doctor
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


def _when(value) -> str:
    day = parse_day(value.get("date"))
    when = f"{day:%a %d %b %Y}" if day else value.get("date", "?")
    return f"{when} {value.get('start', '')}, {value.get('doctor', '')}".strip(", ")


def describe_changes(event: AppointmentEvent) -> str:
    """An event's `changes` as a sentence a receptionist can read."""
    data = event.changes or {}
    if not isinstance(data, dict) or not data:
        return ""
    if isinstance(data.get("from"), dict) and isinstance(data.get("to"), dict):
        return f"From {_when(data['from'])} to {_when(data['to'])}"
    if "token" in data:
        return f"Token {data['token']}"
    if isinstance(data.get("status"), dict):
        labels = dict(Appointment.Status.choices)
        before, after = data["status"].get("from"), data["status"].get("to")
        return f"{labels.get(before, before)} → {labels.get(after, after)}"
    if "date" in data and "start" in data:
        return f"Slot {_when(data)}"
    return ", ".join(f"{key}: {value}" for key, value in data.items())


def detail_context(appointment: Appointment, now=None) -> dict:
    """What the appointment page needs for its actions and history."""
    now = now or timezone.now()
    booked = appointment.status == Appointment.Status.BOOKED
    token = getattr(appointment, "token", None) if appointment.pk else None
    return {
        "can_reschedule": booked,
        "can_cancel": appointment.status in (Appointment.Status.HELD, Appointment.Status.BOOKED),
        "can_check_in": booked and appointment.date == timezone.localdate(now),
        "can_mark_no_show": changes.may_mark_no_show(appointment, now),
        "queue_token": token,
        # A freed slot still ahead: offer it to the first patient on the waiting list.
        "waiting_offer": changes.waiting_offer(appointment)
        if appointment.status == Appointment.Status.CANCELLED
        and appointment.date >= timezone.localdate(now)
        else None,
        "history": [
            {"event": e, "changes": describe_changes(e)}
            for e in appointment.events.select_related("actor")
        ],
    }


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
            "title": "Find an appointment",
            "query": query,
            "rows": [{"appointment": a, "mobile": mask_mobile(a.patient.mobile)} for a in found],
            "limit": changes.FIND_LIMIT,
        },
    )


# --- Reschedule ---------------------------------------------------------------------------


def _doctor_choice(raw, appointment: Appointment) -> Doctor | None:
    raw = (raw or "").strip()
    if not raw:
        return appointment.doctor
    if raw.isdigit() and len(raw) < 12:
        return (
            Doctor.objects.select_related("department")
            .filter(pk=int(raw), department_id=appointment.doctor.department_id)
            .first()
        )
    return None


def _time(raw) -> datetime.time | None:
    try:
        return datetime.datetime.strptime((raw or "").strip(), "%H:%M").time()
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
@reception_required
def reschedule(request, public_id):
    appointment = appointment_or_404(public_id)
    today = timezone.localdate()
    errors = []
    source = request.POST if request.method == "POST" else request.GET
    doctor = _doctor_choice(source.get("doctor"), appointment)
    if doctor is None:
        errors.append("Choose a doctor of the same department.")
        doctor = appointment.doctor
    if request.method == "POST":
        day = parse_day(request.POST.get("date"))
        start = _time(request.POST.get("start"))
        reason = request.POST.get("reason", "")
        if day is None:
            errors.append("Choose a valid date.")
        elif start is None:
            errors.append("Choose a slot.")
        elif not errors:
            try:
                changes.reschedule_appointment(
                    appointment, day=day, start=start, doctor=doctor, reason=reason,
                    actor=request.user,
                )  # fmt: skip
            except BookingError as exc:
                errors.append(str(exc))
            else:
                messages.success(
                    request,
                    f"Rescheduled: {appointment.patient.name} with {doctor.name} on "
                    f"{day:%a %d %b} at {start:%H:%M}. The patient has been told.",
                )
                return redirect("reception_appointment", public_id=appointment.public_id)
        day = day or today
    else:
        day = requested_day(request) if "date" in request.GET else max(appointment.date, today)
        reason = ""
    status = 400 if errors and request.method == "POST" else 200
    refusal = status_refusal(appointment, changes.BOOKED, changes.ONLY_BOOKED_RESCHEDULED)
    if refusal:
        errors.append(refusal)
    colleagues = Doctor.objects.filter(department_id=appointment.doctor.department_id).order_by(
        "name"
    )
    return render_reception(
        request,
        "appointments/appointment_reschedule.html",
        {
            "title": f"Reschedule {appointment.patient.name}",
            "appointment": appointment,
            "doctor": doctor,
            "doctors": colleagues,
            "day": day,
            "today": today,
            "slots": free_slots(doctor, day),
            "chosen_start": request.POST.get("start", ""),
            "reason": reason,
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
            messages.success(request, f"Cancelled: {appointment.patient.name}. The slot is free.")
            return redirect("reception_appointment", public_id=appointment.public_id)
    return render_reception(
        request,
        "appointments/appointment_cancel.html",
        {
            "title": f"Cancel the appointment of {appointment.patient.name}",
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
                f"Checked in: {appointment.patient.name} has token {token.display_number} "
                f"for {appointment.doctor.name}.",
            )
        else:
            messages.info(request, f"Already checked in: {token.display_number}")
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
        messages.success(request, f"Marked as a no-show: {appointment.patient.name}.")
    return _back(request, appointment)


# --- Cancellations log --------------------------------------------------------------------


@require_GET
@reception_required
def cancellations(request):
    day = requested_day(request)
    today = timezone.localdate()

    def link(when: datetime.date) -> str:
        return "?" + urlencode({"date": when.isoformat()})

    return render_reception(
        request,
        "appointments/cancellations.html",
        {
            "title": "Cancellations",
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

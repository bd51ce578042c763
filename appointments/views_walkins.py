"""Walk-ins at the desk and the waiting list.

Views stay thin: parse, check the role (reception_required), call one service from
appointments.walkins, show a BookingError as it is. Bad input is a message, never a 500;
an unknown entry is a 404.
"""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from appointments import walkins
from appointments.forms import parse_day
from appointments.models import WaitingListEntry
from appointments.services import BookingError
from appointments.views import TRUTHY, render_reception
from hospital.models import Department, Doctor
from hospital.phones import mask_mobile
from hospital.roles import reception_required

MAX_FIELD = 300


def _text(data, name: str) -> str:
    return (data.get(name, "") or "")[:MAX_FIELD]


def _pk(raw) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _time(raw) -> datetime.time | None:
    try:
        return datetime.datetime.strptime((raw or "").strip()[:5], "%H:%M").time()
    except ValueError:
        return None


def option_value(option) -> str:
    return f"{option.doctor.pk}@{option.start:%H:%M}"


def offer_url(entry, doctor_id: int, day: datetime.date, start: datetime.time) -> str:
    query = urlencode({"doctor": doctor_id, "date": day.isoformat(), "start": f"{start:%H:%M}"})
    return f"{reverse('reception_waiting_offer', args=[entry.pk])}?{query}"


# --- Walk-in ------------------------------------------------------------------------------


def _walk_in_choices(data):
    """The department, doctor and emergency flag chosen on the walk-in form (None when
    not chosen or unknown), and messages for unknown ids."""
    errors = []
    department = doctor = None
    department_id = _pk(data.get("department"))
    if data.get("department") and department_id is None:
        errors.append("Choose a department from the list.")
    elif department_id is not None:
        department = Department.objects.filter(pk=department_id, is_active=True).first()
        if department is None:
            errors.append("That department could not be found.")
    doctor_id = _pk(data.get("doctor"))
    if data.get("doctor") and doctor_id is None:
        errors.append("Choose a doctor from the list.")
    elif doctor_id is not None:
        doctor = Doctor.objects.select_related("department").filter(pk=doctor_id).first()
        if doctor is None:
            errors.append("That doctor could not be found.")
        elif department is None:
            department = doctor.department
        elif doctor.department_id != department.pk:
            errors.append(f"{doctor.name} is not in {department.name}.")
            doctor = None
    emergency = _text(data, "emergency").lower() in TRUTHY
    return department, doctor, emergency, errors


@require_http_methods(["GET", "POST"])
@reception_required
def walk_in(request):
    data = request.POST if request.method == "POST" else request.GET
    department, doctor, emergency, errors = _walk_in_choices(data)
    action = _text(request.POST, "action") if request.method == "POST" else ""
    patient = {
        "patient_name": _text(data, "patient_name"),
        "mobile": _text(data, "mobile"),
        "reason": _text(data, "reason"),
    }

    if request.method == "POST" and not errors and action == "book":
        doctor_id, _, start = _text(request.POST, "option").partition("@")
        chosen = Doctor.objects.filter(pk=_pk(doctor_id)).first() if _pk(doctor_id) else None
        start = _time(start)
        if chosen is None or start is None:
            errors.append("Choose one of the free slots below.")
        else:
            try:
                appointment = walkins.book_walk_in(
                    doctor=chosen, start=start, emergency=emergency, actor=request.user,
                    **patient,
                )  # fmt: skip
            except BookingError as exc:
                # Another desk took it, or it just ended: the options below are fresh.
                errors.append(f"{exc} The free slots have been updated below.")
            else:
                token = getattr(appointment, "token", None)
                messages.success(
                    request,
                    f"{appointment.patient.name} is booked with {appointment.doctor.name} "
                    f"(room {appointment.doctor.room}) at {appointment.start:%H:%M} and "
                    f"checked in" + (f": token {token.display_number}." if token else "."),
                )
                return redirect("reception_appointment", public_id=appointment.public_id)
    elif request.method == "POST" and not errors and action == "wait":
        if department is None:
            errors.append("Choose the department the patient is waiting for.")
        else:
            try:
                entry = walkins.add_to_waiting_list(
                    department=department, doctor=doctor, actor=request.user,
                    priority=WaitingListEntry.Priority.EMERGENCY
                    if emergency else WaitingListEntry.Priority.NORMAL,
                    **patient,
                )  # fmt: skip
            except BookingError as exc:
                errors.append(str(exc))
            else:
                messages.success(
                    request,
                    f"{entry.patient.name} is on the waiting list for "
                    f"{entry.doctor or entry.department}"
                    f"{' as an emergency' if emergency else ''}.",
                )
                return redirect("reception_dashboard")

    options = walkins.walk_in_options(department=department, emergency=emergency)
    if doctor is not None:
        options = [o for o in options if o.doctor.pk == doctor.pk]
    chosen_option = _text(request.POST, "option")
    return render_reception(
        request,
        "appointments/walkin.html",
        {
            "title": "Walk-in",
            "errors": errors,
            "patient": patient,
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
        status=200,
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
    today = timezone.localdate()
    errors = []
    doctor = day = start = None
    if any(data.get(k) for k in ("doctor", "date", "start")):
        doctor_id = _pk(data.get("doctor"))
        doctor = (
            Doctor.objects.select_related("department").filter(pk=doctor_id).first()
            if doctor_id
            else None
        )
        day = parse_day(data.get("date"))
        start = _time(data.get("start"))
        if doctor is None:
            errors.append("That doctor could not be found.")
        if day is None:
            errors.append(f"“{_text(data, 'date')[:20]}” is not a date.")
        if start is None:
            errors.append(f"“{_text(data, 'start')[:10]}” is not a time (HH:MM).")
    slot_given = doctor is not None and day is not None and start is not None
    if entry.status != WaitingListEntry.Status.WAITING:
        errors.append(f"{entry.patient.name} is no longer on the waiting list.")

    if request.method == "POST" and slot_given and not errors:
        check_in = _text(request.POST, "check_in").lower() in TRUTHY
        try:
            appointment = walkins.book_from_waiting_list(
                entry, doctor=doctor, day=day, start=start, actor=request.user,
                check_in=check_in and day == today,
            )  # fmt: skip
        except BookingError as exc:
            errors.append(str(exc))
        else:
            checked = " and checked in" if appointment.status == "checked_in" else ""
            messages.success(
                request,
                f"{entry.patient.name} is booked with {appointment.doctor.name} on "
                f"{appointment.date:%a %d %b} at {appointment.start:%H:%M}{checked}.",
            )
            return redirect("reception_appointment", public_id=appointment.public_id)
    elif request.method == "POST" and not slot_given and not errors:
        errors.append("Choose a slot to offer.")

    options = []
    if not slot_given and entry.status == WaitingListEntry.Status.WAITING:
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
            "title": f"Offer a slot to {entry.patient.name}",
            "entry": entry,
            "mobile": mask_mobile(entry.patient.mobile),
            "errors": errors,
            "slot_given": slot_given,
            "doctor": doctor,
            "day": day,
            "start": start,
            "is_today": day == today,
            "options": options,
        },
    )


@require_POST
@reception_required
def waiting_remove(request, pk):
    entry = _entry_or_404(pk)
    try:
        walkins.remove_from_waiting_list(
            entry, actor=request.user, reason=_text(request.POST, "reason")
        )
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{entry.patient.name} was taken off the waiting list.")
    return redirect("reception_dashboard")

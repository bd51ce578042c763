"""The reception desk: today's appointments, doctor availability, doctor search, booking
with a one-time code sent to the patient's mobile.

Views stay thin: parse the input, check the role (reception_required), call ONE service
(appointments.booking, appointments.slots), and show a BookingError's message as it is.
They never save an Appointment. The pages wear the Django admin's look, which the staff
already know.
"""

import datetime
import uuid
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments import booking, changes, slots, walkins
from appointments.errors import BookingError
from appointments.forms import (
    OUT_OF_RANGE,
    BookingForm,
    DayForm,
    VerifyForm,
    parse_day,
    parse_id,
)
from appointments.models import Appointment, AppointmentEvent, Notification
from hospital.clock import local_today
from hospital.languages import localized
from hospital.models import Doctor
from hospital.phones import mask_mobile
from hospital.roles import reception_required

MAX_QUERY_LENGTH = 100
TRUTHY = {"1", "on", "true", "yes"}

AVAILABILITY_STYLE = {"available": "green", "full": "amber", "off": "red"}
CHANNEL_NAMES = {"sms": _("SMS"), "email": _("email")}
PURPOSE_NAMES = {"otp": _("Code"), "confirmation": _("Confirmation")}
MESSAGE_NAMES = {
    ("otp", "sms"): _("The SMS with the code"),
    ("confirmation", "sms"): _("The confirmation SMS"),
    ("confirmation", "email"): _("The confirmation email"),
}


# --- Helpers ------------------------------------------------------------------------------


def render_reception(request, template: str, context: dict, *, status: int = 200):
    """Render in the admin's frame (header, breadcrumbs, message list) for any receptionist,
    staff or not: the admin's own sidebar and user links assume a staff user."""
    frame = admin.site.each_context(request)
    frame.update(
        site_header=gettext("OPD Queue reception"),
        is_nav_sidebar_enabled=False,
        available_apps=[],
    )
    frame.update(context)
    return render(request, template, frame, status=status)


def requested_day(request, *, param: str = "date") -> datetime.date:
    """The ?date= of the request, or today; a date that can't be read says so."""
    today = local_today()
    form = DayForm({"date": request.GET.get(param, "")})
    if form.is_valid():
        return form.cleaned_data["date"] or today
    if form.has_error("date", "invalid"):
        raw = "".join(c for c in request.GET[param][:20] if c.isprintable())
        messages.error(
            request, gettext("“%(raw)s” is not a date; showing today instead.") % {"raw": raw}
        )
    else:
        messages.error(
            request, gettext("%(refusal)s Showing today instead.") % {"refusal": OUT_OF_RANGE}
        )
    return today


def book_url(doctor_id=None, day=None) -> str:
    params = {}
    if doctor_id:
        params["doctor"] = doctor_id
    if day:
        params["date"] = day.isoformat()
    url = reverse("reception_book")
    return f"{url}?{urlencode(params)}" if params else url


def failed_notifications(appointment) -> list[str]:
    """What reception must tell the patient in person, oldest first."""
    lines = []
    given_up = [Notification.Status.FAILED, Notification.Status.NOT_SENT]
    for n in appointment.notifications.filter(status__in=given_up).order_by("created_at", "pk"):
        what = MESSAGE_NAMES.get((n.purpose, n.channel)) or gettext(
            "The %(purpose)s %(channel)s"
        ) % {"purpose": n.purpose, "channel": CHANNEL_NAMES.get(n.channel, n.channel)}
        lines.append(
            gettext("%(what)s could not be sent: %(error)s")
            % {"what": what, "error": n.error or gettext("no reason given")}
        )
    return lines


def hold_has_expired(appointment, now=None) -> bool:
    if appointment.status == Appointment.Status.EXPIRED:
        return True
    return (
        appointment.status == Appointment.Status.HELD
        and appointment.hold_expires_at is not None
        and appointment.hold_expires_at <= (now or timezone.now())
    )


def public_id_url(name: str):
    """reverse(name, args=[public_id]) for many public ids: the pattern is reversed once
    and each id set in its place. The dashboard links each row of a 900-appointment day
    two to three times, and reversing every link took a tenth of the page's time."""
    placeholder = str(uuid.UUID(int=0))
    head, tail = reverse(name, args=[placeholder]).split(placeholder)
    return lambda public_id: f"{head}{public_id}{tail}"


def search_query(request) -> str:
    # Unprintable characters go: PostgreSQL refuses a NUL in a query parameter outright.
    raw = "".join(c for c in request.GET.get("q", "")[:1000] if c.isprintable() or c.isspace())
    return " ".join(raw.split())[:MAX_QUERY_LENGTH]


# --- Dashboard ----------------------------------------------------------------------------


@require_GET
@reception_required
def dashboard(request):
    day = requested_day(request)
    query = search_query(request)
    doctor_id = parse_id(request.GET.get("doctor"))
    if doctor_id is None and request.GET.get("doctor", "").strip():
        messages.error(request, gettext("That doctor could not be found; showing every doctor."))
    doctor_filter = str(doctor_id) if doctor_id is not None else ""
    status_filter = request.GET.get("status", "")

    # Only what the rows show: the doctor's department (appointments_on reads it for other
    # lists) would be one more object to build per row of a 900-appointment day.
    appointments = (
        slots.appointments_on(day)
        .select_related(None)
        .select_related("patient", "doctor", "token__department")
    )
    day_total = appointments.count()
    if query:
        digits = "".join(c for c in query if c.isdigit())
        match = Q(patient__name__icontains=query)
        if len(digits) >= 3:
            match |= Q(patient__mobile__contains=digits)
        appointments = appointments.filter(match)
    doctors_that_day = Doctor.objects.filter(
        pk__in=slots.appointments_on(day).values("doctor")
    ).order_by("name")
    if doctor_id is not None:
        appointments = appointments.filter(doctor_id=doctor_id)
    if status_filter in Appointment.Status.values:
        appointments = appointments.filter(status=status_filter)
    now = timezone.now()
    today = local_today()
    # What every row repeats is worked out once here: the status words (get_status_display
    # translates every choice on each call) and the links' patterns.
    status_labels = {value: str(label) for value, label in Appointment.Status.choices}
    detail_url = public_id_url("reception_appointment")
    verify_url = public_id_url("reception_verify")
    check_in_url = public_id_url("reception_check_in")
    slip_url = public_id_url("token_slip")
    rows = []
    for a in appointments.order_by("start", "doctor__name"):
        held = a.status == Appointment.Status.HELD
        lapsed = held and hold_has_expired(a, now)
        booked = a.status == Appointment.Status.BOOKED
        # getattr: a checked-in appointment with no token row gets no slip link, as before.
        token = getattr(a, "token", None) if a.status == Appointment.Status.CHECKED_IN else None
        rows.append(
            {
                "appointment": a,
                "mobile": mask_mobile(a.patient.mobile),
                "lapsed": lapsed,
                "time": f"{a.start:%H:%M}–{a.end:%H:%M}",
                "status_label": status_labels.get(a.status, a.status),
                "url": detail_url(a.public_id),
                "verify_url": verify_url(a.public_id) if held and not lapsed else "",
                "check_in_url": check_in_url(a.public_id) if booked and day == today else "",
                "slip_url": slip_url(token.public_id) if token else "",
                "token": token,
            }
        )

    def link(**changes) -> str:
        params = {"date": day.isoformat(), "q": query, "doctor": doctor_filter}
        params["status"] = status_filter
        params.update(changes)
        return "?" + urlencode({k: v for k, v in params.items() if v})

    availability = [
        {"item": a, "colour": AVAILABILITY_STYLE.get(a.state, "red")}
        for a in slots.doctor_availability(day=day)
    ]
    return render_reception(
        request,
        "appointments/dashboard.html",
        {
            "title": gettext("Appointments"),
            "day": day,
            "is_today": day == today,
            "today": today,
            "search_day": max(day, today),
            "previous_link": link(date=(day - datetime.timedelta(days=1)).isoformat()),
            "next_link": link(date=(day + datetime.timedelta(days=1)).isoformat()),
            "today_link": link(date=today.isoformat()),
            "query": query,
            "rows": rows,
            "day_total": day_total,
            "filtered": bool(query or doctor_filter or status_filter),
            "clear_link": link(q="", doctor="", status=""),
            "doctor_choices": [
                {"label": d.name, "link": link(doctor=d.pk), "selected": str(d.pk) == doctor_filter}
                for d in doctors_that_day
            ],
            "doctor_all_link": link(doctor=""),
            "status_choices": [
                {"label": label, "link": link(status=value), "selected": value == status_filter}
                for value, label in Appointment.Status.choices
            ],
            "status_all_link": link(status=""),
            "doctor_filter": doctor_filter,
            "status_filter": status_filter,
            "availability": availability,
            "book_link": book_url(day=day if day >= today else None),
        },
    )


# --- Doctor search ------------------------------------------------------------------------


@require_GET
@reception_required
def doctor_search(request):
    """Suggestions for the doctor search box: GET ?q=car&date=2026-11-18&available=1."""
    query = search_query(request)
    raw_day = request.GET.get("date", "").strip()
    day = parse_day(raw_day) if raw_day else local_today()
    if day is None:
        return JsonResponse({"results": [], "error": gettext("Choose a valid date.")}, status=400)
    if not query:
        return JsonResponse({"results": []})
    available_only = request.GET.get("available", "") in TRUTHY
    matches = slots.search_doctors(query, day=day, available_only=available_only)
    return JsonResponse(
        {
            "results": [
                {
                    "id": m.doctor.pk,
                    "name": m.doctor.name,
                    "specialization": m.doctor.specialization,
                    "department": localized(m.doctor.department),
                    "room": m.doctor.room,
                    "free_count": m.free_count,
                    "url": book_url(m.doctor.pk, day),
                }
                for m in matches
            ]
        }
    )


# --- Booking ------------------------------------------------------------------------------


def chosen_doctor(request, raw) -> Doctor | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    doctor = None
    pk = parse_id(raw)
    if pk is not None:
        doctor = Doctor.objects.select_related("department").filter(pk=pk).first()
    if doctor is None:
        messages.error(
            request, gettext("That doctor could not be found. Search for the doctor again.")
        )
    return doctor


@require_http_methods(["GET", "POST"])
@reception_required
def book(request):
    today = local_today()
    if request.method == "POST":
        form = BookingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = booking.hold_slot(
                    doctor=data["doctor"],
                    day=data["date"],
                    start=data["start"],
                    patient_name=data["patient_name"],
                    mobile=data["mobile"],
                    reason=data["reason"],
                    email=data["email"],
                    actor=request.user,
                )
            except BookingError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    gettext("Slot held for %(name)s. Enter the code sent to %(mobile)s.")
                    % {
                        "name": appointment.patient.name,
                        "mobile": mask_mobile(appointment.patient.mobile),
                    },
                )
                return redirect("reception_verify", public_id=appointment.public_id)
        # Shown again with what was typed; a bad doctor or date is in the form's errors.
        doctor = form.cleaned_data.get("doctor")
        day = form.cleaned_data.get("date") or today
    else:
        form = None
        doctor = chosen_doctor(request, request.GET.get("doctor"))
        day = requested_day(request)

    query = search_query(request)
    found = []
    available_only = request.GET.get("available", "") in TRUTHY
    if doctor is None and query:
        found = slots.search_doctors(query, day=day, available_only=available_only)
    free = slots.free_slots(doctor, day) if doctor else []
    if form is None and doctor:
        form = BookingForm(initial={"doctor": doctor.pk, "date": day})
    return render_reception(
        request,
        "appointments/book.html",
        {
            "title": gettext("Book an appointment"),
            "doctor": doctor,
            "day": day,
            "today": today,
            "search_day": max(day, today),
            "is_past": day < today,
            "slots": free,
            "chosen_start": (form["start"].value() or "") if form is not None else "",
            "form": form,
            "query": query,
            "available_only": available_only,
            "found": [{"match": m, "url": book_url(m.doctor.pk, day)} for m in found],
        },
    )


# --- One-time code ------------------------------------------------------------------------


def appointment_or_404(public_id) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("patient", "doctor", "doctor__department"),
        public_id=public_id,
    )


@require_http_methods(["GET", "POST"])
@reception_required
def verify(request, public_id):
    appointment = appointment_or_404(public_id)
    if appointment.status != Appointment.Status.HELD and not hold_has_expired(appointment):
        messages.info(
            request,
            gettext("This appointment is %(status)s.")
            % {"status": appointment.get_status_display().lower()},
        )
        return redirect("reception_appointment", public_id=appointment.public_id)
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appointment = booking.verify_otp(
                appointment, form.cleaned_data["code"], actor=request.user
            )
        except BookingError as exc:
            form.add_error("code", str(exc))
        else:
            messages.success(
                request,
                gettext("Booked: %(name)s with %(doctor)s on %(day)s at %(time)s.")
                % {
                    "name": appointment.patient.name,
                    "doctor": appointment.doctor.name,
                    "day": dateformat.format(appointment.date, "D d M"),
                    "time": f"{appointment.start:%H:%M}",
                },
            )
            return redirect("reception_appointment", public_id=appointment.public_id)
        appointment.refresh_from_db()
    return render_reception(
        request,
        "appointments/verify.html",
        {
            "title": gettext("Confirm with the code"),
            "appointment": appointment,
            "mobile": mask_mobile(appointment.patient.mobile),
            "expired": hold_has_expired(appointment),
            "form": form,
            "resend_wait": booking.seconds_until_resend(appointment),
            "failures": failed_notifications(appointment),
            "rebook_link": book_url(appointment.doctor_id, appointment.date),
        },
    )


@require_POST
@reception_required
def resend_code(request, public_id):
    appointment = appointment_or_404(public_id)
    try:
        booking.send_otp(appointment, actor=request.user)
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            gettext("A new code was sent to %(mobile)s.")
            % {"mobile": mask_mobile(appointment.patient.mobile)},
        )
    return redirect("reception_verify", public_id=appointment.public_id)


# --- Appointment ----------------------------------------------------------------------------


def _when(value) -> str:
    day = parse_day(value.get("date"))
    when = dateformat.format(day, "D d M Y") if day else value.get("date", "?")
    return f"{when} {value.get('start', '')}, {value.get('doctor', '')}".strip(", ")


def describe_changes(event: AppointmentEvent) -> str:
    """An event's `changes` as a sentence a receptionist can read."""
    data = event.changes or {}
    if not isinstance(data, dict) or not data:
        return ""
    if isinstance(data.get("from"), dict) and isinstance(data.get("to"), dict):
        return gettext("From %(before)s to %(after)s") % {
            "before": _when(data["from"]),
            "after": _when(data["to"]),
        }
    if "token" in data:
        return gettext("Token %(number)s") % {"number": data["token"]}
    if isinstance(data.get("status"), dict):
        labels = dict(Appointment.Status.choices)
        before, after = data["status"].get("from"), data["status"].get("to")
        return f"{labels.get(before, before)} → {labels.get(after, after)}"
    if "date" in data and "start" in data:
        return gettext("Slot %(when)s") % {"when": _when(data)}
    return ", ".join(f"{key}: {value}" for key, value in data.items())


def detail_context(appointment: Appointment, now=None) -> dict:
    """What the appointment page needs for its actions and history."""
    now = now or timezone.now()
    booked = appointment.status == Appointment.Status.BOOKED
    token = getattr(appointment, "token", None) if appointment.pk else None
    return {
        "can_reschedule": booked,
        "can_cancel": appointment.status in (Appointment.Status.HELD, Appointment.Status.BOOKED),
        "can_check_in": booked and appointment.date == local_today(now),
        "can_mark_no_show": changes.may_mark_no_show(appointment, now),
        "queue_token": token,
        # A freed slot still ahead: offer it to the first patient on the waiting list.
        "waiting_offer": walkins.waiting_offer(appointment)
        if appointment.status == Appointment.Status.CANCELLED
        and appointment.date >= local_today(now)
        else None,
        "history": [
            {"event": e, "changes": describe_changes(e)}
            for e in appointment.events.select_related("actor")
        ],
    }


@require_GET
@reception_required
def appointment_detail(request, public_id):
    appointment = appointment_or_404(public_id)
    return render_reception(
        request,
        "appointments/appointment.html",
        {
            "title": gettext("Appointment of %(name)s") % {"name": appointment.patient.name},
            "appointment": appointment,
            "mobile": mask_mobile(appointment.patient.mobile),
            "awaiting_code": appointment.status == Appointment.Status.HELD
            and not hold_has_expired(appointment),
            "expired": hold_has_expired(appointment),
            "failures": failed_notifications(appointment),
            "notifications": [
                {
                    "n": n,
                    "what": f"{PURPOSE_NAMES.get(n.purpose, n.purpose.capitalize())} "
                    f"({CHANNEL_NAMES.get(n.channel, n.channel)})",
                    "to": mask_mobile(n.to) if n.channel == "sms" else n.to,
                }
                for n in appointment.notifications.order_by("created_at")
            ],
            **detail_context(appointment),
        },
    )

"""The doctor's terminal panel: one context builder and one partial template shared by
the page (/doctor/) and the live socket (/ws/doctor/), so both always show the same."""

from django.template.loader import render_to_string
from django.utils import timezone

from hospital.clock import local_today
from hospital.models import Doctor
from queues import reading
from queues.models import Token


def minutes_or_dash(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} min"


def skipped_today(department, day) -> list[Token]:
    return list(
        Token.objects.filter(
            department=department, service_date=day, status=Token.Status.SKIPPED
        ).select_related("department")
    )


def panel_context(doctor: Doctor) -> dict:
    today = local_today()
    waiting = [
        {"token": t, "since": reading.wait_started(t)}
        for t in reading.waiting_tokens(doctor.department, today, doctor=doctor).select_related(
            "department"
        )
    ]
    figures = reading.doctor_figures(doctor, today)
    return {
        "doctor": doctor,
        "current": reading.open_token_for(doctor),
        "waiting": waiting,
        "skipped": skipped_today(doctor.department, today),
        "figures": figures,
        "average_wait": minutes_or_dash(figures.average_wait_minutes),
        "average_consultation": minutes_or_dash(figures.average_consultation_minutes),
        "today": today,
        "now": timezone.now(),
    }


def doctor_panel_message(doctor_id: int, csrf_token: str) -> dict:
    """The live message for a doctor's socket: the re-rendered panel plus the facts a
    client (or a test) can read without parsing HTML. The panel's forms carry the CSRF
    secret from the doctor's own cookie, which the CSRF middleware accepts."""
    doctor = Doctor.objects.select_related("department").get(pk=doctor_id)
    context = panel_context(doctor)
    current = context["current"]
    return {
        "type": "doctor",
        "version": doctor.department.state_version,
        "current": current.display_number if current else None,
        "waiting": [row["token"].display_number for row in context["waiting"]],
        "html": render_to_string(
            "queues/_doctor_panel.html", {**context, "csrf_token": csrf_token}
        ),
    }

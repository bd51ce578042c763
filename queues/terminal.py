"""The doctor's terminal panel: one context builder shared by the page and the live
socket, so both always show the same thing."""

from hospital.models import Doctor
from queues.services import doctor_figures, local_today, open_token_for, waiting_tokens


def doctor_panel_message(doctor_id: int, csrf_token: str) -> dict:
    doctor = Doctor.objects.select_related("department").get(pk=doctor_id)
    today = local_today()
    current = open_token_for(doctor)
    figures = doctor_figures(doctor, today)
    return {
        "type": "doctor",
        "version": doctor.department.state_version,
        "current": current.display_number if current else None,
        "waiting": [t.display_number for t in waiting_tokens(doctor.department, today)],
        "patients_seen": figures.patients_seen,
    }

"""The reception dashboard's waiting-list section, included as a partial
(templates/appointments/_waiting_list.html), so the dashboard view stays as it is."""

from django import template
from django.utils import timezone

from appointments import walkins
from appointments.models import WaitingListEntry
from appointments.views_walkins import offer_url
from hospital.phones import mask_mobile

register = template.Library()


def waited(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@register.simple_tag
def waiting_list_rows() -> list[dict]:
    """Everyone waiting (emergencies first, then by arrival), how long they have waited,
    and a link to book the first free slot now that fits them, if there is one."""
    now = timezone.now()
    entries = list(walkins.waiting_list())
    options = walkins.walk_in_options(emergency=True, now=now) if entries else []
    rows = []
    for entry in entries:
        emergency = entry.priority == WaitingListEntry.Priority.EMERGENCY
        fit = next(
            (
                o
                for o in options
                if o.doctor.department_id == entry.department_id
                and entry.doctor_id in (None, o.doctor.pk)
                and (emergency or not o.is_emergency_slot)
            ),
            None,
        )
        minutes = max(0, int((now - entry.arrived_at).total_seconds() // 60))
        rows.append(
            {
                "entry": entry,
                "emergency": emergency,
                "mobile": mask_mobile(entry.patient.mobile),
                "waited": waited(minutes),
                "option": fit,
                "offer_url": offer_url(entry, fit.doctor.pk, fit.day, fit.start) if fit else "",
            }
        )
    return rows

"""What every change to an appointment does first and last: lock its row, and append an
AppointmentEvent naming who did it, when and why."""

from appointments.models import Appointment, AppointmentEvent

MAX_EVENT_REASON_LENGTH = AppointmentEvent._meta.get_field("reason").max_length


def lock_appointment(appointment: Appointment) -> Appointment:
    """The appointment again, its row locked to the end of the transaction. Serialises
    everything done to one appointment (two tabs, two desks, a resend and a verify): the
    checks that follow and the writes after them see each other's result."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "doctor", "doctor__department")
        .get(pk=appointment.pk)
    )


def record_event(
    appointment: Appointment, kind: str, actor, now, *, reason: str = "", changes=None
) -> AppointmentEvent:
    return AppointmentEvent.objects.create(
        appointment=appointment,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        at=now,
        reason=reason[:MAX_EVENT_REASON_LENGTH],
        changes=changes or {},
    )

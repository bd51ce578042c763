"""The appointments app's one domain error, and the refusals every service makes."""

SLOT_TAKEN = "That slot was just taken. Please choose another."
SLOT_NOT_FREE = "That slot is not free. Please choose another from the list."


class BookingError(Exception):
    """A request reception refuses; the message is shown to the receptionist as it is."""


def require_actor(actor) -> None:
    # Which role may act is the view's decision (hospital.roles); a service only insists
    # that a signed-in person is named on every event it writes.
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise BookingError("Sign in to book appointments.")


def status_refusal(appointment, allowed, only: str) -> str:
    """Why `appointment` cannot have this done to it in its status, in words ("" when
    its status is `allowed`); `only` ends the sentence, e.g. "only a booked appointment
    can be rescheduled"."""
    if appointment.status in allowed:
        return ""
    return f"This appointment is {appointment.get_status_display().lower()}; {only}."


def require_status(appointment, allowed, only: str) -> None:
    """BookingError(status_refusal(...)) unless `appointment`'s status is `allowed`."""
    refusal = status_refusal(appointment, allowed, only)
    if refusal:
        raise BookingError(refusal)

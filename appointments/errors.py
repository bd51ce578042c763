"""The appointments app's one domain error, and the refusals every service makes."""

from django.utils.translation import gettext, gettext_noop

# Marked, not translated here: a service raises gettext(SLOT_TAKEN), in the language of
# the request, and the English text stays comparable.

SLOT_TAKEN = gettext_noop("That slot was just taken. Please choose another.")
SLOT_NOT_FREE = gettext_noop("That slot is not free. Please choose another from the list.")


class BookingError(Exception):
    """A request reception refuses; the message is shown to the receptionist as it is."""


def require_actor(actor) -> None:
    # Which role may act is the view's decision (hospital.roles); a service only insists
    # that a signed-in person is named on every event it writes.
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise BookingError(gettext("Sign in to book appointments."))


def status_refusal(appointment, allowed, only: str) -> str:
    """Why `appointment` cannot have this done to it in its status, in words ("" when
    its status is `allowed`); `only` ends the sentence, e.g. "only a booked appointment
    can be rescheduled" (marked with gettext_noop by the caller, translated here)."""
    if appointment.status in allowed:
        return ""
    return gettext("This appointment is %(status)s; %(only)s.") % {
        "status": appointment.get_status_display().lower(),
        "only": gettext(only),
    }


def require_status(appointment, allowed, only: str) -> None:
    """BookingError(status_refusal(...)) unless `appointment`'s status is `allowed`."""
    refusal = status_refusal(appointment, allowed, only)
    if refusal:
        raise BookingError(refusal)

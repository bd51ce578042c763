"""The supervisor board's content, shared by the page and its socket."""

import datetime

from django.template.loader import render_to_string
from django.utils import timezone

from supervision.services import alerts_to_show, check_thresholds, judged_figures


def board_context(now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        "departments": judged_figures(now),
        "alerts": list(alerts_to_show(now)),
        "as_of": now,
    }


def board_html(csrf_token: str, now: datetime.datetime | None = None) -> str:
    """The board's live part, as the page first renders it. The Acknowledge forms carry
    the CSRF secret from the page's own cookie, which the middleware accepts as a form
    token (as the doctor's terminal does, queues.terminal)."""
    context = board_context(now)
    context["csrf_token"] = csrf_token
    return render_to_string("supervision/_board.html", context)


def board_message(csrf_token: str) -> dict:
    """Check the thresholds (a change may have crossed one), then the board to send."""
    check_thresholds()
    return {"type": "supervisor", "html": board_html(csrf_token)}

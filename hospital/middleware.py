"""Signing out a staff terminal nobody has used for a while.

A doctor's or receptionist's screen left signed in at a busy desk is a screen anyone can
use. The 8-hour session limit is too long for that, so a signed-in session that has seen
no request for settings.STAFF_IDLE_MINUTES is ended, and the next page asks for the
password again. Live screens' websockets, and the panels a terminal's script fetches when
its socket announces a change (views marked not_activity), do not count as activity: a
terminal that only watches is still idle.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login

from hospital.roles import return_path

LAST_SEEN = "last_seen"
# The session is written at most this often (seconds) just to move LAST_SEEN on, so
# an active terminal does not cost a session write per request.
RESOLUTION = 60


def session_idle(session, now: float | None = None) -> bool:
    """Whether a signed-in session has seen no request for STAFF_IDLE_MINUTES."""
    last_seen = session.get(LAST_SEEN)
    now = time.time() if now is None else now
    return isinstance(last_seen, int) and now - last_seen > settings.STAFF_IDLE_MINUTES * 60


def not_activity(view):
    """Mark a view whose requests a page makes on its own (a live panel's refresh): they
    do not keep the session from going idle, but an idle session is still ended."""
    view.staff_activity = False
    return view


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            if session_idle(request.session):
                logout(request)
                messages.info(
                    request,
                    f"You were signed out after {settings.STAFF_IDLE_MINUTES} minutes "
                    "without activity. Please sign in again.",
                )
                return redirect_to_login(return_path(request))
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated or not getattr(view_func, "staff_activity", True):
            return None
        now = int(time.time())
        last_seen = request.session.get(LAST_SEEN)
        if not isinstance(last_seen, int) or now - last_seen >= RESOLUTION:
            request.session[LAST_SEEN] = now
        return None

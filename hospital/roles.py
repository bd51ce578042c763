"""Who is a receptionist, and the guard every reception page and action goes through.

The roles are Django groups (hospital.models.Roles) carrying model permissions, made by
migration hospital/0002_role_groups. A user is treated as a receptionist when they are in
the Receptionist group, or hold the reception permission some other way (a hospital admin,
a custom group), or are a superuser.
"""

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from hospital.models import Roles, is_counter_staff, is_doctor

# The permission that stands for "may work at the reception desk".
RECEPTION_PERMISSION = "appointments.add_appointment"


def is_receptionist(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser or user.has_perm(RECEPTION_PERMISSION):
        return True
    return user.groups.filter(name=Roles.RECEPTIONIST).exists()


# Django refuses to redirect to a longer address (DisallowedRedirect, logged as an error).
MAX_RETURN_LENGTH = 2000


def return_path(request) -> str:
    """Where to come back to after signing in: the page with its query, or the page
    alone when a query (junk, or an attack) would make the redirect too long."""
    full = request.get_full_path()
    return full if len(full) <= MAX_RETURN_LENGTH else request.path[:MAX_RETURN_LENGTH]


def role_required(has_role, refusal):
    """A view decorator: anonymous -> the login page; signed in without the role -> 403
    with `refusal` as the reason. Staff pages show patients' details, so no browser or
    proxy may keep a copy (Cache-Control: no-store)."""

    def decorator(view):
        @never_cache
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(return_path(request))
            if not has_role(request.user):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# Lazy: the refusal is shown on the 403 page in the language of the request.
reception_required = role_required(is_receptionist, _("This page is for the reception desk."))
doctor_required = role_required(is_doctor, _("This page is for doctors."))
counter_required = role_required(
    is_counter_staff, _("This page is for the staff of a service counter.")
)

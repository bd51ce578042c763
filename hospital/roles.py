"""Who is a receptionist, and the guard every reception page and action goes through.

The roles are Django groups (hospital.models.Roles) carrying model permissions, made by
migration hospital/0002_role_groups. A user is treated as a receptionist when they are in
the Receptionist group, or hold the reception permission some other way (a hospital admin,
a custom group), or are a superuser.
"""

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from hospital.models import Roles

# The permission that stands for "may work at the reception desk".
RECEPTION_PERMISSION = "appointments.add_appointment"


def is_receptionist(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser or user.has_perm(RECEPTION_PERMISSION):
        return True
    return user.groups.filter(name=Roles.RECEPTIONIST).exists()


def reception_required(view):
    """Anonymous -> login page; signed in without the reception role -> 403."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_receptionist(request.user):
            raise PermissionDenied("This page is for the reception desk.")
        return view(request, *args, **kwargs)

    return wrapper

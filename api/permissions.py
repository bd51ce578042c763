"""Who may call an endpoint: an integration's key with the endpoint's scope, or a member
of staff signed in from the browser with the role the matching page asks for."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from api.models import ApiKey


def allowed(scope: str, role=None, refusal=None):
    """A DRF permission class: a key with `scope`, or a signed-in user for whom
    `role(user)` holds (any signed-in user when `role` is None)."""

    class Allowed(BasePermission):
        message = refusal or _("Your key or account may not do this.")

        def has_permission(self, request, view) -> bool:
            if isinstance(request.auth, ApiKey):
                return request.auth.allows(scope)
            user = request.user
            if not (user and user.is_authenticated and user.is_active):
                return False
            return role(user) if role is not None else True

    Allowed.__name__ = f"Allowed_{scope}"
    return Allowed

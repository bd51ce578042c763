"""Who may watch the supervisor board: hospital admins and supervisors."""

from django.utils.translation import gettext_lazy as _

from hospital.models import Roles
from hospital.roles import role_required

BOARD_ROLES = (Roles.HOSPITAL_ADMIN, Roles.SUPERVISOR)


def is_supervisor(user) -> bool:
    """A superuser, or a member of the Hospital admin or Supervisor group. Membership,
    not a permission: a doctor granted "view department" by hand must not see the board."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.groups.filter(name__in=BOARD_ROLES).exists()


supervisor_required = role_required(
    is_supervisor, _("This page is for hospital admins and supervisors.")
)

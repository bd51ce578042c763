from django.conf import settings

from hospital.models import is_counter_staff, is_doctor
from hospital.roles import is_receptionist
from supervision.access import is_supervisor


def roles(request):
    user = request.user
    # The roles that take queries are asked only by the pages that show the nav (the
    # template calls each lambda when it reads it), not by every fragment rendered with a
    # request: a terminal's panel, fetched on each change, spent a tenth of its time on
    # the receptionist check's three queries (bench/day.py, py-spy).
    return {
        "user_is_doctor": lambda: is_doctor(user),
        "user_is_counter_staff": lambda: is_counter_staff(user),
        "user_is_staff": user.is_authenticated and user.is_staff,
        "user_is_receptionist": lambda: is_receptionist(user),
        "user_is_supervisor": lambda: is_supervisor(user),
        # Pages' scripts show clock times in the hospital's zone, not the browser's.
        "hospital_time_zone": settings.TIME_ZONE,
    }

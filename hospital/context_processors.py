from django.conf import settings

from hospital.models import is_counter_staff, is_doctor
from hospital.roles import is_receptionist
from supervision.access import is_supervisor


def roles(request):
    user = request.user
    return {
        "user_is_doctor": is_doctor(user),
        # Asked only by the pages that show the nav (a query; the admin's pages don't).
        "user_is_counter_staff": lambda: is_counter_staff(user),
        "user_is_staff": user.is_authenticated and user.is_staff,
        "user_is_receptionist": is_receptionist(user),
        "user_is_supervisor": lambda: is_supervisor(user),
        # Pages' scripts show clock times in the hospital's zone, not the browser's.
        "hospital_time_zone": settings.TIME_ZONE,
    }

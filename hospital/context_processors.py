from hospital.models import is_doctor
from hospital.roles import is_receptionist


def roles(request):
    user = request.user
    return {
        "user_is_doctor": is_doctor(user),
        "user_is_staff": user.is_authenticated and user.is_staff,
        "user_is_receptionist": is_receptionist(user),
    }

from hospital.models import is_doctor


def roles(request):
    user = request.user
    return {
        "user_is_doctor": is_doctor(user),
        "user_is_staff": user.is_authenticated and user.is_staff,
    }

from django.contrib import admin
from django.urls import include, path

from hospital import accounts, two_factor
from queues.views import LoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before the auth include, so doctors land on their terminal after signing in.
    path("accounts/login/", LoginView.as_view(), name="login"),
    path(
        "accounts/password_reset/",
        accounts.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/two-factor/", two_factor.setup_view, name="two_factor_setup"),
    path("accounts/two-factor/verify/", two_factor.verify_view, name="two_factor_verify"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("reception/", include("appointments.urls")),
    path("supervisor/", include("supervision.urls")),
    path("", include("queues.urls")),
]

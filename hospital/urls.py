from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

from hospital import accounts, two_factor
from queues.views import LoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    # set_language: the kiosk's and the staff menu's language pickers post here.
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' strings in the page's language (gettext() in static/js); the catalog
    # changes only with a deploy, so each language's is cached for an hour.
    path("jsi18n/", cache_page(3600)(JavaScriptCatalog.as_view()), name="javascript-catalog"),
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

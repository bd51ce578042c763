from django.contrib import admin
from django.urls import include, path
from django.utils import translation
from django.views.decorators.cache import cache_page
from django.views.i18n import JavaScriptCatalog

from hospital import accounts, health, metrics, two_factor
from hospital.languages import patient_language
from queues.views import LoginView


# One address per language, so each catalog is cached on its own (the language cookie is
# not in the cache key), and so a page in the patient's language (a Tamil token's page
# on an English phone, a TV set to Hindi) loads that language's catalog.
@cache_page(3600)
def javascript_catalog(request, language):
    with translation.override(patient_language(language)):
        return JavaScriptCatalog.as_view()(request)


urlpatterns = [
    # For the proxy, systemd and monitoring (docs/DEPLOYMENT.md, "Health checks and metrics").
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # set_language: the kiosk's and the staff menu's language pickers post here.
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' strings (gettext() in static/js) in the page's language; a catalog
    # changes only with a deploy, so each is cached for an hour.
    path("jsi18n/<str:language>/", javascript_catalog, name="javascript-catalog"),
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
    path("", include("api.urls")),
    path("", include("queues.urls")),
]

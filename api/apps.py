from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the API key's security scheme with drf-spectacular.
        from api import schema  # noqa: F401

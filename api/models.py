from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What an integration's key may do. A staff member signed in from the browser is
    allowed what their role allows on the pages instead (api.permissions)."""

    READ = "read", _("Read departments, queues, tokens, visits and doctors")
    TOKENS = "tokens", _("Issue tokens (a kiosk app)")
    VISITS = "visits", _("Send patients on to their next stops")
    PATIENTS = "patients", _("Register and find patients")
    APPOINTMENTS = "appointments", _("Book, reschedule and cancel appointments")


class ApiKey(models.Model):
    """A key for one integration (a kiosk vendor's app, the hospital information system),
    created and revoked in the admin. Only a hash of the secret is kept: the key is shown
    once, when it is made. Each key acts as its own user account (`user`), so everything
    it does is logged with who did it, like a member of staff."""

    name = models.CharField(max_length=100, unique=True, help_text=_("e.g. 'HIS', 'Kiosk app'"))
    # The key's first characters, shown in the admin and logs to tell keys apart.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text=_("What this key may do."))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_key",
        editable=False,
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        editable=False,
    )  # fmt: skip
    created_at = models.DateTimeField(editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.is_active and scope in self.scopes

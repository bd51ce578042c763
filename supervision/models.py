"""Thresholds a hospital sets per department, and the alerts raised when one is crossed.

Changed only by supervision.services: an alert is raised, cleared and acknowledged there.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from hospital.models import Department


class Threshold(models.Model):
    """When a department needs a supervisor's attention. Either limit may be left empty;
    crossing any one that is set turns the department's tile red and raises an alert."""

    department = models.OneToOneField(
        Department, on_delete=models.CASCADE, related_name="threshold"
    )
    max_longest_wait_minutes = models.PositiveSmallIntegerField(
        "longest wait over (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="Alert when someone has waited longer than this. Empty: no limit.",
    )
    max_waiting = models.PositiveIntegerField(
        "more than N waiting",
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(10_000)],
        help_text="Alert when more than this many patients wait. Empty: no limit.",
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["department__name"]

    def __str__(self) -> str:
        return f"Threshold for {self.department}"


class Alert(models.Model):
    """One crossing of a threshold: raised when the department goes over, cleared when it
    is back under. A later crossing is a new alert."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="alerts")
    threshold = models.ForeignKey(Threshold, on_delete=models.CASCADE, related_name="alerts")
    # In words, as the board and the duty manager's message say it:
    # "Longest wait 92 min (over 60)".
    reason = models.CharField(max_length=200)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Whether a message to the duty manager was put in the outbox for this alert.
    notified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            # One open alert per threshold: two supervisors' boards and the worker may
            # check the same crossing at once, and only one of them may raise it.
            models.UniqueConstraint(
                fields=["threshold"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_alert_per_threshold",
            )
        ]
        indexes = [models.Index(fields=["cleared_at", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.department}: {self.reason}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

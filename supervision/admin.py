from django.contrib import admin

from supervision.models import Alert, Threshold


@admin.register(Threshold)
class ThresholdAdmin(admin.ModelAdmin):
    list_display = ["department", "max_longest_wait_minutes", "max_waiting", "is_active"]
    list_editable = ["max_longest_wait_minutes", "max_waiting", "is_active"]
    list_filter = ["is_active"]
    list_select_related = ["department"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts are raised, cleared and acknowledged only by supervision.services (the
    board's Acknowledge button): read-only here."""

    list_display = [
        "raised_at", "department", "reason", "cleared_at", "acknowledged_at",
        "acknowledged_by", "notified",
    ]  # fmt: skip
    list_filter = ["department", "notified"]
    date_hierarchy = "raised_at"
    list_select_related = ["department", "acknowledged_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

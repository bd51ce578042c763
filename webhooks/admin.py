import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from webhooks import delivery as sender
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text=WebhookEndpoint.url.field.help_text
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "personal_data", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are registered here; the signing secret is made on saving and shown on
    the endpoint's page, for the receiving system's administrator to copy."""

    form = WebhookEndpointForm
    list_display = ["name", "host", "events", "personal_data", "is_active", "created_at"]
    list_filter = ["is_active", "personal_data"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "created_at"]
    actions = ["rotate_secret"]

    @admin.display(description="host")
    def host(self, obj: WebhookEndpoint) -> str:
        return sender.host_of(obj.url)

    def response_add(self, request, obj, post_url_continue=None):
        messages.info(
            request,
            f"The signing secret of {obj.name} is on its page: give it to the receiving "
            "system, which checks every delivery's signature with it.",
        )
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Rotate the signing secret of the selected endpoints")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            sender.rotate_secret(endpoint, actor=request.user)
            self.log_change(request, endpoint, "Rotated the signing secret.")
        self.message_user(
            request,
            f"{queryset.count()} secret(s) rotated. Give each receiving system its new "
            "secret: deliveries from now on are signed with it.",
            messages.WARNING,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, with "send again" for a delivered or failed one."""

    list_display = [
        "message_id", "event_type", "endpoint", "status", "tries", "response_status",
        "response_time", "created_at", "delivered_at",
    ]  # fmt: skip
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["message_id"]
    date_hierarchy = "created_at"
    fields = [
        "message_id", "endpoint", "event_type", "status", "response_status", "response_ms",
        "error", "created_at", "next_attempt_at", "delivered_at", "tries_made",
        "payload_shown",
    ]  # fmt: skip
    readonly_fields = fields
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False  # deliveries come from events only

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the log is what happened; "send again" is the one change

    @admin.display(description="tries")
    def tries(self, obj: WebhookDelivery) -> int:
        return sum(1 for attempt in obj.attempts if attempt.get("result") != "resent")

    @admin.display(description="response time", ordering="response_ms")
    def response_time(self, obj: WebhookDelivery) -> str:
        return "" if obj.response_ms is None else f"{obj.response_ms} ms"

    @admin.display(description="payload")
    def payload_shown(self, obj: WebhookDelivery) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        )

    @admin.display(description="tries, newest last")
    def tries_made(self, obj: WebhookDelivery) -> str:
        lines = []
        for attempt in obj.attempts:
            if attempt.get("result") == "resent":
                lines.append(f"{attempt['at']}  sent again by {attempt.get('by') or '?'}")
                continue
            status = attempt.get("status_code") or "no answer"
            took = attempt.get("response_ms")
            took = "" if took is None else f", {took} ms"
            error = f" — {attempt['error']}" if attempt.get("error") else ""
            lines.append(f"{attempt['at']}  {attempt['result']}: HTTP {status}{took}{error}")
        return format_html("<pre>{}</pre>", "\n".join(lines) or "none yet")

    @admin.action(description="Send the selected deliveries again")
    def send_again(self, request, queryset):
        sent = 0
        for item in queryset:
            try:
                sender.send_again(item, actor=request.user)
            except sender.WebhookError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            self.log_change(request, item, "Sent again.")
            sent += 1
        if sent:
            self.message_user(request, f"{sent} deliver{'y' if sent == 1 else 'ies'} sent again.")

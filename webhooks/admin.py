import datetime
import json

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from webhooks import delivery as sender
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text=WebhookEndpoint.url.field.help_text,
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
    list_display = ["name", "host", "events_shown", "personal_data", "is_active", "created_at"]
    list_filter = ["is_active", "personal_data"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "created_at"]
    actions = ["rotate_secret"]

    def get_readonly_fields(self, request, obj=None):
        # Not on the add page: the secret shown there would be a sample, not the one
        # made when the endpoint is saved.
        return self.readonly_fields if obj is not None else []

    @admin.display(description="host")
    def host(self, obj: WebhookEndpoint) -> str:
        return sender.host_of(obj.url)

    @admin.display(description="events")
    def events_shown(self, obj: WebhookEndpoint) -> str:
        if set(Event.values) <= set(obj.events):
            return "all events"
        return ", ".join(event for event in Event.values if event in obj.events)

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


def describe(attempt: dict) -> str:
    """One try, in words: "18 Nov 2026 09:00:01 — failed: HTTP 500, 12 ms — why"."""
    try:
        at = timezone.localtime(datetime.datetime.fromisoformat(attempt["at"]))
        when = f"{at:%d %b %Y %H:%M:%S}"
    except (KeyError, TypeError, ValueError):
        when = str(attempt.get("at", "?"))
    if attempt.get("result") == "resent":
        return f"{when} — sent again by {attempt.get('by') or '?'}"
    status = attempt.get("status_code")
    answer = f"HTTP {status}" if status else "no answer"
    took = attempt.get("response_ms")
    took = "" if took is None else f", {took} ms"
    error = f" — {attempt['error']}" if attempt.get("error") else ""
    return f"{when} — {attempt.get('result')}: {answer}{took}{error}"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only, with "send again" for a delivered or failed one."""

    # What staff look for first, the answer, comes before the long message id.
    list_display = [
        "created_at", "event_type", "endpoint", "status", "response_status", "response_time",
        "tries", "message_id",
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

    @admin.display(description="tries, oldest first")
    def tries_made(self, obj: WebhookDelivery) -> str:
        if not obj.attempts:
            return "none yet"
        return format_html(
            "<ol>{}</ol>",
            format_html_join("", "<li>{}</li>", ((describe(a),) for a in obj.attempts)),
        )

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

import re

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from hospital.languages import language_choices
from queues import services
from queues.models import (
    KioskDevice,
    PrintJob,
    PriorityCategory,
    Token,
    TokenEvent,
    Visit,
    VisitStop,
)

# "ORTH-007", "orth 7", "ORTH7": a department code and a token number.
DISPLAY_NUMBER = re.compile(r"^\s*([A-Za-z]{1,6})[\s-]*(\d{1,6})\s*$")
JUST_A_NUMBER = re.compile(r"^\s*(\d{1,6})\s*$")


class TokenForm(forms.ModelForm):
    class Meta:
        model = Token
        fields = ["patient_name", "priority"]

    def clean_patient_name(self):
        # The same rules as the kiosk, so the admin cannot store a name the slip and the
        # TV could not print.
        try:
            return services.clean_name(self.cleaned_data["patient_name"])
        except services.QueueError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    form = TokenForm
    list_display = [
        "display_number",
        "patient_name",
        "department",
        "service_date",
        "status",
        "priority",
        "doctor",
        "counter",
        "issued_at",
        "called_at",
        "started_at",
        "completed_at",
    ]
    list_filter = ["department", "service_date", "status", "priority"]
    date_hierarchy = "service_date"
    search_fields = ["patient_name"]
    search_help_text = "Patient name, or a token number such as ORTH-007 or 7."
    list_select_related = ["department", "doctor", "counter__department"]
    ordering = ["-service_date", "department__name", "number"]
    list_per_page = 50
    fields = [
        "display_number",
        "department",
        "service_date",
        "patient_name",
        "mobile",
        "priority",
        "status",
        "doctor",
        "counter",
        "visit",
        "issued_at",
        "queued_at",
        "called_at",
        "started_at",
        "completed_at",
        "recalled_at",
        "public_id",
    ]
    # State and times change only through the services (call next, start, complete...),
    # which lock, validate and write the audit trail; staff may correct only what
    # TokenForm edits (saved through services.edit_token).
    readonly_fields = [f for f in fields if f not in TokenForm.Meta.fields]
    actions = ["cancel_waiting_tokens"]

    @admin.display(description="Token", ordering="number")
    def display_number(self, token: Token) -> str:
        return token.display_number

    def has_add_permission(self, request) -> bool:
        # Tokens are issued through services.issue_token (the kiosk page), which numbers
        # them without gaps; an admin "add" form would bypass the counter.
        return False

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        by_number = None
        if match := DISPLAY_NUMBER.match(search_term):
            code, number = match.groups()
            by_number = queryset.filter(department__code__iexact=code, number=int(number))
        elif match := JUST_A_NUMBER.match(search_term):
            by_number = queryset.filter(number=int(match.group(1)))
        if by_number is not None:
            results = results | by_number
        return results, may_have_duplicates

    def save_model(self, request, obj, form, change):
        # Only the name and the priority are editable, and only through the service, so
        # the change is logged as a TokenEvent and live screens re-order the queue.
        try:
            services.edit_token(
                obj,
                patient_name=form.cleaned_data["patient_name"],
                priority=form.cleaned_data["priority"],
                actor=request.user,
            )
        except services.QueueError as exc:
            messages.error(request, str(exc))

    def delete_model(self, request, obj):
        services.delete_token(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        # One service call per token, so every deletion leaves its own "deleted" event.
        with transaction.atomic():
            for token in queryset.select_related("department"):
                services.delete_token(token, actor=request.user)

    @admin.action(description="Cancel selected waiting tokens", permissions=["change"])
    def cancel_waiting_tokens(self, request, queryset):
        cancelled, refused = 0, []
        for token in queryset.select_related("department"):
            try:
                services.cancel_token(token, actor=request.user, reason="Cancelled in admin")
            except services.QueueError:
                refused.append(token.display_number)
            else:
                cancelled += 1
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} token(s).", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"Not cancelled (not waiting): {', '.join(refused)}.",
                messages.WARNING,
            )


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class VisitStopInline(ReadOnlyInline):
    """The visit's stops in order, as queues.visits wrote them."""

    model = VisitStop
    fk_name = "visit"
    fields = ["position", "kind", "status", "department", "doctor", "token", "note", "sent_by",
              "sent_at"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("department", "doctor", "token__department", "sent_by")
        )


class VisitTokenInline(ReadOnlyInline):
    model = Token
    fk_name = "visit"
    verbose_name_plural = "tokens"
    fields = ["token_link", "department", "status", "place", "issued_at", "queued_at",
              "called_at", "started_at", "completed_at"]  # fmt: skip
    readonly_fields = fields
    ordering = ["issued_at", "pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department", "doctor", "counter")

    @admin.display(description="Token")
    def token_link(self, token: Token):
        url = reverse("admin:queues_token_change", args=[token.pk])
        return format_html('<a href="{}">{}</a>', url, token.display_number)

    @admin.display(description="Served at")
    def place(self, token: Token) -> str:
        return token.place or "—"


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    """A patient's stops through the OPD: written by the services, read here."""

    list_display = ["patient_name", "service_date", "source", "status", "stop_count",
                    "started_at", "closed_at"]  # fmt: skip
    list_filter = ["service_date", "status", "source"]
    date_hierarchy = "service_date"
    search_fields = ["patient_name"]
    search_help_text = "Patient name."
    ordering = ["-service_date", "-started_at"]
    list_per_page = 50
    fields = ["patient_name", "patient", "service_date", "source", "status", "started_at",
              "closed_at", "public_id"]  # fmt: skip
    readonly_fields = fields
    inlines = [VisitStopInline, VisitTokenInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                stops_made=Count("stops", filter=~Q(stops__status=VisitStop.Status.CANCELLED))
            )
        )

    @admin.display(description="Stops", ordering="stops_made")
    def stop_count(self, visit: Visit) -> int:
        return visit.stops_made

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A visit's tokens are PROTECTed; its history is kept.
        return False


@admin.register(TokenEvent)
class TokenEventAdmin(admin.ModelAdmin):
    """The audit trail: readable by staff, changed by nobody."""

    list_display = ["at", "kind", "department", "display_number", "actor", "doctor", "note"]
    list_filter = ["kind", "department", "service_date"]
    date_hierarchy = "at"
    search_fields = ["note", "actor__username", "doctor__name"]
    list_select_related = ["department", "actor", "doctor"]
    ordering = ["-at", "-id"]

    @admin.display(description="Token", ordering="token_number")
    def display_number(self, event: TokenEvent) -> str:
        return Token.format_number(event.department.code, event.token_number)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(KioskDevice)
class KioskDeviceAdmin(admin.ModelAdmin):
    """Registered on the kiosk itself (/kiosk/register/); here they are named, listed and
    switched off (a stolen or retired kiosk)."""

    list_display = ["name", "is_active", "paper_width", "printer_host", "language"]
    list_filter = ["is_active", "paper_width"]
    fields = [
        "name", "is_active", "paper_width", "printer_host", "printer_port", "language",
        "registered_by", "registered_at",
    ]  # fmt: skip
    readonly_fields = ["registered_by", "registered_at"]

    def has_add_permission(self, request):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The start screen's language: one of the patient languages, by name in its script.
        if db_field.name == "language":
            kwargs["widget"] = forms.Select(choices=language_choices())
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(PrintJob)
class PrintJobAdmin(admin.ModelAdmin):
    """Slips sent to kiosks' network printers (queues.printing): read-only, to see which
    failed and why. A failed print never lost its token."""

    list_display = ["token", "kiosk", "status", "attempts", "created_at", "printed_at", "error"]
    list_filter = ["status", "kiosk"]
    list_select_related = ["token__department", "kiosk"]
    search_fields = ["error", "printer_host"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PriorityCategory)
class PriorityCategoryAdmin(admin.ModelAdmin):
    """Who may go first. A category in use by a token cannot be deleted (PROTECT);
    make it inactive instead."""

    list_display = ["name", "symbol", "rule", "at_kiosk", "order", "is_active"]
    list_editable = ["order", "is_active"]
    list_filter = ["rule", "at_kiosk", "is_active"]
    # Each text per language on one row; an empty one falls back to English.
    fields = [
        ("name", "name_hi", "name_ta"),
        "symbol",
        "rule",
        "at_kiosk",
        ("proof_note", "proof_note_hi", "proof_note_ta"),
        "order",
        "is_active",
    ]

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from api import keys
from api.models import ApiKey, Scope


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made here and shown once; revoking keeps the row (and its history)."""

    form = ApiKeyForm
    list_display = ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = keys.create_key(
            form.cleaned_data["name"], form.cleaned_data["scopes"], created_by=request.user
        )
        obj.pk = key.pk
        # Shown once: only its hash is kept.
        messages.warning(
            request,
            f"The key for {key.name} is {raw} — copy it now: it will not be shown again.",
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the key's account and what it did stay on record

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        now = timezone.now()
        for key in queryset:
            keys.revoke(key, now=now)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")

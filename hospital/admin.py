from django import forms
from django.contrib import admin, messages

from hospital.models import WEEKDAY_NAMES, Department, Doctor


class DepartmentForm(forms.ModelForm):
    """Shows the open_weekdays bit mask (bit i = weekday i, Monday = 0) as checkboxes."""

    open_days = forms.TypedMultipleChoiceField(
        label="Open weekdays",
        choices=[(i, name) for i, name in enumerate(WEEKDAY_NAMES)],
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Days the OPD gives tokens.",
    )

    class Meta:
        model = Department
        fields = [
            "name",
            "code",
            "slug",
            "is_active",
            "daily_token_limit",
            "booking_window_days",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mask = self.instance.open_weekdays if self.instance.pk else Department().open_weekdays
        self.fields["open_days"].initial = [i for i in range(7) if mask & (1 << i)]

    def save(self, commit=True):
        self.instance.open_weekdays = sum(1 << day for day in set(self.cleaned_data["open_days"]))
        return super().save(commit=commit)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    form = DepartmentForm
    list_display = [
        "name",
        "code",
        "is_active",
        "open_days_display",
        "daily_token_limit",
        "booking_window_days",
    ]
    list_editable = ["is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    readonly_fields = ["state_version"]
    fields = [
        "name",
        "code",
        "slug",
        "is_active",
        "open_days",
        "daily_token_limit",
        "booking_window_days",
        "state_version",
    ]
    actions = ["deactivate", "activate"]

    @admin.display(description="Open days")
    def open_days_display(self, department: Department) -> str:
        return ", ".join(department.open_weekday_names) or "closed"

    @admin.action(description="Deactivate selected departments (stop issuing tokens)")
    def deactivate(self, request, queryset):
        count = queryset.update(is_active=False)
        self.message_user(request, f"Deactivated {count} department(s).", messages.SUCCESS)

    @admin.action(description="Activate selected departments")
    def activate(self, request, queryset):
        count = queryset.update(is_active=True)
        self.message_user(request, f"Activated {count} department(s).", messages.SUCCESS)


@admin.register(Doctor)
class DoctorAdmin(admin.ModelAdmin):
    list_display = ["name", "specialization", "department", "room", "on_duty", "user"]
    list_filter = ["department", "on_duty"]
    list_editable = ["on_duty"]
    search_fields = ["name", "specialization", "room", "user__username"]
    list_select_related = ["department", "user"]
    autocomplete_fields = ["user"]

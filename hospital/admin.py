from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db import transaction

from hospital.models import WEEKDAY_NAMES, Counter, CounterStaff, Department, Doctor, Roles


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
            "name_hi",
            "name_ta",
            "kind",
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


class CounterInline(admin.TabularInline):
    """A service department's counters, edited with the department."""

    model = Counter
    fields = ["name", "name_hi", "name_ta", "is_active"]
    extra = 0
    show_change_link = True


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    form = DepartmentForm
    inlines = [CounterInline]
    list_display = [
        "name",
        "kind",
        "code",
        "is_active",
        "open_days_display",
        "daily_token_limit",
        "booking_window_days",
    ]
    list_editable = ["is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code"]
    readonly_fields = ["state_version", "queue_version"]
    fields = [
        # The name per language on one row: an empty one falls back to English.
        ("name", "name_hi", "name_ta"),
        "kind",
        "code",
        "slug",
        "is_active",
        "open_days",
        "daily_token_limit",
        "booking_window_days",
        "priority_interval",
        "near_turn_ahead",
        "state_version",
        "queue_version",
    ]
    actions = ["deactivate", "activate"]

    def get_inlines(self, request, obj):
        # Counters are where a service department serves; a clinical department's
        # doctors have rooms instead.
        if obj is not None and not obj.is_service:
            return []
        return self.inlines

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


@admin.register(Counter)
class CounterAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "is_active", "staff_display"]
    list_filter = ["department", "is_active"]
    list_editable = ["is_active"]
    search_fields = ["name", "department__name", "department__code"]
    list_select_related = ["department"]
    ordering = ["department__name", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("staff")

    @admin.display(description="Working it now")
    def staff_display(self, counter: Counter) -> str:
        return ", ".join(member.name for member in counter.staff.all()) or "—"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs["queryset"] = Department.objects.filter(kind=Department.Kind.SERVICE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CounterStaffForm(forms.ModelForm):
    class Meta:
        model = CounterStaff
        fields = ["user", "name", "department", "counter"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "department" in self.fields:
            self.fields["department"].queryset = Department.objects.filter(
                kind=Department.Kind.SERVICE
            )
        if "counter" in self.fields:
            self.fields["counter"].queryset = Counter.objects.select_related("department")
        # (CounterStaff.clean refuses a counter of another department.)


@admin.register(CounterStaff)
class CounterStaffAdmin(admin.ModelAdmin):
    """Counter staff sign in with their own user; saving here gives that user the
    Counter staff role (its group), which carries what their pages need."""

    form = CounterStaffForm
    list_display = ["name", "department", "counter", "user"]
    list_filter = ["department"]
    search_fields = ["name", "user__username", "counter__name"]
    list_select_related = ["department", "counter", "user"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            previous_user = None
            if change and "user" in form.changed_data:
                previous_user = form.initial.get("user")
            super().save_model(request, obj, form, change)
            group = Group.objects.get_or_create(name=Roles.COUNTER)[0]
            obj.user.groups.add(group)
            if previous_user is not None and previous_user != obj.user_id:
                # The role belongs to whoever works the counter, not to the account
                # that was picked by mistake before.
                group.user_set.remove(previous_user)

    def delete_model(self, request, obj):
        with transaction.atomic():
            user = obj.user
            super().delete_model(request, obj)
            user.groups.remove(*Group.objects.filter(name=Roles.COUNTER))

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            users = [member.user for member in queryset.select_related("user")]
            super().delete_queryset(request, queryset)
            for group in Group.objects.filter(name=Roles.COUNTER):
                group.user_set.remove(*users)

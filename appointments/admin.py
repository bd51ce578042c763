"""Admin for reception's data. Schedules, leave and patients are edited here; appointments
and the waiting list change state only through their services (appointments.booking,
changes, walkins), so they are read-only, like their history and the messages sent.
One-time codes are not shown at all (OtpChallenge is deliberately not registered)."""

from django import forms
from django.contrib import admin
from django.utils import timezone

from appointments.models import (
    Appointment,
    AppointmentEvent,
    DaySummary,
    DoctorLeave,
    DoctorSchedule,
    Notification,
    Patient,
    PatientEvent,
    SmsOptOut,
    WaitingListEntry,
    WaitingListEvent,
)
from appointments.patients import give_hospital_number, number_and_record, record_patient_event
from hospital.forms import MobileField


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """A history shown under its record: nothing added, changed or removed here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PatientForm(forms.ModelForm):
    mobile = MobileField(required=False, help_text="Optional. Stored in E.164, e.g. +919812345678.")

    class Meta:
        model = Patient
        fields = ["name", "year_of_birth", "age_is_estimate", "sex", "mobile", "email", "language"]

    def clean_mobile(self):
        # No mobile is NULL: the unique constraint holds only among patients who have one.
        return self.cleaned_data["mobile"] or None


class PatientEventInline(ReadOnlyInline):
    model = PatientEvent
    fields = ["at", "kind", "actor", "note"]
    readonly_fields = fields


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    form = PatientForm
    list_display = ["hospital_number", "name", "year_of_birth", "sex", "mobile", "created_at"]
    search_fields = ["hospital_number", "name", "mobile", "email"]
    search_help_text = "Hospital number, name, mobile (e.g. +9198...) or email."
    readonly_fields = ["hospital_number"]
    fields = ["hospital_number", *PatientForm.Meta.fields]
    ordering = ["name"]
    inlines = [PatientEventInline]

    def save_model(self, request, obj, form, change) -> None:
        # The admin's change view is one transaction: the number and the event are
        # written with the row, as appointments.patients does at the desk.
        super().save_model(request, obj, form, change)
        if not change:
            number_and_record(obj, actor=request.user, now=None, note="Registered in the admin")
        elif form.changed_data:
            if not obj.hospital_number:
                give_hospital_number(obj)
            record_patient_event(
                obj,
                PatientEvent.Kind.CORRECTED,
                actor=request.user,
                now=None,
                note="Changed in the admin: " + ", ".join(form.changed_data),
            )


@admin.register(DoctorSchedule)
class DoctorScheduleAdmin(admin.ModelAdmin):
    list_display = ["doctor", "weekday", "start", "end", "slot_minutes", "emergency_slots"]
    list_filter = ["doctor__department", "weekday", "doctor"]
    search_fields = ["doctor__name"]
    list_select_related = ["doctor"]
    ordering = ["doctor__name", "weekday", "start"]


@admin.register(DoctorLeave)
class DoctorLeaveAdmin(admin.ModelAdmin):
    list_display = ["doctor", "start_date", "end_date", "reason"]
    list_filter = ["doctor__department", "doctor"]
    date_hierarchy = "start_date"
    search_fields = ["doctor__name", "reason"]
    list_select_related = ["doctor"]


class EventInline(ReadOnlyInline):
    model = AppointmentEvent
    fields = ["at", "kind", "actor", "reason", "changes"]
    readonly_fields = fields


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ["created_at", "channel", "purpose", "to", "status", "error"]
    readonly_fields = fields


class SmsOptOutForm(forms.ModelForm):
    mobile = MobileField(required=True, help_text="Stored in E.164, e.g. +919812345678.")

    class Meta:
        model = SmsOptOut
        fields = ["mobile", "how"]


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    """Numbers that asked for no queue updates or reminders by SMS. The desk adds one
    for a patient who asks in person, and deletes one to turn the messages back on."""

    list_display = ["mobile", "at", "how"]
    search_fields = ["mobile"]
    search_help_text = "Mobile number, as +91…"
    ordering = ["-at"]
    form = SmsOptOutForm

    def save_model(self, request, obj, form, change):
        if not change:
            obj.at = timezone.now()
            obj.how = obj.how or f"at the desk ({request.user.get_username()})"
        super().save_model(request, obj, form, change)


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["date", "start", "doctor", "patient", "mobile", "status", "booked_at"]
    list_filter = ["status", "date", "doctor__department", "doctor"]
    date_hierarchy = "date"
    search_fields = ["patient__name", "patient__mobile"]
    search_help_text = "Patient name or mobile."
    list_select_related = ["doctor", "patient"]
    ordering = ["-date", "start"]
    inlines = [EventInline, NotificationInline]

    @admin.display(description="Mobile", ordering="patient__mobile")
    def mobile(self, appointment: Appointment) -> str:
        return appointment.patient.mobile


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "appointment", "actor", "reason"]
    list_filter = ["kind"]
    date_hierarchy = "at"
    search_fields = ["appointment__patient__name", "actor__username", "reason"]
    list_select_related = ["appointment__patient", "appointment__doctor", "actor"]
    ordering = ["-at", "-id"]


@admin.register(DaySummary)
class DaySummaryAdmin(ReadOnlyAdmin):
    """The trends report's per-day figures, for a look only: they are rebuilt from the
    day's rows (`manage.py summarise_days`), never edited."""

    list_display = ["service_date", "department", "patients", "issued", "skipped",
                    "tokens_cancelled", "paused_minutes"]  # fmt: skip
    list_filter = ["department"]
    date_hierarchy = "service_date"
    list_select_related = ["department"]
    ordering = ["-service_date", "department__name"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    # The message id is the one the gateway saw: it matches a gateway's delivery report.
    list_display = ["created_at", "channel", "purpose", "to", "language", "token", "status",
                    "error"]  # fmt: skip
    list_filter = ["status", "channel", "purpose", "language"]
    date_hierarchy = "created_at"
    search_fields = ["to", "appointment__patient__name", "message_id"]
    list_select_related = ["token__department"]
    fields = ["created_at", "channel", "purpose", "to", "language", "token", "message_id",
              "status", "error", "text", "attempts", "next_attempt_at", "sent_at",
              "appointment"]  # fmt: skip
    readonly_fields = ["text"]
    ordering = ["-created_at"]

    @admin.display(description="text")
    def text(self, notification) -> str:
        # A code waiting to be sent is for the patient only, not for whoever opens the admin.
        return "(a one-time code: not shown)" if notification.secret else notification.body


class WaitingListEventInline(ReadOnlyInline):
    model = WaitingListEvent
    fields = ["at", "kind", "actor", "reason"]
    readonly_fields = fields


@admin.register(WaitingListEntry)
class WaitingListEntryAdmin(ReadOnlyAdmin):
    list_display = ["arrived_at", "patient", "department", "doctor", "priority", "status"]
    list_filter = ["status", "priority", "department"]
    date_hierarchy = "arrived_at"
    search_fields = ["patient__name", "patient__mobile"]
    search_help_text = "Patient name or mobile."
    list_select_related = ["patient", "department", "doctor"]
    ordering = ["-arrived_at"]
    inlines = [WaitingListEventInline]


@admin.register(WaitingListEvent)
class WaitingListEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "entry", "actor", "reason"]
    list_filter = ["kind"]
    date_hierarchy = "at"
    search_fields = ["entry__patient__name", "actor__username", "reason"]
    list_select_related = ["entry__patient", "entry__department", "entry__doctor", "actor"]
    ordering = ["-at", "-id"]

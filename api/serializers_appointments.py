"""What the API reads and writes for the reception desk: patients, doctors and their free
slots, appointments and their history.

Input serializers only parse: they refuse what cannot be read (a bad date, a mobile that
is no mobile, an age out of range) with a field error and a 400, using the same cleaning
functions the services use, so a refusal names the field. Whether a slot is free, a code
is right or a mobile already someone else's is for the services to say (a 409).

A patient's full mobile is shown to the `patients` scope (the desk sees it); an
appointment shows it masked, as the reception pages do: booking needs no one's number.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments import patients
from appointments.booking import OTP_DIGITS
from appointments.changes import MAX_CANCEL_REASON_LENGTH
from appointments.errors import BookingError
from appointments.forms import FIRST_DAY, LAST_DAY, OUT_OF_RANGE
from appointments.models import Appointment, AppointmentEvent, Patient
from appointments.slots import DoctorDay, DoctorMatch
from hospital.clock import local_today
from hospital.languages import localized
from hospital.models import Doctor
from hospital.phones import mask_mobile
from hospital.text import InvalidText, clean_text
from queues.models import Visit, VisitStop

# A row id (BigAutoField): a larger number overflows the database before it can say "no".
MAX_ID = 2**63 - 1
MAX_QUERY_LENGTH = 100
# How many of a patient's visits their record shows, newest first.
RECENT_VISITS = 20


def service_says(clean, value):
    """`clean(value)` from appointments.patients, its BookingError a field error."""
    try:
        return clean(value)
    except BookingError as exc:
        raise serializers.ValidationError(str(exc)) from None


# --- Fields -------------------------------------------------------------------------------


class TextField(serializers.CharField):
    """Text a person typed: runs of white space folded, control characters refused (DRF
    itself refuses only NUL), as hospital.text.clean_text stores every name and reason."""

    def __init__(self, *, what: str, **kwargs):
        self.what = what
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not text and self.allow_blank:
            return ""
        try:
            return clean_text(text, self.what, self.max_length)
        except InvalidText as exc:
            raise serializers.ValidationError(str(exc)) from None


class DayField(serializers.DateField):
    """A day as YYYY-MM-DD, within the years the desk can look at (appointments.forms)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not FIRST_DAY <= day <= LAST_DAY:
            raise serializers.ValidationError(str(OUT_OF_RANGE))
        return day


# A slot's time on the wall clock: "09:15". Not OpenAPI's `format: time`, which is
# RFC 3339's "09:15:00+05:30": a slot has no seconds, and its zone is the hospital's.
HH_MM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:15"}


@extend_schema_field(HH_MM)
class SlotTimeField(serializers.TimeField):
    """A slot's start or end as HH:MM, as the slots list gives it."""

    default_error_messages = {"invalid": _("That is not a time (HH:MM).")}

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)


def id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# --- Patients -----------------------------------------------------------------------------


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = [
            "hospital_number", "name", "mobile", "email", "year_of_birth", "age_is_estimate",
            "sex", "language", "created_at",
        ]  # fmt: skip


class PatientVisitStopSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    department_name = serializers.SerializerMethodField()
    doctor = serializers.CharField(
        source="doctor.name", default=None, allow_null=True, read_only=True
    )
    token = serializers.CharField(
        source="token.display_number", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = VisitStop
        fields = ["position", "kind", "status", "department", "department_name", "doctor", "token"]

    def get_department_name(self, stop) -> str:
        return localized(stop.department)


class PatientVisitSerializer(serializers.ModelSerializer):
    stops = PatientVisitStopSerializer(many=True, read_only=True)

    class Meta:
        model = Visit
        fields = ["public_id", "service_date", "source", "status", "started_at", "closed_at",
                  "stops"]  # fmt: skip


class PatientDetailSerializer(PatientSerializer):
    visits = serializers.SerializerMethodField()

    class Meta(PatientSerializer.Meta):
        fields = [*PatientSerializer.Meta.fields, "visits"]

    @extend_schema_field(PatientVisitSerializer(many=True))
    def get_visits(self, patient) -> list[dict]:
        return PatientVisitSerializer(
            patients.visits_of(patient, limit=RECENT_VISITS), many=True
        ).data


class PatientQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_LENGTH,
        help_text=_("A hospital number (UH0000042, uh42), a mobile or part of a name."),
    )


class RegisterPatientSerializer(serializers.Serializer):
    name = TextField(max_length=100, what="patient's name")
    age = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=patients.OLDEST_AGE
    )
    year_of_birth = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=9999
    )
    age_is_estimate = serializers.BooleanField(default=False)
    sex = serializers.ChoiceField(
        choices=Patient.Sex.choices, default="", allow_blank=True,
        help_text=_("F, M, O, or empty: not recorded."),
    )  # fmt: skip
    mobile = serializers.CharField(
        max_length=30, default="", allow_blank=True,
        help_text=_("Optional: many patients have no phone."),
    )  # fmt: skip
    email = serializers.CharField(max_length=254, default="", allow_blank=True)
    language = serializers.ChoiceField(
        choices=[c for c in settings.LANGUAGES if c[0] in settings.PATIENT_LANGUAGES],
        default="", allow_blank=True,
        help_text=_("The language of their slips and SMS; empty: not asked."),
    )  # fmt: skip

    def validate_mobile(self, value):
        return service_says(patients.clean_optional_mobile, value)

    def validate_email(self, value):
        return service_says(patients.clean_email, value)

    def validate(self, data):
        try:
            year = patients.birth_year(
                year_of_birth=data.get("year_of_birth"), age=data.get("age"), today=local_today()
            )
        except BookingError as exc:
            raise serializers.ValidationError({"year_of_birth": [str(exc)]}) from None
        if year is None:
            raise serializers.ValidationError(
                {"age": [_("Enter the patient's age or year of birth (a guess will do).")]}
            )
        return data


# --- Doctors and slots --------------------------------------------------------------------


class DoctorSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    department_name = serializers.SerializerMethodField()

    class Meta:
        model = Doctor
        fields = ["id", "name", "specialization", "department", "department_name", "room",
                  "on_duty"]  # fmt: skip

    def get_department_name(self, doctor) -> str:
        return localized(doctor.department)


class DoctorMatchSerializer(DoctorSerializer):
    """A doctor found by the search (appointments.slots.DoctorMatch), flat: the doctor's
    fields and the day's free slots."""

    free_slots = serializers.IntegerField(
        read_only=True, help_text=_("Free slots on the day asked for.")
    )

    class Meta(DoctorSerializer.Meta):
        fields = [*DoctorSerializer.Meta.fields, "free_slots"]

    def to_representation(self, match: DoctorMatch):
        return {**super().to_representation(match.doctor), "free_slots": match.free_count}


class DoctorQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_LENGTH, required=False, allow_blank=True, default="",
        help_text=_("Part of a name (with or without 'Dr.'), specialization or department."),
    )  # fmt: skip
    department = serializers.SlugField(
        max_length=50, required=False, help_text=_("A department's slug (orth).")
    )
    date = DayField(required=False, help_text=_("The day to count free slots on; today."))
    available = serializers.BooleanField(
        required=False, default=False, help_text=_("Only doctors with a free slot that day.")
    )


class DayQuerySerializer(serializers.Serializer):
    date = DayField(required=False, help_text=_("YYYY-MM-DD; today when left out."))


class SlotSerializer(serializers.Serializer):
    start = SlotTimeField()
    end = SlotTimeField()


WHY_NONE = {
    "": _("There are free slots."),
    "off_duty": _("The doctor is off duty."),
    "past": _("The day has passed."),
    "leave": _("The doctor is on leave."),
    "no_session": _("No OPD session that day."),
    "over": _("The OPD is over for today."),
    "full": _("Fully booked."),
}


class DoctorDaySerializer(serializers.Serializer):
    doctor = serializers.IntegerField(source="doctor.pk")
    date = serializers.DateField(source="day")
    free = SlotSerializer(many=True, help_text=_("The slots a patient can be booked into."))
    why = serializers.ChoiceField(
        choices=list(WHY_NONE.items()),
        help_text=_("Why there are no free slots; empty when there are."),
    )
    why_text = serializers.SerializerMethodField()

    def get_why_text(self, plan: DoctorDay) -> str:
        return str(WHY_NONE.get(plan.why, ""))


# --- Appointments -------------------------------------------------------------------------


class AppointmentPatientSerializer(serializers.ModelSerializer):
    mobile = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["hospital_number", "name", "mobile"]

    def get_mobile(self, patient) -> str:
        return mask_mobile(patient.mobile or "")


class AppointmentSerializer(serializers.ModelSerializer):
    doctor = DoctorSerializer(read_only=True)
    patient = AppointmentPatientSerializer(read_only=True)
    start = SlotTimeField(read_only=True)
    end = SlotTimeField(read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "public_id", "status", "date", "start", "end", "doctor", "patient", "reason",
            "hold_expires_at", "created_at", "booked_at", "is_walk_in", "is_emergency",
        ]  # fmt: skip


class AppointmentEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.username", default=None, allow_null=True, read_only=True
    )
    actor_name = serializers.SerializerMethodField()
    changes = serializers.JSONField()

    class Meta:
        model = AppointmentEvent
        fields = ["kind", "at", "actor", "actor_name", "reason", "changes"]

    def get_actor_name(self, event) -> str | None:
        actor = event.actor
        if actor is None:
            return None
        return actor.get_full_name() or actor.username


class AppointmentDetailSerializer(AppointmentSerializer):
    events = AppointmentEventSerializer(many=True, read_only=True)

    class Meta(AppointmentSerializer.Meta):
        fields = [*AppointmentSerializer.Meta.fields, "events"]


def known_doctor(pk: int) -> Doctor:
    doctor = Doctor.objects.select_related("department").filter(pk=pk).first()
    if doctor is None:
        raise serializers.ValidationError(_("That doctor could not be found. Search again."))
    return doctor


class HoldSerializer(serializers.Serializer):
    doctor = id_field(help_text=_("The doctor's id (GET /api/v1/doctors/)."))
    date = DayField()
    start = SlotTimeField(help_text=_("A free slot's start (GET /api/v1/doctors/{id}/slots/)."))
    patient_name = TextField(max_length=100, what="patient's name")
    mobile = serializers.CharField(
        max_length=30, help_text=_("The patient's mobile: the 6-digit code is texted there.")
    )
    email = serializers.CharField(
        max_length=254, default="", allow_blank=True,
        help_text=_("Optional: the confirmation is emailed too."),
    )  # fmt: skip
    reason = TextField(max_length=patients.MAX_REASON_LENGTH, what="reason for the visit")

    def validate_doctor(self, value) -> Doctor:
        return known_doctor(value)

    def validate_mobile(self, value):
        return service_says(patients.clean_mobile, value)

    def validate_email(self, value):
        return service_says(patients.clean_email, value)


class ConfirmSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=20, trim_whitespace=True,
        help_text=_("The 6-digit code texted to the patient, as they read it back."),
    )  # fmt: skip

    def validate_code(self, value):
        code = "".join(value.split()).replace("-", "")
        if not (len(code) == OTP_DIGITS and code.isascii() and code.isdigit()):
            # Never the code in the message: an error body may end up in a log.
            raise serializers.ValidationError(_("The code is 6 digits, e.g. 042917."))
        return code


class RescheduleSerializer(serializers.Serializer):
    date = DayField()
    start = SlotTimeField()
    doctor = id_field(
        required=False,
        help_text=_("Another doctor of the same department; the same doctor when left out."),
    )
    reason = TextField(
        max_length=MAX_CANCEL_REASON_LENGTH, what="reason", required=False, allow_blank=True,
        default="",
    )  # fmt: skip

    def validate_doctor(self, value) -> Doctor:
        return known_doctor(value)


class CancelSerializer(serializers.Serializer):
    reason = TextField(max_length=MAX_CANCEL_REASON_LENGTH, what="reason for cancelling")

"""Reception forms: they only parse and tidy what was typed, and say in words what
could not be read. Whether a slot is free, a code is right or a hold has expired is for
the services (appointments.booking, changes, walkins) to say."""

import datetime

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from appointments.models import Patient, WaitingListEntry, WaitingListEvent
from hospital.forms import MobileField
from hospital.languages import localized
from hospital.models import Department, Doctor
from hospital.text import InvalidText, clean_patient_name
from queues.models import PriorityCategory, VisitStop

# The days the desk can look at. Far beyond them (9999-12-31, 0001-01-01) the next or
# previous day, or the day's bounds in the time zone, overflow Python's dates; no OPD
# record lies outside them anyway.
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)
OUT_OF_RANGE = format_lazy(
    _("Choose a date between {first} and {last}."), first=FIRST_DAY.year, last=LAST_DAY.year
)
# An id is a short run of ASCII digits: str.isdigit() also accepts "²" or "٣", which
# int() refuses, and 20 digits overflow the database's integer.
MAX_ID_DIGITS = 11


def parse_day(raw: str | None) -> datetime.date | None:
    """'2026-11-18' -> date; anything else (missing, garbage, out of range) -> None."""
    try:
        day = datetime.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def parse_id(raw) -> int | None:
    """A row's id as typed in a link ("42"), or None for anything else."""
    text = str(raw or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return None


# --- Fields -------------------------------------------------------------------------------


class PickedField(forms.ModelChoiceField):
    """A row chosen from a list by its id. Anything but a short number is refused before
    the database is asked (a 30-digit id overflows SQLite's integer)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        pk = parse_id(value)
        if pk is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(pk)


class TickField(forms.Field):
    """A checkbox: ticked ("1", "on", "true", "yes") or not (absent, "", "0", "off",
    "false", "no"). Anything else is refused, not guessed: it may mark an emergency."""

    TICKED = {"1", "on", "true", "yes"}
    UNTICKED = {"", "0", "off", "false", "no"}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> bool:
        text = str(value or "").strip().lower()
        if text in self.TICKED:
            return True
        if text in self.UNTICKED:
            return False
        raise forms.ValidationError(_("Tick the box or leave it empty."), code="invalid")


class DayField(forms.DateField):
    input_formats = ["%Y-%m-%d"]
    default_error_messages = {"invalid": _("That is not a date (YYYY-MM-DD).")}

    def validate(self, value):
        super().validate(value)
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise forms.ValidationError(OUT_OF_RANGE, code="out_of_range")


class DayForm(forms.Form):
    """The day a reception page shows (?date=YYYY-MM-DD)."""

    date = DayField(required=False)


class RangeForm(forms.Form):
    """A range of days for the trends report (?from=YYYY-MM-DD&to=YYYY-MM-DD); either
    may be left out: `to` is then today, `from` four weeks before `to`."""

    MAX_DAYS = 366
    DEFAULT_DAYS = 28

    start = DayField(label=_("From"), required=False)
    end = DayField(label=_("To"), required=False)

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or self.today
        start = data.get("start") or end - datetime.timedelta(days=self.DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError(
                _("The first day comes after the last day: swap them."), code="reversed"
            )
        if (end - start).days + 1 > self.MAX_DAYS:
            raise forms.ValidationError(
                ngettext(
                    "Choose at most %(count)s day.", "Choose at most %(count)s days.", self.MAX_DAYS
                )
                % {"count": self.MAX_DAYS},
                code="too_long",
            )
        data["start"], data["end"] = start, end
        return data


class SlotTimeField(forms.TimeField):
    input_formats = ["%H:%M"]
    default_error_messages = {"invalid": _("That is not a time (HH:MM).")}


# --- Booking --------------------------------------------------------------------------


class BookingForm(forms.Form):
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.select_related("department"),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("That doctor no longer exists. Search again.")},
    )
    date = DayField(widget=forms.HiddenInput, error_messages={"invalid": _("Enter a valid date.")})
    start = forms.TimeField(
        label=_("Slot"),
        input_formats=["%H:%M"],
        error_messages={"required": _("Choose a slot."), "invalid": _("Choose a slot.")},
    )
    patient_name = forms.CharField(
        label=_("Patient's name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words"}),
    )
    mobile = MobileField(
        label=_("Mobile"),
        max_length=30,
        help_text=_("A 6-digit code is sent here to confirm the booking."),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        required=False,
        help_text=_("Optional: the confirmation is emailed too."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=_("Illness or reason for the visit"),
        max_length=200,
        help_text=_("Seen by hospital staff only."),
    )

    def clean_patient_name(self):
        try:
            return clean_patient_name(self.cleaned_data["patient_name"])
        except InvalidText as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_reason(self):
        return " ".join(self.cleaned_data["reason"].split())


class OneTimeCodeInput(forms.TextInput):
    """A code box that never writes the typed code back into the page."""

    def format_value(self, value):
        return None


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        widget=OneTimeCodeInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "maxlength": "6",
                "pattern": "[0-9]{6}",
                "class": "otp-input",
                "autofocus": True,
            }
        ),
        error_messages={"required": _("Enter the 6-digit code from the SMS.")},
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"][:20].split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError(_("The code is 6 digits, e.g. 042917."))
        return code


def error_list(form: forms.Form) -> list[str]:
    """Every error of `form` as a line a receptionist can read: a field's errors name
    the field."""
    lines = list(form.non_field_errors())
    for name, errors in form.errors.items():
        if name == forms.forms.NON_FIELD_ERRORS:
            continue
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        lines += [
            gettext("%(field)s: %(error)s") % {"field": label, "error": error} for error in errors
        ]
    return lines


# --- Walk-in ------------------------------------------------------------------------------


def language_field() -> forms.ChoiceField:
    """The patient's language for their slips and SMS; empty: not asked."""
    return forms.ChoiceField(
        label=_("Language for slips and SMS"),
        required=False,
        choices=[("", _("Not asked"))] + list(settings.LANGUAGES),
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )


class WalkInForm(forms.Form):
    """The walk-in page: the patient, which department or doctor, and the chosen slot
    ("<doctor id>@HH:MM"). The patient's details are checked by the service, which says
    what is missing; here only their length."""

    ACTIONS = [("refresh", _("Show free slots")), ("book", _("Book and check in")),
               ("wait", _("Add to the waiting list"))]  # fmt: skip

    patient_name = forms.CharField(label=_("Patient's name"), max_length=100, required=False)
    mobile = forms.CharField(label=_("Mobile"), max_length=30, required=False)
    reason = forms.CharField(label=_("Illness or reason"), max_length=200, required=False)
    language = language_field()
    emergency = TickField(label=_("Emergency"))
    department = PickedField(
        queryset=Department.objects.filter(is_active=True),
        required=False,
        error_messages={"invalid_choice": _("That department could not be found.")},
    )
    doctor = PickedField(
        queryset=Doctor.objects.select_related("department"),
        required=False,
        error_messages={"invalid_choice": _("That doctor could not be found.")},
    )
    action = forms.ChoiceField(choices=ACTIONS, required=False)
    option = forms.CharField(label=_("Slot"), max_length=30, required=False)

    def clean_option(self) -> tuple[Doctor, datetime.time] | None:
        doctor_id, _at, start = self.cleaned_data["option"].partition("@")
        picked = PickedField(queryset=Doctor.objects.select_related("department"))
        try:
            return picked.clean(doctor_id), SlotTimeField().clean(start)
        except forms.ValidationError:
            return None

    def clean(self):
        data = super().clean()
        department, doctor = data.get("department"), data.get("doctor")
        if doctor is not None:
            if department is None and "department" not in self.errors:
                data["department"] = doctor.department
            elif department is not None and doctor.department_id != department.pk:
                self.add_error(
                    "doctor",
                    gettext("%(doctor)s is not in %(department)s.")
                    % {"doctor": doctor.name, "department": localized(department)},
                )
        if data.get("action") == "book" and not data.get("option"):
            self.add_error("option", gettext("Choose one of the free slots below."))
        if data.get("action") == "wait" and data.get("department") is None:
            self.add_error(
                "department", gettext("Choose the department the patient is waiting for.")
            )
        return data


# --- Reschedule ---------------------------------------------------------------------------


class SlotPickerForm(forms.Form):
    """Which doctor of the appointment's department, and which day, to show free slots
    for (the reschedule page's GET)."""

    doctor = PickedField(
        queryset=Doctor.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("Choose a doctor of the same department.")},
    )
    date = DayField(required=False, error_messages={"invalid": _("Choose a valid date.")})

    def __init__(self, data=None, *, appointment, **kwargs):
        super().__init__(data, **kwargs)
        self.appointment = appointment
        self.fields["doctor"].queryset = Doctor.objects.select_related("department").filter(
            department_id=appointment.doctor.department_id
        )

    def clean_doctor(self) -> Doctor:
        return self.cleaned_data["doctor"] or self.appointment.doctor


class RescheduleForm(SlotPickerForm):
    start = SlotTimeField(
        label=_("Slot"),
        error_messages={"required": _("Choose a slot."), "invalid": _("Choose a slot.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].required = True
        self.fields["date"].error_messages["required"] = _("Choose a valid date.")


# --- The waiting list ---------------------------------------------------------------------


class WaitingOfferForm(forms.Form):
    """The slot offered to a waiting patient, from the link a cancellation or the
    dashboard made, and whether to check them in at once."""

    doctor = PickedField(
        queryset=Doctor.objects.select_related("department"),
        error_messages={
            "invalid_choice": _("That doctor could not be found."),
            "required": _("Choose a doctor."),
        },
    )
    date = DayField(error_messages={"required": _("Choose a date.")})
    start = SlotTimeField(label=_("Time"), error_messages={"required": _("Choose a time.")})
    check_in = TickField(label=_("Check in now"))


class WaitingRemoveForm(forms.Form):
    reason = forms.CharField(
        label=_("Why"), max_length=WaitingListEvent._meta.get_field("reason").max_length,
        required=False,
    )  # fmt: skip


def waiting_priority(emergency: bool) -> int:
    return WaitingListEntry.Priority.EMERGENCY if emergency else WaitingListEntry.Priority.NORMAL


# --- Registered patients ------------------------------------------------------------------


class TickBox(forms.CheckboxInput):
    """A checkbox that hands TickField what was sent, as typed: Django's own reads any
    unknown text ("garbage") as ticked, and a tick here may mark an emergency."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"value": "1", **(attrs or {})}, check_test=self.ticked)

    @staticmethod
    def ticked(value) -> bool:
        return value is True or str(value or "").strip().lower() in TickField.TICKED

    def value_from_datadict(self, data, files, name):
        return data.get(name, "")


def tick(label: str, **kwargs) -> TickField:
    return TickField(label=label, widget=TickBox(), **kwargs)


class PatientSearchForm(forms.Form):
    q = forms.CharField(label=_("Hospital number, name or mobile"), required=False)

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"][:100].split())


class PatientDetailsForm(forms.Form):
    """A patient's details as typed. Whether the age is sane, the mobile already someone
    else's, or enough has been given is for appointments.patients to say."""

    name = forms.CharField(
        label=_("Patient's name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words"}),
    )
    age = forms.IntegerField(
        label=_("Age (years)"), required=False, min_value=0, max_value=999,
        error_messages={"invalid": _("Enter the age in whole years, e.g. 40.")},
    )  # fmt: skip
    year_of_birth = forms.IntegerField(
        label=_("or year of birth"), required=False, min_value=0, max_value=9999,
        error_messages={"invalid": _("Enter the year of birth as four digits, e.g. 1984.")},
    )  # fmt: skip
    age_is_estimate = tick(_("Age is an estimate"))
    sex = forms.ChoiceField(
        label=_("Sex"),
        required=False,
        choices=[("", _("Not recorded"))] + [c for c in Patient.Sex.choices if c[0]],
        error_messages={"invalid_choice": _("Choose female, male, other or not recorded.")},
    )
    mobile = forms.CharField(
        label=_("Mobile"),
        max_length=30,
        required=False,
        help_text=_("Optional: leave empty if the patient has no phone."),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    language = language_field()

    def details(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "name",
                "age",
                "year_of_birth",
                "age_is_estimate",
                "sex",
                "mobile",
                "email",
                "language",
            )  # fmt: skip
        }


class GiveTokenFields(forms.Form):
    department = PickedField(
        label=_("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label=_("No token now"),
        error_messages={"invalid_choice": _("That department could not be found.")},
    )
    emergency = tick(_("Emergency: called first, by the first free doctor"))


class RegisterPatientForm(PatientDetailsForm, GiveTokenFields):
    unknown = tick(_("Unknown patient (emergency): name them from sex and age"))

    field_order = ["unknown", "name", "age", "year_of_birth", "age_is_estimate", "sex",
                   "mobile", "email", "language", "department", "emergency"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].label = _("Give a token now for")

    def clean(self):
        data = super().clean()
        if data.get("emergency") and not data.get("department"):
            self.add_error("department", gettext("Choose the department for the emergency token."))
        return data


class CorrectPatientForm(PatientDetailsForm):
    reason = forms.CharField(label=_("Why"), max_length=100, required=False)

    def details(self) -> dict:
        details = super().details()
        if details["age"] is not None:
            # The form shows the year on record: an age typed over it replaces it.
            details["year_of_birth"] = None
        return details


class GiveTokenForm(GiveTokenFields):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].required = True
        self.fields["department"].empty_label = None
        self.fields["department"].error_messages["required"] = _("Choose the department.")


class LinkTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Token number"), max_length=20,
        help_text=_("As on the slip, e.g. ORTH-012 (today's)."),
        error_messages={"required": _("Enter the token number from the slip, e.g. ORTH-012.")},
    )  # fmt: skip


class CancelStopForm(forms.Form):
    stop = forms.CharField(max_length=MAX_ID_DIGITS)
    reason = forms.CharField(
        label=_("Why"), max_length=VisitStop._meta.get_field("note").max_length, required=False
    )

    def clean_stop(self) -> int:
        pk = parse_id(self.cleaned_data["stop"])
        if pk is None:
            raise forms.ValidationError(_("That stop could not be found."))
        return pk


# --- The live queue (queues.desk) ---------------------------------------------------------


class SlugPickedField(forms.ModelChoiceField):
    """A row chosen by its slug ("orth"). Anything but a short slug is refused before the
    database is asked (PostgreSQL refuses a NUL in a parameter)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value)
        if not (
            len(text) <= 50 and text.isascii() and text.replace("-", "").replace("_", "").isalnum()
        ):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(text)


class QueueFilterForm(forms.Form):
    """The live queue page: ?department=<slug> (empty: all) and ?q= (token number, name or
    mobile)."""

    department = SlugPickedField(
        label=_("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label=_("All departments"),
        error_messages={"invalid_choice": _("That department could not be found.")},
    )
    q = forms.CharField(label=_("Token number, name or mobile"), required=False)

    def clean_q(self) -> str:
        # Only printable characters are searched: PostgreSQL refuses a NUL in a parameter.
        text = "".join(c for c in self.cleaned_data["q"][:100] if c.isprintable())
        return " ".join(text.split())


class QueueReasonForm(forms.Form):
    """Why the desk did it (cancel, recall): required, kept with the token's history."""

    reason = forms.CharField(
        label=_("Why"),
        max_length=200,
        error_messages={"required": _("Say why (it is kept with the token's history).")},
    )


class QueueTransferForm(QueueReasonForm):
    department = PickedField(
        label=_("Move to"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        error_messages={
            "required": _("Choose the department to move the token to."),
            "invalid_choice": _("That department could not be found."),
        },
    )
    doctor = PickedField(
        label=_("Doctor"),
        queryset=Doctor.objects.select_related("department").order_by("name"),
        required=False,
        empty_label=_("Any doctor (the department's queue)"),
        error_messages={"invalid_choice": _("That doctor could not be found.")},
    )

    field_order = ["department", "doctor", "reason"]


class QueueCategoryForm(QueueReasonForm):
    category = PickedField(
        label=_("Category"),
        queryset=PriorityCategory.objects.filter(is_active=True),
        empty_label=None,
        error_messages={
            "required": _("Choose the category."),
            "invalid_choice": _("That category could not be found."),
        },
    )

    field_order = ["category", "reason"]

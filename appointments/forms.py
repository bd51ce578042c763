"""Reception forms: they only parse and tidy what was typed. Whether a slot is free, a
code is right or a hold has expired is for appointments.services to say."""

import datetime

from django import forms

from hospital.forms import MobileField
from hospital.models import Doctor


def parse_day(raw: str | None) -> datetime.date | None:
    """'2026-11-18' -> date; anything else (missing, garbage, out of range) -> None."""
    try:
        return datetime.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None


class BookingForm(forms.Form):
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.select_related("department"),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "That doctor no longer exists. Search again."},
    )
    date = forms.DateField(widget=forms.HiddenInput)
    start = forms.TimeField(
        label="Slot",
        input_formats=["%H:%M"],
        error_messages={"required": "Choose a slot.", "invalid": "Choose a slot."},
    )
    patient_name = forms.CharField(
        label="Patient's name",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words"}),
    )
    mobile = MobileField(
        label="Mobile",
        max_length=30,
        help_text="A 6-digit code is sent here to confirm the booking.",
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label="Email",
        required=False,
        help_text="Optional: the confirmation is emailed too.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.CharField(
        label="Illness or reason for the visit",
        max_length=200,
        help_text="Seen by hospital staff only.",
    )

    def clean_patient_name(self):
        name = " ".join(self.cleaned_data["patient_name"].split())
        if not name:
            raise forms.ValidationError("Enter the patient's name.")
        return name

    def clean_reason(self):
        return " ".join(self.cleaned_data["reason"].split())


class OneTimeCodeInput(forms.TextInput):
    """A code box that never writes the typed code back into the page."""

    def format_value(self, value):
        return None


class VerifyForm(forms.Form):
    code = forms.CharField(
        label="Code from the SMS",
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
        error_messages={"required": "Enter the 6-digit code from the SMS."},
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"][:20].split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError("The code is 6 digits, e.g. 042917.")
        return code

"""Forms parse what a person typed; the queue's rules stay in queues.services."""

import datetime

from django import forms
from django.utils.functional import cached_property

from hospital.models import Department
from hospital.text import MAX_NAME_LENGTH
from queues.services import bookable_dates


def date_label(day: datetime.date, today: datetime.date) -> str:
    if day == today:
        return f"Today, {day:%a %d %b}"
    if day == today + datetime.timedelta(days=1):
        return f"Tomorrow, {day:%a %d %b}"
    return f"{day:%A %d %b %Y}"


class TokenForm(forms.Form):
    """The kiosk's "take a token" form.

    The field names are a contract: bench/ posts them as they are. Only parsing happens
    here (which department, which date); whether a token may be issued for that
    department on that date is decided by services.issue_token.
    """

    department = forms.ChoiceField(
        label="Department",
        error_messages={
            "required": "Choose a department.",
            "invalid_choice": "Choose a department from the list.",
        },
    )
    patient_name = forms.CharField(
        label="Patient's name",
        # No max_length validator: the service refuses an over-long name with its own
        # message; the attribute only stops a kiosk user typing past it.
        widget=forms.TextInput(
            attrs={"maxlength": MAX_NAME_LENGTH, "autocomplete": "name", "autofocus": True}
        ),
        strip=False,
        error_messages={"required": "Enter the patient's name."},
    )
    mobile = forms.CharField(
        label="Mobile number (optional)",
        required=False,
        widget=forms.TextInput(
            attrs={"maxlength": 30, "inputmode": "tel", "autocomplete": "tel", "type": "tel"}
        ),
    )
    service_date = forms.DateField(
        label="Date of visit",
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Choose a date from the list (YYYY-MM-DD)."},
        widget=forms.Select,
    )

    def __init__(self, *args, departments: list[Department], today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.departments = departments
        self.fields["department"].choices = [("", "Choose a department…")] + [
            (d.slug, d.name) for d in departments
        ]

    @cached_property
    def date_options(self) -> list[dict]:
        """The union of every department's open days; each option names the departments
        open that day (data-departments), and static/js/kiosk.js hides the others. Only
        a rendered form needs them."""
        today = self.today
        open_on: dict[datetime.date, list[str]] = {}
        for department in self.departments:
            for day in bookable_dates(department, today):
                open_on.setdefault(day, []).append(department.slug)
        return [
            {
                "value": day.isoformat(),
                "label": date_label(day, today),
                "departments": " ".join(slugs),
            }
            for day, slugs in sorted(open_on.items())
        ]

    def clean_department(self) -> Department:
        slug = self.cleaned_data["department"]
        return next(d for d in self.departments if d.slug == slug)

    def clean_service_date(self) -> datetime.date:
        return self.cleaned_data.get("service_date") or self.today

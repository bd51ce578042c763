"""Forms parse what a person typed; the queue's rules stay in queues.services."""

import datetime

from django import forms
from django.utils import formats
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from hospital.languages import localized
from hospital.models import Counter, CounterStaff, Department, Doctor
from hospital.text import MAX_NAME_LENGTH
from queues import breaks, visits
from queues.kiosk_days import closed_today_text, day_name
from queues.models import PriorityCategory
from queues.services import QueueError, bookable_dates


def date_label(day: datetime.date, today: datetime.date) -> str:
    """ "Today, Wed 18 Nov" in the active language (weekday and month names too)."""
    if day == today:
        return _("Today, %(date)s") % {"date": formats.date_format(day, "D j M")}
    if day == today + datetime.timedelta(days=1):
        return _("Tomorrow, %(date)s") % {"date": formats.date_format(day, "D j M")}
    return formats.date_format(day, "l j M Y")


# Any Monday: weekday names in the active language come from formatting its week's dates.
A_MONDAY = datetime.date(2024, 1, 1)


class TokenForm(forms.Form):
    """The kiosk's "take a token" form.

    The field names are a contract: bench/ posts them as they are. Only parsing happens
    here (which department, which date); whether a token may be issued for that
    department on that date is decided by services.issue_token. Names, dates and
    categories are in the active language (the page's).
    """

    department = forms.ChoiceField(
        label=_lazy("Department"),
        error_messages={
            "required": _lazy("Choose a department."),
            "invalid_choice": _lazy("Choose a department from the list."),
        },
    )
    patient_name = forms.CharField(
        label=_lazy("Patient's name"),
        # No max_length validator: the service refuses an over-long name with its own
        # message; the attribute only stops a kiosk user typing past it.
        widget=forms.TextInput(
            attrs={"maxlength": MAX_NAME_LENGTH, "autocomplete": "name", "autofocus": True}
        ),
        strip=False,
        error_messages={"required": _lazy("Enter the patient's name.")},
    )
    mobile = forms.CharField(
        label=_lazy("Mobile number (optional)"),
        required=False,
        widget=forms.TextInput(
            attrs={"maxlength": 30, "inputmode": "tel", "autocomplete": "tel", "type": "tel"}
        ),
    )
    # Optional: no choice (or General) is a general token. Emergency is not offered here.
    category = forms.ChoiceField(
        label=_lazy("Category"),
        required=False,
        error_messages={"invalid_choice": _lazy("Choose a category from the list.")},
    )
    service_date = forms.DateField(
        label=_lazy("Date of visit"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _lazy("Choose a date from the list (YYYY-MM-DD).")},
        widget=forms.Select,
    )

    def __init__(self, *args, departments: list[Department], today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.departments = departments
        self.fields["department"].choices = [("", _("Choose a department…"))] + [
            (d.slug, localized(d)) for d in departments
        ]
        self.categories = list(PriorityCategory.objects.filter(is_active=True, at_kiosk=True))
        self.fields["category"].choices = [("", _("General"))] + [
            (str(c.pk), c.label) for c in self.offered_categories
        ]

    @property
    def offered_categories(self) -> list[PriorityCategory]:
        """The categories a patient may choose (all but "always first" and General)."""
        return [c for c in self.categories if c.rule != c.Rule.ALWAYS_FIRST and not c.means_general]

    @property
    def proof_notes(self) -> list[str]:
        return [
            f"{localized(c)}: {localized(c, 'proof_note')}" for c in self.categories if c.proof_note
        ]

    def clean_category(self) -> PriorityCategory | None:
        chosen = self.cleaned_data.get("category")
        return next((c for c in self.categories if str(c.pk) == chosen), None)

    @cached_property
    def department_options(self) -> list[dict]:
        """Each department with what to say when it is closed today ("Closed today —
        tokens for Monday"; "" when open), for the list and static/js/kiosk.js."""
        return [
            {
                "department": d,
                "slug": d.slug,
                "name": localized(d),
                "closed_today": closed_today_text(d, self.today),
                "open_days": ", ".join(
                    formats.date_format(A_MONDAY + datetime.timedelta(days=i), "D")
                    for i in range(7)
                    if d.is_open_on_weekday(i)
                ),
            }
            for d in self.departments
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
                "name": day_name(day, today),
                "departments": " ".join(slugs),
            }
            for day, slugs in sorted(open_on.items())
        ]

    def clean_department(self) -> Department:
        slug = self.cleaned_data["department"]
        return next(d for d in self.departments if d.slug == slug)

    def clean_service_date(self) -> datetime.date:
        return self.cleaned_data.get("service_date") or self.today


# --- Staff terminals ----------------------------------------------------------------------

# Stops a terminal offers at once (the service allows a few more, for other callers).
SEND_ON_STOPS = 3
REVIEW = "review"


def first_error(form: forms.Form) -> str:
    """A form's first message, for a terminal's message line."""
    for errors in form.errors.values():
        return str(errors[0])
    return _("Check the form and try again.")


class SendOnForm(forms.Form):
    """The "Send on" part of a terminal's Complete form: up to SEND_ON_STOPS next stops
    in order, each a destination (a service department, a clinical department's pool, a
    named doctor, or for a doctor "back to me for review") and an optional note for that
    stop's staff. Parses into `stops`, a list of queues.visits.NextStop; whether those
    stops can take the patient today is decided by services.complete_token."""

    def __init__(self, *args, desk, **kwargs):
        super().__init__(*args, **kwargs)
        self.desk = desk
        # Built on every redraw of a doctor's panel while a patient is with them, so the
        # department of each doctor is taken from the list already read, each name is
        # localised once, and the fields get the choices as a callable (the stock fields
        # copy a list of choices twice each; a callable is read when it is used).
        departments = list(Department.objects.filter(is_active=True).order_by("name"))
        by_id = {d.pk: d for d in departments}
        names = {d.pk: localized(d) for d in departments}
        doctors = list(
            Doctor.objects.filter(
                on_duty=True,
                department__is_active=True,
                department__kind=Department.Kind.CLINICAL,
            ).order_by("department__name", "name")
        )
        for doctor in doctors:
            doctor.department = by_id[doctor.department_id]
        if isinstance(desk, Doctor):
            doctors = [d for d in doctors if d.pk != desk.pk]
        self.destinations: dict[str, visits.NextStop] = {}
        choices: list = [("", "—")]
        if isinstance(desk, Doctor):
            self.destinations[REVIEW] = visits.NextStop(desk.department, doctor=desk)
            choices.append((REVIEW, _("Back to me for review")))
        groups = [
            (_("Service departments"), [d for d in departments if d.is_service], "%s"),
            (
                _("Departments (any doctor)"),
                [d for d in departments if not d.is_service],
                _("%(department)s (any doctor)"),
            ),
        ]
        for label, group, text in groups:
            options = []
            for department in group:
                key = f"department-{department.pk}"
                self.destinations[key] = visits.NextStop(department)
                name = names[department.pk]
                options.append((key, text % {"department": name} if text != "%s" else name))
            if options:
                choices.append((label, options))
        named = []
        for doctor in doctors:
            key = f"doctor-{doctor.pk}"
            self.destinations[key] = visits.NextStop(doctor.department, doctor=doctor)
            named.append((key, f"{doctor.name} — {names[doctor.department_id]}"))
        if named:
            choices.append((_("Doctors"), named))
        for i in range(1, SEND_ON_STOPS + 1):
            self.fields[f"stop_{i}"] = forms.ChoiceField(
                # Translators: the second and third of a patient's next stops: "Then: Pharmacy".
                label=_("Then") if i > 1 else _("Send to"),
                choices=lambda: choices,
                required=False,
                error_messages={
                    "invalid_choice": _("Stop %(n)s: choose a destination from the list.")
                    % {"n": i}
                },
            )
            self.fields[f"note_{i}"] = forms.CharField(
                label=_("Note for stop %(n)s (optional, staff only)") % {"n": i},
                required=False,
                strip=False,
                widget=forms.TextInput(attrs={"maxlength": visits.MAX_NOTE_LENGTH}),
            )

    @cached_property
    def destination_options(self) -> str:
        """Every stop's <option>s (and <optgroup>s), "—" selected: the same for each stop,
        so built once here. The widget's templates built them once per stop and option, on
        every redraw of a doctor's panel while a patient is with them (three lists of 120
        destinations in a large hospital)."""
        parts = []
        for value, label in self.fields["stop_1"].choices:
            if isinstance(label, (list, tuple)):
                options = format_html_join("", '<option value="{}">{}</option>', label)
                parts.append(format_html('<optgroup label="{}">{}</optgroup>', value, options))
            else:
                selected = " selected" if value == "" else ""
                option = format_html('<option value="{}"{}>{}</option>', value, selected, label)
                parts.append(option)
        return mark_safe("".join(parts))  # each part built by format_html

    def rows(self) -> list[tuple]:
        """(destination field, note field) pairs, for the template."""
        return [(self[f"stop_{i}"], self[f"note_{i}"]) for i in range(1, SEND_ON_STOPS + 1)]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        stops = []
        for i in range(1, SEND_ON_STOPS + 1):
            key, raw_note = data.get(f"stop_{i}") or "", data.get(f"note_{i}") or ""
            if not key:
                if raw_note.strip():
                    raise forms.ValidationError(
                        _("Stop %(n)s has a note but no destination.") % {"n": i}
                    )
                continue
            try:
                note = visits.clean_note(raw_note)
            except QueueError as exc:
                raise forms.ValidationError(
                    _("Stop %(n)s: %(error)s") % {"n": i, "error": exc}
                ) from None
            destination = self.destinations[key]
            stops.append(visits.NextStop(destination.department, destination.doctor, note))
        data["stops"] = stops
        return data


def describe_destination(stop: visits.NextStop, desk) -> str:
    """ "Laboratory", "back to you", "Dr. Shah (Cardiology)": for the success message."""
    if stop.doctor is not None:
        if isinstance(desk, Doctor) and stop.doctor.pk == desk.pk:
            # Translators: in "ORTH-003 completed; sent to Laboratory, then back to you".
            return _("back to you")
        return f"{stop.doctor.name} ({localized(stop.department)})"
    return localized(stop.department)


class CounterChoiceForm(forms.Form):
    """Which counter of their own department a staff member works now."""

    counter = forms.ModelChoiceField(
        queryset=Counter.objects.none(),
        label=_lazy("Your counter"),
        empty_label=_lazy("Choose a counter…"),
        error_messages={
            "required": _lazy("Choose a counter."),
            "invalid_choice": _lazy("Choose an open counter of your own department."),
        },
    )

    def __init__(self, *args, staff: CounterStaff, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["counter"]
        field.queryset = Counter.objects.filter(department=staff.department_id, is_active=True)
        field.initial = staff.counter_id
        field.label_from_instance = lambda counter: counter.place


# --- Stepping away and a patient's category, from a terminal ---------------------------


class PauseForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[(r, r.capitalize()) for r in breaks.REASONS]
        + [("other", _lazy("Other…"))],
        error_messages={"required": _lazy("Choose why you are pausing."),
                        "invalid_choice": _lazy("Choose why you are pausing.")},
    )  # fmt: skip
    other = forms.CharField(required=False, max_length=500)
    back_at = forms.TimeField(
        required=False,
        error_messages={"invalid": _lazy("Enter the time you expect to be back, e.g. 11:30.")},
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == "other":
            data["reason"] = data.get("other", "")
        return data


class LateForm(forms.Form):
    back_at = forms.TimeField(
        error_messages={
            "required": _lazy("Enter the time you expect to start."),
            "invalid": _lazy("Enter the time you expect to start, e.g. 10:30."),
        }
    )


class CategoryForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=PriorityCategory.objects.filter(is_active=True),
        required=False,  # empty: general
        error_messages={"invalid_choice": _lazy("Choose a category from the list.")},
    )
    reason = forms.CharField(
        max_length=500, error_messages={"required": _lazy("Say why it changes.")}
    )


class NoForm(forms.Form):
    """A button with nothing to fill in (Resume)."""

"""What the API reads and writes for tokens and visits.

Issuing parses with the kiosk's own form (queues.forms.TokenForm), so a token taken
through the API meets exactly the kiosk's rules; the serializers here only turn JSON into
what that form reads, and refuse JSON of the wrong shape. Patients' names go in full only
to those who issue tokens (a `tokens` key, hospital staff); everyone else gets initials,
as on the public screens. A mobile number and a stop's staff note are never sent."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hospital.clock import local_today
from hospital.languages import all_names, current_language
from hospital.models import Department, Doctor
from hospital.phones import InvalidMobile, normalize_mobile
from queues import reading, services, visits
from queues.forms import TokenForm
from queues.kiosk_days import first_token_day
from queues.models import Token, Visit, VisitStop
from queues.services import QueueError
from queues.state import place_kind, places

# Longer than any real value, so a megabyte of "name" is refused before anything reads it.
MAX_TEXT = 1000


class TextField(serializers.CharField):
    """A JSON string and nothing else: a number or a list where text belongs is a
    mistake in the caller's code, said so, not quietly turned into text."""

    default_error_messages = {"invalid": _lazy("Send text (a JSON string).")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "maxLength": MAX_TEXT}],
        "nullable": True,
        "description": "The category's id, or its name in any language ('Senior citizen').",
    }
)
class CategoryField(serializers.Field):
    """A priority category by its id (7, "7") or its name ("Senior citizen", in any of
    the patient languages): returned as the TokenForm's choice (the id as text)."""

    default_error_messages = {"invalid": _lazy("Give the category's id or its name.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        if len(text) > MAX_TEXT or "\x00" in text:
            self.fail("invalid")
        return text

    def to_representation(self, value):
        return value


def category_choice(categories, given: str) -> str:
    """The TokenForm's value for the category the caller named (`categories`: those the
    form offers or knows): its id as text; "" for General; anything unknown is passed on
    for the form to refuse."""
    if not given or given.isdigit():
        return given
    wanted = given.casefold()
    for category in categories:
        names = {category.name, category.name_hi, category.name_ta, category.label}
        if wanted in {n.strip().casefold() for n in names if n}:
            return "" if category.means_general else str(category.pk)
    return "" if wanted == "general" else given


class TokenIssueSerializer(serializers.Serializer):
    """A token to issue, as the kiosk takes it."""

    department = TextField(max_length=100, help_text="The department's slug: `orth`.")
    patient_name = TextField(max_length=MAX_TEXT, trim_whitespace=False)
    mobile = TextField(required=False, allow_blank=True, max_length=30, default="")
    service_date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        input_formats=["%Y-%m-%d"],
        help_text="Default: the department's first day giving tokens (today if open).",
    )
    category = CategoryField(required=False, allow_null=True, default=None)
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        help_text="The patient's language for the slip, the page and SMS. Default: the "
        "request's (Accept-Language), else English.",
    )

    def validate_patient_name(self, value: str) -> str:
        try:
            return services.clean_name(value)
        except QueueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_mobile(self, value: str) -> str:
        try:
            return normalize_mobile(value)
        except InvalidMobile as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, data):
        today = local_today()
        given_date = data.get("service_date")
        form = TokenForm(
            {
                "department": data["department"],
                "patient_name": data["patient_name"],
                "mobile": data.get("mobile", ""),
                "category": "",
                "service_date": given_date.isoformat() if given_date else "",
            },
            departments=list(Department.objects.filter(is_active=True).order_by("name")),
            today=today,
        )
        # The form loads its categories when made; a name is looked up among them.
        form.data["category"] = category_choice(form.categories, data.get("category") or "")
        if not form.is_valid():
            raise serializers.ValidationError(
                {field: [str(e) for e in errors] for field, errors in form.errors.items()}
            )
        cleaned = dict(form.cleaned_data)
        if given_date is None:
            # As the kiosk does: a department closed today gives tokens for its next
            # open day; one with no such day is refused by issue_token in its words.
            cleaned["service_date"] = first_token_day(cleaned["department"], today) or today
        cleaned["language"] = data.get("language") or current_language()
        return cleaned


# --- Reading --------------------------------------------------------------------------


class PlaceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["room", "counter"])
    name = serializers.CharField(help_text="'Room 4', 'Counter 2'")
    names = serializers.DictField(child=serializers.CharField(), help_text="In every language.")


class CategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    names = serializers.DictField(child=serializers.CharField())
    symbol = serializers.CharField()


class PatientPagesSerializer(serializers.Serializer):
    token = serializers.URLField(help_text="The token's page.")
    visit = serializers.URLField(
        allow_null=True, help_text="The visit's page (the slip's QR code)."
    )
    slip = serializers.URLField(help_text="The printable slip.")


def initials(name: str) -> str:
    return " ".join(f"{part[0].upper()}." for part in name.split() if part)


def shown_name(serializer, name: str) -> str:
    """The full name for those who may see it (context `full_names`), else initials."""
    return name if serializer.context.get("full_names") else initials(name)


class TokenSerializer(serializers.Serializer):
    """A token and where it stands now."""

    public_id = serializers.UUIDField()
    number = serializers.CharField(source="display_number", help_text="'ORTH-007'")
    department = serializers.SlugField(source="department.slug")
    department_names = serializers.SerializerMethodField()
    service_date = serializers.DateField()
    status = serializers.ChoiceField(choices=Token.Status.choices)
    emergency = serializers.SerializerMethodField()
    category = serializers.SerializerMethodField()
    language = serializers.CharField()
    patient_name = serializers.SerializerMethodField(
        help_text="In full for `tokens` keys and staff; initials for others."
    )
    ahead = serializers.SerializerMethodField(help_text="Waiting tokens called before it.")
    estimated_wait_minutes = serializers.SerializerMethodField()
    place = serializers.SerializerMethodField(help_text="Where to go, once called.")
    issued_at = serializers.DateTimeField()
    called_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    visit = serializers.UUIDField(source="visit.public_id", allow_null=True, default=None)
    pages = serializers.SerializerMethodField()

    def to_representation(self, token):
        # One reading of the queue per token: the estimate counts the same patients ahead.
        self._ahead = reading.tokens_ahead(token)
        return super().to_representation(token)

    def get_department_names(self, token) -> dict[str, str]:
        return all_names(token.department)

    def get_emergency(self, token) -> bool:
        return token.priority == Token.Priority.EMERGENCY

    @extend_schema_field(CategorySerializer(allow_null=True))
    def get_category(self, token):
        category = token.category
        if category is None:
            return None
        return {
            "id": category.pk,
            "name": category.name,
            "names": all_names(category),
            "symbol": category.symbol,
        }

    def get_patient_name(self, token) -> str:
        return shown_name(self, token.patient_name)

    def get_ahead(self, token) -> int:
        return self._ahead

    @extend_schema_field(OpenApiTypes.INT)
    def get_estimated_wait_minutes(self, token) -> int | None:
        return reading.estimated_wait_minutes(token, self._ahead)

    @extend_schema_field(PlaceSerializer(allow_null=True))
    def get_place(self, token):
        kind = place_kind(token)
        if not kind:
            return None
        return {"kind": kind, "name": token.place, "names": places(token)}

    @extend_schema_field(PatientPagesSerializer)
    def get_pages(self, token):
        request = self.context["request"]

        def url(name, public_id):
            return request.build_absolute_uri(reverse(name, args=[public_id]))

        return {
            "token": url("token_detail", token.public_id),
            "visit": url("visit_detail", token.visit.public_id) if token.visit_id else None,
            "slip": url("token_slip", token.public_id),
        }


class StopTokenSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    number = serializers.CharField(source="display_number")
    status = serializers.ChoiceField(choices=Token.Status.choices)


class VisitStopSerializer(serializers.Serializer):
    """One stop of a visit. The note for the stop's staff is never sent."""

    position = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=VisitStop.Kind.choices)
    status = serializers.ChoiceField(choices=VisitStop.Status.choices)
    department = serializers.SlugField(source="department.slug")
    department_names = serializers.SerializerMethodField()
    doctor = serializers.CharField(source="doctor.name", allow_null=True, default=None)
    token = StopTokenSerializer(allow_null=True)

    def get_department_names(self, stop) -> dict[str, str]:
        return all_names(stop.department)


class VisitWithStopsSerializer(serializers.Serializer):
    public_id = serializers.UUIDField()
    service_date = serializers.DateField()
    status = serializers.ChoiceField(choices=Visit.Status.choices)
    source = serializers.ChoiceField(choices=Visit.Source.choices)
    patient_name = serializers.SerializerMethodField(
        help_text="In full for `tokens` keys and staff; initials for others."
    )
    started_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    stops = serializers.SerializerMethodField()
    page = serializers.SerializerMethodField(help_text="The visit's page (the slip's QR code).")

    def get_patient_name(self, visit) -> str:
        return shown_name(self, visit.patient_name)

    @extend_schema_field(VisitStopSerializer(many=True))
    def get_stops(self, visit):
        return VisitStopSerializer(visits.stops_of(visit), many=True, context=self.context).data

    def get_page(self, visit) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("visit_detail", args=[visit.public_id])
        )


# --- Sending on -----------------------------------------------------------------------


class NextStopSerializer(serializers.Serializer):
    department = TextField(max_length=100, help_text="The department's slug: `lab`.")
    doctor = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=2**31 - 1,
        help_text="A named doctor's id (a clinical stop only); none: the department's pool.",
    )
    note = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_TEXT,
        trim_whitespace=False,
        help_text="For the next stop's staff only; never shown to patients.",
    )

    def validate_note(self, value: str) -> str:
        try:
            return visits.clean_note(value)
        except QueueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate(self, data):
        department = Department.objects.filter(is_active=True, slug=data["department"]).first()
        if department is None:
            raise serializers.ValidationError(
                {"department": [_("Choose a department from the list.")]}
            )
        doctor = None
        if data.get("doctor") is not None:
            if department.is_service:
                raise serializers.ValidationError(
                    {"doctor": [_("A service department's stop has no named doctor.")]}
                )
            doctor = Doctor.objects.select_related("department").filter(pk=data["doctor"]).first()
            if doctor is None:
                raise serializers.ValidationError({"doctor": [_("There is no such doctor.")]})
        return visits.NextStop(department, doctor, data.get("note", ""))


def messages_of(detail, field: str = "") -> list[str]:
    """A ValidationError's messages as one flat list, each named by its field."""
    if isinstance(detail, dict):
        return [
            message
            for name, inner in detail.items()
            for message in messages_of(inner, "" if name == "non_field_errors" else name)
        ]
    if isinstance(detail, list):
        return [message for inner in detail for message in messages_of(inner, field)]
    return [f"{field}: {detail}" if field else str(detail)]


@extend_schema_field(NextStopSerializer(many=True))
class StopsField(serializers.ListField):
    """The stops in order. A stop's errors read "Stop 2: …", as on a terminal's form, in
    the flat list every problem's `errors` has (field → messages)."""

    def run_child_validation(self, data):
        result, errors = [], []
        for n, item in enumerate(data, start=1):
            try:
                result.append(self.child.run_validation(item))
            except serializers.ValidationError as exc:
                errors += [
                    _("Stop %(n)s: %(error)s") % {"n": n, "error": message}
                    for message in messages_of(exc.detail)
                ]
        if errors:
            raise serializers.ValidationError(errors)
        return result


class SendOnSerializer(serializers.Serializer):
    """The patient's next stops, in order, after the one they are at now."""

    stops = StopsField(child=NextStopSerializer(), min_length=1, max_length=visits.MAX_NEW_STOPS)

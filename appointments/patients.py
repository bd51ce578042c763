"""Patients at the desk: registered once, found again, corrected with a record of why.

A patient is registered once, with a hospital number printed on their slip (UHID-style,
see hospital_number_for), a name, a year of birth (or an age, kept as the year it gives),
sex and, only if they have one, a mobile: many patients have none, and no step here
requires one. An unconscious emergency patient is registered as "Unknown male, about 40"
and corrected later; every registration, correction and token linked is a PatientEvent
naming who did it.

The booking paths (held, walk-in, waiting list) find a returning patient by mobile
(find_or_register_patient). The stored name is kept (it is the name on the hospital's
records; a retyped name must not silently rename them) unless it is empty; an email given
now replaces the stored one (the confirmation goes where they asked).

A full mobile number is never written to a PatientEvent or a log: only its last four
digits (hospital.phones.mask_mobile).
"""

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from appointments.errors import BookingError, require_actor
from appointments.models import Appointment, Patient, PatientEvent
from hospital.clock import local_today
from hospital.languages import patient_language
from hospital.phones import InvalidMobile, mask_mobile, mobile_search, normalize_mobile
from hospital.text import InvalidText, clean_patient_name, clean_text
from queues.models import Token, Visit, VisitStop
from queues.services import QueueError, issue_token
from queues.visits import link_patient

MAX_REASON_LENGTH = Appointment._meta.get_field("reason").max_length
MAX_EMAIL_LENGTH = Patient._meta.get_field("email").max_length


def clean_mobile(raw: str) -> str:
    try:
        mobile = normalize_mobile(raw)
    except InvalidMobile as exc:
        raise BookingError(str(exc)) from None
    if not mobile:
        raise BookingError(gettext("Enter the patient's mobile number; the code is sent there."))
    return mobile


def clean_email(raw: str) -> str:
    email = (raw or "").strip()
    if not email:
        return ""
    if len(email) > MAX_EMAIL_LENGTH:
        raise BookingError(gettext("That email address is too long."))
    try:
        validate_email(email)
    except ValidationError:
        raise BookingError(gettext("Enter a valid email address, or leave it empty.")) from None
    return email


def clean_reason(raw: str) -> str:
    """The illness or reason for the visit (required)."""
    try:
        return clean_text(raw, gettext_noop("reason for the visit"), MAX_REASON_LENGTH)
    except InvalidText as exc:
        raise BookingError(str(exc)) from None


def clean_patient_details(patient_name: str, mobile: str, reason: str) -> tuple[str, str, str]:
    """The patient's name, mobile (E.164) and reason for the visit, as every booking path
    stores them; a BookingError says what is wrong."""
    try:
        name = clean_patient_name(patient_name)
    except InvalidText as exc:
        raise BookingError(str(exc)) from None
    return name, clean_mobile(mobile), clean_reason(reason)


def find_or_register_patient(
    mobile: str, name: str, email: str = "", *, actor=None, now=None
) -> Patient:
    """The patient with this (clean) mobile, registered now if there is none. Call inside
    the caller's transaction: the row stays locked to its end (PostgreSQL: the row lock;
    SQLite: the database write lock), so what the caller checks next about the patient
    (the codes sent today) is not raced by another desk. Two desks registering one new
    patient at once both end with the one row: the loser's insert is refused by the
    unique mobile, inside get_or_create's own savepoint, and it reads the winner's row."""
    patient, created = Patient.objects.select_for_update().get_or_create(
        mobile=mobile, defaults={"name": name, "email": email}
    )
    if created:
        number_and_record(patient, actor=actor, now=now, note="Registered while booking")
        return patient
    if not patient.hospital_number:
        give_hospital_number(patient)
    changed = []
    if not patient.name:
        patient.name = name
        changed.append("name")
    if email and email != patient.email:
        patient.email = email
        changed.append("email")
    if changed:
        patient.save(update_fields=changed)
    return patient


# --- Registering --------------------------------------------------------------------------

# The hospital number (UHID-style), printed on the slip: "UH" and the patient row's own id,
# zero-padded to at least 7 digits ("UH0000042"; the 10 millionth patient is "UH10000000").
# It is set from the id in the transaction that inserts the row, so two desks can never
# give out one number, no counter row is needed, and the number never changes.
HOSPITAL_NUMBER_PREFIX = "UH"
HOSPITAL_NUMBER = re.compile(r"(?:UH)?0*([0-9]{1,12})", re.ASCII)
OLDEST_AGE = 120
FIND_LIMIT = 50
MAX_CORRECTION_REASON_LENGTH = 100
MAX_EVENT_NOTE_LENGTH = PatientEvent._meta.get_field("note").max_length
# What an unknown patient is called until they are identified: "Unknown male, about 40".
UNKNOWN_BY_SEX = {Patient.Sex.MALE: "Unknown male", Patient.Sex.FEMALE: "Unknown female"}
# "Not given" for correct_patient, where None and "" are real values (no mobile).
UNCHANGED = object()


def hospital_number_for(pk: int) -> str:
    return f"{HOSPITAL_NUMBER_PREFIX}{pk:07d}"


def give_hospital_number(patient: Patient) -> None:
    """Number a patient registered before hospital numbers were given (in the caller's
    transaction)."""
    patient.hospital_number = hospital_number_for(patient.pk)
    patient.save(update_fields=["hospital_number"])


def _signed_in(actor):
    return actor if actor is not None and actor.is_authenticated else None


def record_patient_event(patient: Patient, kind: str, *, actor, now, note: str = "") -> None:
    PatientEvent.objects.create(
        patient=patient,
        kind=kind,
        actor=_signed_in(actor),
        at=now or timezone.now(),
        note=note[:MAX_EVENT_NOTE_LENGTH],
    )


def number_and_record(patient: Patient, *, actor, now, note: str) -> None:
    """A patient row just inserted: its hospital number and its REGISTERED event, in the
    inserting transaction."""
    give_hospital_number(patient)
    record_patient_event(patient, PatientEvent.Kind.REGISTERED, actor=actor, now=now, note=note)


def clean_optional_mobile(raw) -> str:
    """A mobile in E.164, or "" when none was given (many patients have none)."""
    try:
        return normalize_mobile(str(raw or ""))
    except InvalidMobile as exc:
        raise BookingError(str(exc)) from None


def clean_sex(raw) -> str:
    sex = str(raw or "").strip().upper()
    if sex not in Patient.Sex.values:
        raise BookingError(
            gettext("Choose the patient's sex: female, male, other or not recorded.")
        )
    return sex


def clean_language(raw) -> str:
    """ "" (not asked) or one of the patient languages."""
    code = str(raw or "").strip().lower()
    if code and code not in settings.PATIENT_LANGUAGES:
        raise BookingError(gettext("Choose a language from the list."))
    return code


def language_of(patient: Patient | None) -> str:
    """The language of a registered patient's slips and SMS: the one they told the desk,
    else the one they chose at a kiosk for their latest token, else the default."""
    if patient is None:
        return settings.LANGUAGE_CODE
    chosen = patient.language or (
        Token.objects.filter(visit__patient=patient)
        .order_by("-issued_at")
        .values_list("language", flat=True)
        .first()
    )
    return patient_language(chosen)


def clean_age(age) -> int:
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= OLDEST_AGE:
        raise BookingError(
            gettext("Enter an age from 0 to %(oldest)s years.") % {"oldest": OLDEST_AGE}
        )
    return age


def clean_year_of_birth(year, today: datetime.date) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        raise BookingError(gettext("Enter the year of birth as four digits, e.g. 1984."))
    if year > today.year:
        raise BookingError(
            gettext("The year of birth cannot be in the future (after %(year)s).")
            % {"year": today.year}
        )
    if year < today.year - OLDEST_AGE:
        raise BookingError(
            gettext(
                "The year of birth is more than %(oldest)s years ago; check it, or enter the age."
            )
            % {"oldest": OLDEST_AGE}
        )
    return year


def birth_year(*, year_of_birth, age, today: datetime.date) -> int | None:
    """The year of birth, given as a year or as an age (years old today)."""
    if year_of_birth is not None and age is not None:
        if clean_year_of_birth(year_of_birth, today) != today.year - clean_age(age):
            raise BookingError(gettext("Enter the age or the year of birth, not both."))
    if age is not None:
        return today.year - clean_age(age)
    if year_of_birth is not None:
        return clean_year_of_birth(year_of_birth, today)
    return None


def unknown_patient_name(sex: str, age: int | None) -> str:
    """ "Unknown male, about 40": what an unidentified patient is called until corrected."""
    name = UNKNOWN_BY_SEX.get(sex, "Unknown patient")
    return name if age is None else f"{name}, about {age}"


def mobile_taken_refusal(mobile: str, *, exclude_pk=None) -> str:
    holder = Patient.objects.filter(mobile=mobile).exclude(pk=exclude_pk).first()
    if holder is None:
        return ""
    return gettext(
        "Mobile %(mobile)s is already registered to %(name)s (%(number)s): find them by it, "
        "or leave the mobile empty for this patient."
    ) % {
        "mobile": mask_mobile(mobile),
        "name": holder.name,
        "number": holder.hospital_number or gettext("no hospital number yet"),
    }


def _save_with_mobile(patient: Patient, mobile: str, **save_kwargs) -> None:
    """Save a patient whose mobile may be another's. The check reads first (a clear
    message naming who has it); a desk racing us past the check is refused by the unique
    mobile inside this savepoint, and told the same."""
    refusal = mobile and mobile_taken_refusal(mobile, exclude_pk=patient.pk)
    if refusal:
        raise BookingError(refusal)
    try:
        with transaction.atomic():
            patient.save(**save_kwargs)
    except IntegrityError:
        raise BookingError(
            mobile_taken_refusal(mobile, exclude_pk=patient.pk)
            or gettext("Another desk just saved this patient; look them up again.")
        ) from None


def register_patient(
    name: str = "",
    *,
    year_of_birth: int | None = None,
    age: int | None = None,
    age_is_estimate: bool = False,
    sex: str = "",
    mobile: str = "",
    email: str = "",
    language: str = "",
    unknown: bool = False,
    actor,
    now=None,
) -> Patient:
    """Register a patient at the desk: a hospital number and a REGISTERED event, in one
    transaction. The mobile is optional; one already registered to someone else is
    refused with their name and number (the desk finds them instead).

    `unknown`: an emergency patient who cannot say who they are. Their name is made from
    sex and age ("Unknown male, about 40"), the age is an estimate, no mobile is taken;
    correct_patient names them later."""
    now = now or timezone.now()
    require_actor(actor)
    today = local_today(now)
    sex = clean_sex(sex)
    language = clean_language(language)
    if unknown:
        if str(mobile or "").strip() or str(email or "").strip():
            raise BookingError(
                gettext(
                    "An unknown patient is registered without a mobile or email; "
                    "add them when the patient is identified."
                )
            )
        if age is None and year_of_birth is not None:
            age = today.year - clean_year_of_birth(year_of_birth, today)
        name = unknown_patient_name(sex, None if age is None else clean_age(age))
        year = birth_year(year_of_birth=None, age=age, today=today)
        age_is_estimate, mobile, email = True, "", ""
        note = "Registered as an unknown patient (emergency)"
    else:
        try:
            name = clean_patient_name(name)
        except InvalidText as exc:
            raise BookingError(str(exc)) from None
        year = birth_year(year_of_birth=year_of_birth, age=age, today=today)
        if year is None:
            raise BookingError(
                gettext(
                    "Enter the patient's age or year of birth (a guess will do: "
                    "tick “age is an estimate”)."
                )
            )
        mobile, email = clean_optional_mobile(mobile), clean_email(email)
        note = "Registered at the desk"
    patient = Patient(
        name=name,
        mobile=mobile or None,
        email=email,
        year_of_birth=year,
        age_is_estimate=bool(age_is_estimate),
        sex=sex,
        language=language,
    )
    with transaction.atomic():
        _save_with_mobile(patient, mobile, force_insert=True)
        number_and_record(patient, actor=actor, now=now, note=note)
    return patient


# --- Finding ------------------------------------------------------------------------------


def find_patients(query: str, *, limit: int = FIND_LIMIT) -> QuerySet[Patient]:
    """Patients whose hospital number is `query` (any case, "UH0000042", "uh42" or "42"),
    whose mobile is `query` (typed any way: "98123 45678", "+91 98123-45678"), or whose
    name contains it; by name. Nothing for an empty query."""
    # Only printable characters are searched: PostgreSQL refuses a NUL in a parameter.
    query = " ".join("".join(c for c in str(query or "") if c.isprintable()).split())[:100]
    if not query:
        return Patient.objects.none()
    match = Q(name__icontains=query) | Q(hospital_number__iexact=query)
    number = HOSPITAL_NUMBER.fullmatch(query.replace(" ", "").upper())
    if number:
        match |= Q(hospital_number=hospital_number_for(int(number.group(1))))
    match |= mobile_search(query)
    return Patient.objects.filter(match).order_by("name", "pk")[:limit]


def visits_of(patient: Patient, *, limit: int = 50):
    """The patient's visits, newest first, with their stops, for the desk."""
    stops = VisitStop.objects.select_related("department", "doctor", "token", "token__department")
    return list(
        Visit.objects.filter(patient=patient)
        .order_by("-service_date", "-started_at")
        .prefetch_related(Prefetch("stops", queryset=stops))[:limit]
    )


# --- Correcting ---------------------------------------------------------------------------


def _year_text(year, estimate) -> str:
    if year is None:
        return "not recorded"
    return f"{year}{' (estimate)' if estimate else ''}"


def correct_patient(
    patient: Patient,
    *,
    actor,
    reason: str,
    now=None,
    name=UNCHANGED,
    year_of_birth=UNCHANGED,
    age=UNCHANGED,
    age_is_estimate=UNCHANGED,
    sex=UNCHANGED,
    mobile=UNCHANGED,
    email=UNCHANGED,
    language=UNCHANGED,
) -> Patient:
    """Correct a patient's details (an unknown patient identified, a name misspelt, a new
    mobile) and record a CORRECTED event naming the fields changed, their old and new
    values (a mobile only masked, an email not at all) and why. A field not given is
    left as it is; `mobile=""` removes the mobile. Nothing changed is refused."""
    now = now or timezone.now()
    require_actor(actor)
    try:
        reason = clean_text(
            reason, gettext_noop("reason for the correction"), MAX_CORRECTION_REASON_LENGTH
        )
    except InvalidText as exc:
        raise BookingError(str(exc)) from None
    today = local_today(now)
    with transaction.atomic():
        # The row lock: two desks correcting one patient apply one after the other, each
        # recording what it changed from what the other left.
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        changes: list[str] = []
        fields: list[str] = []

        def change(field: str, value, said: str) -> None:
            if value != getattr(patient, field):
                setattr(patient, field, value)
                fields.append(field)
                if said:
                    changes.append(said)

        if name is not UNCHANGED:
            try:
                new_name = clean_patient_name(name)
            except InvalidText as exc:
                raise BookingError(str(exc)) from None
            change("name", new_name, f"name “{patient.name}” → “{new_name}”")
        old_year, old_estimate = patient.year_of_birth, patient.age_is_estimate
        year = birth_year(
            year_of_birth=None if year_of_birth is UNCHANGED else year_of_birth,
            age=None if age is UNCHANGED else age,
            today=today,
        )
        if year is not None:
            change("year_of_birth", year, "")
        if age_is_estimate is not UNCHANGED:
            change("age_is_estimate", bool(age_is_estimate), "")
        if (patient.year_of_birth, patient.age_is_estimate) != (old_year, old_estimate):
            changes.append(
                f"year of birth {_year_text(old_year, old_estimate)} → "
                f"{_year_text(patient.year_of_birth, patient.age_is_estimate)}"
            )
        if sex is not UNCHANGED:
            new_sex = clean_sex(sex)
            change(
                "sex",
                new_sex,
                f"sex {patient.get_sex_display().lower()} → {Patient.Sex(new_sex).label.lower()}",
            )
        new_mobile = patient.mobile
        if mobile is not UNCHANGED:
            new_mobile = clean_optional_mobile(mobile) or None
            change(
                "mobile",
                new_mobile,
                f"mobile {mask_mobile(patient.mobile or '') or 'none'} → "
                f"{mask_mobile(new_mobile or '') or 'none'}",
            )
        if email is not UNCHANGED:
            change("email", clean_email(email), "email changed")
        if language is not UNCHANGED:
            new_language = clean_language(language)
            change(
                "language",
                new_language,
                f"language {patient.language or 'not asked'} → {new_language or 'not asked'}",
            )
        if not fields:
            raise BookingError(gettext("Nothing was changed: the details are as they were."))
        if not patient.hospital_number:
            patient.hospital_number = hospital_number_for(patient.pk)
            fields.append("hospital_number")
        _save_with_mobile(patient, new_mobile or "", update_fields=fields)
        why = f" Why: {reason}"
        said = "Corrected " + "; ".join(changes) + "."
        room = MAX_EVENT_NOTE_LENGTH - len(why)
        if len(said) > room:
            said = said[: room - 1] + "…"
        record_patient_event(
            patient, PatientEvent.Kind.CORRECTED, actor=actor, now=now, note=said + why
        )
    return patient


# --- Tokens -------------------------------------------------------------------------------

TOKEN_NUMBER = re.compile(r"([A-Z0-9]{1,6})\s*-?\s*0*([0-9]{1,4})", re.ASCII)


def token_of_today(display_number: str, *, now=None):
    """Today's token written as on its slip ("ORTH-012", "orth 12"), or a BookingError."""
    text = " ".join(str(display_number or "").split()).upper()[:20]
    match = TOKEN_NUMBER.fullmatch(text)
    if not match:
        raise BookingError(gettext("Enter the token number as printed on the slip, e.g. ORTH-012."))
    code, number = match.group(1), int(match.group(2))
    token = (
        Token.objects.select_related("department", "visit")
        .filter(department__code=code, number=number, service_date=local_today(now))
        .first()
    )
    if token is None:
        shown = Token.format_number(code, number)
        raise BookingError(
            gettext("There is no token %(number)s today. Check the number on the slip.")
            % {"number": shown}
        )
    return token


def link_token(token, patient: Patient, *, actor, now=None):
    """Tie a token's visit (a kiosk token, say) to the registered patient: their record
    lists the visit from now on, and a LINKED event says who linked which token. Linking
    it again to the same patient changes nothing; a visit of another patient is refused."""
    now = now or timezone.now()
    require_actor(actor)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        token = Token.objects.select_related("department", "visit").get(pk=token.pk)
        if token.visit is None:
            raise BookingError(
                gettext("%(token)s was issued before visits were kept; it cannot be linked.")
                % {"token": token}
            )
        if token.visit.patient_id == patient.pk:
            return token.visit
        if not patient.hospital_number:
            give_hospital_number(patient)
        try:
            visit = link_patient(token.visit, patient, actor=actor, now=now)
        except QueueError as exc:
            raise BookingError(str(exc)) from None
        record_patient_event(
            patient,
            PatientEvent.Kind.LINKED,
            actor=actor,
            now=now,
            note=f"Token {token.display_number} of {token.service_date:%d %b %Y}",
        )
    return visit


def give_token(patient: Patient, department, *, emergency: bool = False, actor, now=None):
    """A token for the registered patient, issued at the desk (a walk-in visit). An
    emergency goes to the department's pool: the first free doctor calls it."""
    require_actor(actor)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        if not patient.hospital_number:
            give_hospital_number(patient)
        try:
            return issue_token(
                department,
                patient.name,
                mobile=patient.mobile or "",
                language=language_of(patient),
                priority=Token.Priority.EMERGENCY if emergency else Token.Priority.NORMAL,
                actor=actor,
                now=now,
                source=Visit.Source.WALK_IN,
                patient=patient,
            )
        except QueueError as exc:
            raise BookingError(str(exc)) from None


def register_and_give_token(*, department, emergency: bool = False, actor, now=None, **details):
    """register_patient and give_token in one transaction: if no token can be given (the
    department is closed today), nobody is registered either, and the desk is told why."""
    now = now or timezone.now()
    with transaction.atomic():
        patient = register_patient(actor=actor, now=now, **details)
        token = give_token(patient, department, emergency=emergency, actor=actor, now=now)
    return patient, token

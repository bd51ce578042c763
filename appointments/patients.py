"""Patients at the desk: the details every booking path (held, walk-in, waiting list)
stores, cleaned one way, and the patient found by mobile or registered.

A returning patient is found by mobile. The stored name is kept (it is the name on the
hospital's records; a retyped name must not silently rename them) unless it is empty;
an email given now replaces the stored one (the confirmation goes where they asked).
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from appointments.errors import BookingError
from appointments.models import Appointment, Patient
from hospital.phones import InvalidMobile, normalize_mobile
from hospital.text import InvalidText, clean_patient_name, clean_text

MAX_REASON_LENGTH = Appointment._meta.get_field("reason").max_length
MAX_EMAIL_LENGTH = Patient._meta.get_field("email").max_length


def clean_mobile(raw: str) -> str:
    try:
        mobile = normalize_mobile(raw)
    except InvalidMobile as exc:
        raise BookingError(str(exc)) from None
    if not mobile:
        raise BookingError("Enter the patient's mobile number; the code is sent there.")
    return mobile


def clean_email(raw: str) -> str:
    email = (raw or "").strip()
    if not email:
        return ""
    if len(email) > MAX_EMAIL_LENGTH:
        raise BookingError("That email address is too long.")
    try:
        validate_email(email)
    except ValidationError:
        raise BookingError("Enter a valid email address, or leave it empty.") from None
    return email


def clean_reason(raw: str) -> str:
    """The illness or reason for the visit (required)."""
    try:
        return clean_text(raw, "reason for the visit", MAX_REASON_LENGTH)
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


def find_or_register_patient(mobile: str, name: str, email: str = "") -> Patient:
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
        return patient
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

"""Mobile numbers: read in the hospital's region, stored in E.164."""

import phonenumbers
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext


class InvalidMobile(ValueError):
    pass


def normalize_mobile(raw: str, region: str | None = None) -> str:
    """Return `raw` as E.164 ("+919812345678"), or raise InvalidMobile with a message
    a receptionist can read out. An empty input gives an empty string."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    if len(raw) > 30:
        raise InvalidMobile(gettext("That mobile number is too long."))
    try:
        number = phonenumbers.parse(raw, region or settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidMobile(gettext("Enter a valid mobile number, e.g. 98123 45678.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidMobile(gettext("Enter a valid mobile number, e.g. 98123 45678."))
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidMobile(gettext("That is not a mobile number; enter one that can receive SMS."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str) -> str:
    """'+919812345678' -> '••••••5678', for staff screens that only need to tell apart."""
    return f"••••••{e164[-4:]}" if e164 else ""


def mobile_search(query: str, *, min_digits: int = 6) -> Q:
    """What a search box's text matches among stored mobiles: the whole number typed any
    way ("98123 45678", "+91 98123-45678"), or, for mostly digits, part of one being
    typed. Matches nothing when the text is no number."""
    match = Q(pk__in=[])
    try:
        mobile = normalize_mobile(query)
    except InvalidMobile:
        mobile = ""
    if mobile:
        match |= Q(mobile=mobile)
    digits = "".join(c for c in query if c.isascii() and c.isdigit())
    if len(digits) >= min_digits and len(digits) >= len(query.replace(" ", "")) - 1:
        match |= Q(mobile__contains=digits)
    return match

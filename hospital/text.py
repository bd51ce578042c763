"""Cleaning what staff and patients type: one rule for names and short notes, used by
every app, so a patient's name is stored the same whether it came from the kiosk, the
desk or the waiting list."""

import unicodedata

# Token.patient_name and Patient.name are both this long.
MAX_NAME_LENGTH = 100


class InvalidText(ValueError):
    """The message says what is wrong, in words a person can read."""


def clean_text(raw: str | None, what: str, limit: int) -> str:
    """`raw` with runs of white space folded to one space; refuses an empty, over-long or
    unprintable text, naming it as `what` ("patient's name")."""
    text = " ".join((raw or "").split())
    if not text:
        raise InvalidText(f"Enter the {what}.")
    if len(text) > limit:
        raise InvalidText(f"The {what} is too long (at most {limit} characters).")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InvalidText(f"The {what} contains characters that cannot be printed.")
    return text


def clean_patient_name(raw: str | None) -> str:
    return clean_text(raw, "patient's name", MAX_NAME_LENGTH)


def clean_note(raw: str | None, limit: int) -> str:
    """An optional note or reason: folded and cut to `limit`, empty allowed."""
    return " ".join((raw or "").split())[:limit]

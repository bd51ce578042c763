"""Cleaning what staff and patients type: one rule for names and short notes, used by
every app, so a patient's name is stored the same whether it came from the kiosk, the
desk or the waiting list."""

import unicodedata

from django.utils.translation import gettext, gettext_noop

# Token.patient_name and Patient.name are both this long.
MAX_NAME_LENGTH = 100


class InvalidText(ValueError):
    """The message says what is wrong, in words a person can read."""


def clean_text(raw: str | None, what: str, limit: int) -> str:
    """`raw` with runs of white space folded to one space; refuses an empty, over-long or
    unprintable text, naming it as `what` ("patient's name", marked by the caller with
    gettext_noop and translated here, in the asker's language)."""
    text = " ".join((raw or "").split())
    named = {"what": gettext(what), "limit": limit}
    if not text:
        raise InvalidText(gettext("Enter the %(what)s.") % named)
    if len(text) > limit:
        raise InvalidText(
            gettext("The %(what)s is too long (at most %(limit)s characters).") % named
        )
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise InvalidText(
            gettext("The %(what)s contains characters that cannot be printed.") % named
        )
    return text


def clean_patient_name(raw: str | None) -> str:
    return clean_text(raw, gettext_noop("patient's name"), MAX_NAME_LENGTH)


def clean_note(raw: str | None, limit: int) -> str:
    """An optional note or reason: folded and cut to `limit`, empty allowed."""
    return " ".join((raw or "").split())[:limit]

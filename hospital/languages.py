"""The hospital's languages: which one a page, a slip or a message is in, and the names of
departments, counters and categories in it.

Names given per language in the admin live in `<field>_<code>` columns (`name_hi`,
`name_ta`) beside the English `name`; an empty one falls back to English, so a hospital
can translate as it goes. Explicit columns rather than a model-translation library: three
languages, a handful of names, and nothing that rewrites the models' managers.
"""

from django.conf import settings
from django.utils import translation


def patient_language(code: str | None) -> str:
    """`code` if it is one of the patient-facing languages, else the default (English)."""
    code = (code or "").strip().lower()
    return code if code in settings.PATIENT_LANGUAGES else settings.LANGUAGE_CODE


def current_language() -> str:
    """The active language as one of ours ("hi", not "hi-in")."""
    return patient_language((translation.get_language() or "").split("-")[0])


def localized(obj, field: str = "name", language: str | None = None) -> str:
    """`obj.<field>` in `language` (the active one by default), falling back to English."""
    code = patient_language(language) if language else current_language()
    if code != settings.LANGUAGE_CODE:
        value = getattr(obj, f"{field}_{code}", "")
        if value:
            return value
    return getattr(obj, field)


def all_names(obj, field: str = "name") -> dict[str, str]:
    """{code: name} in every patient language, for payloads that every screen shares."""
    return {code: localized(obj, field, code) for code in settings.PATIENT_LANGUAGES}


def language_choices() -> list[tuple[str, str]]:
    """(code, name in its own script) for the patient pickers."""
    return list(settings.LANGUAGES)


def staff_language_choices() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES if code in settings.STAFF_LANGUAGES]

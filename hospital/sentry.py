"""Error reports to Sentry, or a server that speaks its protocol (GlitchTip), when
SENTRY_DSN is set (hospital/settings.py).

No personal data leaves the hospital: send_default_pii=False keeps out cookies, users,
addresses and request bodies, and scrub_event removes, from every text of the event
(messages, exception values, local variables, breadcrumbs, the query string), what could
still name a patient or open an account: mobile numbers, 6-digit codes (OTPs, two-step
sign-in), password-reset links and API keys. A report says what failed and where, which
is all the developers need.
"""

import re

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

FILTERED = "[Filtered]"

# Order matters: a reset link and an API key before the digits inside them.
PATTERNS = [
    # /accounts/reset/<uidb64>/<token>/: the link is the key to the account.
    (re.compile(r"(/reset/)[^/\s\"']+/[^/\s\"']+"), r"\1" + FILTERED),
    # API keys as api.keys makes them ("opdq_…").
    (re.compile(r"\bopdq_[A-Za-z0-9_\-]{8,}"), FILTERED),
    # A phone number: 10 to 15 digits, perhaps after + or 00, perhaps grouped by spaces
    # or dashes ("+91 98123 45678", "098123-45678", "+919812345678"), also as a query
    # string writes them ("%2B91+98123%2045678").
    (
        re.compile(r"(?<![\w.\-])(?:\+|00|%2[Bb])?\d(?:(?:[ \-+]|%20)?\d){9,14}(?!\w)"),
        FILTERED,
    ),
    # A code texted or shown by an authenticator: six digits standing alone.
    (re.compile(r"(?<![\w.:\-])\d{6}(?![\w:\-])"), FILTERED),
]

# Fields Sentry itself fills with ids, times and versions: left as they are.
STRUCTURAL_KEYS = frozenset(
    {"event_id", "timestamp", "start_timestamp", "trace_id", "span_id", "parent_span_id",
     "release", "environment", "sdk", "modules", "platform", "level"}
)  # fmt: skip


def scrub_text(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value):
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: (item if key in STRUCTURAL_KEYS else _scrub(item)) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        # A mobile or a code kept as a number in a local variable.
        scrubbed = scrub_text(str(value))
        return scrubbed if scrubbed != str(value) else value
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send (and before_send_transaction): the event with every text
    scrubbed."""
    return _scrub(event)


def init_sentry(dsn: str, *, environment: str = "production", release: str = "") -> None:
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        environment=environment,
        release=release or None,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=lambda crumb, hint: _scrub(crumb),
        # Errors only: no performance tracing unless a hospital asks for it.
        traces_sample_rate=0.0,
    )

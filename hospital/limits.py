"""How much one client may take: counted with django-ratelimit in Django's cache (Redis
when REDIS_URL or REDIS_SENTINELS is set, so every server process counts together).

A limit is a rate such as "5/h" in settings; an empty one (or "off") turns it off, e.g.
for a load test on a laptop. Counting fails open: if the cache (Redis) is down nobody is
refused, because the queue itself lives in the database and must go on working.
"""

import hashlib
import logging

from django.conf import settings
from django_ratelimit.core import is_ratelimited

logger = logging.getLogger(__name__)


def limit(name: str) -> str | None:
    rate = (getattr(settings, name, "") or "").strip()
    return None if rate.lower() in ("", "off", "0") else rate


def over_limit(request, group: str, value: str, rate_setting: str) -> bool:
    """Count one more use of `group` by `value` (a client, a mobile, an account) and say
    whether it went over the rate in settings.<rate_setting>. `value` is hashed, so no
    mobile number or e-mail address is kept in the cache."""
    rate = limit(rate_setting)
    if rate is None:
        return False
    digest = hashlib.sha256(value.encode()).hexdigest()
    try:
        return is_ratelimited(
            request, group=group, key=lambda _group, _request: digest, rate=rate, increment=True
        )
    except Exception as exc:  # the cache is down: the database is the truth, go on
        logger.warning("Rate limit %s not counted: %r", group, exc)
        return False

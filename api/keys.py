"""Making, checking and revoking API keys.

A key reads `opdq_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole
key must match. The secret has 256 random bits, so a fast hash is enough (no password
hashing is needed for a value nobody chose)."""

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, Scope

KEY_START = "opdq_"
# last_used_at is written at most this often per key, not on every request.
LAST_USED_EVERY_SECONDS = 60


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(name: str, scopes: list[str], *, created_by=None, now=None) -> tuple[ApiKey, str]:
    """A new key and its secret, which is shown once and never stored."""
    unknown = set(scopes) - set(Scope.values)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    now = now or timezone.now()
    prefix = secrets.token_hex(4)
    raw = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        # The key's own account: what it does is logged with this user. It cannot sign in.
        user = get_user_model().objects.create_user(username=f"api-{prefix}", first_name=name)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        key = ApiKey.objects.create(
            name=name, prefix=prefix, key_hash=hash_key(raw), scopes=sorted(set(scopes)),
            user=user, created_by=created_by, created_at=now,
        )  # fmt: skip
    return key, raw


def find_key(raw: str) -> ApiKey | None:
    """The active key `raw` is, or None (unknown, malformed or revoked)."""
    if not raw.startswith(KEY_START) or len(raw) > 200:
        return None
    prefix = raw[len(KEY_START) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if key is None or not secrets.compare_digest(key.key_hash, hash_key(raw)):
        return None
    if not key.is_active or not key.user.is_active:
        return None
    now = timezone.now()
    if (
        key.last_used_at is None
        or (now - key.last_used_at).total_seconds() > LAST_USED_EVERY_SECONDS
    ):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def revoke(key: ApiKey, *, now=None) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )

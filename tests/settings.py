"""Settings for the test suite: the real settings, with a throwaway key and a fast
password hasher (Argon2 is deliberately slow; the tests log in hundreds of times)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")

from hospital.settings import *  # noqa: E402,F403
from hospital.settings import PASSWORD_HASHERS as PRODUCTION_PASSWORD_HASHERS  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_PASSWORD_HASHERS]

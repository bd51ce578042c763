"""Settings for the test suite: the real settings, with a throwaway key and a fast
password hasher (Argon2 is deliberately slow; the tests log in hundreds of times)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
# The worker's tasks run at once, in the test's process, when the change commits: tests
# read the texted codes from the outbox file right after a booking. Tests of the worker
# itself send with appointments.notify.send_due or run `manage.py qcluster`.
os.environ.setdefault("WORKER_SYNC", "1")

from hospital.settings import *  # noqa: E402,F403
from hospital.settings import PASSWORD_HASHERS as PRODUCTION_PASSWORD_HASHERS  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_PASSWORD_HASHERS]

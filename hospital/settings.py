"""OPD Queue settings, read from the environment with safe defaults for a laptop.

The table of variables lives in README.md; keep the two in step.
"""

import datetime
import ipaddress
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from hospital import redis_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(a long random string), or DEBUG=1 for a development server."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "hospital.apps.HospitalAdminConfig",  # django.contrib.admin, staff only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_q",
    "hospital",
    "queues",
    "appointments",
    "supervision",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    # First, so it counts what the client finally got (hospital/metrics.py).
    "hospital.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the language cookie (the kiosk's and the staff menu's picker),
    # then the browser's Accept-Language, then English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session has passed two-step sign-in.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "hospital.middleware.IdleTimeoutMiddleware",
    "hospital.two_factor.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hospital.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # LANGUAGE_CODE for every template (the catalog's address, <html lang>).
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hospital.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "hospital.wsgi.application"
ASGI_APPLICATION = "hospital.asgi.application"

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
_db = DATABASES["default"]
_run_id = os.getpid()
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers (TVs, boards) work while a writer holds the lock; IMMEDIATE takes
    # the write lock at BEGIN, so two writers queue on the busy timeout instead of one
    # failing with "database is locked" when it upgrades a read lock mid-transaction.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Keep a connection per thread for a minute instead of opening one (and running
    # the PRAGMAs) per request.
    _db["CONN_MAX_AGE"] = 60
    _db["CONN_HEALTH_CHECKS"] = True
    # A file, not ":memory:", so concurrency tests can open several real connections;
    # per process, so two test runs on one machine never share it.
    _db["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME") or f"/tmp/opdq-test-{_run_id}.sqlite3"}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Django's connection pool (psycopg 3): connections are reused across requests and
    # bounded per process, whatever the server's threads do. Not in the worker (manage.py
    # qcluster): it forks its processes from a parent whose pooled connections stay open
    # when Django "closes" them, so parent and children would share server sessions and
    # their prepared statements collide ("_pg3_0 already exists": no schedule ran).
    # Plain connections are really closed before the fork; each process opens its own.
    _db.setdefault("OPTIONS", {})
    if sys.argv[1:2] == ["qcluster"]:
        # Its connections are kept between tasks instead: opening a server session for
        # every task showed in the worker's profile (bench/day.py).
        _db["CONN_MAX_AGE"] = env_int("WORKER_CONN_MAX_AGE", 300)
        _db["CONN_HEALTH_CHECKS"] = True
    else:
        _db["OPTIONS"]["pool"] = {
            "min_size": env_int("DB_POOL_MIN", 1),
            "max_size": env_int("DB_POOL_MAX", 10),
            # How long a request waits for a free connection before it fails with the
            # error page: during a database restart a long wait only piles requests up.
            "timeout": env_int("DB_POOL_TIMEOUT", 5),
        }
    # Parameters bound by the server (Django's documented option), which also lets
    # psycopg prepare a statement after this many runs on a connection, so PostgreSQL
    # stops re-planning the queue's few hot queries. Django leaves both off for external
    # poolers: set DB_PREPARE_THRESHOLD=0 behind pgbouncer in transaction mode.
    _db["OPTIONS"]["server_side_binding"] = True
    _prepare = env_int("DB_PREPARE_THRESHOLD", 5)
    _db["OPTIONS"]["prepare_threshold"] = _prepare if _prepare > 0 else None
    _db["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME") or f"test_opdq_{_run_id}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The reverse proxy's own addresses (nginx in docs/DEPLOYMENT.md). Only a request that
# came from one of them has its client address read from X-Forwarded-For, and only the
# entry that proxy appended (hospital/clientip.py).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
if TRUSTED_PROXIES:
    # The proxy sets X-Forwarded-Proto on every request (deploy/nginx.conf), so it can
    # say whether the patient's browser used HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Channels -------------------------------------------------------------------------
# Open websockets per client address and server process (hospital.sockets); 0: no limit.
# A TV holds one per department it shows; nginx's limit_conn caps the sum over processes.
WS_MAX_PER_CLIENT = env_int("WS_MAX_PER_CLIENT", 50)
# Redis: one server (REDIS_URL), a master found through Sentinel (REDIS_SENTINELS,
# REDIS_SENTINEL_MASTER, REDIS_SENTINEL_PASSWORD, REDIS_PASSWORD), or none: one process,
# which keeps the layer and the cache in memory (make run, a small clinic). Parsed and
# checked in hospital/redis_config.py.
REDIS = redis_config.from_env(os.environ)
REDIS_URL = REDIS.url
REDIS_ENABLED = REDIS.enabled  # every server process shares the pushes and the limits
# Several hospitals (or test runs) can share one Redis under different prefixes.
CHANNEL_PREFIX = os.environ.get("CHANNEL_PREFIX", "opdq")
# The pub/sub layer with Redis: one PUBLISH per group message, each process fanning out
# to its own sockets; in memory otherwise.
CHANNEL_LAYERS = redis_config.channel_layers(REDIS, CHANNEL_PREFIX)

# --- Cache and abuse limits -----------------------------------------------------------
# The cache counts what each client takes (hospital/limits.py). With Redis every process
# counts there together, with 1 s socket timeouts (a blip fails open); without it the
# process's memory is enough.
CACHES = redis_config.caches(REDIS, CHANNEL_PREFIX)
# The staff terminals' lists, rendered once per queue version (queues/terminal.py), kept
# in each process's own memory: nothing to share that is worth a Redis round trip, and
# nothing a Redis outage could slow down.
CACHES["terminals"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "terminals",
    "TIMEOUT": 60,
}
RATELIMIT_IP_META_KEY = "hospital.clientip.client_ip"
# Rates ("N/s", "N/m", "N/h", "N/d"); empty or "off" turns one off.
# Tokens (queues/kiosk.py): per browser and address; per address whatever the browser
# (raise it where many patients' phones share one address); per mobile number. A kiosk
# registered by staff is counted per mobile only.
TOKEN_LIMIT = os.environ.get("TOKEN_LIMIT", "6/h")
TOKEN_LIMIT_PER_ADDRESS = os.environ.get("TOKEN_LIMIT_PER_ADDRESS", "120/h")
TOKEN_LIMIT_PER_MOBILE = os.environ.get("TOKEN_LIMIT_PER_MOBILE", "4/d")
PASSWORD_RESET_LIMIT = os.environ.get("PASSWORD_RESET_LIMIT", "10/h")  # per client address
PASSWORD_RESET_LIMIT_PER_ACCOUNT = os.environ.get("PASSWORD_RESET_LIMIT_PER_ACCOUNT", "3/h")

# --- Auth -----------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Checks the lockout before the password is even looked at.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock an account for 15 minutes after 5 failed sign-ins, whether they came from one
# address or from many (a guesser rotating addresses gains nothing); the per-address
# pair is also kept, so the lockout page and the admin show where failures came from.
# Addresses never lock on their own: one attacker behind the hospital's NAT cannot lock
# out every receptionist at once.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_CLIENT_IP_CALLABLE = "hospital.clientip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Staff sessions end when the browser closes, and after 8 hours in any case.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 8 * 60 * 60
# A terminal left signed in is signed out after this many idle minutes
# (hospital.middleware.IdleTimeoutMiddleware).
STAFF_IDLE_MINUTES = env_int("STAFF_IDLE_MINUTES", 30)
# Two-step sign-in (hospital/two_factor.py): optional for staff; with this on, required of
# admins (staff accounts) before they open any page.
OTP_REQUIRED_FOR_ADMINS = env_bool("OTP_REQUIRED_FOR_ADMINS", False)
OTP_TOTP_ISSUER = "OPD Queue"
# Password-reset links stop working after a day.
PASSWORD_RESET_TIMEOUT = 24 * 60 * 60
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- The API (api/) -------------------------------------------------------------------
# /api/v1/: an integration's key (Authorization: Bearer …) or a staff session. Errors are
# problem details (RFC 9457); the OpenAPI schema is at /api/schema/, its docs /api/docs/.
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600/min")  # per key or staff member
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.problem_details",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": None if API_RATE_LIMIT in ("", "off") else API_RATE_LIMIT},
    # The client's address is the socket's (the proxy's own), never a header it sent.
    "NUM_PROXIES": 0,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OPD Queue API",
    "DESCRIPTION": (
        "Departments and their live queues, tokens, visits, patients, appointments and "
        "doctors. Authenticate with an API key made in the admin (API keys), sent as "
        "`Authorization: Bearer opdq_…`; each key may do only what its scopes allow. "
        "Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name ("status", "kind") get a name each, not a hash.
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "appointments.models.Appointment.Status",
        "VisitStopKindEnum": "queues.models.VisitStop.Kind",
        "VisitStatusEnum": "queues.models.Visit.Status",
        "VisitStopStatusEnum": "queues.models.VisitStop.Status",
        "PlaceKindEnum": ["room", "counter"],
        "TokenStatusEnum": "queues.models.Token.Status",
        "PatientLanguageEnum": "hospital.settings.LANGUAGES",
    },
}

# --- The hospital ---------------------------------------------------------------------
# Slips and messages to patients name the hospital and its enquiry number, not the product.
HOSPITAL_NAME = os.environ.get("HOSPITAL_NAME", "City General Hospital")
HOSPITAL_PHONE = os.environ.get("HOSPITAL_PHONE", "+91 80 2222 0000")

# --- Locale ---------------------------------------------------------------------------
# Patient-facing pages (kiosk, slip, status page, TV, progress board) and messages are in
# every language below; each language is named in its own script for the pickers. Staff
# pages are in STAFF_LANGUAGES (their menu offers only those). Token numbers stay in
# Latin letters and digits everywhere, so staff and patients read the same "ORTH-007".
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("hi", "हिन्दी"), ("ta", "தமிழ்")]
PATIENT_LANGUAGES = [code for code, _ in LANGUAGES]
STAFF_LANGUAGES = ["en", "hi"]
LOCALE_PATHS = [BASE_DIR / "locale"]
# A year: the kiosk and a patient's phone keep the chosen language between visits.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Kolkata")
USE_I18N = True
USE_TZ = True
PHONE_REGION = os.environ.get("PHONE_REGION", "IN")

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Spoken calls from audio clips (queues.announce) -----------------------------------
# `manage.py make_audio_clips` writes the TV's clips (WAV, espeak-ng) to AUDIO_CLIPS_DIR;
# a hospital's own recordings with the same names in RECORDED_AUDIO_DIR win. Both are
# served as static/audio/<language>/<clip> (run collectstatic after changing them in
# production); the recorded folder comes first, so its file is the one found.
AUDIO_CLIPS_DIR = Path(os.environ.get("AUDIO_CLIPS_DIR", BASE_DIR / "var" / "audio"))
RECORDED_AUDIO_DIR = Path(os.environ.get("RECORDED_AUDIO_DIR", BASE_DIR / "recorded-audio"))
# A folder that does not exist yet is left out (Django would warn); restart the server
# after creating one.
STATICFILES_DIRS = [
    *[("audio", d) for d in (RECORDED_AUDIO_DIR, AUDIO_CLIPS_DIR) if d.is_dir()],
    *STATICFILES_DIRS,
]
# Served with an audio type (whitenoise does not know .wav), so every browser plays it.
WHITENOISE_MIMETYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg"}
STATIC_ROOT = BASE_DIR / "staticfiles"
# After `collectstatic` (production) files are served compressed with hashed names;
# without it (development, tests) whitenoise serves them straight from static/.
_manifest = (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if _manifest and not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or not _manifest
WHITENOISE_AUTOREFRESH = DEBUG

# --- Queue defaults -------------------------------------------------------------------
# Used for the estimated wait until a department has completed a consultation today.
DEFAULT_CONSULTATION_MINUTES = env_int("DEFAULT_CONSULTATION_MINUTES", 10)

# --- Notifications --------------------------------------------------------------------
# Messages go to an outbox table and are sent by the worker (appointments.notify). Without
# a transport they are recorded as not sent, and `manage.py check` warns.
# SMS: "http" posts to an SMS gateway (production); "outbox" appends JSON lines to
# OUTBOX_DIR/sms.jsonl (tests read OTPs there); "console" prints to the server log, under
# DEBUG only; "none" (the default without DEBUG) sends nothing.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console" if DEBUG else "none")
OUTBOX_DIR = Path(os.environ.get("OUTBOX_DIR", BASE_DIR / "outbox"))
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_KEY = os.environ.get("SMS_GATEWAY_KEY", "")
SMS_SENDER = os.environ.get("SMS_SENDER", "OPDQ")
# TRAI DLT: an Indian gateway delivers only registered templates, so the http backend
# sends each message with the hospital's entity id, its kind's template id and its kind's
# sender header: SMS_TEMPLATE_<KIND> (SMS_TEMPLATE_<KIND>_HI / _TA for the Hindi and Tamil
# texts, each registered on its own) and SMS_SENDER_<KIND> (default SMS_SENDER).
SMS_DLT_ENTITY_ID = os.environ.get("SMS_DLT_ENTITY_ID", "")
SMS_KINDS = [
    "otp", "confirmation", "rescheduled", "cancellation", "supervisor_alert",
    "token_issued", "turn_near", "token_called", "reminder_day_before", "reminder_soon",
]  # fmt: skip


def _dlt_template(kind: str) -> dict:
    key = kind.upper()
    template_id = os.environ.get(f"SMS_TEMPLATE_{key}", "")
    return {
        "sender": os.environ.get(f"SMS_SENDER_{key}", ""),  # empty: SMS_SENDER
        "template_id": template_id,
        "template_ids": {
            code: os.environ.get(f"SMS_TEMPLATE_{key}_{code.upper()}", template_id)
            for code in PATIENT_LANGUAGES
        },
    }


SMS_TEMPLATES = {kind: _dlt_template(kind) for kind in SMS_KINDS}
# Links in messages to patients (the status page) start with this: the address patients'
# phones reach the site at, e.g. https://opd.example-hospital.in
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Email: EMAIL_URL=smtp://user:password@host:587 (smtps:// for implicit TLS); unset
# prints emails to the console under DEBUG, and sends none otherwise (a password-reset
# link printed to a production log would let anyone reading it into the account).
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "opd@localhost")
_email = urlparse(os.environ.get("EMAIL_URL", ""))
if _email.scheme in {"smtp", "smtps", "submission"}:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 587)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_USE_TLS = _email.scheme != "smtps"
    EMAIL_TIMEOUT = 10
elif _email.scheme == "file":
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = _email.path
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "hospital.mail.NoTransportBackend"
# The duty manager told of supervisor alerts (supervision.services), by SMS (E.164) and/or
# e-mail through the outbox above; empty: the alerts are only shown on /supervisor/.
DUTY_MANAGER_MOBILE = os.environ.get("DUTY_MANAGER_MOBILE", "")
DUTY_MANAGER_EMAIL = os.environ.get("DUTY_MANAGER_EMAIL", "")
# A failed message is tried again after NOTIFY_RETRY_SECONDS, then twice that, and so on,
# NOTIFY_MAX_ATTEMPTS tries in all; then it is shown to reception as failed.
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5)
NOTIFY_RETRY_SECONDS = env_int("NOTIFY_RETRY_SECONDS", 30)
# A worker sending a message holds it this long; if the worker dies mid-send, another tries
# it after that (with the same message id, so the gateway can drop a repeat).
NOTIFY_CLAIM_SECONDS = env_int("NOTIFY_CLAIM_SECONDS", 120)

# Webhooks (webhooks.delivery): a delivery that fails is tried again after
# WEBHOOK_RETRY_SECONDS, then twice that, and so on, WEBHOOK_MAX_ATTEMPTS tries in all;
# then it is shown as failed in the admin, where it can be sent again.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 30)
# How long the receiver has to answer, and how long a sending worker holds a delivery
# before another may try it (with the same webhook-id, so the receiver can drop a repeat).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5)
WEBHOOK_CLAIM_SECONDS = env_int("WEBHOOK_CLAIM_SECONDS", 60)

# The worker (django-q2, `manage.py qcluster`): sends the outbox and runs expire_holds
# every minute. Its queue is a table in the same database (the ORM broker), so it needs
# no Redis and works on SQLite and PostgreSQL alike.
Q_CLUSTER = {
    "name": "opdq",
    "orm": "default",
    "workers": env_int("WORKER_PROCESSES", 2),
    # A task runs at most `timeout` s; one not acknowledged is handed out again after
    # `retry` s (which must be longer). Sending is idempotent per row (notify.send_one).
    "timeout": 60,
    "retry": 90,
    "max_attempts": 1,
    "poll": 0.5,
    "catch_up": False,
    # Successes are not kept: the outbox rows, the schedules and the heartbeat are the
    # record, and pruning a kept list read up to save_limit rows per task (bench/day.py).
    # Failures are kept.
    "save_limit": -1,
    "ack_failures": True,
    # Tests only: run each task at once, in the process that queued it.
    "sync": env_bool("WORKER_SYNC", False),
}

# --- Booking rules --------------------------------------------------------------------
SLOT_HOLD_MINUTES = 10
OTP_TTL_MINUTES = 10
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_SECONDS = 60
OTP_MAX_SENDS_PER_DAY = 5
# What one receptionist may do (appointments.booking.check_desk_limits): slots on hold
# awaiting a code at once, and codes texted per hour.
DESK_MAX_OPEN_HOLDS = env_int("DESK_MAX_OPEN_HOLDS", 5)
DESK_MAX_CODES_PER_HOUR = env_int("DESK_MAX_CODES_PER_HOUR", 30)
# A checked-in patient whose slot starts within this many minutes is called before
# earlier walk-in tokens (queues.services: the calling order).
CHECK_IN_GRACE_MINUTES = env_int("CHECK_IN_GRACE_MINUTES", 10)

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# One switch for a site served over HTTPS (SECURE_COOKIES is its older name): secure
# cookies, plain HTTP redirected to HTTPS, and browsers told to use HTTPS only (HSTS).
HTTPS = env_bool("HTTPS", env_bool("SECURE_COOKIES", False)) and not DEBUG
if HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading puts the domain on browsers' built-in lists for good: a decision
        # for the hospital's IT, not a default (the check would otherwise warn).
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy (django-csp): scripts, styles and sockets from this site only;
# no inline script or style anywhere (data for a page travels in json_script blocks).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Health checks, metrics and error reports ------------------------------------------
# /healthz, /readyz and /metrics (hospital/health.py, hospital/metrics.py; docs/DEPLOYMENT.md
# "Health checks and metrics"). /readyz says the worker is down when its every-minute
# heartbeat is older than this many seconds.
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 180)
# Who may read /metrics: the client's address (hospital/clientip.py) in one of these.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
try:
    [ipaddress.ip_network(network, strict=False) for network in METRICS_ALLOWED_NETWORKS]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from exc
# A monitor probing gunicorn directly over plain HTTP gets its answer, not a redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Errors to Sentry (or a compatible server such as GlitchTip) when SENTRY_DSN is set; no
# personal data, and mobile numbers and codes scrubbed from every event (hospital/sentry.py).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from hospital.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE", ""),
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

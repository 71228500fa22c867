"""Burgernet settings: one file, read from the environment through django-environ.

Defaults make a laptop run with nothing installed (SQLite, the django-q2 ORM broker,
console e-mail and SMS). Production sets DEBUG=false and the variables listed in
.env.example; bad or missing production values fail loudly at start-up.
"""

import socket
import tempfile
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("The development SECRET_KEY cannot be used with DEBUG off.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address `make run` serves on in development (scripts/run-dev): host:port or a port.
RUNSERVER_ADDRESS = env("RUNSERVER_ADDRESS", default="") or "127.0.0.1:8000"


def _dev_site_url(address: str) -> str:
    """The site's own address while runserver serves on `address`: a bare port is on
    127.0.0.1, and a server on every interface is reached here through 127.0.0.1 too."""
    host, _, port = address.rpartition(":")
    every_interface = {"", "0", "0.0.0.0", "[::]"}  # noqa: S104 (read, not bound to)
    if host in every_interface:
        host = "[::1]" if host == "[::]" else "127.0.0.1"
    return f"http://{host}:{port}"


# The public address of the site, used in links sent by SMS and e-mail. In development it
# follows the address the development server serves on, unless it is set.
SITE_URL = env("SITE_URL", default="") or (
    _dev_site_url(RUNSERVER_ADDRESS) if DEBUG else "http://127.0.0.1:8000"
)
SITE_URL = SITE_URL.rstrip("/")

INSTALLED_APPS = [
    "burgernet.apps.BurgernetAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_q",
    "leaflet",
    "anymail",
    "apps.web",
    "csp",
    "apps.governance",
    "apps.channels",
    "apps.participants",
    "apps.actions",
    "apps.mail",
    "apps.bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The security headers: CSP, Permissions-Policy, no-store on personal pages (below).
    "apps.web.headers.CSPMiddleware",
    "apps.web.headers.HeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "burgernet.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lock-out into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "burgernet.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "burgernet.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Workers and web processes keep their connection; health checks drop broken ones.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Short queries only: PostgreSQL's JIT compiles a query it plans as costly for a second
    # or more before running it in milliseconds (the report's counts: docs/benchmarks.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the q2 worker share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    # The covering indexes for targeting (INCLUDE columns) are plain indexes on SQLite, the
    # development database; Django warns about that on every command.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://burgernet")}
# Caches that each process keeps to itself (or that keep nothing): what must be the same for
# every web process (rate limits, sessions, a region's municipalities) cannot live in them.
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
CACHE_IS_SHARED = CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES

AUTH_USER_MODEL = "governance.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, loading the user's organisation with the user (every staff request
    # asks for it).
    "apps.governance.backends.StaffBackend",
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
LOGIN_URL = "governance:login"
LOGIN_REDIRECT_URL = "governance:home"

# Staff log in with a password and a TOTP code. Only development may switch the
# second factor off (e.g. for a first look at the demo); production always requires it.
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=True)
if not DEBUG and not STAFF_OTP_REQUIRED:
    raise ImproperlyConfigured("STAFF_OTP_REQUIRED cannot be off when DEBUG is off.")
OTP_TOTP_ISSUER = "Burgernet"
# A TOTP secret is shown once, while a manager sets up a staff member's authenticator.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# django-axes: lock a username+IP pair after repeated failed log-ins.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "governance/locked_out.html"
# The same client address as the audit trail and the rate limits (apps/web/client.py:
# X-Forwarded-For only as far as PROXY_COUNT and PROXY_NETWORKS say).
AXES_CLIENT_IP_CALLABLE = "apps.web.client.client_ip"
# Masked in the failed attempts axes stores (the password always is).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]
# Reverse proxies in front of the site; 0 means REMOTE_ADDR is the client. X-Forwarded-For
# is believed only from addresses in PROXY_NETWORKS (where the proxies are). See README.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
PROXY_NETWORKS = env.list(
    "PROXY_NETWORKS",
    default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Nederlands")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True
# One way to write a moment and a day, per language (burgernet/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["burgernet.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Uploads (action photos, tips, mailing images, responses) are served by views that check
# who may see them, never under MEDIA_URL: no web server should serve MEDIA_ROOT.
MEDIA_URL = "media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Uploads: photos are at most a few megabytes; anything larger is refused by the forms.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Sessions of staff expire; citizens' manage sessions are short (see participants).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_COOKIE_HTTPONLY = True
# A staff request reads its session from the shared cache, written through to the database;
# a cache of one process would keep a session there after logging out in another.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHE_IS_SHARED
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp; apps/web/headers.py): no inline script or style on
# any page, nothing from other hosts but the map tiles (added there, from LEAFLET_CONFIG).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# Permissions-Policy: every one of these features is off; a view that needs one turns it
# on for its page (the web app asks for the location: @permissions(geolocation="self")).
PERMISSIONS_POLICY = [
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
]
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# E-mail: the console in development, any django-anymail service in production,
# e.g. EMAIL_BACKEND=anymail.backends.postmark.EmailBackend with ANYMAIL_POSTMARK_SERVER_TOKEN.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Burgernet <noreply@burgernet.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL = env.json("ANYMAIL", default={})
# The "user:password" the service's tracking webhooks send as basic auth (anymail refuses
# any other); set it in the webhook URL at the service: https://user:password@host/anymail/….
if env("ANYMAIL_WEBHOOK_SECRET", default=""):
    ANYMAIL["WEBHOOK_SECRET"] = env("ANYMAIL_WEBHOOK_SECRET")
if not DEBUG and EMAIL_BACKEND.startswith("anymail.") and not ANYMAIL.get("WEBHOOK_SECRET"):
    raise ImproperlyConfigured(
        "ANYMAIL_WEBHOOK_SECRET must be set with an anymail EMAIL_BACKEND when DEBUG is off: "
        "the tracking webhooks stop mail to addresses that bounce."
    )
# Batch sends: recipients per API call (at most 500 for Postmark, 1,000 for SendGrid and
# Mailgun, 50 for Amazon SES; the sender keeps to these), how the service writes a merge
# field ("{}" for the name; known services have a default), and for services that merge only
# into stored templates (Postmark, Amazon SES) that template's id. See README, E-mail.
EMAIL_BATCH_SIZE = env.int("EMAIL_BATCH_SIZE", default=500)
if EMAIL_BATCH_SIZE < 1:
    raise ImproperlyConfigured("EMAIL_BATCH_SIZE must be at least 1.")
EMAIL_MERGE_FIELD_FORMAT = env("EMAIL_MERGE_FIELD_FORMAT", default="")
if EMAIL_MERGE_FIELD_FORMAT and EMAIL_MERGE_FIELD_FORMAT.count("{}") != 1:
    raise ImproperlyConfigured('EMAIL_MERGE_FIELD_FORMAT must hold "{}" exactly once.')
EMAIL_BATCH_TEMPLATE_ID = env("EMAIL_BATCH_TEMPLATE_ID", default="")

# SMS: "console" prints in development, "locmem" keeps messages for tests, "http" posts
# to the gateway at SMS_GATEWAY_URL with SMS_GATEWAY_TOKEN.
SMS_BACKEND = env("SMS_BACKEND", default="console")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=10.0)
SMS_SENDER_ID = env("SMS_SENDER_ID", default="Burgernet")
# The most parts one alert SMS may take (each part is billed; phones join them).
SMS_MAX_PARTS = env.int("SMS_MAX_PARTS", default=3)
if not DEBUG and SMS_BACKEND == "http" and not SMS_GATEWAY_URL:
    raise ImproperlyConfigured("SMS_GATEWAY_URL must be set for the http SMS backend.")

# Voice (text-to-speech calls): "console" prints in development, "locmem" keeps calls for
# tests, "http" posts to the voice gateway at VOICE_GATEWAY_URL with VOICE_GATEWAY_TOKEN.
VOICE_BACKEND = env("VOICE_BACKEND", default="console")
VOICE_GATEWAY_URL = env("VOICE_GATEWAY_URL", default="")
VOICE_GATEWAY_TOKEN = env("VOICE_GATEWAY_TOKEN", default="")
VOICE_GATEWAY_TIMEOUT = env.float("VOICE_GATEWAY_TIMEOUT", default=10.0)
if not DEBUG and VOICE_BACKEND == "http" and not VOICE_GATEWAY_URL:
    raise ImproperlyConfigured("VOICE_GATEWAY_URL must be set for the http voice backend.")

# The gateways' limits and delivery reports: at most this many messages a second to each
# gateway, across all outbox workers and hosts (0: no limit; channels/throttle.py), and the
# secrets their signed delivery reports carry (channels/webhooks.py; unset: no report URL).
SMS_GATEWAY_RATE = env.float("SMS_GATEWAY_RATE", default=100.0)
VOICE_GATEWAY_RATE = env.float("VOICE_GATEWAY_RATE", default=20.0)
if SMS_GATEWAY_RATE < 0 or VOICE_GATEWAY_RATE < 0:
    raise ImproperlyConfigured("SMS_GATEWAY_RATE and VOICE_GATEWAY_RATE must be 0 or more.")
SMS_GATEWAY_WEBHOOK_SECRET = env("SMS_GATEWAY_WEBHOOK_SECRET", default="")
VOICE_GATEWAY_WEBHOOK_SECRET = env("VOICE_GATEWAY_WEBHOOK_SECRET", default="")

# Web push (VAPID): keys as base64url strings, see README.
VAPID_PUBLIC_KEY = env("VAPID_PUBLIC_KEY", default="")
VAPID_PRIVATE_KEY = env("VAPID_PRIVATE_KEY", default="")
VAPID_SUBJECT = env("VAPID_SUBJECT", default="mailto:beheer@burgernet.test")
# Web-app subscriptions must name an https push service outside our own network; only
# development (and the tests' local push service) may use http://127.0.0.1 or localhost.
WEBPUSH_ALLOW_INSECURE_ENDPOINTS = env.bool("WEBPUSH_ALLOW_INSECURE_ENDPOINTS", default=DEBUG)
if not DEBUG and WEBPUSH_ALLOW_INSECURE_ENDPOINTS:
    raise ImproperlyConfigured("WEBPUSH_ALLOW_INSECURE_ENDPOINTS cannot be on when DEBUG is off.")
# The push services' hosts pushes may go to ("fcm.googleapis.com", "*.notify.windows.com"),
# comma-separated; empty: any public host (see apps/channels/endpoints.py).
WEBPUSH_ALLOWED_HOSTS = env.list("WEBPUSH_ALLOWED_HOSTS", default=[])
# Pushes in flight at once per worker, and seconds to wait for a push service's answer.
WEBPUSH_CONCURRENCY = env.int("WEBPUSH_CONCURRENCY", default=256)
WEBPUSH_TIMEOUT = env.float("WEBPUSH_TIMEOUT", default=10.0)
# A CA file to check push services' certificates against instead of the system's (a local
# push service over TLS, as bench_fanout starts); empty: the system's CAs.
WEBPUSH_CA_FILE = env("WEBPUSH_CA_FILE", default="")
# Development without VAPID keys: a key pair is generated once and kept in this file.
VAPID_DEV_KEY_FILE = Path(env("VAPID_DEV_KEY_FILE", default=str(BASE_DIR / ".vapid-dev.pem")))

# Geocoding of addresses (geopy). "offline" uses the shipped postcode table for Dutch
# addresses; foreign addresses (and Dutch ones when GEOCODER_NL=nominatim) go to a
# Nominatim-compatible service at GEOCODER_URL.
GEOCODER_NL = env("GEOCODER_NL", default="offline")
GEOCODER_URL = env("GEOCODER_URL", default="https://nominatim.openstreetmap.org")
GEOCODER_USER_AGENT = env("GEOCODER_USER_AGENT", default="burgernet")
GEOCODER_TIMEOUT = env.float("GEOCODER_TIMEOUT", default=5.0)

# Maps: tiles from a configurable URL; the pages work without them.
LEAFLET_CONFIG = {
    "TILES": env("MAP_TILES_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
    "ATTRIBUTION_PREFIX": "Burgernet",
    "DEFAULT_CENTER": (52.1, 5.3),
    "DEFAULT_ZOOM": 8,
    "RESET_VIEW": False,
}

# The annual report (governance/reporting.py): figures of the last this-many days are
# counted again every hour, so late delivery reports and tips still count.
REPORT_REFRESH_DAYS = env.int("REPORT_REFRESH_DAYS", default=7)

# Retention (governance/retention.py): how many days each kind of data is kept after the
# moment its rule names (shown to managers on the retention page). Each may be set in the
# environment as RETENTION_<NAME>_DAYS, e.g. RETENTION_TIPS_DAYS=60.
_RETENTION_DEFAULTS = {
    "tips": 90,  # tips and their photos, after the action ended
    "action_photos": 7,  # an action's photo, after the action ended
    "action_delivery_links": 1,  # deliveries of an action lose device and participant
    "action_delivery_rows": 400,  # the anonymous delivery rows themselves
    "mail_responses": 180,  # responses to a mailing and their photos, after it was sent
    "mail_delivery_links": 1,  # deliveries of a mailing lose their participant
    "phone_codes": 1,  # phone codes, after they expired
    "manage_links": 1,  # manage links, after they expired or were used
    "unconfirmed_registrations": 7,  # registrations whose number was never confirmed
    "service_messages": 1,  # service SMS and e-mails (codes, links) and their deliveries
    "audit": 5 * 365,  # audit entries
}
RETENTION_DAYS = {
    name: env.int(f"RETENTION_{name.upper()}_DAYS", default=days)
    for name, days in _RETENTION_DEFAULTS.items()
}

# django-q2: the ORM broker by default, Redis in production (Q_REDIS_URL).
# A task's timeout stays below retry, so a task is only re-delivered once it is dead.
Q_REDIS_URL = env("Q_REDIS_URL", default="")
Q_CLUSTER = {
    "name": "burgernet",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=120),
    "retry": env.int("Q_RETRY", default=180),
    "max_attempts": 3,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "label": "Taken",
}
# The outbox workers (manage.py outbox_worker): how many processes, how long a claim holds
# without news from its worker (a live worker renews it every third of that), how long one
# chunk may go on starting sends, and how often an idle worker looks for due rows.
# Service SMS (codes, links): the budget a new database starts with; managers change it in
# the admin (participants.SmsBudget).
SMS_BUDGET_PER_NUMBER_PER_DAY = env.int("SMS_BUDGET_PER_NUMBER_PER_DAY", default=10)
SMS_BUDGET_PER_HOUR = env.int("SMS_BUDGET_PER_HOUR", default=20_000)
OUTBOX_PROCESSES = env.int("OUTBOX_PROCESSES", default=2)
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=20)
OUTBOX_CHUNK_SECONDS = env.float("OUTBOX_CHUNK_SECONDS", default=60.0)
OUTBOX_POLL_SECONDS = env.float("OUTBOX_POLL_SECONDS", default=0.25)
# One outbox supervisor per host and database holds a lock file here; a supervisor that
# takes it over gives back at once what its killed predecessors held (worker.InstanceLock).
# OUTBOX_INSTANCE names the host where its hostname changes on every restart (a container).
OUTBOX_LOCK_DIR = env("OUTBOX_LOCK_DIR", default=tempfile.gettempdir())
OUTBOX_INSTANCE = env("OUTBOX_INSTANCE", default=socket.gethostname())
if OUTBOX_LEASE_SECONDS < 3:
    raise ImproperlyConfigured("OUTBOX_LEASE_SECONDS must be at least 3.")
if Q_REDIS_URL:
    Q_CLUSTER["redis"] = Q_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# CAP 1.2 (apps/actions/cap.py): who the messages say sent them (no spaces, commas or
# "<&"; CAP's sender), and the key and certificate (PEM files) that sign them so partners
# can verify their origin. Both empty: the messages go out unsigned.
CAP_SENDER = env("CAP_SENDER", default="burgernet@politie.nl")
CAP_SIGNING_KEY_FILE = env("CAP_SIGNING_KEY_FILE", default="")
CAP_SIGNING_CERT_FILE = env("CAP_SIGNING_CERT_FILE", default="")
if bool(CAP_SIGNING_KEY_FILE) != bool(CAP_SIGNING_CERT_FILE):
    raise ImproperlyConfigured("Set both CAP_SIGNING_KEY_FILE and _CERT_FILE, or neither.")
if any(ch in CAP_SENDER for ch in " ,<&") or not CAP_SENDER:
    raise ImproperlyConfigured("CAP_SENDER must be non-empty, without spaces, commas, < or &.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # RedactTokens takes the signed tokens and query strings out of the paths in a record
    # (apps/web/logging.py): on the loggers that log paths, so that every handler gets the
    # record redacted, and on the handler for whatever else propagates to it.
    "filters": {"redact_tokens": {"()": "apps.web.logging.RedactTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR", "filters": ["redact_tokens"]},
        "django.security.csrf": {"filters": ["redact_tokens"]},
        # runserver logs 4xx answers as warnings, with the URL (a signed link): errors only.
        "django.server": {"level": "ERROR", "filters": ["redact_tokens"]},
    },
}

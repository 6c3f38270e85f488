"""LeadFlow settings: one file, read from the environment (see ``.env.example``).

Development defaults are safe to run on a laptop: with no ``DATABASE_URL`` or ``REDIS_URL``
the embedded servers of :mod:`leadflow.devservices` are started. With ``DEBUG=false``
(production) every required value must be given, or start-up fails loudly.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
PRODUCTION = not DEBUG

_DEV_SECRET = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of 50+ characters when DEBUG=false "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names when DEBUG=false.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leadflow",
    "marketing",
    "sales",
    "handoff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "leadflow.middleware.UserTimezoneMiddleware",
]

if PRODUCTION:
    # whitenoise serves the collected static files from the web processes; in development
    # runserver (and the test live server) serve them from the app folders.
    INSTALLED_APPS.insert(
        INSTALLED_APPS.index("django.contrib.staticfiles"), "whitenoise.runserver_nostatic"
    )
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "leadflow.urls"
WSGI_APPLICATION = "leadflow.wsgi.application"
AUTH_USER_MODEL = "leadflow.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

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
                "leadflow.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL is required when DEBUG=false.")
    from leadflow import devservices

    DATABASE_URL = devservices.database_url()
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
# dj-database-url leaves a unix-socket folder (``?host=/path``) in OPTIONS; HOST is where
# Django and every tool that copies these settings look for it.
if "host" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
# A stalled database must not hang a request for minutes: fail fast, answer 503.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 3)
# Django binds parameters on the client and psycopg never prepares those statements; a
# threshold (instead of Django's None, which forbids preparing at all) lets the few hot
# statements that ask for it be prepared (leadflow.db.prepared_fetchone). No other
# statement is ever prepared: nothing else runs on a server-binding cursor.
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2**31 - 1
# Connection pooling inside each process (psycopg's pool, Django's "pool" option): with
# DB_POOL_MAX_SIZE set, the threads of a web or worker process share that many connections
# instead of holding one each, which caps what each process asks of Postgres. It replaces
# persistent connections (DB_CONN_MAX_AGE). Across hosts, put PgBouncer in front instead.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0)
if DB_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": min(env_int("DB_POOL_MIN_SIZE", 1), DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env_int("DB_POOL_TIMEOUT", 10),
    }
# A read replica for the heavy reads (the KPIs): code inside leadflow.db.replica_reads()
# reads from it; everything else, and every write, goes to the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 3
    )
    # Tests read the replica's data from the test database itself.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["leadflow.db.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker -----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if not REDIS_URL:
    if PRODUCTION:
        raise ImproperlyConfigured("REDIS_URL is required when DEBUG=false.")
    from leadflow import devservices

    REDIS_URL = devservices.redis_url()


def _celery_broker_url(redis_url: str) -> str:
    """Kombu spells a unix-socket Redis ``redis+socket://``; redis-py spells it ``unix://``."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return f"redis+socket://{parts.path}"
    return redis_url


CACHES = {
    "default": {
        # Django's Redis cache, with a breaker: a hung Redis costs a request one timeout.
        "BACKEND": "leadflow.breaker.BreakerRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
    }
}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", _celery_broker_url(REDIS_URL))
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "leadflow")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only after it ran; a worker that dies mid-task gives it back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# Seconds. Longer than the longest task (CELERY_TASK_TIME_LIMIT), so Redis never re-delivers
# a task that is still running. Delayed work is never scheduled with a countdown: due-time
# rows in the database are checked by beat instead.
CELERY_BROKER_VISIBILITY_TIMEOUT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing tries once and gives up: the row is in the database already and a sweeper
# will enqueue it. A retry would double the wait on a hung Redis (a timeout, a reconnect
# that times out too); a connection gone stale when Redis restarted costs a delay, no more.
# A request never waits on Redis for more than one broker timeout.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 0,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(
    Path(os.environ.get("LEADFLOW_STATE_DIR", BASE_DIR / ".leadflow")) / "celerybeat-schedule"
)
# The one beat schedule of the project.
CELERY_BEAT_SCHEDULE = {
    # After a Redis outage every lead captured meanwhile is scored within a minute or so of
    # its return: swept once it is LEADFLOW_SWEEP_AFTER_SECONDS old, every this many seconds.
    "sweep-unscored-leads": {
        "task": "marketing.sweep_unscored_leads",
        "schedule": float(env_int("LEADFLOW_SWEEP_EVERY_SECONDS", 30)),
    },
    # Re-score jobs whose task never ran or died mid-way resume where they stopped.
    "sweep-rescore-jobs": {
        "task": "marketing.sweep_rescore_jobs",
        "schedule": 120.0,
    },
    # Engagement decays by the day: the pass runs once a day (later ticks that day are
    # no-ops), so a beat started at any hour decays within ten minutes.
    "decay-engagement": {
        "task": "marketing.decay_engagement",
        "schedule": 600.0,
    },
    "train-predictive-model": {
        "task": "marketing.train_predictive",
        "schedule": crontab(hour=2, minute=23),
    },
    "sla-sweep": {
        "task": "handoff.sla_sweep",
        "schedule": 60.0,
    },
    # Task reminders are due-time rows (sales.Task.remind_at); beat sends the due ones.
    "task-reminders": {
        "task": "sales.send_task_reminders",
        "schedule": 60.0,
    },
    "sweep-notification-emails": {
        "task": "leadflow.sweep_notification_emails",
        "schedule": 60.0,
    },
    "nightly-cleanup": {
        "task": "leadflow.purge_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    # Webhook deliveries (first tries and retries) are due-time rows; beat sends the due ones.
    "dispatch-webhooks": {
        "task": "leadflow.dispatch_webhooks",
        "schedule": 10.0,
    },
    "purge-idempotency-keys": {
        "task": "leadflow.purge_idempotency_keys",
        "schedule": crontab(minute=41),
    },
    # The dashboard reads rollups; the page shows their age (at most ~2 minutes).
    "kpi-rollups-refresh": {
        "task": "handoff.kpi_rollups_refresh",
        "schedule": 120.0,
    },
    # Monday morning in each team's time zone; the hourly tick finds whose it is.
    "weekly-reviews": {
        "task": "handoff.weekly_reviews_send",
        "schedule": crontab(minute=5),
    },
}

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Uploaded files (CSV imports and their error reports) ------------------------------
# Web and worker processes must share this folder (a volume in docker-compose).
MEDIA_ROOT = Path(
    os.environ.get("MEDIA_ROOT", BASE_DIR / ("media" if PRODUCTION else ".leadflow/media"))
)
MEDIA_URL = "/media/"
# Uploads above this size are refused; the CSV import streams from disk, not memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
LEADFLOW_MAX_IMPORT_BYTES = env_int("LEADFLOW_MAX_IMPORT_BYTES", 200 * 1024 * 1024)
# The first handler stops reading a file past LEADFLOW_MAX_IMPORT_BYTES: a huge upload never
# reaches the disk. Django's two handlers follow (memory for small files, else temporary).
FILE_UPLOAD_HANDLERS = [
    "leadflow.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Email ------------------------------------------------------------------------------
# Django 6.1 mailers. SMTP in production; the console in development.
_EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
_EMAIL_OPTIONS: dict[str, object] = {}
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "LeadFlow <leadflow@localhost>")
# Links in notification emails start with this (no trailing slash needed).
LEADFLOW_BASE_URL = os.environ.get("LEADFLOW_BASE_URL", "http://127.0.0.1:8000")

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leadflow.api.auth.BearerTokenAuthentication",
        "leadflow.api.auth.BrowserSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["leadflow.api.auth.ScopePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "leadflow.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LeadFlow API",
    "DESCRIPTION": (
        "Leads, activities, campaigns, handoffs, deals and KPIs of LeadFlow. Authenticate "
        "with `Authorization: Bearer <token>` (an admin creates tokens under Admin → API "
        "tokens). Every POST accepts an `Idempotency-Key`. Errors share one shape."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs' assets are served from this server (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"RejectReasonEnum": "handoff.models.RejectReason"},
}

# --- API limits and webhooks ---------------------------------------------------------------
# Requests per token (or per browser user): per minute (bursts) and per day; a token may
# carry its own. Over either: 429 with Retry-After.
LEADFLOW_API_RATE_PER_MINUTE = env_int("LEADFLOW_API_RATE_PER_MINUTE", 1200)
LEADFLOW_API_RATE_PER_DAY = env_int("LEADFLOW_API_RATE_PER_DAY", 1_000_000)
# Webhook retries: exponential from this base (seconds), for this long; an endpoint that
# failed this many times in a row, for at least this many hours, is disabled.
LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS = env_int("LEADFLOW_WEBHOOK_RETRY_BASE_SECONDS", 30)
LEADFLOW_WEBHOOK_RETRY_WINDOW_SECONDS = env_int("LEADFLOW_WEBHOOK_RETRY_WINDOW_SECONDS", 3 * 86400)
LEADFLOW_WEBHOOK_DISABLE_AFTER = env_int("LEADFLOW_WEBHOOK_DISABLE_AFTER", 15)
LEADFLOW_WEBHOOK_DISABLE_AFTER_HOURS = env_int("LEADFLOW_WEBHOOK_DISABLE_AFTER_HOURS", 24)
# Networks (CIDR, comma-separated) that webhooks may reach although they are private or
# local. Empty: public addresses only.
LEADFLOW_WEBHOOK_ALLOWED_NETWORKS = env_list("LEADFLOW_WEBHOOK_ALLOWED_NETWORKS")

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from it: the token travels in hx-headers
X_FRAME_OPTIONS = "DENY"
# Every page: scripts, styles and everything else from our own origin only (all scripts
# are files; no inline script, no eval). Style attributes are allowed: they cannot run
# code, and progress bars set their width with one. Nobody may frame a page, except the
# hosted public forms, whose view widens frame-ancestors to the form's allowed origins.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- LeadFlow ---------------------------------------------------------------------------
# Scoring thresholds of the first rule set (editable rules come with the scoring issue).
LEADFLOW_MQL_MIN_GRADE = os.environ.get("LEADFLOW_MQL_MIN_GRADE", "B")
LEADFLOW_MQL_MIN_ENGAGEMENT = env_int("LEADFLOW_MQL_MIN_ENGAGEMENT", 50)
# The sweeper re-enqueues scoring for leads captured longer ago than this and still unscored.
LEADFLOW_SWEEP_AFTER_SECONDS = env_int("LEADFLOW_SWEEP_AFTER_SECONDS", 30)

# --- Public capture endpoint (/f/<key>/) -------------------------------------------------
# Submissions per minute from one client address (all forms) and to one form (all clients);
# over either limit the answer is 429 with Retry-After. 0 turns a limit off.
LEADFLOW_CAPTURE_RATE_PER_IP = env_int("LEADFLOW_CAPTURE_RATE_PER_IP", 20)
LEADFLOW_CAPTURE_RATE_PER_FORM = env_int("LEADFLOW_CAPTURE_RATE_PER_FORM", 600)
# Larger bodies are refused with 413 before they are read.
LEADFLOW_CAPTURE_MAX_BYTES = env_int("LEADFLOW_CAPTURE_MAX_BYTES", 16 * 1024)
# Take the client address from the first X-Forwarded-For hop: only behind a proxy that sets
# it, or anybody can choose their own address and escape the per-address limit.
LEADFLOW_TRUST_X_FORWARDED_FOR = env_bool("LEADFLOW_TRUST_X_FORWARDED_FOR", False)

# Sign-in lockout (leadflow.auth): failures per username from one address, and per address.
AUTHENTICATION_BACKENDS = ["leadflow.auth.LockoutModelBackend"]
LEADFLOW_LOGIN_FAILURES_PER_USER = env_int("LEADFLOW_LOGIN_FAILURES_PER_USER", 5)
LEADFLOW_LOGIN_FAILURES_PER_IP = env_int("LEADFLOW_LOGIN_FAILURES_PER_IP", 30)
LEADFLOW_LOGIN_LOCKOUT_SECONDS = env_int("LEADFLOW_LOGIN_LOCKOUT_SECONDS", 900)

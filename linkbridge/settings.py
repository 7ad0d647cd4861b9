"""linkbridge settings: every value comes from the environment.

Two modes. The demo (``LINKBRIDGE_DEMO=1``, set by ``make run`` without ``LINK_BASE_URL`` and by
the test suite) fills in dev secrets and the sandbox as Link. Production (the default) has no such
defaults: importing these settings fails, naming every missing one, so no process starts with them.
"""

import math
import os
import re
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_number(name: str, default: float, *, minimum: float, maximum: float | None = None, cast=int):
    """A number from the environment (``default`` when unset or empty); anything else that is not a number
    in range stops start-up with a message naming the setting, instead of a traceback or a silent misbehaviour
    (a timeout of 0 fails every call, a retention of 0 days prunes everything)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise ImproperlyConfigured(f"{name} must be {'a whole number' if cast is int else 'a number'}, not {raw!r}.")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ImproperlyConfigured(f"{name} must be {bounds}, not {raw}.")
    return value


LINKBRIDGE_DEMO = env_bool("LINKBRIDGE_DEMO", False)
# Needed outside the demo; the demo's values point at the sandbox started by ``make run``.
DEMO_DEFAULTS = {
    "SECRET_KEY": "dev-only-insecure-key-change-me",
    "LINK_BASE_URL": "http://127.0.0.1:8100",
    "LINK_CLIENT_ID": "linkbridge-dev",
    "LINK_CLIENT_SECRET": "linkbridge-dev-secret",
    "LINK_WEBHOOK_SECRETS": "whsec-dev",
}
MISSING_SETTINGS = [name for name in DEMO_DEFAULTS if not env_list(name)]
if MISSING_SETTINGS and not LINKBRIDGE_DEMO:
    raise ImproperlyConfigured(
        f"Missing setting{'s' if len(MISSING_SETTINGS) > 1 else ''}: {', '.join(MISSING_SETTINGS)}. "
        "Set them in the environment, or set LINKBRIDGE_DEMO=1 for the demo (dev secrets, the sandbox as Link)."
    )


def required(name: str) -> str:
    return os.environ.get(name, "").strip() or DEMO_DEFAULTS[name]


SECRET_KEY = required("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "integration.admin_site.OpsAdminConfig",  # django.contrib.admin with the ops dashboard as its index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files: /api/docs/ works offline
    "django_fsm_log",
    "django_q",
    "django_htmx",  # vendors htmx (static files, {% htmx_script %}): the console's live parts
    "axes",
    "integration",
]
if LINKBRIDGE_DEMO:  # the demo's commands (link_sandbox, link_demo): dev tools, never installed in production
    INSTALLED_APPS.append("dev")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a lockout into the 429 page
]

# Admin logins: django-axes counts failures per username at one address, logs each, and locks that
# pair out for a while; ops unlock with ``manage.py axes_reset_username NAME`` (or axes_reset).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_number("LINKBRIDGE_LOGIN_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = env_number("LINKBRIDGE_LOGIN_COOLOFF_MINUTES", 15.0, minimum=0.1, cast=float) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure is a row (admin: Axes), not only a log line
AXES_SENSITIVE_PARAMETERS: list[str] = []  # log lines name the username and address (never the password)
AXES_VERBOSE = False  # no start-up banner; failure lines still name the lockout parameters (username, address)

ROOT_URLCONF = "linkbridge.urls"
WSGI_APPLICATION = "linkbridge.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'linkbridge.sqlite3'}"),
        conn_max_age=env_number("DB_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work beside the writer; IMMEDIATE takes the write lock up front so
    # concurrent writers queue on busy_timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# HTTPS behind a proxy that terminates TLS and sets X-Forwarded-Proto; on by default outside the demo.
LINKBRIDGE_HTTPS = env_bool("LINKBRIDGE_HTTPS", not LINKBRIDGE_DEMO)
if LINKBRIDGE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # load balancers probe over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_number("LINKBRIDGE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REDIS_URL = os.environ.get("REDIS_URL", "")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# django-q2: the outbox table is the source of truth, the broker only carries "try call N now".
# timeout < retry so a slow task is never handed to a second worker while the first still runs.
Q_CLUSTER = {
    "name": "linkbridge",
    "workers": env_number("Q_WORKERS", 4, minimum=1),
    "timeout": 60,
    "retry": 90,
    "max_attempts": 3,
    "ack_failures": True,
    "save_limit": 200,
    "catch_up": False,
    "poll": 0.2,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Internal API: requests per client (token or staff user), "<n>/<s|min|hour|day>"; "off": no limit. Past it: 429
# with Retry-After. Counted in the default cache: set REDIS_URL so that every web worker shares the count.
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "").strip() or "600/min"
API_RATE_LIMIT = "" if API_RATE_LIMIT == "off" else API_RATE_LIMIT
if API_RATE_LIMIT and not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_RATE_LIMIT):
    raise ImproperlyConfigured(f'API_RATE_LIMIT must look like "600/min" (per s, min, hour, day): {API_RATE_LIMIT!r}.')
# The store menu's JSON body, cached by its ETag (any change makes a new one): seconds to keep one.
MENU_BODY_CACHE_SECONDS = env_number("MENU_BODY_CACHE_SECONDS", 3600, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integration.api.authentication.TokenAuthentication",  # other schemes (Bearer): 401 naming Token
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only (json_bodies.MAX_JSON_DEPTH levels), answered as JSON whatever Accept says (issue 23).
    "DEFAULT_PARSER_CLASSES": ["integration.api.parsers.JsonParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "integration.api.negotiation.JsonUnlessAsked",
    "DEFAULT_THROTTLE_CLASSES": ["integration.api.throttling.ClientRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["integration.api.permissions.ClientOrRole"],
    "DEFAULT_SCHEMA_CLASS": "integration.api.schema.AutoSchema",  # drf-spectacular's, with minLength / minItems
    "EXCEPTION_HANDLER": "integration.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "integration.api.pagination.Pages",
    "PAGE_SIZE": 100,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "linkbridge internal API",
    "DESCRIPTION": "The marketplace's door to stores, menus and orders on PAR Link.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integration.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StoreStateEnum": "integration.models.Store.State",
        "MenuStateEnum": "integration.models.Menu.State",
        "OrderStateEnum": "integration.models.Order.State",
    },
}

# Link (PAR External Orders API 2.0)
LINK_BASE_URL = required("LINK_BASE_URL").rstrip("/")
LINK_CLIENT_ID = required("LINK_CLIENT_ID")
LINK_CLIENT_SECRET = required("LINK_CLIENT_SECRET")
LINK_WEBHOOK_SECRETS = env_list("LINK_WEBHOOK_SECRETS", DEMO_DEFAULTS["LINK_WEBHOOK_SECRETS"])
LINK_MENU_HOSTS = env_list("LINK_MENU_HOSTS", "127.0.0.1:8100,localhost:8100" if LINKBRIDGE_DEMO else "")
LINK_CONNECT_TIMEOUT = env_number("LINK_CONNECT_TIMEOUT", 3.0, minimum=0.1, cast=float)
LINK_READ_TIMEOUT = env_number("LINK_READ_TIMEOUT", 10.0, minimum=0.1, cast=float)
# One deadline for a whole answer (a menu download), below django-q2's task timeout (60 s).
LINK_RESPONSE_DEADLINE = env_number("LINK_RESPONSE_DEADLINE", 30.0, minimum=1, maximum=55, cast=float)
# A try may fetch a token (connect + read) and then wait for an answer (connect + read for its first byte, the
# deadline for all of it): it must end within the task's timeout, or the worker is killed before recording it.
_LINK_WAIT = LINK_CONNECT_TIMEOUT + LINK_READ_TIMEOUT
_LINK_TRY = _LINK_WAIT + max(_LINK_WAIT, LINK_RESPONSE_DEADLINE)
if Q_CLUSTER["timeout"] <= _LINK_TRY:
    raise ImproperlyConfigured(
        f"LINK_CONNECT_TIMEOUT + LINK_READ_TIMEOUT ({_LINK_WAIT:g} s) with a token "
        f"fetch and LINK_RESPONSE_DEADLINE ({LINK_RESPONSE_DEADLINE:g} s) let one try to Link take {_LINK_TRY:g} s, "
        f"past the workers' {Q_CLUSTER['timeout']} s task timeout: lower them."
    )
LINK_MENU_MAX_BYTES = env_number("LINK_MENU_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
LINK_WEBHOOK_TOLERANCE = env_number("LINK_WEBHOOK_TOLERANCE", 300, minimum=1)
LINK_SUBMIT_DEADLINE = env_number("LINK_SUBMIT_DEADLINE", 300, minimum=1)
LINK_CONFIRM_DEADLINE = env_number("LINK_CONFIRM_DEADLINE", 600, minimum=1)
LINK_CALL_DEADLINE = env_number("LINK_CALL_DEADLINE", 3600, minimum=1)
# Outbox retry timing: exponential backoff from BASE, capped at MAX, with equal jitter.
LINK_RETRY_BASE = env_number("LINK_RETRY_BASE", 1.0, minimum=0.01, cast=float)
LINK_RETRY_MAX = env_number("LINK_RETRY_MAX", 300.0, minimum=0.01, cast=float)
# A worker waits in place for a retry shorter than this; longer ones go to the sweep.
LINK_RETRY_INLINE_MAX = env_number("LINK_RETRY_INLINE_MAX", 10.0, minimum=0, cast=float)
# How long a claimed call is leased to one worker before it counts as abandoned.
LINK_CLAIM_LEASE = env_number("LINK_CLAIM_LEASE", 45, minimum=1)
# One circuit per Link host, shared by all workers: this many retriable failures in a row open it; while
# open one probe goes every PROBE_INTERVAL seconds; when it closes, the held calls go at DRAIN_RATE per s.
LINK_CIRCUIT_FAILURES = env_number("LINK_CIRCUIT_FAILURES", 5, minimum=1)
LINK_CIRCUIT_PROBE_INTERVAL = env_number("LINK_CIRCUIT_PROBE_INTERVAL", 3.0, minimum=0, cast=float)
LINK_DRAIN_RATE = env_number("LINK_DRAIN_RATE", 20.0, minimum=0, cast=float)
# The budget for calls to each Link host, shared by all workers (requests per second; 0: none).
LINK_RATE_LIMIT = env_number("LINK_RATE_LIMIT", 0.0, minimum=0, cast=float)
LINK_RATE_BURST = env_number("LINK_RATE_BURST", 1, minimum=1)

# The largest order total accepted (minor units); never above what an integer column holds.
ORDER_TOTAL_MAX = env_number("ORDER_TOTAL_MAX", 1000000, minimum=1, maximum=2**31 - 1)
# The marketplace's menu layer (issue 27): versions kept per store to compare; the share of prices a new
# version may change before the dashboard flags it.
MENU_VERSIONS_KEPT = env_number("MENU_VERSIONS_KEPT", 30, minimum=2, maximum=1000)
MENU_CHANGE_ALERT_PERCENT = env_number("MENU_CHANGE_ALERT_PERCENT", 20.0, minimum=0, maximum=100, cast=float)

# Events for MP services (issue 14: webhooks out, event feed). Endpoint URLs must be on these hosts (the
# demo's receiver is on 8200); deliveries never use Link's client, circuit, budget or workers.
MP_WEBHOOK_HOSTS = env_list("MP_WEBHOOK_HOSTS", "127.0.0.1:8200,localhost:8200" if LINKBRIDGE_DEMO else "")
_BAD_HOSTS = [h for h in MP_WEBHOOK_HOSTS if not re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?", h)]
if _BAD_HOSTS:  # a URL or a path here would silently refuse every endpoint: say so at start-up instead
    raise ImproperlyConfigured(
        f"MP_WEBHOOK_HOSTS takes hosts (host or host:port, comma-separated), not {', '.join(map(repr, _BAD_HOSTS))}."
    )
MP_WEBHOOK_DEADLINE = env_number("MP_WEBHOOK_DEADLINE", 24 * 3600, minimum=1)
MP_WEBHOOK_SECRET_OVERLAP_HOURS = env_number("MP_WEBHOOK_SECRET_OVERLAP_HOURS", 24.0, minimum=0, cast=float)
MP_WEBHOOK_DISABLE_AFTER_HOURS = env_number("MP_WEBHOOK_DISABLE_AFTER_HOURS", 72.0, minimum=0.1, cast=float)
MP_WEBHOOK_CONNECT_TIMEOUT = env_number("MP_WEBHOOK_CONNECT_TIMEOUT", 3.0, minimum=0.1, cast=float)
MP_WEBHOOK_READ_TIMEOUT = env_number("MP_WEBHOOK_READ_TIMEOUT", 5.0, minimum=0.1, cast=float)
if Q_CLUSTER["timeout"] <= MP_WEBHOOK_CONNECT_TIMEOUT + MP_WEBHOOK_READ_TIMEOUT:
    raise ImproperlyConfigured(
        f"MP_WEBHOOK_CONNECT_TIMEOUT + MP_WEBHOOK_READ_TIMEOUT must stay under the workers' {Q_CLUSTER['timeout']} s "
        f"task timeout, not {MP_WEBHOOK_CONNECT_TIMEOUT + MP_WEBHOOK_READ_TIMEOUT:g} s."
    )
# The whole of one try (connect, send, every byte of the answer), however slowly the bytes arrive (issue 24): past it
# the try is a timeout. Unset: MP_WEBHOOK_CONNECT_TIMEOUT + MP_WEBHOOK_READ_TIMEOUT (8 s by default).
MP_WEBHOOK_TIMEOUT = env_number(
    "MP_WEBHOOK_TIMEOUT", MP_WEBHOOK_CONNECT_TIMEOUT + MP_WEBHOOK_READ_TIMEOUT, minimum=0.1, cast=float
)
if Q_CLUSTER["timeout"] * 0.25 < MP_WEBHOOK_TIMEOUT:  # a dispatcher's run ends its tries well inside the task timeout
    raise ImproperlyConfigured(
        f"MP_WEBHOOK_TIMEOUT must be at most a quarter of the workers' {Q_CLUSTER['timeout']} s task timeout, "
        f"not {MP_WEBHOOK_TIMEOUT:g} s."
    )
# A new endpoint's window of tries in flight (per dispatcher): it grows while the endpoint answers 2xx within
# MP_WEBHOOK_FAST_SECONDS, up to MP_WEBHOOK_WINDOW_MAX, and halves (never below 1) when it slows or fails (AIMD).
MP_WEBHOOK_CONCURRENCY = env_number("MP_WEBHOOK_CONCURRENCY", 2, minimum=1)
MP_WEBHOOK_WINDOW_MAX = env_number("MP_WEBHOOK_WINDOW_MAX", 32, minimum=1)
MP_WEBHOOK_FAST_SECONDS = env_number("MP_WEBHOOK_FAST_SECONDS", 1.0, minimum=0.01, cast=float)
# One dispatcher (a deliveries' worker running the asyncio sender) has at most this many tries in flight, claims at
# most MP_WEBHOOK_BATCH per round, and looks for due deliveries every MP_WEBHOOK_POLL seconds when it has none;
# at most MP_WEBHOOK_DISPATCHERS dispatchers run at once (each holds one of the deliveries' workers: see below).
MP_WEBHOOK_IN_FLIGHT = env_number("MP_WEBHOOK_IN_FLIGHT", 256, minimum=1)
MP_WEBHOOK_BATCH = env_number("MP_WEBHOOK_BATCH", 200, minimum=1)
MP_WEBHOOK_POLL = env_number("MP_WEBHOOK_POLL", 0.05, minimum=0.005, cast=float)
# Endpoints one API client may register (each event fans out to every one of them).
MP_WEBHOOK_ENDPOINTS_PER_CLIENT = env_number("MP_WEBHOOK_ENDPOINTS_PER_CLIENT", 20, minimum=1)
# The deliveries' own worker timing, as LINK_RETRY_INLINE_MAX and LINK_CLAIM_LEASE are for calls to Link: a worker
# waits in place for a retry shorter than RETRY_INLINE_MAX, and holds a claimed delivery for CLAIM_LEASE seconds.
# Deliveries read the LINK_ names before these existed: unset, each takes its LINK_ twin's value (so a deployment
# that set LINK_CLAIM_LEASE or LINK_RETRY_INLINE_MAX keeps its deliveries' timing), else the same defaults.
# A delivery's lease also covers its whole try and its recording (MP_WEBHOOK_TIMEOUT + 5 s): unset, it is at least that.
MP_WEBHOOK_CLAIM_LEASE = env_number(
    "MP_WEBHOOK_CLAIM_LEASE", max(LINK_CLAIM_LEASE, math.ceil(MP_WEBHOOK_TIMEOUT + 5)), minimum=1
)
MP_WEBHOOK_RETRY_INLINE_MAX = env_number("MP_WEBHOOK_RETRY_INLINE_MAX", LINK_RETRY_INLINE_MAX, minimum=0, cast=float)
if MP_WEBHOOK_CLAIM_LEASE < MP_WEBHOOK_TIMEOUT + 5:  # a claimed delivery is tried and recorded inside its lease
    raise ImproperlyConfigured(
        f"MP_WEBHOOK_CLAIM_LEASE must be at least MP_WEBHOOK_TIMEOUT + 5 s ({MP_WEBHOOK_TIMEOUT + 5:g}), "
        f"not {MP_WEBHOOK_CLAIM_LEASE}."
    )

# The ops dashboard counts failed orders, refused cancels and failed calls of the last this many hours.
OPS_ATTENTION_HOURS = env_number("OPS_ATTENTION_HOURS", 24, minimum=1)

# Automatic busy mode (issue 28), off by default: a store goes busy for AUTO_BUSY_MINUTES (quoting
# AUTO_BUSY_EXTRA_PREP_MINUTES more) when Link's confirmed prep times of its last five orders average over
# AUTO_BUSY_PREP_MINUTES, or when three of its orders are rejected for capacity (KITCHEN_BUSY) within 15 minutes.
AUTO_BUSY = env_bool("AUTO_BUSY", False)
AUTO_BUSY_PREP_MINUTES = env_number("AUTO_BUSY_PREP_MINUTES", 45, minimum=1)
AUTO_BUSY_MINUTES = env_number("AUTO_BUSY_MINUTES", 30, minimum=1)
AUTO_BUSY_EXTRA_PREP_MINUTES = env_number("AUTO_BUSY_EXTRA_PREP_MINUTES", 15, minimum=0)

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

# --- Operations (issue 15): metrics, logs, retention, readiness ----------------------------------
# /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>"; unset, it is a 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# With /metrics on, production processes (gunicorn workers, django-q2 workers) must add up their counters in one
# directory per host (integration/metrics.py); without it each counts in its own memory and a scrape shows one
# process's share. The demo and the tests serve one process's values, or set it (scripts/run.py, tests/e2e).
if METRICS_TOKEN and not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip() and not LINKBRIDGE_DEMO:
    raise ImproperlyConfigured(
        "METRICS_TOKEN is set but PROMETHEUS_MULTIPROC_DIR is not: set PROMETHEUS_MULTIPROC_DIR to a directory "
        "(one per host, emptied at start) for every process, or each gunicorn and django-q2 worker counts alone."
    )
# LOG_FORMAT=json: one JSON object per line, with the ids of the request, event, order, call and venue it concerns.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
MIDDLEWARE.insert(0, "integration.logcontext.RequestIdMiddleware")
LOGGING["filters"] = {"ids": {"()": "integration.logcontext.ContextFilter"}}
LOGGING["handlers"]["console"]["filters"] = ["ids"]
LOGGING["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
if LOG_FORMAT == "json":
    LOGGING["handlers"]["console"]["formatter"] = "json"
# /readyz/ answers 503 when no worker host has run the outbox sweep (every minute) for this long.
READY_SWEEP_MAX_AGE = env_number("READY_SWEEP_MAX_AGE", 180, minimum=1)


def env_days(name: str, default: str) -> int | None:
    """Days to keep; empty (or unset with an empty default) keeps for ever."""
    if not os.environ.get(name, default).strip():
        return None
    return env_number(name, int(default or 0), minimum=1)


# Retention (link_prune and its daily schedule): days to keep; empty keeps for ever.
RETAIN_WEBHOOK_DAYS = env_days("RETAIN_WEBHOOK_DAYS", "30")  # applied webhook events
RETAIN_CALL_ATTEMPT_DAYS = env_days("RETAIN_CALL_ATTEMPT_DAYS", "30")  # attempts of calls settled this long ago
RETAIN_TASK_DAYS = env_days("RETAIN_TASK_DAYS", "7")  # django-q2 task results
RETAIN_ORDER_DAYS = env_days("RETAIN_ORDER_DAYS", "")  # closed orders (kept by default: accounting)
RETAIN_MP_EVENT_DAYS = env_days("RETAIN_MP_EVENT_DAYS", "7")  # events for MP services (feed, delivery log)
RETAIN_BATCH_SIZE = env_number("RETAIN_BATCH_SIZE", 2000, minimum=1)
# Several hosts share one broker: one name for the whole site (it is also the Redis queue's key); Q_SCHEDULER=0
# for a worker that must not create scheduled tasks (the Procfile's scheduler process does).
Q_CLUSTER["name"] = os.environ.get("Q_NAME", "linkbridge")
Q_CLUSTER["scheduler"] = env_bool("Q_SCHEDULER", True)
# Deliveries to MP webhook endpoints have a cluster (queue and workers) of their own: a slow endpoint
# never holds a worker that calls to Link need. Run it with Q_CLUSTER_NAME=<this name> manage.py qcluster.
MP_WEBHOOK_CLUSTER = f"{Q_CLUSTER['name']}-webhooks"
MP_WEBHOOK_WORKERS = env_number("MP_WEBHOOK_WORKERS", 4, minimum=1)
# Its scheduler is on whatever Q_SCHEDULER says: it takes only the schedules named for this cluster (django-q2), i.e.
# its heartbeat (services.ops.health), so /readyz/ and the dashboard tell when this cluster is not running.
Q_CLUSTER["ALT_CLUSTERS"] = {MP_WEBHOOK_CLUSTER: {"workers": MP_WEBHOOK_WORKERS, "scheduler": True}}
# Failing endpoints (last try failed) share this many of the deliveries' workers, one each at most: at least 1 and
# fewer than MP_WEBHOOK_WORKERS (README), so one worker is too few (dead endpoints could hold it).
if MP_WEBHOOK_WORKERS < 2:
    raise ImproperlyConfigured(
        f"MP_WEBHOOK_WORKERS must be at least 2, not {MP_WEBHOOK_WORKERS}: failing endpoints share "
        "MP_WEBHOOK_FAILING_PLACES (at least 1) of the deliveries' workers, fewer than all of them."
    )
MP_WEBHOOK_DISPATCHERS = env_number("MP_WEBHOOK_DISPATCHERS", max(1, min(2, MP_WEBHOOK_WORKERS - 1)), minimum=1)
if MP_WEBHOOK_DISPATCHERS >= MP_WEBHOOK_WORKERS:  # the others run the heartbeat and turn away extra dispatchers
    raise ImproperlyConfigured(
        f"MP_WEBHOOK_DISPATCHERS must be fewer than MP_WEBHOOK_WORKERS ({MP_WEBHOOK_WORKERS}), "
        f"not {MP_WEBHOOK_DISPATCHERS}."
    )
MP_WEBHOOK_FAILING_PLACES = env_number("MP_WEBHOOK_FAILING_PLACES", max(1, MP_WEBHOOK_WORKERS // 2), minimum=1)
if MP_WEBHOOK_FAILING_PLACES >= MP_WEBHOOK_WORKERS:  # else dead endpoints could take every worker
    raise ImproperlyConfigured(
        f"MP_WEBHOOK_FAILING_PLACES must be at least 1 and fewer than MP_WEBHOOK_WORKERS ({MP_WEBHOOK_WORKERS}), "
        f"not {MP_WEBHOOK_FAILING_PLACES}."
    )

# --- Availability alerts to people (issue 26): evaluated every 30 s; see docs/subsystems/availability.md ------
# A rule fires once its condition has held this long, and resolves once clear for ALERT_RESOLVE_SECONDS.
ALERT_LINK_UNREACHABLE_SECONDS = env_number("ALERT_LINK_UNREACHABLE_SECONDS", 120, minimum=0, maximum=7 * 86400)
ALERT_STORE_UNAVAILABLE_SECONDS = env_number("ALERT_STORE_UNAVAILABLE_SECONDS", 900, minimum=0, maximum=7 * 86400)
# Orders failing: at least ALERT_ORDERS_FAILED orders FAILED within the last ALERT_ORDERS_FAILED_MINUTES.
ALERT_ORDERS_FAILED = env_number("ALERT_ORDERS_FAILED", 3, minimum=1, maximum=100000)
ALERT_ORDERS_FAILED_MINUTES = env_number("ALERT_ORDERS_FAILED_MINUTES", 15, minimum=1, maximum=24 * 60)
ALERT_MP_ENDPOINT_FAILING_SECONDS = env_number("ALERT_MP_ENDPOINT_FAILING_SECONDS", 3600, minimum=0, maximum=30 * 86400)
# The Link workers' cluster, the deliveries' cluster or the scheduler silent this long.
ALERT_WORKER_SILENT_SECONDS = env_number("ALERT_WORKER_SILENT_SECONDS", 180, minimum=30, maximum=86400)
ALERT_RESOLVE_SECONDS = env_number("ALERT_RESOLVE_SECONDS", 60, minimum=0, maximum=3600)
# Stores going unavailable in one evaluation are announced in one message listing them (up to this many names).
ALERT_GROUP_LIST_MAX = env_number("ALERT_GROUP_LIST_MAX", 20, minimum=1, maximum=1000)
# Channels: a chat-style incoming webhook (POST {"text", "alert"}) and/or e-mail through Django's EMAIL_* settings.
ALERT_WEBHOOK_URL = os.environ.get("ALERT_WEBHOOK_URL", "").strip()
ALERT_EMAILS = env_list("ALERT_EMAILS", "")
ALERT_DELIVERY_DEADLINE = env_number("ALERT_DELIVERY_DEADLINE", 3600, minimum=1, maximum=7 * 86400)
ALERT_WEBHOOK_TIMEOUT = env_number("ALERT_WEBHOOK_TIMEOUT", 5.0, minimum=0.1, maximum=30, cast=float)
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if LINKBRIDGE_DEMO
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_number("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_number("EMAIL_TIMEOUT", 10, minimum=1, maximum=55)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "linkbridge@localhost")

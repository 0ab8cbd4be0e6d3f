"""Weft settings, read from the environment with secure defaults.

WEFT_ENV=production refuses to start without WEFT_SECRET_KEY and turns DEBUG off.
Without DATABASE_URL / REDIS_URL the embedded servers under var/ are used
(started by `python -m config.embedded up`, which `make run` and `make test` do).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.paths import BASE_DIR, VAR_DIR


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


WEFT_ENV = env("WEFT_ENV", "development")
PRODUCTION = WEFT_ENV == "production"
DEBUG = env_bool("WEFT_DEBUG", not PRODUCTION)


def _secret_key() -> str:
    key = env("WEFT_SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("WEFT_SECRET_KEY must be set when WEFT_ENV=production.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("WEFT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("WEFT_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.workflows",
    "apps.editor",
    "apps.audit",
    "apps.expressions",
    "apps.credentials",
    "apps.variables",
    "apps.console",
    "apps.runs",
    "apps.inference",
    "apps.approvals",
    "apps.oversight",
    "apps.privacy",
    "apps.feedback",
    # Last: imports every node module (below) once the models are loaded, then freezes.
    "apps.nodes",
]

# Modules that register node types; imported in this order by NodesConfig.ready().
WEFT_NODE_MODULES = [
    "apps.nodes.types.core",
    "apps.inference.nodes",
    "apps.nodes.types.data",
    "apps.nodes.types.control",
    "apps.nodes.types.http",
    "apps.nodes.types.engine",
    "apps.approvals.nodes",
    "apps.nodes.types.notify",
    "apps.audit.nodes",
    "apps.oversight.nodes",
    "apps.privacy.nodes",
]
if env_bool("WEFT_TEST_NODES", False):  # node types for the engine's tests and bench only
    WEFT_NODE_MODULES.append("apps.nodes.types.testing")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.InboundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in lockout flagged during the view into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
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
                "apps.core.context_processors.roles",
            ],
        },
    },
]

# --- Database and Redis ------------------------------------------------------------

def _service_urls() -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL. In production both must be set; elsewhere the
    embedded servers (`config.embedded`, development only: its packages are in the
    `dev` dependency group) fill in what is not."""
    database_url, redis_url = env("DATABASE_URL"), env("REDIS_URL")
    if PRODUCTION:
        missing = [name for name, url in (("DATABASE_URL", database_url),
                                          ("REDIS_URL", redis_url)) if not url]
        if missing:
            raise ImproperlyConfigured(
                f"{' and '.join(missing)} must be set when WEFT_ENV=production.")
        return database_url, redis_url
    from config import embedded

    state = embedded.read_state()
    return (
        database_url or state.get("database_url", "")
        or f"postgresql://postgres:@/postgres?host={embedded.PG_DIR}",
        redis_url or state.get("redis_url", "")
        or f"redis://127.0.0.1:{embedded.DEFAULT_REDIS_PORT}",
    )


DATABASE_URL, REDIS_URL = _service_urls()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# A unix-socket URL (`...@/db?host=/path`) parses into OPTIONS; keep it in HOST.
if "host" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
# A small psycopg pool per process: CONN_MAX_AGE>0 leaks connections under ASGI.
if env_bool("WEFT_DB_POOL", True):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("WEFT_DB_POOL_SIZE", 8),
        "timeout": 10,
    }

# The engine's own statements (claims, steps, leases, heartbeats) are bound on the server
# and prepared on each connection (apps.core.db.prepared_cursor): planned once per
# connection instead of on every run (PostgreSQL's CPU per model run -40%:
# bench/RESULTS.md). Off (WEFT_DB_PREPARE=0) behind a pooler that cannot keep prepared
# statements (PgBouncer before 1.21 in transaction mode).
WEFT_DB_PREPARE = env_bool("WEFT_DB_PREPARE", True)
if WEFT_DB_PREPARE:  # (Django's default turns psycopg's preparing off for every cursor;
    # its own cursors bind on the client and are never prepared either way)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1

REDIS_URL = REDIS_URL.rstrip("/")
# One Redis, separate logical databases per use.
_redis_base = REDIS_URL.rsplit("/", 1)[0] if REDIS_URL.count("/") > 2 else REDIS_URL
BROKER_URL = env("WEFT_BROKER_URL", f"{_redis_base}/0")
CACHE_URL = f"{_redis_base}/1"
CHANNELS_URL = f"{_redis_base}/2"

# A cache outage degrades (a miss, a write dropped, a log line), never a 500 or a hang.
CACHES = {
    "default": {
        "BACKEND": "apps.core.cache.ForgivingRedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "weft",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [CHANNELS_URL]},
    }
}

# --- Celery (see celery_worker/app.py) ------------------------------------------------

CELERY_BROKER_URL = BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
# Short connection timeouts: a publish while the broker is away fails in about a
# second at most (the outbox sends it again), never holding a request or a step.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("WEFT_VISIBILITY_TIMEOUT", 3600),
                                   "socket_connect_timeout": 1, "max_retries": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup would close the database pool of a worker process around every
# task (a new PostgreSQL connection, with cold caches, per node: ~10 ms). The worker
# hands its connections back to the pool after each task instead (celery_worker/app.py).
CELERY_DB_REUSE_MAX = 10**9

# --- Auth -------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Hashers accepted for existing passwords besides Django's defaults (new ones
# always use the first default): e.g. when importing users from another system.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    *env_list("WEFT_EXTRA_PASSWORD_HASHERS", ""),
]
AUTHENTICATION_BACKENDS = [
    # First: refuses every sign-in of a locked-out account or address (django-axes).
    "apps.accounts.backends.SigninThrottleBackend",
    "apps.accounts.backends.UsernameOrEmailBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("WEFT_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("WEFT_HSTS_INCLUDE_SUBDOMAINS", False)

# Content-Security-Policy on every response (django-csp). No inline script and no eval:
# pages load their scripts from our static files (the Vite bundle, console.js) and hand
# data over in <script type="application/json"> blocks, which are not executed. The
# editor's JSON-Schema forms validate without compiling code (frontend/src/features/
# inspector/validator.ts). Styles come from our files only; style attributes that
# scripts set (React Flow positions nodes with them) go through the CSSOM, which CSP
# does not restrict, so no 'unsafe-inline' is needed for styles either.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # the API and, same origin, the run WebSocket
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Proxies whose X-Forwarded-For is believed (addresses or CIDRs; apps.core.net.client_ip).
# Empty: the client is the connection's peer and the header is ignored.
WEFT_TRUSTED_PROXIES = env_list("WEFT_TRUSTED_PROXIES", "")

# Sign-in throttling (django-axes, attempts kept in PostgreSQL): after
# WEFT_LOGIN_FAILURE_LIMIT failures for one account, or from one client address, sign-in
# is refused for WEFT_LOGIN_LOCKOUT_MINUTES after the last failure (the login page and
# POST /api/auth/token/ alike). Admins clear lockouts in the console (Users and roles).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("WEFT_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("WEFT_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.core.net.client_ip"
AXES_USERNAME_CALLABLE = "apps.accounts.lockouts.attempted_username"
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockouts.lockout_response"
AXES_ENABLE_ADMIN = False  # no Django admin site here: the console shows lockouts
AXES_VERBOSE = False
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are in the audit log already

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.core.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env("WEFT_LOGIN_RATE", "30/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Weft API",
    "DESCRIPTION": "Build, version and run workflows. Authenticate with "
                   "`Authorization: Token <token>` from POST /api/auth/token/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Largest request body (graphs, imports, webhook payloads).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("WEFT_MAX_BODY_BYTES", 5 * 1024 * 1024)

# --- i18n, static -----------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Logging: JSON lines, each with the request id ---------------------------------

LOG_LEVEL = env("WEFT_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "apps.core.logging.ContextFilter"},
                # Masks credential values in use by the node that is logging.
                "secrets": {"()": "apps.audit.redaction.SecretLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json",
                    "filters": ["context", "secrets"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# Payload keys the audit log redacts besides secrets (personal data), e.g. "email,ip".
WEFT_AUDIT_REDACT_FIELDS = env_list("WEFT_AUDIT_REDACT_FIELDS", "")
# The key of keyed hashes of personal data (data.pseudonymise, search terms of personal
# values, erased values in audit events). Required when WEFT_ENV=production; elsewhere a
# key derived from SECRET_KEY stands in.
WEFT_PSEUDONYM_KEY = env("WEFT_PSEUDONYM_KEY")
# The region phone numbers without a country code are read in (detector "phone").
WEFT_PHONE_REGION = env("WEFT_PHONE_REGION", "US")
# How often the scheduler verifies the audit chain (seconds).
WEFT_AUDIT_VERIFY_EVERY = env_int("WEFT_AUDIT_VERIFY_EVERY", 3600)

# --- Credentials and outbound HTTP ------------------------------------------------------


def _credentials_keys() -> list[str]:
    """Fernet keys for credential secrets, newest first (comma-separated in
    WEFT_CREDENTIALS_KEY; see `manage.py weft_rotate_credentials`)."""
    keys = env_list("WEFT_CREDENTIALS_KEY", "")
    if keys:
        return keys
    if PRODUCTION:
        raise ImproperlyConfigured("WEFT_CREDENTIALS_KEY must be set when WEFT_ENV=production "
                                   "(generate one with: python -c 'from cryptography.fernet "
                                   "import Fernet; print(Fernet.generate_key().decode())').")
    key_file = VAR_DIR / "credentials_key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


WEFT_CREDENTIALS_KEYS = _credentials_keys()
# Hosts the HTTP node may reach although they resolve to private, loopback or other
# non-public addresses: CIDRs ("10.1.0.0/16") or host names ("billing.internal").
WEFT_HTTP_ALLOW_HOSTS = env_list("WEFT_HTTP_ALLOW_HOSTS", "")

WEFT_FIRST_ADMIN_EMAIL = env("WEFT_ADMIN_EMAIL", "admin@weft.local")
WEFT_FIRST_ADMIN_PASSWORD = env("WEFT_ADMIN_PASSWORD", "")

# --- Engine (apps.runs) -------------------------------------------------------------

WEFT_MAX_DELIVERIES = env_int("WEFT_MAX_DELIVERIES", 3)  # then the node is quarantined
WEFT_RUN_TIMEOUT_S = env_int("WEFT_RUN_TIMEOUT_S", 24 * 3600)
# Finished runs (with their node runs and map items) are deleted this many days after
# they finished, failed ones after the second number; a workflow may set its own
# (its runtime settings). The job deletes WEFT_RETENTION_BATCH runs per transaction.
WEFT_RUN_RETENTION_DAYS = env_int("WEFT_RUN_RETENTION_DAYS", 30)
WEFT_FAILED_RUN_RETENTION_DAYS = env_int("WEFT_FAILED_RUN_RETENTION_DAYS", 90)
WEFT_RETENTION_BATCH = env_int("WEFT_RETENTION_BATCH", 500)
# Model oversight (apps.oversight): raw call records are kept this long (the hourly
# aggregates stay); the roll-up reads records this many seconds old; a background thread
# per process writes the records (off in the test process, which flushes by itself).
WEFT_MODEL_CALL_RETENTION_DAYS = env_int("WEFT_MODEL_CALL_RETENTION_DAYS", 30)
WEFT_MODEL_ROLLUP_SETTLE_S = env_int("WEFT_MODEL_ROLLUP_SETTLE_S", 5)
WEFT_MODEL_RECORD_THREAD = env_bool("WEFT_MODEL_RECORD_THREAD", True)
# Audit events recorded on busy paths (a node's model call) are moved onto the chain by a
# thread per process right after they commit (apps.audit.chainer); off, by the thread
# that committed (the test process).
WEFT_AUDIT_CHAIN_THREAD = env_bool("WEFT_AUDIT_CHAIN_THREAD", True)
WEFT_REQUEUE_AFTER_S = env_int("WEFT_REQUEUE_AFTER_S", 120)  # queued this long: send again
# A running node's lease: renewed every third of it while its worker lives; a
# redelivery takes the node over only once it has lapsed (or its holder is gone).
WEFT_NODE_LEASE_S = float(env("WEFT_NODE_LEASE_S", "30"))
# Liveness and the outbox (apps.runs.outbox): each process that executes nodes stamps
# a heartbeat row every WEFT_HEARTBEAT_S; a running node whose holder has not beaten
# for WEFT_HOLDER_DEAD_S is sent again and taken over. Unpublished node messages are
# sent again once queued for WEFT_OUTBOX_GRACE_S, looked for every WEFT_OUTBOX_EVERY_S.
WEFT_HEARTBEAT_S = float(env("WEFT_HEARTBEAT_S", "1"))
WEFT_HOLDER_DEAD_S = float(env("WEFT_HOLDER_DEAD_S", "10"))
WEFT_OUTBOX_GRACE_S = float(env("WEFT_OUTBOX_GRACE_S", "2"))
WEFT_OUTBOX_EVERY_S = float(env("WEFT_OUTBOX_EVERY_S", "1"))
# Nodes that wait on the network (HTTP, inference) are awaited on one event loop per
# worker process (apps.runs.io_executor): at most WEFT_IO_CONCURRENCY in flight per
# process, WEFT_IO_PER_HOST of them to one host (host:port) at once.
WEFT_IO_EXECUTOR = env_bool("WEFT_IO_EXECUTOR", True)
# A respond-mode webhook's network nodes (HTTP, model calls) are executed by the web
# process that waits for the run's answer, on its own executor (no hop through a worker);
# off: they go to the `io` and `inference` workers as every other run's.
WEFT_RESPOND_IN_PROCESS = env_bool("WEFT_RESPOND_IN_PROCESS", True)
WEFT_IO_CONCURRENCY = env_int("WEFT_IO_CONCURRENCY", 200)
WEFT_IO_PER_HOST = env_int("WEFT_IO_PER_HOST", 32)
# How long a stopping worker waits for its calls in flight before it hands them back
# (apps.runs.io_executor.drain); below the supervisor's wait before SIGKILL.
WEFT_IO_DRAIN_S = float(env("WEFT_IO_DRAIN_S", "15"))
# Requests per second per I/O worker process to a host: "host=rate" or "host:port=rate"
# entries, "*=rate" for every other host; none by default. A call waiting for its turn
# shows as queued.
WEFT_IO_HOST_RATES = env_list("WEFT_IO_HOST_RATES", "")
# Model calls of concurrent runs to the same model are held this long (or until the
# model's max batch size) and sent as one request; 0: each call its own request.
WEFT_INFERENCE_LINGER_MS = float(env("WEFT_INFERENCE_LINGER_MS", "2"))
# How long a worker keeps a node's result while the database is away, trying to commit it.
WEFT_SETTLE_RETRY_S = float(env("WEFT_SETTLE_RETRY_S", "300"))
WEFT_WEBHOOK_MAX_BYTES = env_int("WEFT_WEBHOOK_MAX_BYTES", 1024 * 1024)
# JSON from outside (API bodies, webhooks, run inputs, node outputs) nests at most this
# deep (apps.core.inbound).
WEFT_JSON_MAX_DEPTH = env_int("WEFT_JSON_MAX_DEPTH", 64)
# A signed webhook's timestamp may be this far from PostgreSQL's clock, either way; a
# repeat of the same signed request within it answers with the first run.
WEFT_WEBHOOK_TOLERANCE_S = env_int("WEFT_WEBHOOK_TOLERANCE_S", 300)
# How long an Idempotency-Key (webhook or run start) answers with its first run.
WEFT_IDEMPOTENCY_TTL_S = env_int("WEFT_IDEMPOTENCY_TTL_S", 24 * 3600)
# /metrics: in production it answers only to this bearer token or these networks (CIDRs);
# in development it is open unless one of them is set.
WEFT_METRICS_TOKEN = env("WEFT_METRICS_TOKEN")
WEFT_METRICS_ALLOW = env_list("WEFT_METRICS_ALLOW", "")

# --- Human tasks: e-mail (the console in development; SMTP from the environment) -------
WEFT_PUBLIC_URL = env("WEFT_PUBLIC_URL", "http://127.0.0.1:8000")
EMAIL_BACKEND = env("WEFT_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
                    if PRODUCTION else "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("WEFT_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("WEFT_EMAIL_PORT", 25)
EMAIL_HOST_USER = env("WEFT_EMAIL_USER")
EMAIL_HOST_PASSWORD = env("WEFT_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("WEFT_EMAIL_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("WEFT_EMAIL_FROM", "Weft <weft@localhost>")
# Prometheus multiprocess mode: web and worker processes each write their own files.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

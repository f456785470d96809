"""Django settings for taskapi: the only module that reads os.environ."""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

LOCAL_STAGES = {"local", "test"}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def _env_list(name: str, default: list[str]) -> list[str]:
    value = _env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _required(name: str) -> str:
    value = _env(name)
    if value is None:
        raise ImproperlyConfigured(f"The {name} environment variable is required in stage {STAGE!r}.")
    return value


# The deployment stage: "local" on a laptop or in tests, "dev"/"prod" on Lambda.
STAGE = _env("STAGE", "local")
IS_LOCAL = STAGE in LOCAL_STAGES

DEBUG = _env_bool("DJANGO_DEBUG", False) if IS_LOCAL else False
SECRET_KEY = (
    _env("DJANGO_SECRET_KEY", "local-insecure-key-do-not-deploy") if IS_LOCAL else _required("DJANGO_SECRET_KEY")
)

# API Gateway ({id}.execute-api.{region}.amazonaws.com), function URL ({id}.lambda-url.{region}.on.aws)
# and ALB ({name}-{n}.{region}.elb.amazonaws.com) hosts of this region, plus this stage's custom domains.
_REGION = _env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1"))
ALLOWED_HOSTS = _env_list(
    "DJANGO_ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "testserver"]
    if IS_LOCAL
    else [f".execute-api.{_REGION}.amazonaws.com", f".lambda-url.{_REGION}.on.aws", f".{_REGION}.elb.amazonaws.com"],
) + _env_list("CUSTOM_DOMAINS", [])

# AWS: endpoints come from the SDK's own AWS_ENDPOINT_URL(_DYNAMODB) variables, never from here.
AWS_REGION = _env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1"))
TASKS_TABLE = _env("TASKS_TABLE", f"taskapi-{STAGE}-tasks")

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tasks",
    "ops",
]

MIDDLEWARE = [
    "taskapi.middleware.RequestLogMiddleware",
    "taskapi.caching.CacheControlMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "taskapi.static.StaticFilesMiddleware",
    # Validates the Host header on every request (a disallowed host gets a 400 problem).
    "django.middleware.common.CommonMiddleware",
    "taskapi.middleware.BodySizeLimitMiddleware",
]
# Routes match with and without the slash themselves; no redirects.
APPEND_SLASH = False

ROOT_URLCONF = "taskapi.urls"
WSGI_APPLICATION = "taskapi.wsgi.application"

# No SQL database: tasks live in DynamoDB, so nothing needs migrations or a writable disk.
DATABASES: dict = {}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "taskapi" / "templates"],  # the browsable API's look (rest_framework/api.html)
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
LANGUAGE_CODE = "en-us"

# Absolute, so Django never caches one request's script prefix in it; the storage adds the prefix per request.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "taskapi.stage.ScriptPrefixStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Bodies over this many bytes are refused with 413 before any parsing. The largest valid task, every
# character escaped as \uXXXX (12 bytes for one outside the BMP) and pretty-printed, is about 162 KB
# (tests/unit/test_body_limits.py computes it from the field limits), so any valid encoding fits.
MAX_BODY_BYTES = 192 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "taskapi.renderers.ProblemAwareJSONRenderer",
        "taskapi.renderers.TaskBrowsableAPIRenderer",
    ],
    # Form bodies only from the browsable API's own forms; every other client gets 415 for them.
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "taskapi.parsers.MergePatchParser",
        "taskapi.parsers.BrowsableFormParser",
        "taskapi.parsers.BrowsableMultiPartParser",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "taskapi.negotiation.RememberedContentNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "taskapi.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "taskapi",
    "DESCRIPTION": "A serverless task-management API on AWS Lambda and DynamoDB.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "taskapi.schema.strip_trailing_slashes",
        "taskapi.schema.stage_server",
    ],
    # The documented contract is JSON; the form parsers exist for the browsable API only.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser", "taskapi.parsers.MergePatchParser"],
    # /docs loads Swagger UI from this app's static files (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# CORS: every origin only on local and dev stages, as the seed has it; explicit origins elsewhere.
CORS_ALLOWED_ORIGINS = _env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS and (IS_LOCAL or STAGE == "dev")
# Retry-After so browser code can honour it on 409 and 503.
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Location", "Retry-After", "X-Request-ID"]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "idempotency-key",
    "x-request-id",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "taskapi.logs.RequestContextFilter"}},
    "formatters": {"json": {"()": "taskapi.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_context"],
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"handlers": ["stdout"], "level": _env("LOG_LEVEL", "INFO")},
    "loggers": {
        # The access line comes from taskapi.requests; Django's own would duplicate it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        "botocore": {"level": "WARNING"},
        "pynamodb": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
    },
}

# Monitoring (the ops app): zappa_settings.json names each deployed stage's function, API and table;
# ALERT_EMAILS (comma-separated) are subscribed to the stage's alert topic when no --email is given.
ZAPPA_SETTINGS_FILE = Path(_env("ZAPPA_SETTINGS_FILE", str(BASE_DIR / "zappa_settings.json")))
ALERT_EMAILS = _env_list("ALERT_EMAILS", [])
# Issue 16's upper tiers: addresses on the critical and emergency topics, and the critical topic's HTTPS pager.
ALERT_CRITICAL_EMAILS = _env_list("ALERT_CRITICAL_EMAILS", [])
ALERT_EMERGENCY_EMAILS = _env_list("ALERT_EMERGENCY_EMAILS", [])
ALERT_PAGER_URL = _env("ALERT_PAGER_URL", "")

# --- Reliability and security (issue 6) ---

# DynamoDB client limits: worst case per call is (1 + retries) x (connect + read) plus backoff (under 1 s
# for 5xx, under 3 s for throttling), about 12 s with these defaults: well inside the 30 s Lambda timeout.
DYNAMODB_MAX_RETRY_ATTEMPTS = int(_env("DYNAMODB_MAX_RETRY_ATTEMPTS", "2"))
DYNAMODB_CONNECT_TIMEOUT_SECONDS = float(_env("DYNAMODB_CONNECT_TIMEOUT_SECONDS", "1"))
DYNAMODB_READ_TIMEOUT_SECONDS = float(_env("DYNAMODB_READ_TIMEOUT_SECONDS", "2"))
# Retry-After (seconds) on the 503 answered when DynamoDB stays unavailable past those retries.
UNAVAILABLE_RETRY_AFTER_SECONDS = int(_env("UNAVAILABLE_RETRY_AFTER_SECONDS", "2"))

# Idempotency-Key records: their own table, kept 24 h (DynamoDB TTL); an unfinished claim is taken
# over after the lease, so a crash mid-request blocks the key for seconds, not a day.
IDEMPOTENCY_TABLE = _env("IDEMPOTENCY_TABLE", f"{TASKS_TABLE}-idempotency")
IDEMPOTENCY_TTL_SECONDS = int(_env("IDEMPOTENCY_TTL_SECONDS", str(24 * 3600)))
IDEMPOTENCY_LEASE_SECONDS = int(_env("IDEMPOTENCY_LEASE_SECONDS", "35"))

# Write-sharded listing indexes (issue 18): each owner's (and the unowned) tasks of one status spread
# over this many GSI partitions; 8 hold 8,000 creates/s of 1 KB tasks for one owner (bench.capacity).
# Per stage; local stages default to 4, which still crosses shard boundaries on every test tier.
TASK_INDEX_SHARDS = int(_env("TASK_INDEX_SHARDS", "4" if IS_LOCAL else "8"))
if not 1 <= TASK_INDEX_SHARDS <= 64:
    raise ImproperlyConfigured("TASK_INDEX_SHARDS must be between 1 and 64.")
# Tag listings by index (issue 18): one item per (task, tag) in its own table, written in the task's transaction.
TAGS_TABLE = _env("TAGS_TABLE", f"{TASKS_TABLE}-tags")
# How often a process looks again at what create_table recorded of a migration (one GetItem) until it is
# complete: when to list by the new indexes, and from when writes keep the tag slots. create_table waits this
# long plus the longest request (--writers-grace) before a tag backfill, so no write without slots outlives it.
TASK_LAYOUT_RECHECK_SECONDS = float(_env("TASK_LAYOUT_RECHECK_SECONDS", "30"))
# A page reads one Query per (status, shard): their first reads run at once on this many threads (each
# model's botocore pool holds as many connections), and a read failing past the retries above is tried again
# for its stream only, at most TASK_LIST_READ_RETRIES times per page (for all its streams together, so an
# outage costs a page a few calls more, not one per stream), each only if its worst case (about 12 s, see
# above) still ends within TASK_LIST_BUDGET_SECONDS of the page's start: well inside the 30 s Lambda timeout.
TASK_LIST_READ_WORKERS = int(_env("TASK_LIST_READ_WORKERS", "8"))
TASK_LIST_READ_RETRIES = int(_env("TASK_LIST_READ_RETRIES", "2"))
TASK_LIST_BUDGET_SECONDS = float(_env("TASK_LIST_BUDGET_SECONDS", "20"))
if TASK_LIST_READ_WORKERS < 1 or TASK_LIST_READ_RETRIES < 0:
    raise ImproperlyConfigured("TASK_LIST_READ_WORKERS must be at least 1 and TASK_LIST_READ_RETRIES at least 0.")

# Callers must bring an API Gateway identity (Cognito, IAM or API key); off means demo mode.
TASKS_REQUIRE_IDENTITY = _env_bool("TASKS_REQUIRE_IDENTITY", STAGE == "prod")
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["tasks.authentication.ApiGatewayIdentityAuthentication"]

# Security headers; HSTS and secure cookies only where API Gateway serves HTTPS.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = 0 if IS_LOCAL else int(_env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not IS_LOCAL
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not IS_LOCAL
MIDDLEWARE.append("django.middleware.clickjacking.XFrameOptionsMiddleware")
if not IS_LOCAL and SECRET_KEY.startswith("local-insecure"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must not be the local default outside local.")
# API Gateway checks identities before the app sees a request, so the app's schema declares no scheme.
SPECTACULAR_SETTINGS["AUTHENTICATION_WHITELIST"] = []
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"].append("taskapi.schema.problem_media_types")
# Declared, as the operations use it (Spectral's operation-tag-defined).
SPECTACULAR_SETTINGS["TAGS"] = [{"name": "tasks", "description": "The caller's tasks."}]
# No path prefix is stripped, so operation ids stay `tasks_create`, `tasks_batch_create`, ... whatever
# paths are added (drf-spectacular's guess of a common prefix would rename them, breaking generated clients).
SPECTACULAR_SETTINGS["SCHEMA_PATH_PREFIX"] = ""
# `check --deploy` findings that do not apply: no cookie or session authenticates anyone (so no CSRF
# surface), API Gateway and function URLs serve HTTPS only (nothing to redirect), and HSTS preloading
# is a decision for the owner of a custom domain.
SILENCED_SYSTEM_CHECKS = ["security.W003", "security.W008", "security.W021"]

# Changes feed (issue 13): the change log the stream consumer writes, kept 7 days (DynamoDB TTL); a
# feed token older than that is 410 Gone. The poller stands in for Lambda's event source mapping locally.
CHANGES_TABLE = _env("CHANGES_TABLE", f"{TASKS_TABLE}-changes")
CHANGES_RETENTION_SECONDS = int(_env("CHANGES_RETENTION_SECONDS", str(7 * 24 * 3600)))

# Real-time updates over WebSockets (issue 14): open connections (owner, TTL) in their own table. API
# Gateway closes a connection after 2 h, so a record lapses a little after that if $disconnect never came.
# Pushes go to each connection's own stage endpoint unless the SDK's AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI
# names another (the local gateway of `make run`); each push waits at most the timeout, a few at a time.
CONNECTIONS_TABLE = _env("CONNECTIONS_TABLE", f"{TASKS_TABLE}-connections")
CONNECTION_TTL_SECONDS = int(_env("CONNECTION_TTL_SECONDS", str(2 * 3600 + 600)))
WEBSOCKET_CALLBACK_URL = _env("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", "")
WEBSOCKET_PUSH_WORKERS = int(_env("WEBSOCKET_PUSH_WORKERS", "8"))
WEBSOCKET_PUSH_TIMEOUT_SECONDS = float(_env("WEBSOCKET_PUSH_TIMEOUT_SECONDS", "2"))
# A batch's whole fan-out stops after this long (the function's timeout is 30 s); what is left is counted.
WEBSOCKET_PUSH_BUDGET_SECONDS = float(_env("WEBSOCKET_PUSH_BUDGET_SECONDS", "10"))
# The ws(s):// URL the browsable API's task list connects to for live notices; empty (default): none.
# `make run` sets it to its local gateway; a deployed stage to the URL `zappa deploy`/`zappa update` print last.
WEBSOCKET_PUBLIC_URL = _env("WEBSOCKET_PUBLIC_URL", "")
# The OpenAPI document describes the WebSocket messages too (they have no HTTP operation to hang them on).
SPECTACULAR_SETTINGS["DESCRIPTION"] += (
    "\n\n## Real-time updates (WebSocket)\n"
    "Connect to the stage's WebSocket URL (`zappa deploy` and `zappa update` print it; under `make run`, "
    "`ws://127.0.0.1:8001` unless `WS_PORT` says otherwise) "
    "with the same identity as for HTTP. The server sends `{\"type\": \"change\", \"change\", \"taskId\", "
    "\"version\", \"at\", \"task\", \"since\"}` for each change to your tasks: one `/tasks/changes` entry and "
    "the feed token after it; after a reconnect, resume with `GET /tasks/changes?since=<token>`. "
    "Send `{\"action\": \"ping\"}` for `{\"type\": \"pong\"}`; anything else is answered "
    "`{\"type\": \"error\", \"title\", \"detail\"}`. See the README section \"Real-time updates over WebSockets\"."
)

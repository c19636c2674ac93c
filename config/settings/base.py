"""Settings shared by every environment. Values come from the environment (django-environ);
a malformed value fails loudly at start-up rather than silently falling back."""

from pathlib import Path

import environ
import pghistory
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-renewal-desk-key-change-me-in-production-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    "django_celery_beat",
    # ours, in the import order of DESIGN.md section 4
    "core",
    "accounts",
    "audit",
    "policies",
    "billing",
    "outreach",
    "risk",
    "scoring",  # the lapse-risk score: beside outreach and risk (reads billing; renewals and reporting use it)
    "renewals",
    "reporting",
    "simulation",  # the demo department: runs every app above over past dates; nothing imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Chinese unless the user picked English; Accept-Language is deliberately ignored (DESIGN §4).
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # after MessageMiddleware: it tells the user their session expired with a message
    "accounts.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # records a refused out-of-scope attempt after the service's transaction rolled back
    "core.middleware.OutOfScopeMiddleware",
    # a query cancelled by the web's statement timeout: the "took too long" page, not a 500
    "core.middleware.StatementTimeoutMiddleware",
    # axes last, as its documentation asks
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.i18n",
                "accounts.context_processors.navigation",
                "renewals.context_processors.nightly_banner",
            ],
        },
    },
]

# Two database roles (README "Database roles"): DATABASE_URL is the application role (web,
# workers, beat: DML on ordinary tables, SELECT and INSERT on the trail, owns nothing);
# MIGRATE_DATABASE_URL the schema's owner, used only by `migrate` (bin/setup runs it with
# DATABASE_URL set to this URL), the test database's creation and flushes (test.py) and first bulk
# loads. Unset, it is DATABASE_URL (one user for everything, as before).
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://root@127.0.0.1:5432/renewal_desk"),
}
MIGRATE_DATABASE_URL = env("MIGRATE_DATABASE_URL", default="") or None
# the role grants.sql gives the application's privileges to (core/sql/grants.sql)
DATABASE_APP_ROLE = "renewal_desk_app"
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

# Dead peers and stuck sessions. A worker whose host vanishes without closing its connection leaves
# its session (and the chunk row it locked) open on the server until something notices. TCP
# keepalives on both ends notice a silent peer within idle + interval x count seconds (libpq's
# `keepalives*` for the client, the session's `tcp_keepalives_*` for the server);
# client_connection_check_interval lets the server notice a vanished client during a long statement.
# A session idle inside a transaction longer than the idle-in-transaction timeout is ended by the
# server, which rolls it back and frees its locks: a stopped or hung worker loses its chunk to the
# orchestrator or another worker. Timeouts are seconds, 0 = none.
DB_KEEPALIVES_IDLE = env.int("DB_KEEPALIVES_IDLE", default=60)
DB_KEEPALIVES_INTERVAL = env.int("DB_KEEPALIVES_INTERVAL", default=10)
DB_KEEPALIVES_COUNT = env.int("DB_KEEPALIVES_COUNT", default=6)
# management commands, tests, beat: commands share these settings (migrate, large imports, the demo
# build), so no statement timeout unless the environment sets one
DB_STATEMENT_TIMEOUT = env.int("DB_STATEMENT_TIMEOUT", default=0)
# the web process (config/wsgi.py applies it, as config/celery.py does the workers'): a page's query
# that runs longer is cancelled and the person sees the "took too long" page (core.middleware), so
# that one slow page cannot pile up queries on the server; pages answer in well under a second at
# 1M policies (bench/RESULTS.md, "Pages")
WEB_DB_STATEMENT_TIMEOUT = env.int("WEB_DB_STATEMENT_TIMEOUT", default=5)
# the web process keeps its connections this many seconds (core.db_sessions; 0: one per request)
WEB_DB_CONN_MAX_AGE = env.int("WEB_DB_CONN_MAX_AGE", default=60)
# parallel query workers per statement in web sessions (max_parallel_workers_per_gather): a page
# reads one page of rows, and starting two workers cost a queue page 5 of its 12 ms while 30 clerks'
# requests compete for the same cores (bench/RESULTS.md part 13); the night's workers keep the server's
WEB_DB_PARALLEL_WORKERS = env.int("WEB_DB_PARALLEL_WORKERS", default=0)
DB_IDLE_IN_TRANSACTION_TIMEOUT = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT", default=5 * 60)
# Celery worker processes (config/celery.py applies them when a worker starts): a chunk's statement
# takes seconds to minutes at 1M policies (bench/RESULTS.md); 30 minutes means it is stuck
WORKER_DB_STATEMENT_TIMEOUT = env.int("WORKER_DB_STATEMENT_TIMEOUT", default=30 * 60)
WORKER_DB_IDLE_IN_TRANSACTION_TIMEOUT = env.int("WORKER_DB_IDLE_IN_TRANSACTION_TIMEOUT", default=5 * 60)


def _session_options(*, statement_timeout: int, idle_in_transaction_timeout: int,
                     parallel_workers: int | None = None) -> str:
    """libpq's `options`: settings the server applies to the session when it starts (no round trip)."""
    settings_: dict[str, object] = {
        "tcp_keepalives_idle": DB_KEEPALIVES_IDLE,
        "tcp_keepalives_interval": DB_KEEPALIVES_INTERVAL,
        "tcp_keepalives_count": DB_KEEPALIVES_COUNT,
        "client_connection_check_interval": f"{DB_KEEPALIVES_INTERVAL}s",
        "statement_timeout": f"{statement_timeout}s",
        "idle_in_transaction_session_timeout": f"{idle_in_transaction_timeout}s",
    }
    if parallel_workers is not None:
        settings_["max_parallel_workers_per_gather"] = parallel_workers
    return " ".join(f"-c {name}={value}" for name, value in settings_.items())


# options given in DATABASE_URL (?options=...) come last, so they win
_url_session_options = DATABASES["default"]["OPTIONS"].get("options", "")
DATABASES["default"]["OPTIONS"].update({
    "keepalives": 1,
    "keepalives_idle": DB_KEEPALIVES_IDLE,
    "keepalives_interval": DB_KEEPALIVES_INTERVAL,
    "keepalives_count": DB_KEEPALIVES_COUNT,
    "options": " ".join(filter(None, [_session_options(statement_timeout=DB_STATEMENT_TIMEOUT,
                                                       idle_in_transaction_timeout=DB_IDLE_IN_TRANSACTION_TIMEOUT),
                                      _url_session_options])),
})
DATABASE_WEB_SESSION_OPTIONS = " ".join(filter(None, [
    _session_options(statement_timeout=WEB_DB_STATEMENT_TIMEOUT, idle_in_transaction_timeout=DB_IDLE_IN_TRANSACTION_TIMEOUT,
                     parallel_workers=WEB_DB_PARALLEL_WORKERS),
    _url_session_options]))
DATABASE_WORKER_SESSION_OPTIONS = " ".join(filter(None, [
    _session_options(statement_timeout=WORKER_DB_STATEMENT_TIMEOUT,
                     idle_in_transaction_timeout=WORKER_DB_IDLE_IN_TRANSACTION_TIMEOUT),
    _url_session_options]))

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "rd",
    }
}

AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.CharacterClassValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions: idle and absolute limits, enforced by accounts.middleware.SessionTimeoutMiddleware.
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT_SECONDS = env.int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Brute force: django-axes locks the username after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The issue asks to lock the account (the username) whatever address the attempts come from;
# axes warns that IP rotation is then unlimited, which is the point of locking the account.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "rd_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Front-end packages come from the npm registry at set-up (bin/dev runs npm ci); never a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

MEDIA_ROOT = BASE_DIR / "var" / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Renewal Desk API",
    "DESCRIPTION": "续期工作台 REST API: policies, status on a date, installments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # the schema and its docs are for signed-in users and token holders (issue 10)
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # every operation documents the error answers of the one error shape (core/api.py)
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.schema_error_responses"],
    # a payment's status is named as such, not by a hash beside the policy's and installment's
    "ENUM_NAME_OVERRIDES": {"PaymentStatusEnum": "billing.models.Payment.Status",
                            "FrequencyEnum": "policies.models.Policy.Frequency",
                            "PaymentMethodEnum": "policies.models.Policy.PaymentMethod"},
    # core.api.PolicyNumberConverter: a policy number is at most 32 characters (the feed's rule)
    "PATH_CONVERTER_OVERRIDES": {"policy_no": {"type": "string", "minLength": 1, "maxLength": 32}},
}

# Audit trail (django-pghistory): event tables refuse UPDATE and DELETE by trigger.
PGHISTORY_APPEND_ONLY = True
PGHISTORY_ADMIN_MODEL = "pghistory.MiddlewareEvents"
# the foreign keys an event table copies are not indexed (audit/events.py); its object and its
# context (who, which request or job) are
PGHISTORY_FOREIGN_KEY_FIELD = pghistory.ForeignKey(db_index=False)
PGHISTORY_OBJ_FIELD = pghistory.ObjForeignKey(db_index=True)
PGHISTORY_CONTEXT_FIELD = pghistory.ContextForeignKey(db_index=True)


CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
# Fault injection for the pipeline's fault tests (renewals/tests/test_pipeline_faults.py): chunk_execute
# sleeps this long inside a chunk's open transaction of this step, after its SQL and before its done
# mark, so a test can kill the worker mid-chunk. Off here; only config/settings/test.py reads them
# from the environment, and only the fault test's worker subprocess sets them.
NIGHTLY_FAULT_DELAY_STEP = None
NIGHTLY_FAULT_DELAY_SECONDS = 0
# ... and raises inside the chunk of this step that holds this policy id (any chunk of it when None),
# a poison chunk for the attempts test
NIGHTLY_FAULT_FAIL_STEP = None
NIGHTLY_FAULT_FAIL_POLICY_ID = None
# A chunk that failed this many times is not tried again: the run stops at its step, failed, and the
# administrators are alerted; resuming the run (the operations page) gives the chunk fresh attempts.
NIGHTLY_CHUNK_MAX_ATTEMPTS = env.int("NIGHTLY_CHUNK_MAX_ATTEMPTS", default=3)
# A step that changed at least this many rows ANALYZEs the tables it wrote (steps.ANALYZE_AFTER)
# before the next step plans its queries on them, each table only when the rows are also this
# share of those it was last analysed with (or it never was). A statement's or a debit answer's
# import does the same for the money tables it wrote (core.analyze).
NIGHTLY_ANALYZE_MIN_ROWS = env.int("NIGHTLY_ANALYZE_MIN_ROWS", default=10_000)
NIGHTLY_ANALYZE_FRACTION = env.float("NIGHTLY_ANALYZE_FRACTION", default=0.1)
# The lapse-risk feature snapshot (a row per in-force policy a night): every night of the last N
# days is kept, and each month's first night for M months (scoring.services.retention).
SCORING_SNAPSHOT_KEEP_DAYS = env.int("SCORING_SNAPSHOT_KEEP_DAYS", default=62)
SCORING_SNAPSHOT_KEEP_MONTHS = env.int("SCORING_SNAPSHOT_KEEP_MONTHS", default=25)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "core.tasks.heartbeat", "schedule": crontab(minute="*/5")},
    # the nightly pipeline for the business date, at 01:00 Asia/Shanghai
    "nightly-pipeline": {"task": "renewals.tasks.nightly_pipeline", "schedule": crontab(hour=1, minute=0)},
    # reminders due now go out (outreach.services.dispatch); quiet hours are kept by the service
    "dispatch-contacts": {"task": "outreach.tasks.dispatch_contacts", "schedule": crontab(minute="*")},
}

COMPANY_NAME = env("COMPANY_NAME", default="续期示范人寿保险股份有限公司")
# our main receiving account: statements default to it; auto-debits are credited to it
MAIN_RECEIVING_ACCOUNT = env("MAIN_RECEIVING_ACCOUNT", default="6222020200000000001")
MAIN_RECEIVING_BANK = env("MAIN_RECEIVING_BANK", default="中国工商银行")
# the payment platforms' webhook secret (HMAC-SHA256 of the body); empty: webhooks refused
PAYMENT_WEBHOOK_SECRET = env("PAYMENT_WEBHOOK_SECRET", default="")
# a manual match above this amount waits for a second finance user's approval
BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD = env("BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD", default="5000.00")
# an installment counts as paid when what is left is at most this much
BILLING_PAID_TOLERANCE = env("BILLING_PAID_TOLERANCE", default="0.00")
# A large statement is imported in parts that run at once, each in its own transaction on its own
# connection (billing.services.statements): up to STATEMENT_IMPORT_PARTS parts of at least
# STATEMENT_IMPORT_PART_MIN_LINES lines each; 1 imports every file in one transaction. The server
# then uses as many cores as there are parts (a 100,000-line statement in about 0.75 of the time on
# 2 cores: bench/RESULTS.md part 29).
STATEMENT_IMPORT_PARTS = env.int("STATEMENT_IMPORT_PARTS", default=2)
STATEMENT_IMPORT_PART_MIN_LINES = env.int("STATEMENT_IMPORT_PART_MIN_LINES", default=20_000)
# Outreach (DESIGN.md section 3): no message between the quiet start and end in the customer's time
# zone; at most OUTREACH_WEEKLY_CAP contacts per customer per ISO week across channels (an urgent
# step may exceed it by one)
OUTREACH_DEFAULT_TIME_ZONE = env("OUTREACH_DEFAULT_TIME_ZONE", default="Asia/Shanghai")
OUTREACH_QUIET_START = env("OUTREACH_QUIET_START", default="21:00")
OUTREACH_QUIET_END = env("OUTREACH_QUIET_END", default="08:00")
OUTREACH_WEEKLY_CAP = env.int("OUTREACH_WEEKLY_CAP", default=3)
# e-mail goes out through Django's SMTP backend (bin/dev and the tests: a local SMTP server)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=1025)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="renewals@example.com")
# how many due contacts one dispatcher pass claims at once
OUTREACH_DISPATCH_BATCH = env.int("OUTREACH_DISPATCH_BATCH", default=500)
# kill switches: a gateway switched off is not called at all (its contacts wait)
OUTREACH_EMAIL_ENABLED = env.bool("OUTREACH_EMAIL_ENABLED", default=True)
OUTREACH_SMS_ENABLED = env.bool("OUTREACH_SMS_ENABLED", default=True)
# SMS: Aliyun Dysms (SendBatchSms); bin/dev and the tests point it at a local fake gateway
OUTREACH_SMS_ENDPOINT = env("OUTREACH_SMS_ENDPOINT", default="http://127.0.0.1:8025/")
OUTREACH_SMS_ACCESS_KEY_ID = env("OUTREACH_SMS_ACCESS_KEY_ID", default="dev-key")
OUTREACH_SMS_ACCESS_KEY_SECRET = env("OUTREACH_SMS_ACCESS_KEY_SECRET", default="dev-secret")
OUTREACH_SMS_BATCH_SIZE = env.int("OUTREACH_SMS_BATCH_SIZE", default=100)  # the provider's maximum
OUTREACH_SMS_RATE = env.float("OUTREACH_SMS_RATE", default=500)  # messages a second per worker process
# delivery receipts: HMAC-SHA256 over "<timestamp>.<body>" with this secret; empty: refused
OUTREACH_SMS_CALLBACK_SECRET = env("OUTREACH_SMS_CALLBACK_SECRET", default="")
# receipt error codes that mean the number does not work (the phone is marked failed)
OUTREACH_SMS_BOUNCE_CODES = env.list("OUTREACH_SMS_BOUNCE_CODES",
                                     default=["MOBILE_NOT_EXIST", "MOBILE_NUMBER_ILLEGAL", "EMPTY_NUMBER", "IA:0051"])

# Payment links (outreach) and the platforms' notifications (billing), README "Payment links".
# PAYLINK_BASE_URL: the address customers open (/p/<code>/); PAYMENT_NOTIFY_BASE_URL: where the
# platforms reach billing's notification URLs. Keys are PEM text or a file's path; the defaults are
# the local fakes' development keys (bin/dev writes them under var/platform-keys/).
PAYLINK_BASE_URL = env("PAYLINK_BASE_URL", default="http://localhost:8000")
PAYLINK_TTL_HOURS = env.int("PAYLINK_TTL_HOURS", default=7 * 24)
PAYMENT_NOTIFY_BASE_URL = env("PAYMENT_NOTIFY_BASE_URL", default=PAYLINK_BASE_URL)
PLATFORM_DEV_KEYS_DIR = BASE_DIR / "var" / "platform-keys"
ALIPAY_GATEWAY = env("ALIPAY_GATEWAY", default="http://127.0.0.1:8031/gateway.do")
ALIPAY_APP_ID = env("ALIPAY_APP_ID", default="2021000000000001")
ALIPAY_APP_PRIVATE_KEY = env("ALIPAY_APP_PRIVATE_KEY", default=str(PLATFORM_DEV_KEYS_DIR / "alipay_app_private.pem"))
ALIPAY_PUBLIC_KEY = env("ALIPAY_PUBLIC_KEY", default=str(PLATFORM_DEV_KEYS_DIR / "alipay_public.pem"))
WECHATPAY_GATEWAY = env("WECHATPAY_GATEWAY", default="http://127.0.0.1:8032")
WECHATPAY_MCHID = env("WECHATPAY_MCHID", default="1900000001")
WECHATPAY_APPID = env("WECHATPAY_APPID", default="wx0000000000000001")
WECHATPAY_PRIVATE_KEY = env("WECHATPAY_PRIVATE_KEY",
                            default=str(PLATFORM_DEV_KEYS_DIR / "wechatpay_merchant_private.pem"))
WECHATPAY_CERT_SERIAL_NO = env("WECHATPAY_CERT_SERIAL_NO", default="")  # empty: the dev key's serial file
WECHATPAY_APIV3_KEY = env("WECHATPAY_APIV3_KEY", default="")  # 32 characters; empty: the dev key's file
# where the platform certificates fetched from /v3/certificates are kept between processes
WECHATPAY_CERT_DIR = env("WECHATPAY_CERT_DIR", default="")
# robot calls: Aliyun Dyvms (IvrCall, through its SDK); call reports pushed with the HMAC scheme above
OUTREACH_VOICE_ENABLED = env.bool("OUTREACH_VOICE_ENABLED", default=True)
OUTREACH_VOICE_ENDPOINT = env("OUTREACH_VOICE_ENDPOINT", default="http://127.0.0.1:8026")
OUTREACH_VOICE_ACCESS_KEY_ID = env("OUTREACH_VOICE_ACCESS_KEY_ID", default="dev-key")
OUTREACH_VOICE_ACCESS_KEY_SECRET = env("OUTREACH_VOICE_ACCESS_KEY_SECRET", default="dev-secret")
OUTREACH_VOICE_SHOW_NUMBER = env("OUTREACH_VOICE_SHOW_NUMBER", default="057100000000")
OUTREACH_VOICE_START_CODE = env("OUTREACH_VOICE_START_CODE", default="TTS_RD_OVERDUE")
OUTREACH_VOICE_CALLBACK_SECRET = env("OUTREACH_VOICE_CALLBACK_SECRET", default="")
# WeChat official account (template messages) and app push (Getui RestAPI v2)
OUTREACH_WECHAT_ENABLED = env.bool("OUTREACH_WECHAT_ENABLED", default=True)
OUTREACH_WECHAT_ENDPOINT = env("OUTREACH_WECHAT_ENDPOINT", default="http://127.0.0.1:8027")
OUTREACH_WECHAT_APP_ID = env("OUTREACH_WECHAT_APP_ID", default="wx-dev")
OUTREACH_WECHAT_APP_SECRET = env("OUTREACH_WECHAT_APP_SECRET", default="dev-secret")
OUTREACH_WECHAT_TEMPLATE_ID = env("OUTREACH_WECHAT_TEMPLATE_ID", default="RD_RENEWAL_REMINDER")
OUTREACH_APP_PUSH_ENABLED = env.bool("OUTREACH_APP_PUSH_ENABLED", default=True)
OUTREACH_APP_PUSH_ENDPOINT = env("OUTREACH_APP_PUSH_ENDPOINT", default="http://127.0.0.1:8028")
OUTREACH_APP_PUSH_APP_ID = env("OUTREACH_APP_PUSH_APP_ID", default="rd-app")
OUTREACH_APP_PUSH_APP_KEY = env("OUTREACH_APP_PUSH_APP_KEY", default="dev-key")
OUTREACH_APP_PUSH_MASTER_SECRET = env("OUTREACH_APP_PUSH_MASTER_SECRET", default="dev-secret")
# a customer's several policies due in the same ISO week: one message per channel naming them all
OUTREACH_GROUP_SAME_WEEK = env.bool("OUTREACH_GROUP_SAME_WEEK", default=True)
# delivery proof of lapse notices and reinstatement invitations: the plan steps it covers, kept this long
OUTREACH_PROOF_STAGES = env.list("OUTREACH_PROOF_STAGES", default=["G+1", "R+1"])
OUTREACH_PROOF_RETENTION_DAYS = env.int("OUTREACH_PROOF_RETENTION_DAYS", default=3650)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "security": {"level": "INFO"},
        "axes.apps": {"level": "WARNING"},
    },
}

# Repeated attempts on objects outside a user's branches raise a security alert for the admins.
SECURITY_SCOPE_ALERT_ATTEMPTS = env.int("SECURITY_SCOPE_ALERT_ATTEMPTS", default=10)
SECURITY_SCOPE_ALERT_MINUTES = env.int("SECURITY_SCOPE_ALERT_MINUTES", default=10)

"""Liudong settings, read from the environment (django-environ).

With nothing set, Liudong runs for a newcomer: SQLite in the project folder, DEBUG on,
e-mail printed to the console, Celery tasks run eagerly in-process. Production sets
DEBUG=false plus DATABASE_URL, REDIS_URL, EMAIL_URL, SECRET_KEY, ALLOWED_HOSTS and
FIELD_ENCRYPTION_KEY (see .env.example).
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)

# Development-only defaults. Production refuses to start with either of them.
DEV_SECRET_KEY = "django-insecure-liudong-development-only"  # noqa: S105
DEV_FIELD_ENCRYPTION_KEY = "bGl1ZG9uZy1kZXZlbG9wbWVudC1rZXktMzItYnl0ZXM="

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
# One or more Fernet keys, comma-separated; the first encrypts, all decrypt (key rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY", default=[DEV_FIELD_ENCRYPTION_KEY])

if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or SECRET_KEY.startswith("change-me"):
        raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY to a long random value.")
    if not FIELD_ENCRYPTION_KEYS or DEV_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("DEBUG is off: set FIELD_ENCRYPTION_KEY to a Fernet key.")
try:
    MultiFernet([Fernet(key) for key in FIELD_ENCRYPTION_KEYS])
except ValueError as error:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated."
    ) from error

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "treebeard",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "import_export",
    "members",
    "accounts",
    "alerts",
    "transfers",
    "ledgers",
    "activities",
    "reports",
    "selfservice",
    "partners",
    "ninja",  # serves the API documentation's Swagger UI from static files (no CDN)
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.SlidingSessionMiddleware",
    "config.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Pages hold personal data: no copy in the browser's or a proxy's cache.
    "config.middleware.NoStoreMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view is marked @login_not_required. Before the CSRF
    # check, which reads a form's body: an anonymous upload is redirected unread.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "members.selectors.ScopeOncePerRequest",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    # After the login check: a signed-in user with a TOTP device (or, under
    # OTP_REQUIRED_FOR_STAFF, a reviewer or administrator) passes the second factor first.
    "accounts.two_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# Form widgets render through TEMPLATES, so templates/django/forms/ can say 请选择… for "---------".
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "config.wsgi.application"

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
                "members.context_processors.staff_assignment",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Keep connections between requests (opening one per request cost the load test dearly).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL's parallel query, off unless set: pages walk an index and stop after fifty rows,
# where starting workers costs more than the walk (a county's ledger rows: 43 ms → 22 ms), and
# with more web workers than cores parallel workers only compete with other requests. Empty
# leaves the server's setting (behind PgBouncer, which refuses this startup option).
PARALLEL_WORKERS = env.str("DATABASE_PARALLEL_WORKERS", default="0")
if DATABASES["default"]["ENGINE"].endswith("postgresql") and PARALLEL_WORKERS:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c max_parallel_workers_per_gather={int(PARALLEL_WORKERS)}"
    )
DATABASES["default"].setdefault("TEST", {})
# Reads that may lag (dashboards, exports, yearly statistics) go to a PostgreSQL streaming
# replica when DATABASE_REPLICA_URL is set, and only while it has replayed all the primary
# had when the request began; down or behind, they read the primary (infrastructure/db_router.py).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
# How long a page waits for the replica to catch up before reading the primary instead.
DATABASE_REPLICA_WAIT_MS = env.int("DATABASE_REPLICA_WAIT_MS", default=50)
# After a failed connection this process reads the primary only, for this many seconds.
DATABASE_REPLICA_RETRY_SECONDS = env.int("DATABASE_REPLICA_RETRY_SECONDS", default=10)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].update(
        ATOMIC_REQUESTS=False,
        CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"],
        CONN_HEALTH_CHECKS=True,
        # Tests read the test database through this alias; none is made on the replica.
        TEST={"MIRROR": "default"},
    )
    DATABASES["replica"].setdefault("OPTIONS", {})
    # An unreachable replica costs one request 2 s, then is skipped for a while.
    DATABASES["replica"]["OPTIONS"].setdefault("connect_timeout", 2)
    if "options" in DATABASES["default"].get("OPTIONS", {}):
        DATABASES["replica"]["OPTIONS"].setdefault(
            "options", DATABASES["default"]["OPTIONS"]["options"]
        )
    DATABASE_ROUTERS = ["infrastructure.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Pages keep working while Redis is down (config/cache.py); short timeouts so they do not
    # wait on an unreachable host.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after SESSION_IDLE_MINUTES without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
# Not saved on every request: SlidingSessionMiddleware moves the expiry on once a minute.
SESSION_SLIDE_SECONDS = 60

# Second factor (TOTP, django-otp). Anyone with a device gives a code after the password;
# with OTP_REQUIRED_FOR_STAFF reviewers and administrators must enrol one.
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=False)
OTP_TOTP_ISSUER = "Liudong"

# Failed-login throttling (django-axes): a cool-off, never a permanent lock.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front (TLS): the client is the PROXY_COUNT-th X-Forwarded-For entry from
# the right (infrastructure/client_address.py), for the lockout and the access log alike.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
# Exact searches by a full ID number per user per hour (each one is in the access log).
NATIONAL_ID_SEARCH_PER_HOUR = env.int("NATIONAL_ID_SEARCH_PER_HOUR", default=20)
AXES_CLIENT_IP_CALLABLE = "infrastructure.client_address.client_address"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Members' dues receipts: outside every served directory, read only through a scoped view.
    "receipts": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.path("RECEIPTS_ROOT", default=BASE_DIR / "private" / "receipts")
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# A member's dues receipt (a phone photo or screenshot): refused above this while it uploads.
RECEIPT_MAX_BYTES = env.int("RECEIPT_MAX_BYTES", default=5 * 1024 * 1024)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")  # for links in e-mails
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Liudong <noreply@liudong.local>")
EMAIL_TIMEOUT = 20

# SMS to members (infrastructure/sms.py): printed to the console unless a gateway is set up,
# SMS_BACKEND=infrastructure.sms.GatewayBackend with its URL and key. SMS_TEMPLATES maps our
# template names to the provider's template ids ("link=SMS_1234,sign_in_code=SMS_5678"); a
# name left out is sent as itself.
SMS_BACKEND = env.str("SMS_BACKEND", default="infrastructure.sms.ConsoleBackend")
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = env.str("SMS_GATEWAY_KEY", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=10.0)
SMS_TEMPLATES = {
    name: name
    for name in (
        "sign_in_code",
        "link",
        "dues_decided",
        "check_in_decided",
        "study_published",
        "meeting_reminder",
        "help_answered",
        "excuse_decided",
    )
} | env.dict("SMS_TEMPLATES", default={})

# Celery: Redis when REDIS_URL is set; otherwise tasks run eagerly in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
SCAN_HOUR = env.int("SCAN_HOUR", default=2)  # the nightly scan, Asia/Shanghai time
SCAN_MINUTE = env.int("SCAN_MINUTE", default=0)
CELERY_BEAT_SCHEDULE = {
    "scan-alerts": {
        "task": "alerts.tasks.scan_alerts",
        "schedule": crontab(hour=SCAN_HOUR, minute=SCAN_MINUTE),
    },
    "figure-snapshots": {  # 45 minutes after the scan starts
        "task": "reports.tasks.take_snapshots",
        "schedule": crontab(
            hour=(SCAN_HOUR + (SCAN_MINUTE + 45) // 60) % 24, minute=(SCAN_MINUTE + 45) % 60
        ),
    },
    # Digests and summaries are asked for every morning: each is sent once per week / month
    # (EmailSent keys them by period), so a morning missed while Redis or SMTP was down is
    # caught up the next day, and the other mornings send nothing.
    "weekly-digests": {
        "task": "alerts.tasks.send_weekly_digests",
        "schedule": crontab(hour=7, minute=30),
    },
    "monthly-summaries": {
        "task": "alerts.tasks.send_monthly_summaries",
        "schedule": crontab(hour=8, minute=0),
    },
    "self-report-reminders": {
        "task": "ledgers.tasks.send_self_report_reminders",
        "schedule": crontab(day_of_month="1", hour=9, minute=0),
    },
    "housekeeping": {
        "task": "accounts.tasks.housekeeping",
        "schedule": crontab(hour=3, minute=30),
    },
    # Members' messages whose task was lost (broker down, worker killed) or that waited out
    # quiet hours; sending is keyed by the message, so a second task sends nothing.
    # Messages to partner deployments whose task failed or was lost; keyed by the message id.
    "partner-messages-due": {
        "task": "partners.tasks.send_due_messages",
        "schedule": crontab(minute="*/5"),
    },
    "meeting-reminders": {
        "task": "selfservice.tasks.send_meeting_reminders",
        "schedule": crontab(hour=9, minute=30),
    },
    "member-messages-due": {
        "task": "selfservice.tasks.send_due_messages",
        "schedule": crontab(minute="*/10"),
    },
}

# Issue #20: the JSON API's rate per token, and messages to partner deployments.
API_RATE = env.str("API_RATE", default="600/min")
PARTNER_SEND_TIMEOUT = env.float("PARTNER_SEND_TIMEOUT", default=10.0)
PARTNER_RETRY_SECONDS = env.int("PARTNER_RETRY_SECONDS", default=60)
PARTNER_RETRY_MAX_SECONDS = env.int("PARTNER_RETRY_MAX_SECONDS", default=3600)
PARTNER_CLOCK_SKEW_SECONDS = env.int("PARTNER_CLOCK_SKEW_SECONDS", default=300)

# Demo data and the Liudong domain thresholds (DESIGN.md); later issues add more.
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="liudong-demo")
PROBATION_MONTHS = env.int("PROBATION_MONTHS", default=12)
# Mobility rules (DESIGN.md, with the regulation articles they come from).
TRANSFER_AFTER_MONTHS = env.int("TRANSFER_AFTER_MONTHS", default=6)  # Reg. art. 25
OVERSEAS_CONTACT_MONTHS = env.int("OVERSEAS_CONTACT_MONTHS", default=6)  # Reg. art. 34
OVERSEAS_SUSPENSION_YEARS = env.int("OVERSEAS_SUSPENSION_YEARS", default=5)  # Reg. art. 24
GRADUATE_RETENTION_YEARS = env.int("GRADUATE_RETENTION_YEARS", default=2)  # Reg. art. 34
GRADUATE_WARNING_DAYS = env.int("GRADUATE_WARNING_DAYS", default=60)
CERTIFICATE_REVIEW_MONTHS = env.int("CERTIFICATE_REVIEW_MONTHS", default=12)  # 年审
LETTER_VALID_DAYS = env.int("LETTER_VALID_DAYS", default=30)
LETTER_MAX_VALID_DAYS = 90  # never more than 3 months
LETTER_EXPIRY_WARNING_DAYS = env.int("LETTER_EXPIRY_WARNING_DAYS", default=7)
RECEIPT_DUE_MONTHS = env.int("RECEIPT_DUE_MONTHS", default=1)
MEMBER_LIST_PAGE_SIZE = 50

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Monitoring may ask the container over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No inline script or style anywhere: templates link static files only.
from csp.constants import NONCE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The member's phone pages inline their small style sheet (one request on 3G).
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# /healthz is unhealthy when the last successful scan is older than this.
HEALTH_SCAN_MAX_AGE_HOURS = env.int("HEALTH_SCAN_MAX_AGE_HOURS", default=26)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Names shown to users for the roles and kinds live in the models; this is the site name.
SITE_TITLE = _("Liudong — mobile Party members")

# Five-clears ledger: an item is clear when filled and confirmed within these months.
LEDGER_CONFIRM_MONTHS = env.int("LEDGER_CONFIRM_MONTHS", default=12)
LEDGER_CONTACT_CONFIRM_MONTHS = env.int("LEDGER_CONTACT_CONFIRM_MONTHS", default=6)
# Lost contact (失联), counted from the last sign of life by the Civil Code's periods.
CONTACT_WARNING_MONTHS = env.int("CONTACT_WARNING_MONTHS", default=3)
LOST_CONTACT_MONTHS = env.int("LOST_CONTACT_MONTHS", default=6)  # Reg. art. 24
REMOVAL_AFTER_SUSPENSION_YEARS = env.int("REMOVAL_AFTER_SUSPENSION_YEARS", default=2)  # art. 24
CORRECTION_TERM_MAX_MONTHS = env.int("CORRECTION_TERM_MAX_MONTHS", default=12)  # arts. 29-30
MOBILE_GROUP_MIN_MEMBERS = env.int("MOBILE_GROUP_MIN_MEMBERS", default=3)  # certificate rules
# Above this many members a dashboard reads last night's snapshot instead of counting live.
DASHBOARD_LIVE_MAX_MEMBERS = env.int("DASHBOARD_LIVE_MAX_MEMBERS", default=2000)
# Imports above this many rows, and exports above that many, run on the Celery worker.
IMPORT_BACKGROUND_ROWS = env.int("IMPORT_BACKGROUND_ROWS", default=2000)
# A ledger file holds at most this many member rows (checked while reading, before any work).
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=20000)
# Workbooks are read by calamine in a child process with these limits (a crafted file of a few
# KB can ask for gigabytes; the child dies, not the server): address space and CPU seconds.
IMPORT_READER_MEMORY_MB = env.int("IMPORT_READER_MEMORY_MB", default=1024)
IMPORT_READER_SECONDS = env.int("IMPORT_READER_SECONDS", default=60)
# Errors kept per import job (all of them are in the downloadable error file of the preview).
IMPORT_ERRORS_KEPT = env.int("IMPORT_ERRORS_KEPT", default=500)
EXPORT_BACKGROUND_ROWS = env.int("EXPORT_BACKGROUND_ROWS", default=20000)

# Organisational life and dues (Constitution art. 9; Reg. art. 29-31; 2008 dues rules).
ACTIVITIES_TRACKING_START = env.str("ACTIVITIES_TRACKING_START", default="2025-01-01")
DUES_TRACKING_START = env.str("DUES_TRACKING_START", default="2025-01-01")
DUES_BACK_PAYMENT_MONTHS = env.int("DUES_BACK_PAYMENT_MONTHS", default=6)
# Self-withdrawal (Constitution art. 9): whole months without life, dues or assigned work.
SELF_WITHDRAWAL_MONTHS = env.int("SELF_WITHDRAWAL_MONTHS", default=6)
SELF_WITHDRAWAL_WARNING_MONTHS = env.int("SELF_WITHDRAWAL_WARNING_MONTHS", default=3)
EVALUATION_SEASON_END = env.str("EVALUATION_SEASON_END", default="01-31")  # month-day, next year

"""kisweb settings. Everything comes from the environment; see README.md, "Configuration".

Three modes (KISWEB_MODE):
- demo (default): SQLite, in-memory channel layer, the simulator on loopback. Needs nothing.
- real: the same, pointed at KIS's hosts with the users' own keys.
- hosted: PostgreSQL, Redis, secure cookies; refuses to start without its secrets.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from kisweb import config
from kisweb.kis.credentials import Environment as KisEnvironment

BASE_DIR = Path(__file__).resolve().parent.parent
KISWEB_MODE = config.read_mode()
HOSTED = KISWEB_MODE == "hosted"
VAR_DIR = Path(config.env_str("KISWEB_VAR_DIR") or BASE_DIR / "var")

SECRET_KEY = config.read_secret_key(KISWEB_MODE, VAR_DIR)
DEBUG = config.env_bool("KISWEB_DEBUG", False)
if HOSTED and DEBUG:
    # Debug pages show code, settings and request data to whoever causes an error.
    raise ImproperlyConfigured("KISWEB_DEBUG is for the demo; hosted mode refuses it")
ALLOWED_HOSTS = config.env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "kisweb",
    "accounts",
    "trading",
    "market",
    "kisweb.ops",
]

MIDDLEWARE = [
    # First: every answer (redirects and errors too) carries the request id (kisweb/ops).
    "kisweb.ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view's lost database or Redis connection becomes the 503 page, not a 500 (kisweb/ops).
    "kisweb.ops.unavailable.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kisweb.urls"
ASGI_APPLICATION = "kisweb.asgi.application"
WSGI_APPLICATION = None

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
                "accounts.context_processors.credentials",
            ],
        },
    },
]

# Databases: DATABASE_URL, else a SQLite file in the var directory.
DATABASES = {
    "default": dj_database_url.parse(
        config.env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'kisweb.sqlite3'}",
        conn_max_age=config.env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL: a commit is one fsync of the log instead of several of the rollback journal (the
    # order journal commits three times per order), and readers no longer block the writer.
    # synchronous=FULL keeps every commit on disk before the KIS call that follows it.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
    )
if HOSTED and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("hosted mode needs DATABASE_URL pointing at PostgreSQL")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer: Redis when REDIS_URL is set (hosted needs it: several processes share it).
# The hub's channel takes every socket's subscribes: when hundreds of tabs open together
# (a restart), each sends one per symbol at once, and 1000 made most of them "busy".
_HUB_CHANNEL_CAPACITY = {"market.hub": 20000}
REDIS_URL = config.env_str("REDIS_URL")
if HOSTED and not REDIS_URL:
    raise ImproperlyConfigured("hosted mode needs REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A receive blocks in Redis for 5 s (channels-redis's BZPOPMIN timeout); redis-py
            # 8 times a read out after 5 s by default, which killed every socket idle that
            # long. The socket timeout must outlast the blocking pop. redis-py 8 also
            # refuses a call beyond 100 connections at once rather than wait: 250 sockets
            # leaving or joining together (a proxy restart) each make a call.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 2000}],
                "prefix": "kisweb",
                "capacity": 1000,
                "channel_capacity": _HUB_CHANNEL_CAPACITY,
            },
        }
    }
else:
    # A socket's channel holds up to `capacity` messages before the layer drops new ones;
    # the consumer drains it into its own bounded queue (oldest quotes dropped first).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "market.layers.FanoutInMemoryChannelLayer",
            "CONFIG": {"capacity": 1000, "channel_capacity": _HUB_CHANNEL_CAPACITY},
        }
    }

# The market relay (market/hub.py): in the web process on the in-memory layer (demo), or
# `manage.py runrelay` as its own process when the layer is Redis.
KISWEB_RELAY_IN_PROCESS = config.env_bool("KISWEB_RELAY_IN_PROCESS", not REDIS_URL)
KISWEB_RELAY_GRACE_S = config.env_int("KISWEB_RELAY_GRACE_S", 30)
KISWEB_RELAY_LEASE_S = 60  # a socket not heard from for this long is released
KISWEB_RELAY_RENEW_S = 20  # consumers renew their lease this often
KISWEB_RELAY_MAX_SYMBOLS = 60  # per browser socket
KISWEB_RELAY_MAX_MESSAGES_PER_S = 20  # per browser socket
KISWEB_RELAY_SOCKET_QUEUE = 200  # quotes queued per socket before the oldest is dropped
# `runrelay`'s Redis leases (market/lease.py), in ms: when the active relay dies, a standby
# takes over within about one TTL plus one renew period. Renew under half the TTL.
KISWEB_RELAY_REDIS_LEASE_TTL_MS = config.env_int("KISWEB_RELAY_REDIS_LEASE_TTL_MS", 5000)
KISWEB_RELAY_REDIS_LEASE_RENEW_MS = config.env_int("KISWEB_RELAY_REDIS_LEASE_RENEW_MS", 1500)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Accounts (accounts/): axes throttles sign-in; it must see every authenticate() call.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = config.env_int("KISWEB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=config.env_int("KISWEB_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# How many proxies in front of the web server append to X-Forwarded-For (see kisweb/clientip.py).
KISWEB_TRUSTED_PROXIES = config.env_int(
    "KISWEB_TRUSTED_PROXIES", 1 if HOSTED and config.env_bool("KISWEB_BEHIND_PROXY", True) else 0
)
AXES_CLIENT_IP_CALLABLE = "kisweb.clientip.client_ip"
OTP_TOTP_ISSUER = "kisweb"
# People are invited by an admin unless sign-up is opened.
KISWEB_SIGNUP_OPEN = config.env_bool("KISWEB_SIGNUP_OPEN", False)
# Real-money credentials need two-factor sign-in (on by default when hosted).
KISWEB_REQUIRE_2FA_FOR_REAL = config.env_bool("KISWEB_REQUIRE_2FA_FOR_REAL", HOSTED)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Korean first, English one switch away. Times shown in KST, the market's clock.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["kisweb.formats"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic writes here in hosted mode; demo and tests serve from the finders instead.
_static_root = config.env_str("STATIC_ROOT") or (BASE_DIR / "staticfiles" if HOSTED else "")
STATIC_ROOT = Path(_static_root) if _static_root else None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if HOSTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (demo, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = not HOSTED

EMAIL_BACKEND = config.env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if HOSTED
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = config.env_str("DEFAULT_FROM_EMAIL", "kisweb@localhost")

# Security: strict everywhere; secure cookies, HSTS and HTTPS redirect in hosted mode.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files,
# no inline code or styles; forms post only to ourselves. connect-src is this origin alone:
# CSP Level 3 lets 'self' match ws:/wss: to the same host and port, which is all the live
# quotes and fills need, and a script on the page can open a socket nowhere else.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
if HOSTED:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = config.env_bool("KISWEB_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = config.env_int("KISWEB_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = config.env_bool("KISWEB_HSTS_PRELOAD", False)
    if config.env_bool("KISWEB_BEHIND_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if HOSTED and not SECURE_HSTS_PRELOAD:
    # Preload is a one-way door for a whole domain; it is the operator's choice.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Credential encryption: `id:base64key` pairs, first one primary (accounts/secrets.py).
KISWEB_ENCRYPTION_KEYS = config.read_encryption_keys(KISWEB_MODE, VAR_DIR)

# Where kisweb reaches KIS. Demo points at the simulator on loopback (`manage.py runsim`).
KISWEB_SIM_HOST = config.env_str("KISWEB_SIM_HOST", "127.0.0.1")
KISWEB_SIM_REAL_PORT = config.env_int("KISWEB_SIM_REAL_PORT", 19443)
KISWEB_SIM_PAPER_PORT = config.env_int("KISWEB_SIM_PAPER_PORT", 29443)
_sim_real = f"{KISWEB_SIM_HOST}:{KISWEB_SIM_REAL_PORT}"
_sim_paper = f"{KISWEB_SIM_HOST}:{KISWEB_SIM_PAPER_PORT}"
# The realtime socket is opened on ``/tryitout`` as the current official client does
# (docs/kis-protocol.md §1); the hosts themselves are kisweb.kis's, named there once.
if KISWEB_MODE == "demo":
    _kis_defaults = {
        "real": (f"http://{_sim_real}", f"ws://{_sim_real}/tryitout"),
        "paper": (f"http://{_sim_paper}", f"ws://{_sim_paper}/tryitout"),
    }
else:
    _kis_defaults = {env.value: (env.rest_url, env.ws_url) for env in KisEnvironment}
KISWEB_KIS_ENDPOINTS = {
    env: {
        "rest": config.env_str(f"KISWEB_KIS_{env.upper()}_REST_URL", rest),
        "ws": config.env_str(f"KISWEB_KIS_{env.upper()}_WS_URL", ws),
    }
    for env, (rest, ws) in _kis_defaults.items()
}

# Error reports (DEBUG page, mails to ADMINS) hide our secrets' names too (accounts/reporting.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "accounts.reporting.SecretScrubbingFilter"

# ------------------------------------------------------------ operations (kisweb/ops)
# Background tasks (trading/tasks.py, accounts/tasks.py): django-tasks' database backend,
# run by `manage.py taskworker` (hosted) or by the worker child of `manage.py demo`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Seconds after which a heartbeat (worker, relay) counts as dead: /readyz reports the part
# down, and the tasks a dead worker was running go back in the queue.
KISWEB_HEARTBEAT_STALE_S = config.env_int("KISWEB_HEARTBEAT_STALE_S", 30)
# Which heartbeats /readyz requires. The relay is its own process only when hosted.
KISWEB_READY_HEARTBEATS = config.env_list(
    "KISWEB_READY_HEARTBEATS", ["worker", "relay"] if HOSTED else ["worker"]
)
# How often the worker's scheduler enqueues each periodic task, in seconds.
KISWEB_RECONCILE_EVERY_S = config.env_int("KISWEB_RECONCILE_EVERY_S", 30)
KISWEB_TOKEN_RENEW_EVERY_S = config.env_int("KISWEB_TOKEN_RENEW_EVERY_S", 300)
# Tokens are renewed this many minutes before they expire (KIS: 24 h, one issue a minute).
KISWEB_TOKEN_RENEW_AHEAD_MIN = config.env_int("KISWEB_TOKEN_RENEW_AHEAD_MIN", 120)
# Probes and the scraper talk to each web process's port directly, over plain HTTP on loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics: staff signed in, or a scraper with `Authorization: Bearer <this>`.
KISWEB_METRICS_TOKEN = config.env_str("KISWEB_METRICS_TOKEN")
# Logs: one JSON object per line when hosted (or KISWEB_LOG_FORMAT=json), else plain text;
# both carry the request id.
KISWEB_LOG_FORMAT = config.env_str("KISWEB_LOG_FORMAT", "json" if HOSTED else "plain")
if KISWEB_LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("KISWEB_LOG_FORMAT must be json or plain")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kisweb.ops.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "kisweb.ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": KISWEB_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": config.env_str("KISWEB_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # One INFO line per HTTP request or sign-in attempt is noise, not an audit trail.
        "httpx": {"level": "WARNING"},
        # At DEBUG these log every WebSocket frame and HTTP exchange: a subscribe frame
        # carries the approval key (websockets shows its start, the record's args all).
        "websockets": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # The web server logs two INFO lines per browser socket (accepted, open) and one as it
        # closes: 1,500 lines for 500 tabs, and nothing an operator acts on.
        "uvicorn": {"level": "WARNING"},
    },
}

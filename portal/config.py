"""Settings, read from the environment once at start-up."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


#: The largest request body accepted: the five files a claim may have, and the form around them.
#: deploy/nginx.py gives nginx the same limit.
MAX_CONTENT_LENGTH = 5 * 10 * 1024 * 1024 + 512 * 1024


class ConfigError(RuntimeError):
    """The environment does not allow the app to start safely."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path, production: bool) -> str:
    """SECRET_KEY from the environment; in development one is generated once and kept
    in the instance folder so sessions survive restarts. Production refuses to guess."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set when PORTAL_ENV=production.")
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _holidays(value: str | None) -> frozenset:
    """PORTAL_HOLIDAYS: comma-separated ISO dates that are not business days."""
    from datetime import date

    days = set()
    for part in (value or "").split(","):
        part = part.strip()
        if part:
            try:
                days.add(date.fromisoformat(part))
            except ValueError as error:
                raise ConfigError(f"PORTAL_HOLIDAYS: {part!r} is not a date (YYYY-MM-DD)") from error
    return frozenset(days)


def _redis_url(production: bool) -> str | None:
    """REDIS_URL, required in production: there several processes serve (gunicorn workers, two
    app servers), and a login limit kept in each process's memory would let a client try
    workers x servers times as many passwords."""
    url = os.environ.get("REDIS_URL") or None
    if production and not url:
        raise ConfigError(
            "PORTAL_ENV=production needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0). "
            "Rate limits (sign-in attempts) are counted in Redis so that every process and server "
            "shares them."
        )
    return url


def _storage() -> dict:
    """Where uploaded files go: ``local`` (a folder, one app server) or ``s3`` (an S3-API bucket
    every app server reaches; credentials from the usual AWS variables)."""
    backend = os.environ.get("STORAGE_BACKEND", "local").strip().lower() or "local"
    if backend not in ("local", "s3"):
        raise ConfigError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}.")
    if backend == "s3" and not os.environ.get("S3_BUCKET"):
        raise ConfigError("STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a store other than AWS).")
    settings = {
        "STORAGE_BACKEND": backend,
        "S3_BUCKET": os.environ.get("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": os.environ.get("S3_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None,
        "S3_PREFIX": os.environ.get("S3_PREFIX", ""),
    }
    if os.environ.get("UPLOAD_FOLDER"):
        settings["UPLOAD_FOLDER"] = os.environ["UPLOAD_FOLDER"]
    return settings


def _proxies(name: str) -> int:
    """How many proxies in front set X-Forwarded-<name>: 0 (the default) trusts none of them,
    so a client cannot choose the address its rate limits are counted under."""
    value = os.environ.get(name, "0").strip() or "0"
    try:
        count = int(value)
    except ValueError as error:
        raise ConfigError(f"{name} must be a number of proxies (0, 1, ...), not {value!r}.") from error
    if count < 0:
        raise ConfigError(f"{name} must be 0 or more.")
    return count


def _engine_options(database_url: str) -> dict:
    options = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        # A database that does not answer must fail a request (and /readyz) in seconds, not hang it.
        options["connect_args"] = {"connect_timeout": int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))}
    return options


def _jobs(production: bool, redis_url: str | None) -> dict:
    """The job queue (portal/jobs.py) and mail delivery. Development runs jobs in-process
    (eager) unless PORTAL_JOBS_EAGER=0; production never does (checked at start-up): it needs
    Redis and `flask --app portal worker`."""
    return {
        "JOBS_EAGER": _bool(os.environ.get("PORTAL_JOBS_EAGER"), not production),
        "JOBS_REDIS_URL": os.environ.get("JOBS_REDIS_URL") or redis_url,
        "JOBS_QUEUE_NAME": os.environ.get("JOBS_QUEUE_NAME", "cpor"),
        # How long a stopping worker waits for the tasks under way (a send is bounded by MAIL_TIMEOUT).
        "JOBS_SHUTDOWN_SECONDS": float(os.environ.get("JOBS_SHUTDOWN_SECONDS", "30")),
        # Seconds smtplib waits to connect and for each reply of the mail server.
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        # A worker that claims an email has this long to send it; after that (the worker died)
        # another worker may try again. Far longer than one send can take.
        "OUTBOX_LEASE_SECONDS": int(os.environ.get("OUTBOX_LEASE_SECONDS", "600")),
    }


def load(instance_path: str) -> dict:
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    production = os.environ.get("PORTAL_ENV", "development") == "production"
    redis_url = _redis_url(production)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'portal.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    secure_cookies = _bool(os.environ.get("SESSION_COOKIE_SECURE"), production)
    return {
        "PORTAL_ENV": "production" if production else "development",
        "SECRET_KEY": _secret_key(instance, production),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "SUPPORT_URL": os.environ.get(
            "SUPPORT_URL", "https://partner.microsoft.com/support"
        ),
        "INCENTIVES_URL": os.environ.get("INCENTIVES_URL", "/incentives"),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Keys of several deployments (or test runs) sharing one Redis kept apart.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", ""),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        # Failed sign-ins per account (the submitted email), from any address: guessing one
        # account's password from many addresses is limited too.
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute;20 per hour"),
        "TENANT_LOOKUP_LIMIT": os.environ.get("TENANT_LOOKUP_LIMIT", "60 per minute"),
        # New drafts per user (each is stored from the first step), and drafts held at once.
        "DRAFT_RATE_LIMIT": os.environ.get("DRAFT_RATE_LIMIT", "10 per minute;100 per day"),
        # Requests per API token (portal.api), whatever they ask.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "120 per minute;5000 per hour"),
        "DRAFTS_MAX": int(os.environ.get("DRAFTS_MAX", "100")),
        "UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
        # Werkzeug's method for new password hashes. Tests set a cheap one; keep scrypt here.
        "PASSWORD_HASH_METHOD": "scrypt",
        "HOLIDAYS": _holidays(os.environ.get("PORTAL_HOLIDAYS", "2026-12-25,2027-01-01,2027-05-01,2027-12-25")),
        "UPLOAD_MAX_FILES": 5,
        # Mail: in development everything is written to the outbox folder, never dropped.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool(os.environ.get("MAIL_USE_TLS")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "cpor-portal@localhost"),
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR", str(instance / "outbox")),
        "MAIL_BACKEND": "smtp" if os.environ.get("MAIL_SERVER") else "outbox",
        "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
        "CONSENT_MAX_AGE_DAYS": int(os.environ.get("CONSENT_MAX_AGE_DAYS", "30")),
        # Cookies: never readable from scripts, never sent cross-site, HTTPS-only in production.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        # Browsers keep a __Host- cookie only when it is Secure: plain HTTP (make prod on loopback,
        # SESSION_COOKIE_SECURE=0) gets the plain name.
        "SESSION_COOKIE_NAME": "__Host-cpor" if production and secure_cookies else "cpor_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 14,
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 8,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "LANGUAGES": ("en", "fr"),
        # Compression (flask-compress) of pages, CSS, JS, JSON and the CSV export, streamed ones
        # included; COMPRESS_ENABLED=0 leaves it to a server in front. Bodies under 500 bytes
        # stay as they are: compressing them saves nothing.
        "COMPRESS_REGISTER": _bool(os.environ.get("COMPRESS_ENABLED"), True),
        "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/javascript",
                               "application/json", "text/csv", "text/plain", "image/svg+xml"],
        "COMPRESS_MIN_SIZE": 500,
        # Streamed responses (static files, the CSV export) may be gzipped too, for clients that
        # know nothing newer: Flask-Compress supports it since 1.23 but leaves it out by default.
        "COMPRESS_ALGORITHM": ["zstd", "br", "gzip", "deflate"],
        "COMPRESS_ALGORITHM_STREAMING": ["zstd", "br", "gzip", "deflate"],
        # One upload request carries at most the five files a claim may have.
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        # Deployment (issue 10): file storage, the proxies in front, readiness checks.
        **_storage(),
        "PROXY_FIX_X_FOR": _proxies("PROXY_FIX_X_FOR"),
        "PROXY_FIX_X_PROTO": _proxies("PROXY_FIX_X_PROTO"),
        "PROXY_FIX_X_HOST": _proxies("PROXY_FIX_X_HOST"),
        "READYZ_TIMEOUT_SECONDS": float(os.environ.get("READYZ_TIMEOUT_SECONDS", "2")),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        # Pauses the pages take (milliseconds): how long after the last keystroke a wizard field
        # is checked, and how often a claim's page asks for new comments. The browser tests set
        # them low; nothing else changes.
        "CHECK_DELAY_MS": int(os.environ.get("CHECK_DELAY_MS", "600")),
        "COMMENT_POLL_MS": int(os.environ.get("COMMENT_POLL_MS", "5000")),
        **_jobs(production, redis_url),
    }

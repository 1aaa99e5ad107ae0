"""Settings, read from the environment once at start-up."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


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
    redis_url = os.environ.get("REDIS_URL") or None
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'portal.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return {
        "PORTAL_ENV": "production" if production else "development",
        "SECRET_KEY": _secret_key(instance, production),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SUPPORT_URL": os.environ.get(
            "SUPPORT_URL", "https://partner.microsoft.com/support"
        ),
        "INCENTIVES_URL": os.environ.get("INCENTIVES_URL", "/incentives"),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        # Failed sign-ins per account (the submitted email), from any address: guessing one
        # account's password from many addresses is limited too.
        "LOGIN_ACCOUNT_RATE_LIMIT": os.environ.get("LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute;20 per hour"),
        "TENANT_LOOKUP_LIMIT": os.environ.get("TENANT_LOOKUP_LIMIT", "60 per minute"),
        # New drafts per user (each is stored from the first step), and drafts held at once.
        "DRAFT_RATE_LIMIT": os.environ.get("DRAFT_RATE_LIMIT", "10 per minute;100 per day"),
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
        "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_NAME": "__Host-cpor" if production else "cpor_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), production),
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
        "MAX_CONTENT_LENGTH": 5 * 10 * 1024 * 1024 + 512 * 1024,
        **_jobs(production, redis_url),
    }

"""Running the portal behind a proxy, on several servers: request IDs and one log line per
request, trusting X-Forwarded-* headers only as far as configured, and readiness checks.

**Request IDs.** Every request gets an ID: the incoming ``X-Request-ID`` when it is well formed
(nginx sets one, so its access log and ours share it), a new one otherwise. It is returned as the
``X-Request-ID`` response header and is in every log line written while the request runs
(``%(request_id)s`` in the log format, through :class:`RequestIdFilter`). Background jobs carry it
on: take :func:`current_request_id` when enqueueing, and run the job inside
``with carrying(request_id):`` so the job's log lines name the request that caused it.

**Proxies.** Behind nginx every request comes from 127.0.0.1; the client's address is in
``X-Forwarded-For``. That header is trusted only when ``PROXY_FIX_X_FOR`` says how many proxies
set it (werkzeug's ProxyFix): otherwise any client could pick the address its sign-in attempts are
counted under.
"""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import redis
from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.extensions import db

REQUEST_ID_HEADER = "X-Request-ID"
#: What an incoming ID may look like: nginx's $request_id (32 hex digits), a UUID, or another
#: proxy's token; never anything that could break a log line or a header.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

_request_id: ContextVar[str | None] = ContextVar("cpor_request_id", default=None)
log = logging.getLogger("portal.request")


# --- request IDs --------------------------------------------------------------------------------


def new_request_id() -> str:
    return uuid.uuid4().hex


def well_formed(value: str | None) -> bool:
    return bool(value) and _WELL_FORMED.fullmatch(value) is not None


def current_request_id() -> str | None:
    """The ID of the request being served, or of the job carrying one; None elsewhere."""
    return _request_id.get()


@contextmanager
def carrying(request_id: str | None) -> Iterator[str]:
    """Run a job (or anything outside a request) under ``request_id``, so its log lines carry
    the ID of the request that caused it; a new ID when it has none or a malformed one."""
    token = _request_id.set(request_id if well_formed(request_id) else new_request_id())
    try:
        yield _request_id.get()
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` attribute ("-" outside requests and jobs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (gunicorn's, a test runner's)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _configure_logging(level: str) -> None:
    """The portal's loggers write to stderr, one line per record, with the request ID. Done
    once per process, whatever the number of apps made in it."""
    logger = logging.getLogger("portal")
    if not any(getattr(handler, "cpor_handler", False) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.cpor_handler = True
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(RequestIdFilter())
        logger.addHandler(handler)
    logger.setLevel(level)


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER)
    g.cpor_request_id_token = _request_id.set(incoming if well_formed(incoming) else new_request_id())
    g.cpor_request_started = time.perf_counter()


def _log_request(response):
    """One line per request: method, path, status, time in the app, client address."""
    request_id = current_request_id()
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("cpor_request_started")
    elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    log.info("%s %s %s %.1fms %s", request.method, request.path, response.status_code, elapsed,
             request.remote_addr or "-")
    return response


def _end_request(_error=None) -> None:
    token = g.pop("cpor_request_id_token", None)
    if token is not None:
        _request_id.reset(token)


# --- readiness ----------------------------------------------------------------------------------


def check_database() -> bool:
    """A connection from the pool answers ``SELECT 1`` (a new one within the connect timeout)."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001  (unreachable, refused, authentication: all "not ready")
        log.warning("readiness: the database is unreachable", exc_info=True)
        return False
    return True


def _redis_client(url: str) -> redis.Redis:
    clients = current_app.extensions.setdefault("cpor_readiness_redis", {})
    if url not in clients:
        timeout = current_app.config.get("READYZ_TIMEOUT_SECONDS", 2)
        clients[url] = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    return clients[url]


def check_redis() -> bool | None:
    """Redis answers PING; None when no Redis is configured (development, one process)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    try:
        return bool(_redis_client(url).ping())
    except Exception:  # noqa: BLE001
        log.warning("readiness: Redis is unreachable", exc_info=True)
        return False


def readiness() -> tuple[bool, dict[str, str]]:
    """Whether this process can serve: each dependency's state, by name."""
    checks = {"database": check_database(), "redis": check_redis()}
    states = {name: {True: "ok", False: "unreachable", None: "not configured"}[ok] for name, ok in checks.items()}
    return all(ok is not False for ok in checks.values()), states


# --- a database that is down --------------------------------------------------------------------


def mark_database_down() -> None:
    """For the rest of this request, render without the database: the signed-in user is not
    loaded (pages show as to a visitor) and nothing else is asked of it."""
    g.cpor_database_down = True
    # A user already loaded for this request would be read again by the layout (its
    # organization, lazily): Flask-Login loads it anew, and the loader answers "nobody".
    g.pop("_login_user", None)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (a dead connection may fail even to roll back)
        db.session.remove()


def database_is_down() -> bool:
    return has_app_context() and bool(g.get("cpor_database_down"))


# --- set-up -------------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Call first in create_app: the request ID must exist before anything else logs."""
    _configure_logging(app.config.get("LOG_LEVEL", "INFO"))
    x_for, x_proto, x_host = (app.config.get(f"PROXY_FIX_X_{name}", 0) for name in ("FOR", "PROTO", "HOST"))
    if x_for or x_proto or x_host:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for, x_proto=x_proto, x_host=x_host)
    # First of all before_request functions (ahead of request_guard's check too).
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_log_request)
    app.teardown_request(_end_request)

"""Rate limits checked inside services (not per route), such as tenant look-ups per user."""
from __future__ import annotations

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


def _limiter() -> MovingWindowRateLimiter:
    ext = current_app.extensions
    if "cpor_rate_limiter" not in ext:
        storage = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        ext["cpor_rate_limiter"] = MovingWindowRateLimiter(storage)
    return ext["cpor_rate_limiter"]


def allow(setting: str, *identifiers: str) -> bool:
    """Count one hit against the limit named by config ``setting``; False once it is exceeded.
    An empty setting means no limit."""
    spec = current_app.config.get(setting)
    if not spec:
        return True
    return _limiter().hit(parse(spec), setting, *identifiers)

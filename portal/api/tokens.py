"""Personal API tokens: made, listed and revoked by their user on the "API access" page, and
checked on every /api/v1 request.

A token is ``cpor_<lookup id>_<secret>``: the lookup id (12 hex characters, not secret) finds
its row by a unique index; the secret (32 random bytes) is kept only as an HMAC-SHA256 keyed
by the app's SECRET_KEY. A fast keyed hash is right here, unlike for passwords: the secret
has 256 bits of entropy, so nothing is gained by making each guess slow, and every API request
verifies one. A token acts as its user, with the user's role and organization as they are at
each request, and nothing more: a read token cannot change anything.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.accounts.models import User
from portal.accounts.permissions import Permission, require
from portal.api.models import ApiToken, TokenScope
from portal.extensions import db
from portal.timeutil import utcnow

PREFIX = "cpor_"
_TOKEN = re.compile(r"^cpor_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
#: How long a token may live, in days, and what the page offers first.
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 365, 90
#: Tokens a user may hold at once (not revoked, not expired).
MAX_ACTIVE = 20
NAME_MAX = 100
#: ``last_used_at`` is written at most this often per token, not on every request.
USE_RECORDED_EVERY = timedelta(minutes=1)


class TokenError(Exception):
    """A token could not be made or revoked; ``message`` says why, in the user's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class TokenRefused(Exception):
    """A bearer token that does not authenticate; ``code`` is the API's problem code."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token, shown once


def _key() -> bytes:
    """A key of its own for token hashes, derived from SECRET_KEY (so a leaked hash table and
    the session-signing key are not interchangeable)."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, b"cpor api token", hashlib.sha256).digest()


def _hash(secret: str) -> str:
    return hmac.new(_key(), secret.encode(), hashlib.sha256).hexdigest()


def active_tokens(user: User, now: datetime | None = None) -> list[ApiToken]:
    """The user's tokens that still work, newest first."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .order_by(ApiToken.id.desc())
    ))


def create(user: User, name: str, scope: str, days: int, now: datetime | None = None) -> NewToken:
    """A new token for ``user``; its secret is returned here and never again."""
    require(user, Permission.USE_API)
    now = now or utcnow()
    name = (name or "").strip()
    if not name:
        raise TokenError(_l("Give the token a name."))
    if len(name) > NAME_MAX:
        raise TokenError(_l("A token's name can have at most %(n)s characters.", n=NAME_MAX))
    if scope not in TokenScope.ALL:
        raise TokenError(_l("Choose what the token may do."))
    if not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise TokenError(_l("A token lasts from %(min)s to %(max)s days.", min=MIN_DAYS, max=MAX_DAYS))
    # The user's row, locked: two requests at once cannot both pass the limit below.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    count = db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now))
    if count >= MAX_ACTIVE:
        raise TokenError(_l("You already have %(n)s tokens. Revoke one you no longer use first.", n=MAX_ACTIVE))
    lookup_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, lookup_id=lookup_id, secret_hash=_hash(secret), scope=scope,
                     created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    return NewToken(token, f"{PREFIX}{lookup_id}_{secret}")


def revoke(user: User, token_id: int, now: datetime | None = None) -> ApiToken:
    """Revoke one of the user's own tokens (another user's reads as missing)."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise TokenError(_l("This token doesn't exist or was already revoked."))
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
    db.session.flush()
    return token


def revoke_all(user_id: int, now: datetime | None = None) -> None:
    """Every token of the user stops working for good (a deactivation: reactivating the
    account later does not bring them back)."""
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now or utcnow()))


def authenticate(raw: str | None, now: datetime | None = None) -> ApiToken:
    """The token a request's ``Authorization: Bearer`` value names, with its user loaded, or
    ``TokenRefused`` with the reason's code. An unknown token and a wrong secret read the same
    (``token_invalid``); only a holder of the whole secret learns that it expired or was
    revoked."""
    now = now or utcnow()
    match = _TOKEN.match(raw or "")
    if match is None:
        raise TokenRefused("token_malformed")
    lookup_id, secret = match.groups()
    token = db.session.scalar(select(ApiToken).where(ApiToken.lookup_id == lookup_id))
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        raise TokenRefused("token_invalid")
    if token.revoked_at is not None:
        raise TokenRefused("token_revoked")
    if token.expires_at <= now:
        raise TokenRefused("token_expired")
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
        raise TokenRefused("account_inactive")
    if token.last_used_at is None or now - token.last_used_at >= USE_RECORDED_EVERY:
        token.last_used_at = now
    return token

"""Personal API tokens: what a user's own systems sign /api/v1 requests with."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import db
from portal.timeutil import utcnow


class TokenScope:
    READ = "read"
    WRITE = "read_write"
    ALL = (READ, WRITE)


class ApiToken(db.Model):
    """One token. Only a keyed hash of its secret is kept (``portal.api.tokens``); the
    ``lookup_id`` (a part of the token, not secret) finds the row in one indexed read."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id_id", "user_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    lookup_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class IdempotencyKey(db.Model):
    """An ``Idempotency-Key`` a user sent with a POST, and the answer it got: a repeat with the
    same key and request gets the same answer (``portal.api.idempotency``). Written in the same
    transaction as what the request made, so a key is never kept without its result."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (Index("uq_api_idempotency_keys_user_id_key", "user_id", "key", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]
    body: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

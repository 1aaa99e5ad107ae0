"""``Idempotency-Key`` on /api/v1 POSTs: a retried create never makes two.

The key is reserved (a row, unique per user and key) in the request's own transaction, before
anything is made; the answer is stored on it before the commit. A repeat with the same key and
the same request gets the stored answer; with another request, a 422. Two at once: the second
insert waits on the unique index until the first commits (PostgreSQL), then finds its answer.
Keys are kept 24 hours: an older one is forgotten when the key is used again, and the
periodic sweep (``portal.claims.tasks``) deletes them all (``purge``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask import request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal.api.models import IdempotencyKey
from portal.api.problems import ApiProblem
from portal.claims.comments import usable_nonce
from portal.extensions import db
from portal.timeutil import utcnow

KEPT = timedelta(hours=24)
HEADER = "Idempotency-Key"


@dataclass
class Reservation:
    row: IdempotencyKey | None  # None without a key: nothing to remember
    replay: tuple[int, dict] | None = None  # the first answer, for a repeat

    def record(self, status: int, body: dict) -> None:
        if self.row is not None:
            self.row.status, self.row.body = status, body
            db.session.flush()


def _fingerprint() -> str:
    """The request's method, path and body. A multipart body is taken by its fields and each
    file's name and content, not its bytes: a client's retry draws a new boundary."""
    digest = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode()]))
    if request.mimetype == "multipart/form-data":
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(b"\nfield\0" + name.encode() + b"\0" + value.encode("utf-8", "surrogatepass"))
        for name, upload in request.files.items(multi=True):
            content = hashlib.sha256()
            for chunk in iter(lambda: upload.stream.read(1 << 16), b""):
                content.update(chunk)
            upload.stream.seek(0)
            digest.update(b"\nfile\0" + name.encode() + b"\0" + (upload.filename or "").encode("utf-8", "surrogatepass")
                          + b"\0" + content.digest())
    else:
        digest.update(b"\n" + request.get_data())
    return digest.hexdigest()


def purge(now=None, batch: int = 5000) -> int:
    """Delete the keys older than 24 hours (by the created_at index, a batch at a time); how many."""
    cutoff = (now or utcnow()) - KEPT
    total = 0
    while True:
        ids = list(db.session.scalars(select(IdempotencyKey.id).where(IdempotencyKey.created_at <= cutoff).limit(batch)))
        if not ids:
            return total
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
        db.session.commit()
        total += len(ids)


def _existing(user_id: int, key: str, fingerprint: str) -> Reservation | None:
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise ApiProblem(422, "idempotency_key_reused")
    return Reservation(row, (row.status, row.body))


def reserve(user) -> Reservation:
    """The request's key reserved, or the answer a first request with it got (``replay``)."""
    key = request.headers.get(HEADER)
    if key is None:
        return Reservation(None)
    if usable_nonce(key) is None:
        raise ApiProblem(422, "idempotency_key_invalid")
    fingerprint = _fingerprint()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key,
                                                    IdempotencyKey.created_at <= utcnow() - KEPT))
    found = _existing(user.id, key, fingerprint)
    if found is not None:
        return found
    row = IdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        found = _existing(user.id, key, fingerprint)
        if found is None:
            raise
        return found
    return Reservation(row)

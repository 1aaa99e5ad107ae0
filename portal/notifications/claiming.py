"""Claiming rows of a work table (the email outbox, the notification events) so that each is
handled by one worker at a time, however many drain the table at once.

A claim is a single ``UPDATE … WHERE id = (SELECT id … FOR UPDATE SKIP LOCKED LIMIT 1) AND due
RETURNING id``, committed at once: on PostgreSQL the row lock keeps two workers off one row and
SKIP LOCKED makes the second pass over it instead of waiting, the repeated ``due`` condition
being re-checked on the locked row; on SQLite the UPDATE holds the database's write lock from
start to end, an atomic compare-and-set. The claim counts the attempt and sets a lease
(``next_attempt_at`` = now + lease) before any work; only the claim's holder (its token) may
record the outcome.

The tables share the columns this needs: ``status``, ``next_attempt_at``, ``attempts``,
``claimed_at``, ``claim_token``.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from portal.extensions import db
from portal.timeutil import utcnow


def claim_next(model, due: Callable[[datetime, type], object], working: str, lease: timedelta) -> tuple[int, str] | None:
    """Claim the next row of ``model`` that ``due(now, model)`` selects, setting its status to
    ``working``, in a transaction of its own. Returns its id and the claim's token, or None."""
    now = utcnow()
    token = secrets.token_hex(16)
    other = aliased(model)
    candidate = (select(other.id).where(due(now, other)).order_by(other.next_attempt_at, other.id)
                 .limit(1).with_for_update(skip_locked=True).scalar_subquery())
    claimed = db.session.execute(
        update(model).where(model.id == candidate, due(now, model))
        .values(status=working, attempts=model.attempts + 1, claimed_at=now, claim_token=token,
                next_attempt_at=now + lease)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    return None if claimed is None else (claimed, token)


def release(model, row_id: int, token: str, **values) -> bool:
    """Record the outcome of a claim if it is still ours, without committing (False: the lease
    ran out and another worker claimed the row meanwhile)."""
    result = db.session.execute(
        update(model).where(model.id == row_id, model.claim_token == token)
        .values(claim_token=None, **values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def give_up_abandoned(model, working: str, max_attempts: int, given_up: str, note: str) -> int:
    """Rows claimed for their last attempt by a worker that died (``working`` with the lease
    over): marked ``given_up``, ``note`` added to their last error. Commits; returns how many."""
    result = db.session.execute(
        update(model)
        .where(model.status == working, model.next_attempt_at <= utcnow(), model.attempts >= max_attempts)
        .values(status=given_up, claim_token=None,
                last_error=func.coalesce(model.last_error + "; ", "") + note)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def listing(model, status: str | None = None, limit: int = 50) -> list:
    """The latest rows, of one status or all, newest first."""
    query = select(model).order_by(model.id.desc()).limit(limit)
    if status:
        query = query.where(model.status == status)
    return list(db.session.scalars(query))


def retry(model, row_id: int, given_up: str) -> bool:
    """Give a row that was given up a new round of attempts, now. Commits."""
    result = db.session.execute(
        update(model).where(model.id == row_id, model.status == given_up)
        .values(status="pending", attempts=0, next_attempt_at=utcnow()).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def drain(step: Callable[[], bool | None], limit: int) -> tuple[int, int]:
    """Run ``step`` (claim one row and handle it: True done, False failed, None nothing left)
    up to ``limit`` times. Returns (done, failed)."""
    done = failed = 0
    while done + failed < limit:
        outcome = step()
        if outcome is None:
            break
        if outcome:
            done += 1
        else:
            failed += 1
    return done, failed

"""Fanning notification events out: a worker claims each pending ``NotificationEvent`` once,
however many workers run (``claiming.claim_next``: FOR UPDATE SKIP LOCKED on PostgreSQL, a
compare-and-set on SQLite), then, in one transaction, writes the notifications and emails of
everyone told (``services.fan_out``) and marks the event done. That transaction commits only if
the claim is still the worker's, so an event is fanned out exactly once even when a worker
outlives its lease: the late one's writes roll back.

A failing event (an error while fanning it out) is retried after 1, 2, 4, 8 minutes and then
marked ``failed``, kept with its last error (``flask --app portal notifications events``;
``... events --retry ID`` gives it a new round). A worker killed mid-way leaves the event
``processing``; once the lease is over another claims it again.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, select

from portal.extensions import db
from portal.notifications import claiming, services
from portal.notifications.models import NotificationEvent
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
#: attempts before an event is given up as failed
MAX_ATTEMPTS = 5
STATUSES = ("pending", "processing", "done", "failed")


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed attempt an event is tried again."""
    return timedelta(minutes=2 ** (attempts - 1))


def _due(now: datetime, event=NotificationEvent):
    """Waiting and due, or claimed by a worker whose lease ran out (it died)."""
    return and_(event.status.in_(("pending", "processing")), event.next_attempt_at <= now,
                event.attempts < MAX_ATTEMPTS)


def process_one() -> bool | None:
    """Claim one due event and fan it out. True: done; False: failed (retried later, or given
    up); None: nothing was due."""
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    claimed = claiming.claim_next(NotificationEvent, _due, "processing", lease)
    if claimed is None:
        return None
    event_id, token = claimed
    try:
        event = db.session.get(NotificationEvent, event_id, populate_existing=True)
        told = services.fan_out(event)
        ours = claiming.release(NotificationEvent, event_id, token, status="done", processed_at=utcnow(),
                                last_error=None)
        if not ours:
            db.session.rollback()  # another worker claimed it after our lease: its fan-out counts
            log.warning("notification event %s: the claim expired before it was done; left to the other worker", event_id)
            return False
        db.session.commit()
    except Exception as error:  # anything: the event is kept, retried, then marked failed
        db.session.rollback()
        _failed(event_id, token, f"{type(error).__name__}: {error}"[:2000])
        return False
    log.info("notification event %s fanned out to %s person(s)", event_id, told)
    return True


def _failed(event_id: int, token: str, message: str) -> None:
    attempts = db.session.scalar(select(NotificationEvent.attempts).where(NotificationEvent.id == event_id))
    if attempts >= MAX_ATTEMPTS:
        claiming.release(NotificationEvent, event_id, token, status="failed", last_error=message)
        log.error("notification event %s FAILED after %s attempts: %s", event_id, attempts, message)
    else:
        retry_at = utcnow() + retry_delay(attempts)
        claiming.release(NotificationEvent, event_id, token, status="pending", last_error=message,
                         next_attempt_at=retry_at)
        log.warning("notification event %s not fanned out (attempt %s of %s), retried at %s: %s",
                    event_id, attempts, MAX_ATTEMPTS, retry_at.isoformat(timespec="seconds"), message)
    db.session.commit()


def give_up_abandoned() -> int:
    """Events claimed for their last attempt by a worker that died: failed."""
    count = claiming.give_up_abandoned(NotificationEvent, "processing", MAX_ATTEMPTS, "failed",
                                       "the worker stopped while fanning out")
    if count:
        log.error("%s notification event(s) FAILED: their last attempt's worker stopped", count)
    return count


def process_pending(limit: int = 100) -> tuple[int, int]:
    """Fan out up to ``limit`` due events, one claim at a time, alongside any other worker.
    Commits. Returns (done, failed)."""
    give_up_abandoned()
    return claiming.drain(process_one, limit)


def listing(status: str | None = None, limit: int = 50) -> list[NotificationEvent]:
    """The latest events, of one status or all, newest first."""
    return claiming.listing(NotificationEvent, status, limit)


def retry(event_id: int) -> bool:
    """Give a failed event a new round of attempts, now."""
    return claiming.retry(NotificationEvent, event_id, "failed")

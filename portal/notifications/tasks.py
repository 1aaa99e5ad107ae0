"""Jobs that deliver the outbox.

A request only writes ``OutgoingEmail`` rows, in its own transaction (services.queue_email).
Once that transaction has committed, and the response has gone out, a ``deliver_outbox`` job
is enqueued so the email leaves within seconds; a periodic ``deliver_outbox_periodically``
every minute is the safety net (a job lost with Redis, or enqueued while Redis was down) and
sends the retries when they fall due. Either may run on any number of workers at once: the
mailer's claims keep each email to one sender.
"""
from __future__ import annotations

import logging

from flask import Flask, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import jobs
from portal.extensions import db
from portal.notifications import mailer
from portal.operations import carrying, current_request_id

log = logging.getLogger(__name__)
_QUEUED = "cpor.outbox_queued"
#: emails one job sends before handing the rest to a new job, so other tasks get their turn
BATCH = 100


@jobs.task(retries=3, retry_delay=10, retry_backoff=2)
def deliver_outbox() -> None:
    """Send what is due. A failure of the job itself (the database unreachable) is retried in
    10, 20 and 40 s, then left to the periodic job; a failure to send is recorded on the email."""
    _drain()


@jobs.periodic_task(jobs.crontab(minute="*"))
def deliver_outbox_periodically() -> None:
    _drain()


def _drain() -> None:
    sent, failed = mailer.deliver_pending(limit=BATCH)
    if sent + failed == BATCH:
        deliver_outbox()  # more may be due: a new job, behind whatever else is queued


def note_queued() -> None:
    """An email was added to the session: deliver it once the session commits."""
    db.session.info[_QUEUED] = True


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    if not session.info.pop(_QUEUED, False):
        return
    if has_request_context():
        g.cpor_outbox_committed = True  # enqueued once the response is out (init_app)
    else:
        _enqueue()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session) -> None:
    session.info.pop(_QUEUED, None)


def _enqueue() -> None:
    """Never fails its caller: if the queue is unreachable the periodic job sends the emails."""
    try:
        deliver_outbox()
    except Exception:
        log.exception("could not enqueue the outbox delivery; the periodic job will send it")


def init_app(app: Flask) -> None:
    @app.after_request
    def deliver_after_response(response):
        """Enqueue delivery once the response has gone out: in development (jobs in-process)
        the user never waits for the outbox; in production this only pushes a job to Redis."""
        if g.get("cpor_outbox_committed"):
            request_id = current_request_id()  # the request is over by the time the job is enqueued
            response.call_on_close(lambda: _enqueue_in(app, request_id))
        return response


def _enqueue_in(app: Flask, request_id: str | None) -> None:
    with app.app_context(), carrying(request_id):
        _enqueue()

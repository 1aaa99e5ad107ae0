"""Jobs that fan notification events out and deliver the outbox.

A request only records ``NotificationEvent`` rows (services.status_changed, comment_posted,
consent_given), in its own transaction. As that transaction commits, a ``fan_out_events`` job
is enqueued: a worker claims each pending event once (fanout.py), writes the notifications and
emails of the people told and marks the event done, in one transaction. In development and
tests (jobs in-process) the fan-out runs at the commit, so the page that follows already counts
the notification.

Emails (``OutgoingEmail`` rows: the fan-out's, the consent requests a request writes) are
delivered by a ``deliver_outbox`` job enqueued once their transaction has committed, after the
response when that was a request's. A periodic ``deliver_outbox_periodically`` every minute
is the safety net (a job lost with Redis, or enqueued while Redis was down, or a worker
killed): it fans out the events left pending, then sends what is due, retries included. All of
them may run on any number of workers at once: the claims (claiming.py) keep each event to
one worker and each email to one sender.
"""
from __future__ import annotations

import logging

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import jobs
from portal.extensions import db
from portal.notifications import fanout, mailer
from portal.notifications.pending import EMAILS as _QUEUED
from portal.notifications.pending import EVENTS as _EVENTS
from portal.operations import carrying, current_request_id

log = logging.getLogger(__name__)
#: what a request's commits left to do once it is over (in the WSGI environ: the request's own,
#: also seen by the jobs that run in-process inside it, which have app contexts of their own)
_AFTER_REQUEST = "cpor.after_commit"
#: emails one job sends before handing the rest to a new job, so other tasks get their turn
BATCH = 100


@jobs.task(retries=3, retry_delay=10, retry_backoff=2)
def deliver_outbox() -> None:
    """Send what is due. A failure of the job itself (the database unreachable) is retried in
    10, 20 and 40 s, then left to the periodic job; a failure to send is recorded on the email."""
    _drain()


@jobs.task(retries=3, retry_delay=10, retry_backoff=2)
def fan_out_events() -> None:
    """Fan out the pending notification events. A failure of the job itself is retried in 10,
    20 and 40 s, then left to the periodic job; a failing event is recorded on the event."""
    _fan_out()


@jobs.periodic_task(jobs.crontab(minute="*"))
def deliver_outbox_periodically() -> None:
    """The safety net: events left pending (a lost job, a killed worker), then due emails."""
    _fan_out(again=False)
    _drain()


def _fan_out(again: bool = True) -> None:
    done, failed = fanout.process_pending(limit=BATCH)
    if again and done + failed == BATCH:
        fan_out_events()  # more may be pending: a new job, behind whatever else is queued


def _drain() -> None:
    sent, failed = mailer.deliver_pending(limit=BATCH)
    if sent + failed == BATCH:
        deliver_outbox()  # more may be due: a new job, behind whatever else is queued


def _later() -> set[str]:
    return request.environ.setdefault(_AFTER_REQUEST, set())


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: what it wrote commits (or not) with the transaction around it
    if session.info.pop(_EVENTS, False):
        # At once, request or not: in production this pushes a job to Redis; in development
        # and tests the fan-out runs here, in a session of its own, so the page that follows
        # already shows the notification (the session that committed takes no part in it).
        _enqueue_fan_out()
    if session.info.pop(_QUEUED, False):
        if has_request_context():
            _later().add(_QUEUED)  # enqueued once the response is out (init_app)
        else:
            _enqueue()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_QUEUED, None)
    session.info.pop(_EVENTS, None)


def _enqueue() -> None:
    """Never fails its caller: if the queue is unreachable the periodic job sends the emails."""
    try:
        deliver_outbox()
    except Exception:
        log.exception("could not enqueue the outbox delivery; the periodic job will send it")


def _enqueue_fan_out() -> None:
    """Never fails its caller: if the queue is unreachable the events stay pending and the
    periodic job fans them out."""
    try:
        fan_out_events()
    except Exception:
        log.exception("could not enqueue the notification fan-out; the periodic job will do it")


def init_app(app: Flask) -> None:
    @app.after_request
    def deliver_after_response(response):
        """Enqueue delivery once the response has gone out: in development (jobs in-process)
        the user never waits for the outbox; in production this only pushes a job to Redis.
        (The emails a request's fan-out wrote count: it ran when the request committed.)"""
        later = _later()
        if _QUEUED in later:
            later.discard(_QUEUED)
            request_id = current_request_id()  # the request is over by the time the job is enqueued
            response.call_on_close(lambda: _enqueue_in(app, request_id))
        return response


def _enqueue_in(app: Flask, request_id: str | None) -> None:
    with app.app_context(), carrying(request_id):
        _enqueue()

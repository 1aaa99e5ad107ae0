"""The outbox's rules: a worker claims an email (counting the attempt) before sending it, so
concurrent workers never share one; a worker that dies mid-send leaves the email to another
once its lease is over; failures are retried with a growing delay and end, visibly, as not
delivered, the email kept."""
from __future__ import annotations

import email
import logging
import threading
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from portal import operations
from portal.extensions import db
from portal.jobs import huey
from portal.notifications import mailer, tasks
from portal.notifications.models import OutgoingEmail
from portal.timeutil import utcnow
from tests.notifications.conftest import emails, events
from tests.notifications.test_delivery import SMTP_DOWN, comment_as_reviewer, outbox


def queue(app, count: int) -> None:
    """Emails in the outbox, with no delivery job (which would send them at once here)."""
    with app.app_context():
        for n in range(count):
            db.session.add(OutgoingEmail(recipient=f"person-{n}@example.com", subject=f"Message {n}", body="Body."))
        db.session.commit()


@pytest.mark.real_commits
def test_concurrent_workers_claim_each_email_once(any_app):
    """Four threads, each with a connection of its own, claim until nothing is left."""
    app = any_app
    queue(app, 40)
    claimed: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker():
        try:
            with app.app_context():
                start.wait()
                while (claim := mailer.claim_next()) is not None:
                    claimed.append(claim[0].id)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(claimed) == [row.id for row in emails(app)]  # every one, none twice
    assert all(row.status == "sending" and row.attempts == 1 and row.claim_token for row in emails(app))


def test_a_claim_counts_the_attempt_before_sending_and_holds_a_lease(app):
    queue(app, 1)
    with app.app_context():
        row, token = mailer.claim_next()
        assert (row.status, row.attempts, row.claim_token) == ("sending", 1, token)
        assert row.next_attempt_at >= utcnow() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] - 5)
        assert mailer.claim_next() is None  # nobody else may take it meanwhile


def test_an_email_whose_worker_died_is_sent_by_another_after_the_lease(app):
    queue(app, 1)
    with app.app_context():
        mailer.claim_next()  # ... and the worker is killed before it sends
        assert mailer.deliver_pending() == (0, 0)
        db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert mailer.deliver_pending() == (1, 0)
    [row] = emails(app)
    assert (row.status, row.attempts, row.claim_token) == ("sent", 2, None)
    assert len(outbox(app)) == 1


def test_a_late_worker_cannot_overwrite_the_outcome_of_the_claim_that_replaced_it(app):
    queue(app, 1)
    with app.app_context():
        row, stale = mailer.claim_next()
        db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert mailer.deliver_pending() == (1, 0)  # another worker, after the lease
        assert mailer._record(row.id, stale, status="pending") is False
    assert emails(app)[0].status == "sent"


def test_an_email_abandoned_on_its_last_attempt_is_not_delivered(app, caplog):
    queue(app, 1)
    with app.app_context():
        db.session.execute(update(OutgoingEmail).values(attempts=mailer.MAX_ATTEMPTS - 1))
        db.session.commit()
        mailer.claim_next()  # the last attempt; its worker dies
        db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        with caplog.at_level(logging.ERROR, logger="portal.notifications.mailer"):
            assert mailer.deliver_pending() == (0, 0)
    [row] = emails(app)
    assert (row.status, row.attempts) == ("not_delivered", mailer.MAX_ATTEMPTS)
    assert "stopped while sending" in row.last_error
    assert "NOT DELIVERED" in caplog.text


@pytest.mark.parametrize("app_overrides", [SMTP_DOWN])
def test_a_failing_job_is_retried_with_backoff_then_marked_not_delivered(app, cast, caplog):
    comment_as_reviewer(app, cast)  # three emails; the response is left open: no job yet
    delays = []
    for attempt in range(1, mailer.MAX_ATTEMPTS + 1):
        before = utcnow()
        with app.app_context(), caplog.at_level(logging.WARNING, logger="portal.notifications.mailer"):
            tasks.deliver_outbox()  # the job, run in-process
        after = utcnow()
        rows = emails(app)
        assert [row.attempts for row in rows] == [attempt] * 3
        if attempt < mailer.MAX_ATTEMPTS:
            assert all(row.status == "pending" and "refused" in row.last_error.lower() for row in rows)
            waits = {row.next_attempt_at - before for row in rows}
            assert all(mailer.retry_delay(attempt) <= wait <= mailer.retry_delay(attempt) + (after - before) for wait in waits)
            delays.append(mailer.retry_delay(attempt))
            with app.app_context():
                tasks.deliver_outbox()  # not due yet: nothing happens
            assert [row.attempts for row in emails(app)] == [attempt] * 3
            with app.app_context():  # ... until the delay has passed
                db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
                db.session.commit()
    assert delays == sorted(delays) and delays[0] < delays[-1]  # each wait longer than the last
    rows = emails(app)
    assert all(row.status == "not_delivered" and row.sent_at is None for row in rows)
    assert {row.recipient for row in rows} == {cast.emails[i] for i in cast.partner_side}  # nothing lost
    assert all(row.subject and row.body for row in rows)
    assert caplog.text.count("NOT DELIVERED") == 3
    with app.app_context():
        tasks.deliver_outbox()
        db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow() - timedelta(days=1)))
        db.session.commit()
        tasks.deliver_outbox()  # never tried again
    assert [row.attempts for row in emails(app)] == [mailer.MAX_ATTEMPTS] * 3

    listing = app.test_cli_runner().invoke(args=["emails", "list", "--status", "not_delivered"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.count("not delivered") == 3 and "last error: ConnectionRefusedError" in listing.output

    first = rows[0].id
    retried = app.test_cli_runner().invoke(args=["emails", "retry", str(first)])
    assert retried.exit_code == 0, retried.output
    assert [(row.status, row.attempts) for row in emails(app) if row.id == first] == [("pending", 0)]
    again = app.test_cli_runner().invoke(args=["emails", "retry", str(first)])
    assert again.exit_code != 0 and "not one that was not delivered" in again.output


def test_the_listing_shows_each_state(app):
    queue(app, 2)
    with app.app_context():
        mailer.deliver_one()
    result = app.test_cli_runner().invoke(args=["emails", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "pending" in lines[0] and "0/8" in lines[0] and "person-1@example.com" in lines[0]
    assert "sent" in lines[1] and "1/8" in lines[1] and "person-0@example.com" in lines[1]


def test_an_email_keeps_its_message_id_from_one_attempt_to_the_next(app):
    queue(app, 1)
    with app.app_context():
        mailer.deliver_pending()
        [row] = db.session.scalars(select(OutgoingEmail)).all()
        first = email.message_from_bytes(outbox(app)[0].read_bytes(), policy=policy.default)["Message-ID"]
        row.status, row.next_attempt_at = "pending", utcnow()
        db.session.commit()
        mailer.deliver_pending()
        expected = f"<outbox-{row.id}.{row.created_at:%Y%m%d%H%M%S}@cpor.example>"
        name = f"{row.id:08d}.eml"
    second = email.message_from_bytes(outbox(app)[0].read_bytes(), policy=policy.default)["Message-ID"]
    assert first == second == expected
    assert Path(app.config["MAIL_OUTBOX_DIR"]).joinpath(name).exists()


@pytest.fixture
def unreachable_queue():
    """A Redis queue on a port where nothing listens (jobs back in-process afterwards)."""
    yield {"JOBS_EAGER": False, "JOBS_REDIS_URL": "redis://127.0.0.1:1/0", "JOBS_QUEUE_NAME": "cpor-unreachable"}
    huey.immediate = True


@pytest.fixture
def app_overrides(tmp_path, request):
    settings = {"UPLOAD_FOLDER": str(tmp_path / "uploads"), "PORTAL_BASE_URL": "https://cpor.example"}
    if "unreachable_queue" in request.fixturenames:
        settings.update(request.getfixturevalue("unreachable_queue"))
    return settings


def test_a_queue_that_is_down_fails_no_request_and_keeps_the_email(app, cast, unreachable_queue, caplog):
    with caplog.at_level(logging.ERROR, logger="portal.notifications.tasks"):
        response = comment_as_reviewer(app, cast)
        response.close()  # enqueueing the fan-out fails: Redis is unreachable
    assert response.status_code == 302
    assert "the periodic job will do it" in caplog.text
    [event] = events(app)  # the request recorded what happened, and nothing is lost
    assert (event.status, event.attempts) == ("pending", 0)
    assert emails(app) == []
    huey.immediate = True  # the worker's periodic job, once Redis is back (run here in-process)
    with app.app_context():
        huey.execute(tasks.deliver_outbox_periodically.s())
    assert events(app)[0].status == "done"
    rows = emails(app)
    assert len(rows) == 3 and all(row.status == "sent" and row.attempts == 1 for row in rows)
    assert len(outbox(app)) == 3


class _RequestIds(logging.Handler):
    """Each record's message with the request ID current when it was logged."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []

    def emit(self, record):
        self.seen.append((record.getMessage(), operations.current_request_id()))


def test_the_delivery_job_logs_under_the_id_of_the_request_that_queued_it(app, cast, caplog):
    request_id = "0123456789abcdef0123456789abcdef"
    handler = _RequestIds()
    logger = logging.getLogger("portal.notifications.mailer")
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO, logger="portal.notifications.mailer"):
            response = comment_as_reviewer(app, cast, headers={"X-Request-ID": request_id})
            response.close()  # the job is enqueued once the response is out (and runs in-process here)
    finally:
        logger.removeHandler(handler)
    sent = [(message, seen_id) for message, seen_id in handler.seen if " sent (attempt 1)" in message]
    assert len(sent) == 3, handler.seen
    assert {seen_id for _, seen_id in sent} == {request_id}
    assert operations.current_request_id() is None

"""The notification fan-out as a job (issue 10): a request only records what happened
(``notification_events``) in its own transaction; a worker claims each event once, whatever
the number of workers, and writes the notifications and emails of the people told and marks the
event done in one transaction; a failing event is retried, then kept as failed; the periodic
job picks up what a lost job or a killed worker left."""
from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.accounts.models import User
from portal.claims import comments
from portal.claims.models import Claim, Comment
from portal.extensions import db
from portal.jobs import huey
from portal.notifications import claiming, fanout, services, tasks
from portal.notifications.models import Notification, NotificationEvent
from portal.timeutil import utcnow
from tests.notifications.conftest import emails, events, make_cast, new_claim, notified
from tests.notifications.test_delivery import comment_as_reviewer, outbox
from tests.notifications.test_workers import run_next_job
from tests.support import sign_in


def pending_events(app, cast, count: int) -> list[int]:
    """Reviewer comments with their events recorded and no fan-out job (as if the job was lost)."""
    with app.app_context():
        ids = []
        for n in range(count):
            comment = Comment(claim_id=cast.claim_id, author_id=cast.reviewer, body=f"Question {n}.", kind="comment")
            db.session.add(comment)
            event = NotificationEvent(kind="comment", claim_id=cast.claim_id, actor_id=cast.reviewer, comment=comment)
            db.session.add(event)
            db.session.flush()
            ids.append(event.id)
        db.session.commit()  # no event flag on the session: nothing is enqueued
        return ids


def test_an_event_recorded_in_a_transaction_that_rolls_back_leaves_nothing(app, cast):
    with app.test_request_context():
        reviewer = db.session.get(User, cast.reviewer)
        comments.post(reviewer, db.session.get(Claim, cast.claim_id), "Never sent.")
        assert db.session.scalar(select(func.count()).select_from(NotificationEvent)) == 1  # recorded...
        db.session.rollback()  # ... with what caused it, and gone with it
    with app.app_context():
        db.session.commit()  # a later commit of the same kind of session finds nothing left to do
    assert events(app) == [] and notified(app) == {} and emails(app) == []
    # The next comment that commits is one event, fanned out once.
    comment_as_reviewer(app, cast)
    [event] = events(app)
    assert event.status == "done" and event.attempts == 1
    assert notified(app) == {i: ["reviewer_comment"] for i in cast.partner_side}


def test_the_request_records_the_event_and_the_fan_out_writes_notifications_and_emails(app, cast):
    response = comment_as_reviewer(app, cast)
    assert response.status_code == 302
    [event] = events(app)
    assert (event.kind, event.claim_id, event.actor_id, event.status) == ("comment", cast.claim_id, cast.reviewer, "done")
    assert event.processed_at is not None and event.claim_token is None
    assert notified(app) == {i: ["reviewer_comment"] for i in cast.partner_side}
    assert len(emails(app)) == 3 and outbox(app) == []  # delivered once the response is out
    response.close()
    assert len(outbox(app)) == 3


@pytest.mark.real_commits
def test_two_workers_fan_one_event_out_exactly_once(any_app):
    app = any_app
    cast = make_cast(app)
    cast.claim_id = new_claim(app, cast)
    ids = pending_events(app, cast, 12)
    done: list[bool] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker():
        try:
            with app.app_context():
                start.wait()
                while (outcome := fanout.process_one()) is not None:
                    done.append(outcome)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert done == [True] * 12  # each event once: no claim was shared
    assert {(e.id, e.status, e.attempts) for e in events(app)} == {(i, "done", 1) for i in ids}
    with app.app_context():
        per_event = Counter(db.session.execute(select(Notification.user_id, func.count()).group_by(Notification.user_id)).all())
    assert per_event == Counter({(i, 12) for i in cast.partner_side})  # twelve each, never 24
    assert Counter(e.recipient for e in emails(app)) == Counter({cast.emails[i]: 12 for i in cast.partner_side})


@pytest.mark.real_commits
def test_a_worker_that_outlived_its_lease_writes_nothing(any_app):
    """The done mark and the notifications commit together, only while the claim is the
    worker's: a worker whose lease ran out (another took the event) rolls its fan-out back."""
    app = any_app
    cast = make_cast(app)
    cast.claim_id = new_claim(app, cast)
    [event_id] = pending_events(app, cast, 1)
    with app.app_context():
        lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
        stale = claiming.claim_next(NotificationEvent, fanout._due, "processing", lease)  # a worker that then stalls
        db.session.execute(update(NotificationEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert fanout.process_one() is True  # another worker, after the lease
        event = db.session.get(NotificationEvent, event_id)
        services.fan_out(event)  # the stale worker finishes its work...
        assert claiming.release(NotificationEvent, event_id, stale[1], status="done") is False
        db.session.rollback()  # ... and, its claim gone, rolls it back (as process_one does)
    assert notified(app) == {i: ["reviewer_comment"] for i in cast.partner_side}


@pytest.fixture
def failing_fan_out(monkeypatch):
    def fail(event):
        raise RuntimeError("the directory is unreachable")
    monkeypatch.setattr(services, "fan_out", fail)
    return monkeypatch


def test_a_failing_fan_out_is_retried_with_backoff_then_marked_failed(app, cast, failing_fan_out, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.notifications.fanout"):
        response = comment_as_reviewer(app, cast)  # the first attempt runs (in-process) at the commit
    assert response.status_code == 302  # the request is unaffected
    waits = []
    for attempt in range(1, fanout.MAX_ATTEMPTS + 1):
        [event] = events(app)
        assert event.attempts == attempt and "RuntimeError: the directory is unreachable" in event.last_error
        if attempt == fanout.MAX_ATTEMPTS:
            break
        assert event.status == "pending"
        waits.append(event.next_attempt_at - event.claimed_at)
        with app.app_context():
            tasks.fan_out_events()  # not due yet: nothing happens
        assert events(app)[0].attempts == attempt
        with app.app_context():  # ... until the delay has passed
            db.session.execute(update(NotificationEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            tasks.fan_out_events()
    assert [round(w.total_seconds() / 60) for w in waits] == [1, 2, 4, 8]  # each wait longer than the last
    [event] = events(app)
    assert event.status == "failed" and event.claim_token is None
    assert notified(app) == {} and emails(app) == []  # no half-written fan-out
    assert "notification event %s FAILED after 5 attempts" % event.id in caplog.text
    with app.app_context():
        db.session.execute(update(NotificationEvent).values(next_attempt_at=utcnow() - timedelta(days=1)))
        db.session.commit()
        tasks.deliver_outbox_periodically()  # never tried again
    assert events(app)[0].attempts == fanout.MAX_ATTEMPTS

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["notifications", "events", "--status", "failed"])
    assert listing.exit_code == 0, listing.output
    assert f"{event.id:>8}  failed " in listing.output and "5/5" in listing.output
    assert "last error: RuntimeError: the directory is unreachable" in listing.output

    failing_fan_out.undo()  # the cause is fixed; an operator retries the event
    retried = runner.invoke(args=["notifications", "events", "--retry", str(event.id)])
    assert retried.exit_code == 0, retried.output
    assert (events(app)[0].status, events(app)[0].attempts) == ("pending", 0)
    again = runner.invoke(args=["notifications", "events", "--retry", str(event.id)])
    assert again.exit_code != 0 and "not one that failed" in again.output
    with app.app_context():
        tasks.deliver_outbox_periodically()
    assert events(app)[0].status == "done"
    assert notified(app) == {i: ["reviewer_comment"] for i in cast.partner_side}
    assert "done" in runner.invoke(args=["notifications", "events"]).output


def test_the_periodic_job_picks_up_events_left_pending_and_by_a_killed_worker(app, cast):
    lost, killed = pending_events(app, cast, 2)
    with app.app_context():  # a worker claimed one and was killed; its lease is over
        db.session.execute(update(NotificationEvent).where(NotificationEvent.id == killed)
                           .values(status="processing", attempts=1, claim_token="0" * 32,
                                   next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        huey.execute(tasks.deliver_outbox_periodically.s())
    assert {(e.id, e.status) for e in events(app)} == {(lost, "done"), (killed, "done")}
    assert notified(app) == {i: ["reviewer_comment", "reviewer_comment"] for i in cast.partner_side}
    assert all(row.status == "sent" for row in emails(app)) and len(outbox(app)) == 6


def test_the_sweep_command_fans_out_pending_events(app, cast):
    pending_events(app, cast, 1)
    result = app.test_cli_runner().invoke(args=["claims", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 notification event(s) fanned out, 0 left to retry." in result.output
    assert notified(app) == {i: ["reviewer_comment"] for i in cast.partner_side}
    assert [row.status for row in emails(app)] == ["sent"] * 3 and len(outbox(app)) == 3


class TestOnARedisQueue:
    @pytest.fixture
    def app_overrides(self, tmp_path, redis_queue):
        return {**redis_queue, "UPLOAD_FOLDER": str(tmp_path / "uploads"), "PORTAL_BASE_URL": "https://cpor.example"}

    def test_the_request_only_enqueues_and_the_worker_fans_out(self, app, cast):
        request_id = "fedcba9876543210fedcba9876543210"
        with app.app_context():
            huey.flush()  # the setup's own job (its events are cleared)
        response = comment_as_reviewer(app, cast, headers={"X-Request-ID": request_id})
        response.close()
        assert response.status_code == 302
        [event] = events(app)
        assert (event.status, event.attempts) == ("pending", 0)  # recorded, not fanned out
        assert notified(app) == {} and emails(app) == []
        with app.app_context():
            assert huey.pending_count() == 1
            [job] = huey.pending()
        assert job.name.endswith("fan_out_events") and job.kwargs == {"request_id": request_id}
        run_next_job(app)  # a worker's thread
        assert events(app)[0].status == "done"
        assert notified(app) == {i: ["reviewer_comment"] for i in cast.partner_side}
        rows = emails(app)
        assert len(rows) == 3 and all(row.status == "pending" for row in rows)
        with app.app_context():
            assert huey.pending_count() == 1  # the fan-out's commit enqueued the delivery
        run_next_job(app)
        assert all(row.status == "sent" for row in emails(app)) and len(outbox(app)) == 3

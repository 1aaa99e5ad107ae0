"""A mail server that accepts connections and never answers (issue 10: it wedged every web
worker): requests only record their events and enqueue a job on Redis; the worker fans them
out into the outbox, its send times out, and the email is retried later."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import update

from portal.extensions import db, mail
from portal.jobs import huey
from portal.notifications import mailer, tasks
from portal.notifications.models import OutgoingEmail
from portal.timeutil import utcnow
from tests.notifications.conftest import emails
from tests.notifications.smtp import Blackhole, SmtpSink, smtp_settings
from tests.support import sign_in


@pytest.fixture
def blackhole():
    with Blackhole() as server:
        yield server


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


def run_next_job(app) -> None:
    """What a worker's thread does with the next job on the queue; in a thread of its own, so
    that a send left without a timeout fails the test instead of hanging it."""
    failures = []

    def work():
        try:
            with app.app_context():
                job = huey.dequeue()
                assert job is not None, "no job was waiting"
                huey.execute(job)
        except BaseException as error:  # noqa: BLE001  (reported below)
            failures.append(error)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the worker is stuck on the mail server"
    assert failures == []


@pytest.fixture
def app_overrides(tmp_path, redis_queue, blackhole):
    # The production timeout (10 s) for the web part: a request that talked to the mail server
    # would take that long at least.
    return {**redis_queue, **smtp_settings(blackhole.port), "MAIL_TIMEOUT": 10,
            "UPLOAD_FOLDER": str(tmp_path / "uploads"), "PORTAL_BASE_URL": "https://cpor.example"}


def test_a_mail_server_that_never_answers_holds_no_request_and_the_worker_times_out(app, cast, blackhole, sink):
    with app.app_context():
        huey.flush()  # the setup's own fan-out job (its events are cleared)
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    timings = []

    def timed(method, url, **kwargs):
        started = time.monotonic()
        response = getattr(reviewer, method)(url, **kwargs)
        response.close()  # the response has gone out: a delivery job is enqueued if emails were queued
        timings.append(time.monotonic() - started)
        return response

    response = timed("post", f"/claims/{cast.claim_id}/comments", data={"body": "Could you add the PoE?"})
    fragment = timed("post", f"/claims/{cast.claim_id}/comments", data={"body": "And the invoice?"},
                     headers={"HX-Request": "true"})
    page = timed("get", f"/review/claims/{cast.claim_id}")

    assert (response.status_code, fragment.status_code, page.status_code) == (302, 200, 200)
    assert all(seconds < 2 for seconds in timings), timings  # the bound, for every request
    assert blackhole.connections == 0  # the web never talks to the mail server
    assert emails(app) == []  # the requests recorded their events only
    with app.app_context():
        assert huey.pending_count() == 2  # one fan-out job per request that recorded events
    run_next_job(app)
    run_next_job(app)
    rows = emails(app)
    assert len(rows) == 6
    assert all(row.status == "pending" and row.attempts == 0 for row in rows)
    assert blackhole.connections == 0
    with app.app_context():
        assert huey.pending_count() == 2  # one delivery job per fan-out that queued emails

    app.config["MAIL_TIMEOUT"] = 0.3  # the worker's sends time out (quickly, for the test)
    before = utcnow()
    run_next_job(app)
    assert blackhole.connections == 6  # one try per email, each given up after the timeout
    for row in emails(app):
        assert row.status == "pending" and row.attempts == 1 and row.sent_at is None
        assert "timed out" in row.last_error
        assert row.next_attempt_at >= before + mailer.retry_delay(1)
    run_next_job(app)  # the second fan-out's job: nothing is due any more
    assert blackhole.connections == 6

    # The mail server is back; the retry falls due and the periodic job sends them, once each.
    app.config.update(smtp_settings(sink.port))
    mail.init_app(app)  # Flask-Mail reads its settings once
    with app.app_context():
        db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow()))
        db.session.commit()
        huey.execute(tasks.deliver_outbox_periodically.s())
    assert Counter(m["To"] for m in sink.messages) == Counter(row.recipient for row in rows)
    assert all(row.status == "sent" and row.attempts == 2 for row in emails(app))

"""N queued emails, two `flask --app portal worker` processes (two threads each) consuming the
Redis queue against PostgreSQL, a real SMTP server on loopback: each email arrives once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from portal.extensions import db
from portal.jobs import huey
from portal.notifications import services, tasks
from portal.notifications.models import OutgoingEmail
from tests.notifications.conftest import emails
from tests.notifications.smtp import SmtpSink, smtp_settings

ROOT = Path(__file__).resolve().parents[2]
N_EMAILS = 30


def start_worker(app, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "PORTAL_JOBS_EAGER": "0",
        "JOBS_REDIS_URL": app.config["JOBS_REDIS_URL"],
        "JOBS_QUEUE_NAME": app.config["JOBS_QUEUE_NAME"],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(app.config["MAIL_PORT"]),
        "MAIL_TIMEOUT": "5",
        "PORTAL_BASE_URL": "https://cpor.example",
    }
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal", "worker", "--threads", "2", "--no-periodic"],
                            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def app_overrides(redis_queue, sink):
    return {**redis_queue, **smtp_settings(sink.port)}


@pytest.mark.real_commits
@pytest.mark.parametrize("any_app", ["postgresql"], indirect=True)
def test_two_workers_send_each_queued_email_exactly_once(any_app, sink, tmp_path):
    app = any_app
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [start_worker(app, log) for log in logs]
    try:
        wait_for(lambda: all(b"Huey consumer started" in log.read_bytes() for log in logs), "both workers to start")
        for n in range(N_EMAILS):  # each in a transaction of its own: a delivery job each
            with app.app_context():
                services.queue_raw_email(f"person-{n}@example.com", f"Message {n}", f"Body {n}.")
                db.session.commit()
        with app.app_context():
            tasks.deliver_outbox()  # and a few more jobs racing for the same rows
            tasks.deliver_outbox()

        def all_sent():
            with app.app_context():
                return all(row.status == "sent" for row in db.session.scalars(db.select(OutgoingEmail)))
        wait_for(all_sent, "every email to be sent")
        with app.app_context():
            wait_for(lambda: huey.pending_count() == 0, "the queue to empty")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)  # graceful: jobs under way finish first
        for worker in workers:
            worker.wait(timeout=30)

    received = Counter(m["To"] for m in sink.messages)
    assert received == Counter(f"person-{n}@example.com" for n in range(N_EMAILS))  # each exactly once
    assert len({m["Message-ID"] for m in sink.messages}) == N_EMAILS
    rows = emails(app)
    assert all(row.attempts == 1 and row.sent_at is not None for row in rows)
    for log in logs:  # both workers really took jobs
        assert b"Executing portal.notifications.tasks.deliver_outbox" in log.read_bytes(), log.read_text()

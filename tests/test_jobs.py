"""The job queue's settings: production never runs jobs in the web process, a queue needs
Redis, a worker refuses to start without one; which periodic jobs run, and when."""
from __future__ import annotations

import time
from datetime import datetime

import pytest
from huey.exceptions import TaskLockedException

from portal import create_app, jobs
from portal.claims import tasks as claims_tasks
from portal.config import ConfigError
from portal.jobs import huey
from portal.notifications import tasks as notification_tasks


def test_development_runs_jobs_in_process(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    monkeypatch.delenv("PORTAL_JOBS_EAGER", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    assert app.config["JOBS_EAGER"] is True and huey.immediate


def test_production_refuses_to_run_jobs_in_the_web_process(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("PORTAL_JOBS_EAGER", "1")
    with pytest.raises(ConfigError, match="web workers would send emails themselves"):
        create_app()


def test_a_queue_without_redis_refuses_to_start(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("JOBS_REDIS_URL", raising=False)
    monkeypatch.delenv("PORTAL_JOBS_EAGER", raising=False)
    with pytest.raises(ConfigError, match="needs Redis: set REDIS_URL"):
        create_app()


def test_the_worker_refuses_to_start_when_jobs_run_in_process(app):
    assert app.config["JOBS_EAGER"]
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code != 0
    assert "a worker needs the Redis queue" in result.output


def test_the_periodic_jobs_and_their_schedule(app):
    def scheduled_at(minute):
        return {type(job) for job in huey.read_periodic(datetime(2026, 12, 1, 10, minute))}
    sweep, outbox = claims_tasks.sweep_deadlines.task_class, notification_tasks.deliver_outbox_periodically.task_class
    assert scheduled_at(0) == scheduled_at(55) == {sweep, outbox}
    assert scheduled_at(1) == scheduled_at(59) == {outbox}


# --- one sweep at a time, on the Redis the machine has -------------------------------------------


@pytest.fixture
def redis_jobs(redis_queue, app_overrides):
    app_overrides.update(redis_queue)
    return redis_queue


def test_the_sweep_lock_works_on_this_redis_and_expires_on_its_own(redis_jobs, app):
    """Huey's lock with a ttl needs Redis 7.4+; jobs.exclusive works on what Debian ships (7.0),
    where ``make prod``'s worker once failed every sweep with NotImplementedError."""
    assert not jobs.huey.immediate
    with jobs.exclusive("test-sweep", ttl=1):
        with pytest.raises(TaskLockedException):
            with jobs.exclusive("test-sweep", ttl=1):
                pass
    with jobs.exclusive("test-sweep", ttl=1):  # released at the end of the block
        pass
    with jobs.exclusive("test-sweep", ttl=0.1):  # redis-py takes fractions of a second
        # its holder "died": the lock lapses by itself (waited for, a failure after 10 s)
        deadline = time.monotonic() + 10
        while jobs.huey.storage.conn.exists(f"{jobs.huey.name}.exclusive.test-sweep"):
            assert time.monotonic() < deadline, "the lock never lapsed"
            time.sleep(0.01)
        with jobs.exclusive("test-sweep", ttl=1):
            pass


def test_the_sweep_job_runs_against_redis(redis_jobs, app):
    with app.app_context():
        assert claims_tasks.sweep_deadlines.call_local() == 0

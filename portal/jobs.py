"""The job queue: work that must not run in a web request (sending email, the deadline sweep).

Huey (https://huey.readthedocs.io): in production a ``RedisHuey`` queue that
``flask --app portal worker`` consumes; in development and tests the same tasks run in the
process that asks for them (Huey's immediate mode), so ``make run`` stays one command.

Huey's instance is a module singleton, as tasks are bound to it when they are defined
(``portal/notifications/tasks.py``, ``portal/claims/tasks.py``); ``init_app`` points it at the
app's queue. One process serves one queue configuration: the last app created decides.

Every task runs in an app context of its own (so in a database session of its own): the one of
the app that is current where it runs (immediate mode), or the worker's app in the consumer's
threads.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import Iterator

import click
from redis import exceptions as redis_exceptions
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from huey import RedisHuey, crontab
from huey.exceptions import TaskLockedException
from huey.storage import RedisStorage

from portal.config import ConfigError
from portal.operations import carrying, current_request_id

__all__ = ["crontab", "huey", "init_app", "periodic_task", "task", "worker_command"]

log = logging.getLogger(__name__)

#: results=False: no task's return value is ever read, so none is kept in Redis.
huey = RedisHuey("cpor", immediate=True, results=False)
_worker_app: Flask | None = None
_storages: dict[tuple[str, str], RedisStorage] = {}


def init_app(app: Flask) -> None:
    """Immediate mode (JOBS_EAGER) or the Redis queue at JOBS_REDIS_URL named JOBS_QUEUE_NAME.
    Production refuses immediate mode: its web workers would then talk to the mail server."""
    eager = app.config["JOBS_EAGER"]
    if eager and app.config["PORTAL_ENV"] == "production":
        raise ConfigError("PORTAL_JOBS_EAGER=1 is not allowed when PORTAL_ENV=production: the web workers "
                          "would send emails themselves. Set REDIS_URL and run `flask --app portal worker`.")
    if not eager and not app.config.get("JOBS_REDIS_URL"):
        raise ConfigError("The job queue needs Redis: set REDIS_URL (or JOBS_REDIS_URL), "
                          "or PORTAL_JOBS_EAGER=1 to run jobs in-process in development.")
    huey.immediate = eager
    if not eager:
        key = (app.config["JOBS_QUEUE_NAME"], app.config["JOBS_REDIS_URL"])
        if key not in _storages:  # one connection pool per queue, however many apps are made
            _storages[key] = RedisStorage(key[0], url=key[1])
        huey.name = key[0]
        huey.storage = _storages[key]


class _AppContext:
    """A fresh app context around each task: of the current app where there is one (immediate
    mode, the CLI), else of the worker's."""

    def __enter__(self):
        app = current_app._get_current_object() if has_app_context() else _worker_app
        if app is None:
            raise RuntimeError("a task ran outside the app: start workers with `flask --app portal worker`")
        self._context = app.app_context()
        self._context.push()

    def __exit__(self, *exc):
        self._context.pop(exc[1])


def _in_app_context(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _AppContext():
            return fn(*args, **kwargs)
    return run


def task(**options):
    """``huey.task`` for a function that needs the app (database, settings, templates). Calling
    it enqueues the job with the current request's ID, which the job's log lines then carry."""
    def decorator(fn):
        @functools.wraps(fn)
        def run(*args, request_id=None, **kwargs):
            with carrying(request_id), _AppContext():
                return fn(*args, **kwargs)

        queued = huey.task(**options)(run)

        @functools.wraps(fn)
        def enqueue(*args, **kwargs):
            return queued(*args, request_id=current_request_id(), **kwargs)

        enqueue.task = queued  # Huey's task wrapper, for what else it offers
        return enqueue
    return decorator


def periodic_task(schedule, **options):
    """``huey.periodic_task`` for a function that needs the app; ``schedule`` is a ``crontab``.
    Each run logs under an ID of its own."""
    def decorator(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with carrying(None), _AppContext():
                return fn(*args, **kwargs)
        return huey.periodic_task(schedule, **options)(run)
    return decorator


@contextmanager
def exclusive(name: str, ttl: int) -> Iterator[None]:
    """Run the block in one worker at a time; raises ``TaskLockedException`` (which Huey logs and does not
    retry) while another holds it. The lock expires after ``ttl`` seconds if its holder dies.
    Huey's own ``lock_task(ttl=...)`` needs Redis 7.4 or newer (hash-field expiry); Debian's is
    7.0, so on Redis this is redis-py's lock (SET NX PX), and in-process Huey's lock."""
    connection = getattr(huey.storage, "conn", None)
    if connection is None:
        with huey.lock_task(name):
            yield
        return
    lock = connection.lock(f"{huey.name}.exclusive.{name}", timeout=ttl, blocking=False)
    if not lock.acquire():
        raise TaskLockedException(f"{name} is running in another worker")
    try:
        yield
    finally:
        try:
            lock.release()
        except redis_exceptions.LockError:  # expired meanwhile (and maybe taken by another)
            log.warning("the %s lock expired before its holder finished (ttl %s s)", name, ttl)


def consumer(app: Flask, threads: int = 2, periodic: bool = True):
    """Huey's consumer for ``app``'s queue, with ``threads`` worker threads. SIGTERM (as a
    supervisor sends) and SIGINT stop it gracefully: the tasks under way finish (the mail
    timeout bounds how long), up to ``JOBS_SHUTDOWN_SECONDS``."""
    global _worker_app
    if huey.immediate:
        raise click.ClickException("Jobs run in-process here (PORTAL_JOBS_EAGER): a worker needs the Redis queue. "
                                   "Set PORTAL_JOBS_EAGER=0 and REDIS_URL.")
    _worker_app = app
    return huey.create_consumer(workers=threads, worker_type="thread", periodic=periodic,
                                check_worker_health=True, graceful_signal="TERM",
                                shutdown_timeout=app.config["JOBS_SHUTDOWN_SECONDS"])


@click.command("worker")
@click.option("--threads", default=2, show_default=True, help="Tasks run at once by this process.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also schedule the periodic tasks (the sweep, the outbox safety net). Running them "
                   "from several workers is harmless, but one is enough.")
@with_appcontext
def worker_command(threads: int, periodic: bool):
    """Run background jobs: email delivery, the deadline sweep."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    consumer(current_app._get_current_object(), threads=threads, periodic=periodic).run()

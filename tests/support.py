"""Helpers every test package shares: the test password, signing in, recording SQL statements,
racing threads to their commits."""
from __future__ import annotations

import re
import threading
import time

from sqlalchemy import event, text

from portal.extensions import db

#: The demo directory's password (portal/directory/demo.json), which the factories give every
#: person they make too: one ``sign_in`` signs in anyone.
PASSWORD = "demo-password"


def sign_in(app, email, password=PASSWORD, client=None):
    """``client`` (a new test client, a browser of its own, unless given) signed in as
    ``email`` through the real sign-in form."""
    client = client or app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, f"{email} could not sign in"
    return client


#: Savepoints the test harness makes around each session's work (tests/conftest.py): not the
#: app's statements, so never recorded. Noted per database connection.
HARNESS_SAVEPOINTS = "tests.harness_savepoints"
_SAVEPOINT_STATEMENT = re.compile(r"^\s*(?:SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\s+(\S+)\s*$", re.I)


class Statements:
    """Every SQL statement the app's engine sends while recording (``with recorder:``; each
    ``with`` starts a new recording), from a real engine listener."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self._seen: list[tuple[str, object, dict]] = []

    def _record(self, conn, _cursor, statement, parameters, _context, _executemany):
        self._seen.append((statement, parameters, conn.info))

    def _recorded(self):
        for statement, parameters, info in self._seen:
            savepoint = _SAVEPOINT_STATEMENT.match(statement)
            if savepoint and savepoint.group(1) in info.get(HARNESS_SAVEPOINTS, ()):
                continue
            yield statement, parameters

    @property
    def statements(self) -> list[str]:
        return [statement for statement, _ in self._recorded()]

    def offsets(self) -> list[str]:
        """Statements that skip rows with OFFSET. SQLite's dialect writes ``LIMIT ? OFFSET ?``
        with an offset of 0 after every LIMIT; that skips nothing and is not counted."""
        found = []
        for statement, parameters in self._recorded():
            if "OFFSET" not in statement.upper():
                continue
            skips_nothing = (statement.rstrip().upper().endswith("OFFSET ?") and isinstance(parameters, (tuple, list))
                             and len(parameters) > 0 and parameters[-1] == 0)
            if not skips_nothing:
                found.append(statement)
        return found

    def __enter__(self):
        self._seen = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|REPLACE|BEGIN\s+IMMEDIATE|BEGIN\s+EXCLUSIVE)\b", re.I)


class Rendezvous:
    """Where racing threads, each with a session and connection of its own, wait before
    committing: until every other one has got this far too, or has finished, or is blocked on a
    database lock (which only a commit or rollback of a thread that got this far can release).

    Where nothing serialises the attempts, they all get here having read what stood before any
    of them committed, so the race is lost every time, not by luck. Where a lock works, the
    first one here commits as soon as the others are seen waiting for it, not after a fixed
    pause. Blocked means, on PostgreSQL, that ``pg_stat_activity`` shows the thread's backend
    waiting on a lock; on SQLite, that the thread is inside a writing statement while another
    thread holds the database's one write lock (it has written and not yet ended). Waiting longer
    than ``timeout`` for this is a failure, never a pass.

    Use ``with Rendezvous(app) as rendezvous:`` around the threads; in each thread call
    ``rendezvous.join()`` first, ``rendezvous.wait()`` before committing, ``rendezvous.leave()``
    after committing or rolling back."""

    def __init__(self, app, timeout: float = 30.0):
        with app.app_context():
            self.engine = db.engine
        self.timeout = timeout
        self.postgresql = self.engine.dialect.name == "postgresql"
        self._changed = threading.Condition()
        self._state: dict[int, str] = {}  # thread -> "running" | "waiting" | "gone"
        self._executing: dict[int, tuple[bool, int | None]] = {}  # thread -> (writes, backend pid)
        self._written: set[int] = set()  # threads that hold SQLite's write lock

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        event.listen(self.engine, "handle_error", self._failed)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
        event.remove(self.engine, "handle_error", self._failed)

    def _before(self, _conn, cursor, statement, *_args):
        me = threading.get_ident()
        if me in self._state:
            pid = cursor.connection.info.backend_pid if self.postgresql else None
            with self._changed:
                self._executing[me] = (bool(_WRITE.match(statement)), pid)

    def _after(self, _conn, _cursor, statement, *_args):
        me = threading.get_ident()
        if me in self._state:
            with self._changed:
                writes, _pid = self._executing.pop(me, (False, None))
                if writes:
                    self._written.add(me)

    def _failed(self, _context):
        me = threading.get_ident()
        if me in self._state:
            with self._changed:
                self._executing.pop(me, None)

    def join(self) -> None:
        with self._changed:
            self._state[threading.get_ident()] = "running"
            self._changed.notify_all()

    def leave(self) -> None:
        me = threading.get_ident()
        with self._changed:
            self._state[me] = "gone"
            self._written.discard(me)
            self._executing.pop(me, None)
            self._changed.notify_all()

    def wait(self) -> None:
        me = threading.get_ident()
        deadline = time.monotonic() + self.timeout
        with self._changed:
            self._state[me] = "waiting"
            self._changed.notify_all()
        while True:
            with self._changed:
                running = [t for t, state in self._state.items() if t != me and state == "running"]
                executing = {t: self._executing.get(t) for t in running}
                written = set(self._written)
            if not running or self._blocked(executing, written):
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the other attempts neither got here nor were blocked on a lock in {self.timeout} s")
            with self._changed:
                self._changed.wait(0.005)

    def _blocked(self, executing: dict, written: set) -> bool:
        if any(statement is None for statement in executing.values()):
            return False  # between statements: it will get somewhere by itself
        if not self.postgresql:
            return all(writes and written - {thread} for thread, (writes, _pid) in executing.items())
        pids = [pid for _writes, pid in executing.values()]
        with self.engine.connect() as connection:
            waiting = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids) AND wait_event_type = 'Lock'"),
                {"pids": pids},
            ).scalar_one()
        return waiting == len(pids)

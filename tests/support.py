"""Helpers every test package shares: the test password, signing in, recording SQL statements."""
from __future__ import annotations

import re

from sqlalchemy import event

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

"""What a transaction left for the jobs: flags on the session, read by the after-commit hook in
portal/notifications/tasks.py (which enqueues the jobs) and cleared on rollback."""
from __future__ import annotations

from portal.extensions import db

#: ``session.info`` keys
EMAILS = "cpor.outbox_queued"
EVENTS = "cpor.events_recorded"


def note_queued() -> None:
    """An email was added to the session: deliver it once the session commits."""
    db.session.info[EMAILS] = True


def note_event() -> None:
    """A notification event was added to the session: fan it out once the session commits."""
    db.session.info[EVENTS] = True

"""The deadline sweep as a periodic job: every five minutes a worker applies the deadlines that
passed (``lifecycle.sweep``), so nothing waits for a page to be read or for a cron entry.
``flask --app portal claims sweep`` does the same on demand."""
from __future__ import annotations

import logging

from portal import jobs
from portal.api import idempotency
from portal.claims import lifecycle

log = logging.getLogger(__name__)
SCHEDULE = jobs.crontab(minute="*/5")


@jobs.periodic_task(SCHEDULE)
def sweep_deadlines() -> int:
    """Apply the passed deadlines, and forget the API's Idempotency-Keys older than 24 hours.
    One sweep at a time across workers (a second one would only skip the claims the first has
    locked); the lock expires on its own if a worker dies."""
    with jobs.exclusive("claims-sweep", ttl=900):
        count = lifecycle.sweep()
        forgotten = idempotency.purge()
    if count:
        log.info("deadline sweep: %s claim(s) moved on", count)
    if forgotten:
        log.info("deadline sweep: %s idempotency key(s) older than 24 hours forgotten", forgotten)
    return count

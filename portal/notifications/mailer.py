"""Delivering the outbox (``OutgoingEmail`` rows): through SMTP to a real server, or, in
development (no MAIL_SERVER), as .eml files in the outbox folder, where nothing is ever
silently dropped. Run by the worker's jobs (portal/notifications/tasks.py) and by
``flask claims sweep``; never by a web request in production.

Each email is sent once, however many workers drain the outbox at the same time: a worker
first *claims* a due row in a transaction of its own (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so concurrent workers pass over each other's rows; on SQLite the same UPDATE is an
atomic compare-and-set, SQLite running one writer at a time). The claim counts the attempt and
sets a lease (``next_attempt_at`` = now + OUTBOX_LEASE_SECONDS) before anything is sent: a
worker killed while sending leaves a row that another worker claims once the lease is over,
with the attempt counted. Only the claim's holder (``claim_token``) records the outcome.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_mail import Connection, Message
from sqlalchemy import and_, func, select, update

from portal.extensions import db
from portal.notifications import claiming
from portal.notifications.models import OutgoingEmail
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
#: attempts before an email is given up as not delivered (the retry schedule: 2, 4, 8, ... 128
#: minutes after each failure; about four hours from the first attempt to the last)
MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed attempt an email is tried again."""
    return timedelta(minutes=2 ** attempts)


class _TimedConnection(Connection):
    """Flask-Mail's connection with the timeout Flask-Mail does not offer: without one, a
    server that accepts and never answers holds the sender forever. smtplib applies it to the
    connection and to every read and write after it."""

    def configure_host(self):
        state = self.mail
        timeout = current_app.config["MAIL_TIMEOUT"]
        smtp = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = smtp(state.server, state.port, timeout=timeout)
        try:
            host.set_debuglevel(int(state.debug))
            if state.use_tls:
                host.starttls()
            if state.username and state.password:
                host.login(state.username, state.password)
        except BaseException:
            host.close()
            raise
        return host


def _message_id(row: OutgoingEmail) -> str:
    """The same Message-ID on every attempt, so a receiver can drop the copy a worker killed
    between the server's acceptance and its record of it would send again."""
    domain = urlsplit(current_app.config["PORTAL_BASE_URL"]).hostname or "localhost"
    return f"<outbox-{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"


def _write_to_outbox(row: OutgoingEmail) -> None:
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Message-ID"] = _message_id(row)
    message.set_content(row.body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    (folder / f"{row.id:08d}.eml").write_bytes(bytes(message))


def _send(row: OutgoingEmail) -> None:
    if current_app.config.get("MAIL_BACKEND", "outbox") == "outbox":
        _write_to_outbox(row)
        return
    message = Message(subject=row.subject, recipients=[row.recipient], body=row.body, html=row.html_body)
    message.msgId = _message_id(row)
    # MAIL_SUPPRESS_SEND (tests): Flask-Mail's connection records the message and sends nothing.
    with _TimedConnection(current_app.extensions["mail"]) as connection:
        message.send(connection)


def _due(now: datetime, email=OutgoingEmail):
    """Waiting and due, or claimed by a worker whose lease ran out (it died while sending)."""
    return and_(email.status.in_(("pending", "sending")), email.next_attempt_at <= now,
                email.attempts < MAX_ATTEMPTS)


def claim_next() -> tuple[OutgoingEmail, str] | None:
    """Claim the next due email for this worker, counting the attempt, in a transaction of its
    own (``claiming.claim_next``). Returns the row and the claim's token, or None when nothing is due."""
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    claimed = claiming.claim_next(OutgoingEmail, _due, "sending", lease)
    if claimed is None:
        return None
    return db.session.get(OutgoingEmail, claimed[0], populate_existing=True), claimed[1]


def _record(row_id: int, token: str, **values) -> bool:
    """Record the outcome of a claim, if it is still ours (False: the lease ran out and another
    worker claimed the email meanwhile)."""
    ours = claiming.release(OutgoingEmail, row_id, token, **values)
    db.session.commit()
    return ours


def deliver_one() -> bool | None:
    """Claim one due email and send it. True: sent; False: failed (retried later, or given up
    as not delivered); None: nothing was due."""
    claimed = claim_next()
    if claimed is None:
        return None
    row, token = claimed
    row_id, recipient, attempts = row.id, row.recipient, row.attempts
    try:
        _send(row)
    except Exception as error:  # any transport failure: retried later, never lost
        message = f"{type(error).__name__}: {error}"[:2000]
        if attempts >= MAX_ATTEMPTS:
            _record(row_id, token, status="not_delivered", last_error=message)
            log.error("email %s to %s NOT DELIVERED after %s attempts: %s", row_id, recipient, attempts, message)
        else:
            retry_at = utcnow() + retry_delay(attempts)
            _record(row_id, token, status="pending", last_error=message, next_attempt_at=retry_at)
            log.warning("email %s to %s not sent (attempt %s of %s), retried at %s: %s",
                        row_id, recipient, attempts, MAX_ATTEMPTS, retry_at.isoformat(timespec="seconds"), message)
        return False
    if not _record(row_id, token, status="sent", sent_at=utcnow(), last_error=None):
        log.warning("email %s to %s sent, but its claim had expired: the lease (OUTBOX_LEASE_SECONDS) is too short",
                    row_id, recipient)
    else:
        log.info("email %s to %s sent (attempt %s)", row_id, recipient, attempts)
    return True


def give_up_abandoned() -> int:
    """Rows claimed for their last attempt by a worker that died: not delivered."""
    count = claiming.give_up_abandoned(OutgoingEmail, "sending", MAX_ATTEMPTS, "not_delivered",
                                       "the worker stopped while sending")
    if count:
        log.error("%s email(s) NOT DELIVERED: their last attempt's worker stopped while sending", count)
    return count


def deliver_pending(limit: int = 100) -> tuple[int, int]:
    """Send up to ``limit`` due emails, one claim at a time, alongside any other worker.
    Commits. Returns (sent, failed)."""
    give_up_abandoned()
    return claiming.drain(deliver_one, limit)


def listing(status: str | None = None, limit: int = 50) -> list[OutgoingEmail]:
    """The latest emails, of one status or all, newest first."""
    return claiming.listing(OutgoingEmail, status, limit)


def retry(email_id: int) -> bool:
    """Give a not-delivered email a new round of attempts, now."""
    return claiming.retry(OutgoingEmail, email_id, "not_delivered")

"""Delivering queued emails: through Flask-Mail to a real server, or, in development (no
MAIL_SERVER), as .eml files in the outbox folder, where nothing is ever silently dropped."""
from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from flask import Flask, current_app, g
from flask_mail import Message
from sqlalchemy import select

from portal.extensions import db, mail
from portal.notifications.models import OutgoingEmail
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def _write_to_outbox(row: OutgoingEmail) -> None:
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message.set_content(row.body)
    (folder / f"{row.id:08d}.eml").write_bytes(bytes(message))


def _send(row: OutgoingEmail) -> None:
    if current_app.config.get("MAIL_BACKEND", "outbox") == "outbox":
        _write_to_outbox(row)
    else:
        mail.send(Message(subject=row.subject, recipients=[row.recipient], body=row.body))


def deliver_pending(limit: int = 100) -> tuple[int, int]:
    """Send what is due; a failure is logged and retried later with a growing delay.
    Returns (sent, failed)."""
    now = utcnow()
    rows = list(
        db.session.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.sent_at.is_(None), OutgoingEmail.next_attempt_at <= now,
                   OutgoingEmail.attempts < MAX_ATTEMPTS)
            .order_by(OutgoingEmail.id).limit(limit)
        )
    )
    sent = failed = 0
    for row in rows:
        try:
            _send(row)
        except Exception as error:  # any transport failure: keep it queued
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            row.next_attempt_at = utcnow() + timedelta(minutes=2 ** row.attempts)
            failed += 1
            log.warning("email %s to %s not sent (attempt %s): %s", row.id, row.recipient, row.attempts, error)
        else:
            row.sent_at = utcnow()
            row.attempts += 1
            sent += 1
        db.session.commit()
    return sent, failed


def init_app(app: Flask) -> None:
    @app.after_request
    def deliver_after_response(response):
        """Deliver what this request queued once the response has gone out, so the user
        never waits for (or sees the failure of) the mail server."""
        if g.get("cpor_emails_queued"):
            response.call_on_close(lambda: _deliver_in(app))
        return response


def _deliver_in(app: Flask) -> None:
    with app.app_context():
        try:
            deliver_pending()
        except Exception:  # never let delivery break anything; the sweep retries
            log.exception("email delivery after the response failed")
            db.session.rollback()

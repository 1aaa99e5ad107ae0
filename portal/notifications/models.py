"""In-portal notifications and the queue of outgoing emails."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read_id", "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    #: status_changed, comment, consent
    kind: Mapped[str] = mapped_column(String(32))
    #: the message key and its values, rendered in the reader's language when shown
    message: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    claim = relationship("Claim")


class OutgoingEmail(db.Model):
    """The outbox: written in the same transaction as what caused it, delivered by a worker
    (portal/notifications/mailer.py), so a mail server that is down or slow never fails or
    slows a request, and an email is never lost with a job.

    ``status``: pending (waiting for ``next_attempt_at``), sending (claimed by a worker until
    ``next_attempt_at``, its lease), sent, or not_delivered (every attempt failed)."""

    __tablename__ = "outgoing_emails"
    __table_args__ = (Index("ix_outgoing_emails_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: the same message as HTML (escaped, no remote resources), sent as the alternative part
    html_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the current (or last) attempt was claimed, and by which claim: only that claim's
    #: worker may record its outcome
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    #: attempts started, counted when a worker claims the email, before it sends
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class NotificationEvent(db.Model):
    """What happened to a claim, recorded in the same transaction as what caused it; a worker
    then works out who hears of it and writes their notifications and emails
    (portal/notifications/fanout.py). One event is one notification per person told.

    ``kind``: moved (a status change, ``claim_event_id``; with the comment posted with it, if
    any), comment (``comment_id``) or consent (the customer's answer, ``confirmed``).
    ``status``: pending (waiting for ``next_attempt_at``), processing (claimed by a worker until
    ``next_attempt_at``, its lease), done, or failed (every attempt failed: see
    ``flask --app portal notifications events``)."""

    __tablename__ = "notification_events"
    __table_args__ = (Index("ix_notification_events_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claim_event_id: Mapped[int | None] = mapped_column(ForeignKey("claim_events.id"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    confirmed: Mapped[bool | None]
    #: the claim's deadline when the event happened (an information request's answer date)
    due_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    claim = relationship("Claim")
    actor = relationship("User")
    claim_event = relationship("ClaimEvent")
    comment = relationship("Comment")

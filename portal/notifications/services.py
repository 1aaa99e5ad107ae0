"""Who hears about what (SPEC section 6), in the portal and by email, each in their language.

A reviewer's comment and every status change go to the claim's author and the organization's
global admins; a partner's reply, comment, resubmission or dispute goes to the reviewer who
holds the claim. Nobody is told of their own action, and a partner only ever hears of its
own organization's claims.

A request only records what happened (``NotificationEvent``, in its own transaction); a worker
then works out who is told and writes their notifications and emails (``fan_out``, run by
portal/notifications/fanout.py), so one event is one notification and one email per person.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.accounts.permissions import Role
from portal.claims import signals
from portal.claims.labels import claim_number, reason_label, reasons_label, status_label
from portal.extensions import db, run_core
from portal.i18n import format_day
from portal.notifications import pending
from portal.notifications.models import Notification, NotificationEvent, OutgoingEmail
from portal.timeutil import utcnow


def _partner_side(claim, actor) -> list[User]:
    people = list(
        db.session.scalars(
            select(User).where(User.organization_id == claim.organization_id, User.active.is_(True),
                               (User.role == Role.GLOBAL_ADMIN) | (User.id == claim.created_by_id))
        )
    )
    return [u for u in people if actor is None or u.id != actor.id]


def _reviewer_side(claim, actor) -> list[User]:
    reviewer = claim.reviewer
    if reviewer is None or not reviewer.active or (actor is not None and reviewer.id == actor.id):
        return []
    return [reviewer]


def message_text(notification: Notification) -> str:
    """The notification's sentence in the current locale."""
    number = claim_number(notification.claim_id) if notification.claim_id else ""
    if notification.message == "status_changed":
        return _("Claim %(number)s is now %(status)s.", number=number, status=status_label(notification.detail))
    if notification.message == "reviewer_comment":
        return _("A reviewer commented on claim %(number)s.", number=number)
    if notification.message == "information_request":
        return _("A reviewer asked for more information on claim %(number)s.", number=number)
    if notification.message == "partner_comment":
        return _("The partner replied on claim %(number)s.", number=number)
    if notification.message == "resubmitted":
        return _("The partner resubmitted claim %(number)s.", number=number)
    if notification.message == "disputed":
        return _("The partner disputed the rejection of claim %(number)s.", number=number)
    if notification.message == "consent_confirmed":
        return _("The customer confirmed the association of claim %(number)s.", number=number)
    if notification.message == "consent_declined":
        return _("The customer declined the association of claim %(number)s.", number=number)
    return notification.message


def claim_url(claim, user) -> str:
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    path = f"/review/claims/{claim.id}" if user.is_reviewer else f"/claims/{claim.id}"
    return base + path


def queue_raw_email(recipient: str, subject: str, body: str, html: str | None = None) -> None:
    pending.note_queued()
    db.session.add(OutgoingEmail(recipient=recipient, subject=subject, body=body, html_body=html))
    db.session.flush()


# Events: recorded in the transaction of what caused them -----------------------------------

#: ``session.info`` key: this transaction's events, by (claim, actor), so that the comment
#: posted with a status change (a decision's reason, a resubmission's reply) joins its event.
_RECORDED = "cpor.notification_events"


def _record(kind: str, claim, actor, **fields) -> NotificationEvent:
    event = NotificationEvent(kind=kind, claim_id=claim.id, actor_id=actor.id if actor is not None else None, **fields)
    db.session.add(event)
    db.session.info.setdefault(_RECORDED, {})[(claim.id, event.actor_id)] = event
    pending.note_event()
    return event


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_rollback")
def _transaction_over(session) -> None:
    if not session.in_nested_transaction():  # a savepoint's end is not the transaction's
        session.info.pop(_RECORDED, None)


def status_changed(claim, event, actor) -> None:
    if event.action == "decline":
        return  # the customer's answer is announced by consent_given
    _record("moved", claim, actor, claim_event=event, due_on=claim.due_on)


def comment_posted(claim, comment, actor) -> None:
    moved = db.session.info.get(_RECORDED, {}).get((claim.id, actor.id))
    if moved is not None and moved.kind == "moved" and moved.comment is None:
        moved.comment = comment  # the status change's reason or reply: one event, one notification
        return
    _record("comment", claim, actor, comment=comment)


def consent_given(claim, confirmed: bool) -> None:
    _record("consent", claim, None, confirmed=confirmed)


def _on_claim_moved(claim, event, actor) -> None:
    status_changed(claim, event, actor)


def _on_comment_posted(claim, comment, actor) -> None:
    comment_posted(claim, comment, actor)


def init_app(app) -> None:
    """Hear of what happens to claims (the claims package announces it, never calls us)."""
    signals.claim_moved.connect(_on_claim_moved)
    signals.comment_posted.connect(_on_comment_posted)


# Fan-out: run by a worker (portal/notifications/fanout.py) ----------------------------------


def _audience(event: NotificationEvent) -> list[tuple[list[User], str, str | None]]:
    """Who hears of the event: (people, message key, detail) for each side told."""
    claim, actor = event.claim, event.actor
    if event.kind == "moved":
        moved = event.claim_event
        message = "information_request" if moved.action == "request_information" else "status_changed"
        told = [(_partner_side(claim, actor), message, moved.to_status)]
        if actor is not None and actor.is_partner:
            reviewer_message = {"resubmit": "resubmitted", "dispute": "disputed"}.get(moved.action)
            if reviewer_message is None and event.comment is not None:
                reviewer_message = "partner_comment"  # a reason given with the change (disassociation)
            if reviewer_message:
                told.append((_reviewer_side(claim, actor), reviewer_message, None))
        return told
    if event.kind == "comment":
        if actor.is_reviewer:
            message = "information_request" if event.comment.kind == "information_request" else "reviewer_comment"
            return [(_partner_side(claim, actor), message, None)]
        if event.comment.kind == "dispute":
            return []  # a dispute is announced with its status change
        return [(_reviewer_side(claim, actor), "partner_comment", None)]
    if event.kind == "consent":
        return [(_partner_side(claim, None), "consent_confirmed" if event.confirmed else "consent_declined", None)]
    raise ValueError(f"unknown notification event kind {event.kind!r}")


def fan_out(event: NotificationEvent) -> int:
    """Write the event's notifications and emails, one of each per person told, in the current
    transaction (not committed). Returns how many people are told."""
    told = 0
    for users, message, detail in _audience(event):
        for user in {u.id: u for u in users}.values():
            note = Notification(user_id=user.id, claim_id=event.claim_id, kind="claim", message=message, detail=detail)
            db.session.add(note)
            queue_email(user, note, event)
            told += 1
    db.session.flush()
    return told


def _said_by(event: NotificationEvent) -> str:
    if event.kind == "consent":
        return _("The customer wrote:")
    if event.actor is not None and event.actor.is_partner:
        return _("The partner wrote:")
    if event.claim_event is not None and event.claim_event.action == "request_information":
        return _("The reviewer asked:")
    return _("The reviewer wrote:")


def _email_details(event: NotificationEvent, note: Notification) -> dict:
    """What happened, in the current locale: the decision and its reason, what was asked and
    by when, the words of the person who acted."""
    moved = event.claim_event
    said = event.comment.body if event.comment is not None else (moved.note if moved is not None else None)
    if event.kind == "consent":
        said = event.claim.consent_message
    details = {"said": said, "said_by": _said_by(event) if said else None}
    if moved is None:
        return details
    if moved.action == "request_information":
        details["reasons"] = reasons_label(moved.reason_code) or None
        details["deadline"] = format_day(event.due_on) if event.due_on else None
    elif note.message == "status_changed":
        if event.actor is None or event.actor.is_reviewer:  # a decision (a reviewer's, or a deadline's)
            details["decision"] = status_label(moved.to_status)
        details["reason"] = reason_label(moved.reason_code) if moved.reason_code else None
    return details


def queue_email(user, note: Notification, event: NotificationEvent) -> None:
    """The notification as an email in the reader's language, plain text and HTML."""
    pending.note_queued()
    locale = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        text = message_text(note)
        subject = _("[CPOR] %(text)s", text=text)
        context = dict(user=user, text=text, url=claim_url(event.claim, user), locale=locale,
                       **_email_details(event, note))
        body = render_template("emails/notification.txt", **context)
        html = render_template("emails/notification.html", subject=subject, **context)
    db.session.add(OutgoingEmail(recipient=user.email, subject=subject, body=body, html_body=html))


# Reading ----------------------------------------------------------------------------------


_notifications = Notification.__table__
#: Every page's badge: built once, on the table (Core), served by ix_notifications_user_read_id.
_UNREAD = (select(func.count()).select_from(_notifications)
           .where(_notifications.c.user_id == bindparam("user_id"), _notifications.c.read_at.is_(None)))


def unread_count(user) -> int:
    return run_core(_UNREAD, {"user_id": user.id}).scalar()


def recent(user, limit: int = 50) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc()).limit(limit)
        )
    )


def mark_read(user, notification_id: int | None = None) -> int:
    """Mark one notification (or all) of the user as read; returns how many changed."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    result = db.session.execute(query.values(read_at=utcnow()))
    return result.rowcount


def open_notification(user, notification_id: int) -> int | None:
    """The user follows one of their notifications: it is read from now on. Returns its claim's
    id (None: not theirs, or about no claim)."""
    claim_id = db.session.scalar(select(Notification.claim_id).where(Notification.id == notification_id,
                                                                      Notification.user_id == user.id))
    if claim_id is not None:
        mark_read(user, notification_id)
    return claim_id

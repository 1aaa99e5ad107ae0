"""Who hears about what (SPEC section 6), in the portal and by email, each in their language.

A reviewer's comment and every status change go to the claim's author and the organization's
global admins; a partner's reply, comment, resubmission or dispute goes to the reviewer who
holds the claim. Nobody is told of their own action, and a partner only ever hears of its
own organization's claims.
"""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update

from portal.accounts.models import User
from portal.accounts.permissions import Role
from portal.claims import signals
from portal.claims.labels import claim_number, status_label
from portal.extensions import db, run_core
from portal.notifications import tasks
from portal.notifications.models import Notification, OutgoingEmail
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


def _notify(users, claim, message: str, detail: str | None = None, kind: str = "claim") -> None:
    for user in {u.id: u for u in users}.values():
        note = Notification(user_id=user.id, claim_id=claim.id, kind=kind, message=message, detail=detail)
        db.session.add(note)
        queue_email(user, note, claim)
    db.session.flush()


def claim_url(claim, user) -> str:
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    path = f"/review/claims/{claim.id}" if user.is_reviewer else f"/claims/{claim.id}"
    return base + path


def queue_email(user, note: Notification, claim) -> None:
    tasks.note_queued()
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = message_text(note)
        subject = _("[CPOR] %(text)s", text=text)
        body = render_template("emails/notification.txt", user=user, text=text, url=claim_url(claim, user))
    db.session.add(OutgoingEmail(recipient=user.email, subject=subject, body=body))


def queue_raw_email(recipient: str, subject: str, body: str) -> None:
    tasks.note_queued()
    db.session.add(OutgoingEmail(recipient=recipient, subject=subject, body=body))
    db.session.flush()


# Events ------------------------------------------------------------------------------------


def status_changed(claim, event, actor) -> None:
    if event.action == "decline":
        return  # the customer's answer is announced by consent_given
    partner_acting = actor is not None and actor.is_partner
    _notify(_partner_side(claim, actor), claim, "status_changed", event.to_status)
    if partner_acting and event.action in ("resubmit", "dispute"):
        _notify(_reviewer_side(claim, actor), claim, "resubmitted" if event.action == "resubmit" else "disputed")


def comment_posted(claim, comment, actor) -> None:
    if actor.is_reviewer:
        message = "information_request" if comment.kind == "information_request" else "reviewer_comment"
        _notify(_partner_side(claim, actor), claim, message)
    elif comment.kind not in ("dispute",):  # a dispute is announced with its status change
        _notify(_reviewer_side(claim, actor), claim, "partner_comment")


def consent_given(claim, confirmed: bool) -> None:
    _notify(_partner_side(claim, None), claim, "consent_confirmed" if confirmed else "consent_declined")


def _on_claim_moved(claim, event, actor) -> None:
    status_changed(claim, event, actor)


def _on_comment_posted(claim, comment, actor) -> None:
    comment_posted(claim, comment, actor)


def init_app(app) -> None:
    """Hear of what happens to claims (the claims package announces it, never calls us)."""
    signals.claim_moved.connect(_on_claim_moved)
    signals.comment_posted.connect(_on_comment_posted)


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

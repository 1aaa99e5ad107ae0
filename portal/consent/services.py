"""Customer consent (SPEC section 7): on submission the customer contact receives a signed,
expiring link; from it, without an account, they confirm or decline the association.

The link carries the claim and a one-time nonce, signed with the app's key: it cannot be
forged, and once used (or replaced) it cannot act again.
"""
from __future__ import annotations

import secrets

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import select, update

from portal.claims import lifecycle, locks
from portal.claims.base import ActorKind, ClaimStatus
from portal.claims.models import Claim, ClaimEvent
from portal.extensions import db
from portal.notifications import services as notifications
from portal.timeutil import utcnow

SALT = "cpor-customer-consent"


class ConsentError(Exception):
    """The link cannot be used: ``reason`` is invalid, expired, used (answered), superseded
    (a newer request was sent, perhaps to another contact) or closed (the claim is over, so no
    answer is needed)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(claim: Claim) -> str:
    return _serializer().dumps({"c": claim.id, "n": claim.consent_nonce})


def request_consent(claim: Claim) -> str | None:
    """Ask the customer contact (an email in the queue, in every language of the portal). Returns
    the token, or None without a contact."""
    if not claim.customer_contact_email:
        return None
    claim.consent_state = "pending"
    claim.consent_nonce = secrets.token_urlsafe(24)
    claim.consent_requested_at = utcnow()
    token = token_for(claim)
    url = current_app.config["PORTAL_BASE_URL"].rstrip("/") + f"/consent/{token}"
    # The customer has no account and no language setting: the email says it in each of the
    # portal's languages, the default first (the consent page then follows the browser's).
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    subjects, bodies, parts = [], [], []
    for locale in sorted(current_app.config["LANGUAGES"], key=lambda code: code != default):
        with force_locale(locale):
            subjects.append(_("Please confirm your partner of record: %(partner)s", partner=claim.organization.name))
            context = dict(claim=claim, url=url, days=current_app.config["CONSENT_MAX_AGE_DAYS"], locale=locale)
            bodies.append(render_template("emails/consent_request.txt", **context))
            parts.append(Markup(render_template("emails/consent_request.html", **context)))
    subject = " / ".join(subjects)
    with force_locale(default):
        html = render_template("emails/consent_request_all.html", parts=parts, subject=subject, locale=default)
    notifications.queue_raw_email(claim.customer_contact_email, subject, "\n\n-----\n\n".join(bodies), html)
    db.session.add(ClaimEvent(claim_id=claim.id, kind="consent", action="consent_requested"))
    db.session.flush()
    return token


def replace_consent_request(claim: Claim) -> str | None:
    """The customer contact changed (an edit of a returned claim): the request sent to the old
    address is revoked (its link stops working, whatever was answered from it) and the new
    contact is asked. Returns the new token."""
    if claim.consent_state is not None:
        db.session.add(ClaimEvent(claim_id=claim.id, kind="consent", action="consent_superseded"))
    claim.consent_nonce = None
    claim.consent_state = None
    claim.consent_decided_at = None
    claim.consent_message = None
    return request_consent(claim)


def open_link(token: str, *, for_update: bool = False) -> Claim:
    """The claim a link is for, or ``ConsentError``: invalid (forged, tampered), expired, used
    (already answered), superseded by a newer link, or closed: once a claim is closed
    (withdrawn, rejected for good, disassociated, superseded) the customer's answer changes
    nothing, so the link no longer acts."""
    max_age = current_app.config["CONSENT_MAX_AGE_DAYS"] * 24 * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ConsentError("expired") from None
    except BadSignature:
        raise ConsentError("invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not data.get("n"):
        raise ConsentError("invalid")
    query = select(Claim).where(Claim.id == data["c"])
    if for_update:
        locks.lock_claim(data["c"])  # the lock order of every claim change (portal/claims/locks.py)
        query = query.with_for_update().execution_options(populate_existing=True)
    claim = db.session.scalars(query).first()
    if claim is None:
        raise ConsentError("invalid")
    if claim.consent_nonce == data["n"] and claim.consent_state == "pending" and claim.status != ClaimStatus.CLOSED:
        return claim
    if claim.consent_state in ("confirmed", "declined"):
        raise ConsentError("used")
    if claim.status == ClaimStatus.CLOSED:
        raise ConsentError("closed")
    raise ConsentError("superseded")


def answer(token: str, confirmed: bool, message: str | None) -> Claim:
    """Record the customer's answer once. Declining closes the claim (or ends an approved
    association) with reason "declined by customer"; either way the partner is told."""
    claim = open_link(token, for_update=True)
    message = (message or "").strip()[:2000] or None
    state = "confirmed" if confirmed else "declined"
    # Spend the nonce with a guarded update: of two answers at once only one changes the row
    # (SQLite ignores the row lock that serializes them on PostgreSQL).
    spent = db.session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.consent_nonce == claim.consent_nonce, Claim.consent_state == "pending",
               Claim.status != ClaimStatus.CLOSED)
        .values(consent_state=state, consent_nonce=None)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise ConsentError("used")
    claim.consent_state = state
    claim.consent_nonce = None
    claim.consent_decided_at = utcnow()
    claim.consent_message = message
    db.session.add(ClaimEvent(claim_id=claim.id, kind="consent", action="consent_confirmed" if confirmed else "consent_declined",
                              note=message))
    if not confirmed and claim.status in lifecycle.TRANSITIONS["decline"].sources:
        lifecycle.transition(claim, "decline", None, actor=ActorKind.CUSTOMER, message=message)
    notifications.consent_given(claim, confirmed)
    db.session.flush()
    return claim


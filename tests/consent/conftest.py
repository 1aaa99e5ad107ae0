"""Claims of the demo directory submitted through the real services, and the consent link the
customer contact receives by email."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.claims import lifecycle
from portal.claims.wizard import drafts
from portal.claims.models import Claim, ClaimEvent
from portal.extensions import db
from portal.notifications.models import Notification, OutgoingEmail
from tests.claims.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    GINA,
    PAUL,
    RITA,
    Walker,
    app_overrides,
    complete_draft,
    demo,
    user_id,
    valid_steps,
)

_LINK = re.compile(r"https?://\S+/consent/(\S+)")


def person(email) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def submit(app, email=GINA, status="submitted", **answers) -> int:
    """A claim submitted through the submission service (which asks for consent), then moved by
    the reviewer to ``status``; committed."""
    with app.test_request_context():
        user = person(email)
        claim = complete_draft(user, valid_steps(**answers))
        claim = drafts.submit(user, claim.id, attested=True)
        reviewer = person(RITA)
        for action in {"submitted": [], "under_review": ["start_review"], "approved": ["start_review", "approve"],
                       "rejected": ["start_review", "reject"]}[status]:
            extra = {"reason_code": "insufficient_poe", "message": "No PoE."} if action == "reject" else {}
            lifecycle.transition(claim, action, reviewer, **extra)
        db.session.commit()
        return claim.id


def consent_emails(app, claim_id=None) -> list[OutgoingEmail]:
    """Consent requests in the queue (for one claim: those whose link names it)."""
    with app.test_request_context():
        rows = list(db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.body.contains("/consent/"))
                                       .order_by(OutgoingEmail.id)))
        for row in rows:
            db.session.expunge(row)
    if claim_id is not None:
        rows = [r for r in rows if _claim_of(app, token_in(r)) == claim_id]
    return rows


def _claim_of(app, token):
    from portal.consent.services import _serializer

    with app.app_context():
        return _serializer().loads(token)["c"]


def token_in(row: OutgoingEmail) -> str:
    match = _LINK.search(row.body)
    assert match, row.body
    return match.group(1)


def latest_token(app, claim_id) -> str:
    return token_in(consent_emails(app, claim_id)[-1])


def claim_row(app, claim_id) -> Claim:
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        db.session.expunge(claim)
        return claim


def events(app, claim_id) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(e.kind, e.action) for e in db.session.scalars(
            select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id))]


def notifications(app, claim_id) -> dict[int, list[str]]:
    """Who was told of the customer's answer on the claim."""
    with app.app_context():
        found: dict[int, list[str]] = {}
        for note in db.session.scalars(select(Notification).where(Notification.claim_id == claim_id,
                                                                  Notification.message.startswith("consent"))
                                       .order_by(Notification.id)):
            found.setdefault(note.user_id, []).append(note.message)
        return found


@pytest.fixture
def claim_id(demo) -> int:
    return submit(demo)

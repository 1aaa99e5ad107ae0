"""Claims in every status of the lifecycle, on the demo directory (portal/directory/demo.json).

Claims are made through the real services and ``lifecycle.transition`` (never by writing a
status), in an app context closed before any request is made.
"""
from __future__ import annotations

import html
import io
import re
from datetime import datetime

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.accounts.models import User
from portal.claims import lifecycle
from portal.claims.wizard import drafts
from portal.claims.base import ActorKind
from portal.claims.models import Claim, ClaimEvent, Comment
from portal.claims.wizard.flow import Wizard
from portal.extensions import db
from tests.claims.conftest import (  # noqa: F401  (the demo's people and fixtures, for this package)
    ADVENTURE,
    BEA,
    CONTOSO,
    EXECUTABLE,
    GINA,
    IAN,
    NORTHWIND,
    PAUL,
    PDF,
    RAFAEL,
    RITA,
    TAILSPIN,
    WINGTIP,
    any_demo,
    app_overrides,
    complete_draft,
    demo,
    valid_steps,
)

BILLIE = "billie@proseware.example"  # Proseware, billing_admin

#: The reviewer's way to each status from Submitted (the partner's withdraw closes a claim).
PATHS = {
    "submitted": [],
    "under_review": ["start_review"],
    "partner_action_required": ["start_review", "request_information"],
    "approved": ["start_review", "approve"],
    "rejected": ["start_review", "reject"],
    "disputed": ["start_review", "reject", "dispute"],
    "closed": ["withdraw"],
}
STATUSES = tuple(PATHS)

_ARGUMENTS = {
    "reject": {"reason_code": "insufficient_poe", "message": "The PoE doesn't show the work."},
    "request_information": {"reason_code": "missing_poe,missing_dates", "message": "Please add a signed PoE."},
    "dispute": {"message": "The PoE was signed by the customer's CIO."},
}


def person(email) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def move(claim, action, now=None):
    """One step of a path, by the actor the lifecycle table names for it."""
    kind = lifecycle.TRANSITIONS[action].actor
    user = {ActorKind.REVIEWER: person(RITA), ActorKind.PARTNER: person(GINA)}.get(kind)
    lifecycle.transition(claim, action, user, actor=kind, now=now, **_ARGUMENTS.get(action, {}))


def submitted_claim(email=GINA, now=None, **answers) -> Claim:
    """A claim submitted through the real submission service (flushed, not committed). With
    ``now``, the wizard's answers are applied and the claim is submitted at that time by the
    lifecycle's own ``submit`` transition, so deadlines count from a moment in the past."""
    user = person(email)
    if now is not None:
        answers.setdefault("today", now.date())
    claim = complete_draft(user, valid_steps(**answers))
    if now is None:
        return drafts.submit(user, claim.id, attested=True)
    wizard = Wizard(claim, user, today=now.date())
    assert wizard.run() is None
    wizard.apply_to_claim()
    lifecycle.transition(claim, "submit", user, now=now)
    return claim


def make_claim(app, status, email=GINA, now: datetime | None = None, **answers) -> int:
    """A committed claim of ``email``'s organization in ``status``; each step at ``now``."""
    with app.test_request_context():
        claim = submitted_claim(email, now=now, **answers)
        for action in PATHS[status]:
            move(claim, action, now=now)
        db.session.commit()
        assert claim.status == status
        return claim.id


def claim_row(app, claim_id) -> Claim:
    """The claim as the database has it now (detached, attributes loaded)."""
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        db.session.expunge(claim)
        return claim


def snapshot(app, claim_id) -> dict:
    """What an action may change: the claim's lifecycle columns and its rows of history."""
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        return {
            "status": claim.status,
            "due_on": claim.due_on,
            "reason_code": claim.reason_code,
            "reason_message": claim.reason_message,
            "dispute_used": claim.dispute_used,
            "description": claim.description,
            "customer_contact_email": claim.customer_contact_email,
            "mpn_pk": claim.mpn_pk,
            "events": db.session.scalar(select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id == claim_id)),
            "comments": db.session.scalar(select(func.count()).select_from(Comment).where(Comment.claim_id == claim_id)),
            "files": len(claim.files),
            "claims": db.session.scalar(select(func.count()).select_from(Claim)),
        }


def words(response) -> str:
    """The page's text without tags, entities decoded, whitespace collapsed: what a reader sees."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def upload_data(*files, **fields) -> MultiDict:
    """A multipart form: ``files`` as (name, bytes) pairs, plus plain fields."""
    data = MultiDict(list(fields.items()))
    for name, content in files:
        data.add("files", (io.BytesIO(content), name))
    return data

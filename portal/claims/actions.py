"""What partners and reviewers do to a submitted claim. Each function loads the claim under a
row lock, applies any deadline that has passed (``loader.load_for_change``), asks the lifecycle
for the transition, and records messages in the thread; the request commits once."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.permissions import Permission, require
from portal.claims import comments, lifecycle
from portal.claims.base import OPEN_STATUSES
from portal.claims.errors import ClaimChanged, ClaimError, FilesRefused
from portal.claims.files import service as files
from portal.claims.lifecycle import TransitionRaced, TransitionRefused
from portal.claims.loader import load_for_change
from portal.claims.models import Claim, ClaimEvent
from portal.extensions import db


def _move(user, claim_id, action, *, reason_code=None, message=None, comment_kind=None) -> Claim:
    """One transition. Of two requests moving the claim at once, the one that comes second
    (waiting for the lock, or losing the compare-and-set) raises ``ClaimChanged``."""
    message = (message or "").strip() or None  # blank is no message, not an empty comment
    claim = load_for_change(user, claim_id, acting_from=lifecycle.TRANSITIONS[action].sources)
    try:
        lifecycle.transition(claim, action, user, reason_code=reason_code, message=message)
    except TransitionRefused as error:
        raise ClaimError(error.message) from None
    except TransitionRaced:
        raise ClaimChanged(claim_id) from None
    if comment_kind and message:
        comments.post(user, claim, message, comment_kind)
    return claim


# Partner ----------------------------------------------------------------------------------


def withdraw(user, claim_id: int) -> Claim:
    return _move(user, claim_id, "withdraw")


def disassociate(user, claim_id: int, reason: str) -> Claim:
    return _move(user, claim_id, "disassociate", message=reason, comment_kind="reply")


def resubmit(user, claim_id: int, reply: str | None = None) -> Claim:
    claim = _move(user, claim_id, "resubmit")
    if reply and reply.strip():
        comments.post(user, claim, reply, "reply")
    return claim


def dispute(user, claim_id: int, justification: str | None, uploads=()) -> Claim:
    """Dispute a rejection once, within 30 days, with a justification and/or new PoE files:
    those sent with it, or uploaded on its form since the rejection (choosing a file uploads
    it). A file sent with it and refused refuses the dispute: nothing of it is kept."""
    if uploads:
        outcome = files.add_files(user, claim_id, uploads)
        if outcome.refused:
            raise FilesRefused(outcome.refused)
    text = (justification or "").strip()
    if not text and not files.added_since_decision(user, claim_id):
        raise ClaimError(_l("Give a justification or add new proof of execution to dispute the rejection."))
    message = text or str(_l("New proof of execution added."))
    return _move(user, claim_id, "dispute", message=message, comment_kind="dispute")


def record_edit(user, claim: Claim, fields: list[str]) -> None:
    db.session.add(ClaimEvent(claim_id=claim.id, actor_id=user.id, kind="edit", action="edit", note=", ".join(fields)))
    db.session.flush()


# Reviewer ---------------------------------------------------------------------------------


def take(reviewer, claim_id: int) -> Claim:
    """The reviewer holds the claim: partner replies and resubmissions notify them."""
    require(reviewer, Permission.REVIEW)
    claim = load_for_change(reviewer, claim_id)
    if not lifecycle.takeable(claim):
        raise ClaimError(_l("Only a claim waiting for a decision can be taken."))
    if claim.reviewer_id != reviewer.id:
        claim.reviewer_id = reviewer.id
        db.session.add(ClaimEvent(claim_id=claim.id, actor_id=reviewer.id, kind="assign", action="take"))
        db.session.flush()
    return claim


def start_review(reviewer, claim_id: int) -> Claim:
    claim = _move(reviewer, claim_id, "start_review")
    if claim.reviewer_id is None:
        claim.reviewer_id = reviewer.id
    return claim


def approve(reviewer, claim_id: int, message: str | None = None) -> Claim:
    return _move(reviewer, claim_id, "approve", message=message, comment_kind="decision")


def reject(reviewer, claim_id: int, reason_code: str, message: str) -> Claim:
    return _move(reviewer, claim_id, "reject", reason_code=reason_code, message=message, comment_kind="decision")


def request_information(reviewer, claim_id: int, reason_codes: list[str], message: str) -> Claim:
    return _move(reviewer, claim_id, "request_information", reason_code=",".join(reason_codes), message=message,
                 comment_kind="information_request")


def approve_dispute(reviewer, claim_id: int, message: str | None = None) -> Claim:
    return _move(reviewer, claim_id, "approve_dispute", message=message, comment_kind="decision")


def reject_dispute(reviewer, claim_id: int, message: str) -> Claim:
    return _move(reviewer, claim_id, "reject_dispute", message=message, comment_kind="decision")


def competing_claims(claim: Claim) -> list[Claim]:
    """This claim and the other organizations' open claims on the same tenant and product,
    oldest first. The same organization's claims for other activities don't compete with it."""
    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.tenant_id == claim.tenant_id, Claim.product_id == claim.product_id,
                   Claim.status.in_(OPEN_STATUSES),
                   (Claim.id == claim.id) | (Claim.organization_id != claim.organization_id))
            .options(joinedload(Claim.organization), joinedload(Claim.mpn), selectinload(Claim.files))
            .order_by(Claim.submitted_at, Claim.id)
        )
    )


def contenders(user, claim: Claim) -> list[Claim]:
    """The competing claims to show side by side, with any deadline that has passed applied
    first (and committed: that is what the page then shows)."""
    claims = competing_claims(claim)
    passed = [c.id for c in claims if lifecycle.deadline_passed(c)]
    if not passed:
        return claims
    for claim_id in passed:
        load_for_change(user, claim_id)
    db.session.commit()
    return competing_claims(claim)


def decide_arbitration(reviewer, claim_id: int, winner_id: int, message: str | None = None) -> Claim:
    """One decision for competing claims: the chosen one is approved, every other open claim
    on the same tenant and product is rejected with reason "competing claim"."""
    require(reviewer, Permission.REVIEW)
    message = (message or "").strip() or None
    claim = load_for_change(reviewer, claim_id)
    contenders = [c for c in competing_claims(claim)]
    ids = {c.id for c in contenders}
    if winner_id not in ids:
        raise ClaimError(_l("Choose one of the competing claims."))
    for other in contenders:
        if other.id != claim.id:
            db.session.execute(select(Claim.id).where(Claim.id == other.id).with_for_update())
    winner = None
    for contender in contenders:
        try:
            if contender.id == winner_id:
                lifecycle.transition(contender, "win_arbitration", reviewer, message=message)
                winner = contender
            else:
                lifecycle.transition(contender, "lose_arbitration", reviewer, message=message)
        except TransitionRefused as error:
            raise ClaimError(error.message) from None
        except TransitionRaced:
            raise ClaimChanged(claim_id) from None
        note = message or (_l("Arbitration decided: your claim is approved.") if contender.id == winner_id
                           else _l("Arbitration decided: another claim was chosen. Your claim is rejected (competing claim)."))
        comments.post(reviewer, contender, str(note), "decision")
    return winner

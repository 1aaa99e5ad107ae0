"""What a claim's page shows: for a partner, what happens next, by when, and what they can do;
for everyone, the history."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.permissions import Permission, has_permission
from portal.claims import lifecycle
from portal.claims.base import ClaimStatus
from portal.claims.labels import reason_label
from portal.claims.models import Claim, ClaimEvent
from portal.claims.rules import subscription_ended, subscription_problem
from portal.directory.source import directory
from portal.extensions import db
from portal.i18n import format_day
from portal.timeutil import utcnow


@dataclass
class ClaimPage:
    next_step: str
    due_on: date | None
    overdue: bool
    reasons: list[str]
    actions: set[str] = field(default_factory=set)
    history: list = field(default_factory=list)
    subscription_ended: bool = False
    renewal_possible: bool = False


def _next_step(claim: Claim, due: str) -> str:
    s = claim.status
    if s == ClaimStatus.SUBMITTED:
        return _("A reviewer starts reviewing your claim within 5 business days, by %(due)s.", due=due)
    if s == ClaimStatus.UNDER_REVIEW:
        if claim.in_arbitration:
            return _("A reviewer is checking your proof of execution. Because your claim is in arbitration, the decision may take longer than 5 business days (expected by %(due)s).", due=due)
        return _("A reviewer is checking your proof of execution and decides within 5 business days, by %(due)s.", due=due)
    if s == ClaimStatus.PARTNER_ACTION_REQUIRED:
        return _("The reviewer needs more from you. Edit the claim or reply, then resubmit it by %(due)s. Without an answer by then, the claim is rejected (no partner response).", due=due)
    if s == ClaimStatus.APPROVED:
        return _("Your organization is associated with this customer and product. The customer may decline the association.")
    if s == ClaimStatus.REJECTED:
        if claim.dispute_used:
            return _("The claim was rejected.")
        return _("The claim was rejected. You can dispute the rejection once, with a justification or new proof of execution, until %(due)s.", due=due)
    if s == ClaimStatus.DISPUTED:
        return _("A reviewer reconsiders your claim within 5 business days, by %(due)s.", due=due)
    return _("This claim is closed. Nothing more happens.")


def build(user, claim: Claim) -> ClaimPage:
    today = utcnow().date()
    due = format_day(claim.due_on) if claim.due_on else "—"
    reasons = [reason_label(code) for code in (claim.reason_code or "").split(",") if code]
    ended = subscription_ended(claim, today)
    page = ClaimPage(
        next_step=_next_step(claim, due),
        due_on=claim.due_on,
        overdue=lifecycle.is_overdue(claim.due_on, today),
        reasons=reasons,
        actions=lifecycle.partner_actions(user, claim, today),
        history=history(claim.id),
        subscription_ended=ended,
        renewal_possible=ended and has_permission(user, Permission.FILE_CLAIMS) and current_subscription(claim) is not None,
    )
    return page


def current_subscription(claim: Claim):
    """The customer's claimable subscription for the same product, other than the ended one."""
    for sub in directory().subscriptions_on_tenant(claim.tenant_id, claim.product_id):
        if sub.subscription_id != claim.subscription_id and subscription_problem(sub) is None:
            return sub
    return None


def history(claim_id: int) -> list[ClaimEvent]:
    """Every history entry of the claim, in the order it was written (append-only), with who made it."""
    return list(
        db.session.scalars(
            select(ClaimEvent)
            .where(ClaimEvent.claim_id == claim_id)
            .options(joinedload(ClaimEvent.actor))
            .order_by(ClaimEvent.id)
        )
    )

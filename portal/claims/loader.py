"""One way to load a claim for the signed-in user (flaskr's ``get_post``): what the user may not
see is missing (404, never 403, so a partner never learns another organization's claim exists),
and a deadline that has passed is applied before anything is shown or changed."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from portal.accounts.permissions import Permission, has_permission
from portal.claims import lifecycle
from portal.claims.base import ClaimStatus
from portal.claims.models import Claim
from portal.extensions import db


class ClaimNotFound(LookupError):
    """The claim does not exist or the user may not see it: both are answered as missing."""


def visible_claim(user, claim_id: int, *, for_update: bool = False) -> Claim:
    """A claim the user may see: its organization's (drafts only their author's), or any
    submitted claim for a reviewer. Anything else raises ``ClaimNotFound``."""
    query = select(Claim).where(Claim.id == claim_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    claim = db.session.scalars(query).first()
    if claim is None:
        raise ClaimNotFound(claim_id)
    if user.is_reviewer:
        if claim.status == ClaimStatus.DRAFT:
            raise ClaimNotFound(claim_id)
        return claim
    if claim.organization_id != user.organization_id or not has_permission(user, Permission.VIEW_CLAIMS):
        raise ClaimNotFound(claim_id)
    if claim.status == ClaimStatus.DRAFT and claim.created_by_id != user.id:
        raise ClaimNotFound(claim_id)
    return claim


def load_for_change(user, claim_id: int) -> Claim:
    """The claim, locked for a change, with passed deadlines applied first (the caller commits)."""
    claim = visible_claim(user, claim_id, for_update=True)
    lifecycle.apply_due(claim)
    return claim


def load(user, claim_id: int) -> Claim:
    """The claim to read. When one of its deadlines has passed, it is applied under the row lock
    and committed, so no page ever shows an expired deadline as pending; otherwise nothing is
    locked or written."""
    claim = visible_claim(user, claim_id)
    if lifecycle.deadline_passed(claim):
        claim = load_for_change(user, claim_id)
        db.session.commit()
    return claim


def claim_or_404(claim_id: int, *, for_update: bool = False) -> Claim:
    """For views: the signed-in user's claim as ``load`` (or locked, for a change), else 404."""
    try:
        if for_update:
            return visible_claim(current_user, claim_id, for_update=True)
        return load(current_user, claim_id)
    except ClaimNotFound:
        abort(404)


def deadlines_on_read(view):
    """For views that list claims: the deadlines that passed among the claims the user can see
    are applied before the view reads them (once per request), so no list shows an expired
    deadline as pending."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        lifecycle.apply_passed_deadlines(current_user)
        return view(*args, **kwargs)

    return wrapped

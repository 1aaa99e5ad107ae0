"""One way to load a claim for the signed-in user (flaskr's ``get_post``): what the user may not
see is missing (404, never 403, so a partner never learns another organization's claim exists),
and a deadline that has passed is applied before anything is shown or changed."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.permissions import Permission, has_permission
from portal.claims import lifecycle, locks
from portal.claims.base import ClaimStatus
from portal.claims.errors import ClaimChanged
from portal.claims.models import Claim, Comment
from portal.extensions import db, run_core


class ClaimNotFound(LookupError):
    """The claim does not exist or the user may not see it: both are answered as missing."""


def may_see(user, claim) -> bool:
    """A claim of the user's organization (a draft only its author's), or any submitted claim
    for a reviewer. ``claim`` is a Claim or a row with the same columns."""
    if user.is_reviewer:
        return claim.status != ClaimStatus.DRAFT
    if claim.organization_id != user.organization_id or not has_permission(user, Permission.VIEW_CLAIMS):
        return False
    return claim.status != ClaimStatus.DRAFT or claim.created_by_id == user.id


def visible_claim(user, claim_id: int, *, for_update: bool = False, options=()) -> Claim:
    """A claim the user may see (``may_see``); anything else raises ``ClaimNotFound``. With
    ``for_update``, locked until commit on both databases (``locks.lock_claim``)."""
    return _visible(user, claim_id, for_update=for_update, options=options)[0]


def _visible(user, claim_id: int, *, for_update: bool = False, options=()):
    """``visible_claim``, and the claim's status just before the lock (None unless ``for_update``)."""
    before = None
    query = select(Claim).where(Claim.id == claim_id).options(*options)
    if for_update:
        before = locks.lock_claim(claim_id)
        query = query.with_for_update().execution_options(populate_existing=True)
    claim = db.session.scalars(query).first()
    if claim is None or not may_see(user, claim):
        raise ClaimNotFound(claim_id)
    return claim, (before.status if before is not None else None)


_claims, _comments = Claim.__table__, Comment.__table__
#: ``glance``'s statement, built once, on the tables (Core: no ORM compile or row processing).
_GLANCE = select(
    _claims.c.status, _claims.c.organization_id, _claims.c.created_by_id, _claims.c.due_on,
    select(func.coalesce(func.max(_comments.c.id), 0)).where(_comments.c.claim_id == _claims.c.id)
    .scalar_subquery().label("last_comment_id"),
).where(_claims.c.id == bindparam("claim_id"))


def glance(user, claim_id: int):
    """What a poll needs to know, in one indexed query: the claim's status and deadline, who may
    see it, and its last comment's id (``last_comment_id``, 0 without one)."""
    row = run_core(_GLANCE, {"claim_id": claim_id}).first()
    if row is None or not may_see(user, row):
        raise ClaimNotFound(claim_id)
    return row


def load_for_change(user, claim_id: int, *, acting_from=None) -> Claim:
    """The claim, locked for a change, with passed deadlines applied first (the caller commits).

    ``acting_from``: the statuses the caller's action starts from. A claim that was in one of
    them when this request read it, and is no longer once the lock is held, was moved by
    another request meanwhile: ``ClaimChanged``, so the user learns that rather than a refusal
    that seems to contradict the page they acted on."""
    claim, before = _visible(user, claim_id, for_update=True)
    if acting_from is not None and before in acting_from and claim.status not in acting_from:
        raise ClaimChanged(claim.id, claim.status)
    lifecycle.apply_due(claim)
    return claim


def load(user, claim_id: int, options=()) -> Claim:
    """The claim to read (with the loader ``options`` its page needs). When one of its deadlines
    has passed, it is applied under the row lock and committed, so no page ever shows an
    expired deadline as pending; otherwise nothing is locked or written."""
    claim = visible_claim(user, claim_id, options=options)
    if lifecycle.deadline_passed(claim):
        load_for_change(user, claim_id)
        db.session.commit()
        claim = visible_claim(user, claim_id, options=options)
    return claim


#: What a claim's page shows of it, loaded with it rather than one lazy load each.
PAGE_OPTIONS = (joinedload(Claim.tenant), joinedload(Claim.product), joinedload(Claim.mpn),
                joinedload(Claim.organization), joinedload(Claim.subscription), selectinload(Claim.files))


def claim_or_404(claim_id: int, *, for_update: bool = False, for_page: bool = False) -> Claim:
    """For views: the signed-in user's claim as ``load`` (or locked, for a change; with what its
    page shows, ``for_page``), else 404."""
    try:
        if for_update:
            return visible_claim(current_user, claim_id, for_update=True)
        return load(current_user, claim_id, PAGE_OPTIONS if for_page else ())
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

"""Drafts and their submission: the wizard's services.

They take plain values and the acting user, check permissions, raise ``ClaimError`` (or
``ClaimNotFound`` for what the user may not see), and flush without committing: the request
commits once, so a failure leaves nothing half-written.
"""
from __future__ import annotations

from datetime import date

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.permissions import Permission, require
from portal.accounts.services import lock_organization
from portal.claims import lifecycle
from portal.claims.base import ActorKind, ClaimStatus
from portal.claims.files import storage
from portal.claims.errors import ClaimError, DuplicateClaim, StepInvalid
from portal.claims.loader import ClaimNotFound, visible_claim
from portal.claims.models import Claim, ClaimEvent
from portal.claims.page import current_subscription
from portal.claims.rules import existing_open_claim, renewed_claim, subscription_ended
from portal.claims.wizard.flow import Wizard
from portal.consent.services import request_consent
from portal.extensions import db


def draft_for(user, claim_id: int, *, for_update: bool = False) -> Claim:
    """The user's own draft, for editing."""
    require(user, Permission.FILE_CLAIMS)
    claim = visible_claim(user, claim_id, for_update=for_update)
    if claim.status != ClaimStatus.DRAFT:
        raise ClaimError(_l("This claim has been submitted and can no longer be edited in the wizard."))
    return claim


def create_draft(user) -> Claim:
    require(user, Permission.FILE_CLAIMS)
    claim = Claim(organization_id=user.organization_id, created_by_id=user.id, status=ClaimStatus.DRAFT, draft={})
    db.session.add(claim)
    db.session.flush()
    return claim


def delete_draft(user, claim_id: int) -> None:
    """Delete a draft and its files (the stored files go once this commits)."""
    claim = draft_for(user, claim_id, for_update=True)
    for row in claim.files:
        storage.delete_on_commit(db.session, row.storage_key)
    db.session.execute(ClaimEvent.__table__.delete().where(ClaimEvent.claim_id == claim.id))
    db.session.delete(claim)
    db.session.flush()


def drafts_of(user) -> list[Claim]:
    """The user's drafts for their organization as it is now: a user the directory import moved
    to another organization no longer sees the drafts begun for the old one (``may_see`` refuses
    them too), and its admins never see them either."""
    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.created_by_id == user.id, Claim.organization_id == user.organization_id,
                   Claim.status == ClaimStatus.DRAFT)
            .options(joinedload(Claim.tenant), joinedload(Claim.product))
            .order_by(Claim.updated_at.desc(), Claim.id.desc())
        )
    )


# Submission ---------------------------------------------------------------------------


def submit(user, claim_id: int, *, attested: bool, today: date | None = None) -> Claim:
    """Submit a draft in one transaction. Idempotent: a claim already submitted is returned
    as it is, so a double click, a retry or a second tab produce one submitted claim.

    Every step is revalidated against the directory as it is now; the first one that fails
    raises ``StepInvalid`` naming it. A second open claim by the organization for the same
    tenant, product and activity raises ``DuplicateClaim``, whichever request got there first.
    """
    require(user, Permission.SUBMIT_CLAIMS)
    lock_organization(user.organization_id)
    claim = visible_claim(user, claim_id, for_update=True)
    if claim.status != ClaimStatus.DRAFT:
        if claim.created_by_id == user.id or claim.organization_id == user.organization_id:
            return claim
        raise ClaimNotFound(claim_id)
    wizard = Wizard(claim, user, today=today)
    failing = wizard.run()
    if failing == "activity" and wizard.answers.product is not None:
        # The activity step refuses a second open claim: say so as the duplicate it is.
        activity = wizard.results["activity"].form.activity.data
        existing = existing_open_claim(claim.organization_id, wizard.answers.tenant.tenant_id, wizard.answers.product.id, activity, claim.id)
        if existing is not None:
            raise _duplicate(existing)
    if failing is not None:
        raise StepInvalid(_l("Some answers need attention before the claim can be submitted."), step=failing)
    if not attested:
        raise StepInvalid(_l("Confirm the attestation to submit the claim."), step="review")
    wizard.apply_to_claim()
    existing = existing_open_claim(claim.organization_id, claim.tenant_id, claim.product_id, claim.activity, claim.id)
    if existing is not None:
        raise _duplicate(existing)
    ended = renewed_claim(claim.organization_id, claim.tenant_id, claim.product_id, claim.activity, claim.id)
    if ended is not None:
        # The new claim takes over from the approved one whose subscription ended.
        lifecycle.transition(ended, "supersede", None, actor=ActorKind.SYSTEM)
    try:
        with db.session.begin_nested():
            lifecycle.transition(claim, "submit", user)
    except lifecycle.TransitionRaced:
        # The twin request (a double click, another tab) submitted it: return its claim.
        db.session.refresh(claim)
        return claim
    except IntegrityError:
        # The partial unique index caught a race the lock could not (another database, say).
        existing = existing_open_claim(claim.organization_id, claim.tenant_id, claim.product_id, claim.activity, claim.id)
        if existing is not None:
            raise _duplicate(existing) from None
        raise DuplicateClaim(
            _l("Your organization already has an open claim for this customer, product and activity."),
            existing_id=0, step="activity",
        ) from None
    request_consent(claim)
    return claim


def _duplicate(existing: Claim) -> DuplicateClaim:
    return DuplicateClaim(
        _l("Your organization already has an open claim for this customer, product and activity."),
        existing_id=existing.id, step="activity", link_url=url_for("claims.show", claim_id=existing.id),
    )


def renewal_draft(user, claim_id: int) -> Claim:
    """A new draft for the customer's current subscription, prefilled from an approved claim
    whose subscription has ended. The wizard checks everything again before submission."""
    require(user, Permission.FILE_CLAIMS)
    claim = visible_claim(user, claim_id)
    if not subscription_ended(claim):
        raise ClaimError(_l("This claim's subscription hasn't ended."))
    current = current_subscription(claim)
    if current is None:
        raise ClaimError(_l("The customer has no current subscription for this product yet. Check with your customer."))
    tenant = claim.tenant
    draft = create_draft(user)
    draft.draft = {
        "customer": {"tenant_id": [claim.tenant_id], "domain": [claim.domain or (tenant.domains[0].domain if tenant.domains else "")]},
        "product": {"solution_area": [claim.solution_area], "product": [""], "subscription_id": [current.subscription_id]},
        "activity": {"activity": [claim.activity], "solution_seller": [claim.solution_seller or ""], "isv_product": [claim.isv_product or ""]},
        "mpn": {"mpn": [claim.mpn.mpn_id if claim.mpn else ""]},
        "contacts": {
            "customer_name": [claim.customer_contact_name or ""], "customer_title": [claim.customer_contact_title or ""],
            "customer_email": [claim.customer_contact_email or ""], "partner_name": [user.name], "partner_email": [user.email],
        },
    }
    db.session.flush()
    return draft

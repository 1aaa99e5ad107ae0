"""Claim services: drafts, proof-of-execution files and the submission.

They take plain values and the acting user, check permissions, raise ``ClaimError`` (or
``LookupError`` for what the user may not see), and flush without committing: the request
commits once, so a failure leaves nothing half-written.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.services import lock_organization
from portal.accounts.permissions import Permission, has_permission, require
from portal.claims import filetypes, storage
from portal.claims.errors import ClaimError, DuplicateClaim, StepInvalid
from portal.claims import lifecycle
from portal.claims.lifecycle import ClaimStatus
from portal.claims.models import Claim, ClaimEvent, ClaimFile
from portal.claims.rules import existing_open_claim, renewed_claim
from portal.claims.wizard import STEPS, Wizard
from portal.extensions import db
from portal.timeutil import utcnow


def visible_claim(user, claim_id: int, *, for_update: bool = False) -> Claim:
    """A claim the user may see: its organization's (drafts only their author's), or any
    submitted claim for a reviewer. Anything else is reported as missing."""
    query = select(Claim).where(Claim.id == claim_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    claim = db.session.scalars(query).first()
    if claim is None:
        raise LookupError(claim_id)
    if user.is_reviewer:
        if claim.status == ClaimStatus.DRAFT:
            raise LookupError(claim_id)
        return claim
    if claim.organization_id != user.organization_id or not has_permission(user, Permission.VIEW_CLAIMS):
        raise LookupError(claim_id)
    if claim.status == ClaimStatus.DRAFT and claim.created_by_id != user.id:
        raise LookupError(claim_id)
    return claim


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


def delete_draft(user, claim_id: int) -> list[str]:
    """Delete a draft and its files. Returns the storage keys to remove once committed."""
    claim = draft_for(user, claim_id, for_update=True)
    keys = [f.storage_key for f in claim.files]
    db.session.execute(ClaimEvent.__table__.delete().where(ClaimEvent.claim_id == claim.id))
    db.session.delete(claim)
    db.session.flush()
    return keys


def drafts_of(user) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.created_by_id == user.id, Claim.status == ClaimStatus.DRAFT)
            .options(selectinload(Claim.tenant), selectinload(Claim.product))
            .order_by(Claim.updated_at.desc(), Claim.id.desc())
        )
    )


def recent_claims(user, limit: int = 50) -> list[Claim]:
    """The organization's submitted claims, newest first (the full list arrives later)."""
    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.organization_id == user.organization_id, Claim.status != ClaimStatus.DRAFT)
            .options(selectinload(Claim.tenant), selectinload(Claim.product))
            .order_by(Claim.id.desc())
            .limit(limit)
        )
    )


# Proof of execution files -----------------------------------------------------------


@dataclass
class UploadOutcome:
    added: list[ClaimFile]
    refused: list[tuple[str, str]]  # (display name, reason)
    stored_keys: list[str]


def claim_for_files(user, claim_id: int) -> Claim:
    """A claim whose proof of execution the user may change now: their draft; a claim whose
    reviewer asked for more (edit permission); a rejection being disputed (dispute permission)."""
    claim = visible_claim(user, claim_id, for_update=True)
    if claim.status == ClaimStatus.DRAFT:
        return draft_for(user, claim_id, for_update=True)
    if user.is_reviewer:
        raise LookupError(claim_id)
    lifecycle.apply_due(claim)
    if claim.status == ClaimStatus.PARTNER_ACTION_REQUIRED:
        require(user, Permission.EDIT_CLAIMS)
        return claim
    if claim.status == ClaimStatus.REJECTED and not claim.dispute_used:
        require(user, Permission.DISPUTE_CLAIMS)
        return claim
    raise ClaimError(_l("Files can't be changed while the claim is %(status)s.", status=lifecycle.status_label(claim.status)))


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"


def add_files(user, claim_id: int, uploads) -> UploadOutcome:
    """Store each uploaded file whose content is an accepted type, within the size and count
    limits; refuse the others one by one with the reason."""
    claim = claim_for_files(user, claim_id)
    max_bytes = current_app.config["UPLOAD_MAX_BYTES"]
    max_files = current_app.config["UPLOAD_MAX_FILES"]
    outcome = UploadOutcome([], [], [])
    count = len(claim.files)
    for upload in uploads:
        if not upload or not upload.filename:
            continue
        name = storage.display_name(upload.filename)
        if count >= max_files:
            outcome.refused.append((name, str(_l("A claim can have at most %(n)s files. Remove one to add another.", n=max_files))))
            continue
        kind = filetypes.detect(upload.stream)
        upload.stream.seek(0)
        if kind is None:
            empty = not upload.stream.read(1)
            upload.stream.seek(0)
            reason = (
                _l("The file is empty.")
                if empty
                else _l("This file isn't a PDF, DOCX, XLSX, PNG, JPEG, MSG or EML file (checked by its content, not its name).")
            )
            outcome.refused.append((name, str(reason)))
            continue
        try:
            stored = storage.save(upload.stream, max_bytes)
        except storage.FileTooLarge:
            outcome.refused.append((name, str(_l("The file is larger than %(size)s.", size=human_size(max_bytes)))))
            continue
        outcome.stored_keys.append(stored.key)
        row = ClaimFile(
            claim=claim,
            storage_key=stored.key,
            filename=name,
            kind=kind.value,
            content_type=filetypes.CONTENT_TYPES[kind],
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by_id=user.id,
        )
        db.session.add(row)
        outcome.added.append(row)
        count += 1
    claim.updated_at = utcnow()
    if claim.status != ClaimStatus.DRAFT and outcome.added:
        db.session.add(ClaimEvent(claim_id=claim.id, actor_id=user.id, kind="upload", action="upload",
                                  note=", ".join(f.filename for f in outcome.added)))
    db.session.flush()
    return outcome


def remove_file(user, claim_id: int, file_id: int) -> str:
    claim = claim_for_files(user, claim_id)
    row = next((f for f in claim.files if f.id == file_id), None)
    if row is None:
        raise LookupError(file_id)
    key = row.storage_key
    claim.files.remove(row)
    if claim.status != ClaimStatus.DRAFT:
        db.session.add(ClaimEvent(claim_id=claim.id, actor_id=user.id, kind="upload", action="remove_file", note=row.filename))
    db.session.flush()
    return key


def file_for_download(user, claim_id: int, file_id: int) -> ClaimFile:
    claim = visible_claim(user, claim_id)
    row = next((f for f in claim.files if f.id == file_id), None)
    if row is None:
        raise LookupError(file_id)
    return row


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
        raise LookupError(claim_id)
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
        lifecycle.transition(ended, "supersede", None, actor=lifecycle.ActorKind.SYSTEM)
    try:
        with db.session.begin_nested():
            # Compare-and-set: only the request that finds the claim still a draft moves it on,
            # even where rows cannot be locked (SQLite ignores FOR UPDATE). The others return
            # the claim their twin submitted.
            moved = db.session.execute(
                update(Claim)
                .where(Claim.id == claim.id, Claim.status == ClaimStatus.DRAFT)
                .values(status=ClaimStatus.SUBMITTED)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved != 1:
                db.session.refresh(claim)
                return claim
            lifecycle.transition(claim, "submit", user)
    except IntegrityError:
        # The partial unique index caught a race the lock could not (another database, say).
        existing = existing_open_claim(claim.organization_id, claim.tenant_id, claim.product_id, claim.activity, claim.id)
        if existing is not None:
            raise _duplicate(existing) from None
        raise DuplicateClaim(
            _l("Your organization already has an open claim for this customer, product and activity."),
            existing_id=0, step="activity",
        ) from None
    from portal.consent.services import request_consent

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
    from portal.claims import claim_page
    from portal.claims.rules import subscription_ended

    require(user, Permission.FILE_CLAIMS)
    claim = visible_claim(user, claim_id)
    if not subscription_ended(claim):
        raise ClaimError(_l("This claim's subscription hasn't ended."))
    current = claim_page.current_subscription(claim)
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


__all__ = [
    "STEPS", "ClaimError", "DuplicateClaim", "StepInvalid", "add_files", "create_draft", "delete_draft",
    "drafts_of", "draft_for", "file_for_download", "recent_claims", "remove_file", "submit", "visible_claim",
]

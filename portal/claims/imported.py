"""Associations in the directory file (SPEC section 3): claims that already exist outside the
portal, approved or under review. Their records, their checks against the rest of the file and
the database, and their import as claims, which enter the lifecycle through
``lifecycle.enter_imported``.

From its import on, a claim's lifecycle belongs to the portal: an association is never imported
twice nor overwritten; a difference from the file is only reported."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import Field, ValidationInfo, field_validator
from sqlalchemy import select, tuple_

from portal.accounts.imported import Accounts, MpnId
from portal.accounts.models import Mpn, Organization
from portal.claims import lifecycle
from portal.claims.base import Activity, ClaimStatus
from portal.claims.models import Claim
from portal.directory.imported import Catalog
from portal.directory.models import Product, SolutionArea, Tenant
from portal.directory.schema import (
    MISSING,
    ImportReport,
    Guid,
    OptionalDay,
    OptionalGuid,
    Problems,
    Record,
    Text,
    chunks,
    fetch,
    one_of,
    refuse,
    show,
    unknown,
)
from portal.extensions import db

#: What identifies an association: one organization's claim on a customer and product, for an activity.
_KEY = ("partner_id", "tenant_id", "product_id", "activity")


class AssociationRecord(Record):
    partner_id: Text(64)
    mpn_id: MpnId
    tenant_id: Guid
    product_id: Text(64)
    subscription_id: OptionalGuid = None
    activity: one_of(Activity)
    status: one_of(lifecycle.IMPORTABLE_STATUSES)
    approved_on: OptionalDay = Field(default=None, validate_default=True)

    @classmethod
    def label_for(cls, prefix: str, raw: Any) -> str:
        if isinstance(raw, dict):
            ident = [str(raw[key]) for key in _KEY if raw.get(key)]
            if ident:
                return f"{prefix} (" + ", ".join(ident) + ")"
        return prefix

    @field_validator("approved_on", mode="wrap")
    @classmethod
    def _approved_on_for_approved_only(cls, value, handler, info: ValidationInfo):
        status = info.data.get("status")
        if status == ClaimStatus.APPROVED:
            if value is None:
                refuse("is required")
            return handler(value)
        if status is not None and value is not None:
            refuse("is only for approved associations")
        return None


def check(associations, problems: Problems, catalog: Catalog, accounts: Accounts) -> None:
    """References to partners, MPN IDs, tenants, products and subscriptions (in the file or the
    database), and one association per partner, tenant, product and activity."""
    seen: dict[tuple, AssociationRecord] = {}
    for record in associations:
        label = record.label
        partner_known = record.partner_id in accounts.partners
        if record.partner_id is not MISSING and not partner_known:
            problems.add(label, "partner_id", unknown("partner", show(record.partner_id)))
        if record.mpn_id is not MISSING and partner_known:
            if record.mpn_id not in accounts.mpn_owner:
                problems.add(label, "mpn_id", f"unknown MPN ID {record.mpn_id}")
            elif accounts.mpn_owner[record.mpn_id] != record.partner_id:
                partner = show(record.partner_id)
                problems.add(label, "mpn_id", f"MPN ID {record.mpn_id} does not belong to partner {partner}")
        tenant_known = catalog.has_tenant(record.tenant_id)
        if record.tenant_id is not MISSING and not tenant_known:
            problems.add(label, "tenant_id", unknown("tenant", record.tenant_id))
        product = catalog.product(record.product_id)
        if record.product_id is not MISSING and product is None:
            problems.add(label, "product_id", unknown("product", show(record.product_id)))
        elif (
            product is not None
            and product.solution_area == SolutionArea.MICROSOFT_365
            and record.activity not in (MISSING, Activity.USAGE)
        ):
            problems.add(
                label, "activity",
                f"Microsoft 365 workloads are associated for usage only (got {show(record.activity)})",
            )
        if record.subscription_id not in (None, MISSING):
            sid = record.subscription_id
            subscription = catalog.subscription(sid)
            if subscription is None:
                problems.add(label, "subscription_id", unknown("subscription", sid))
            else:
                # A subscription of the file whose own tenant or product failed is already reported.
                if tenant_known and subscription.tenant_id not in (MISSING, record.tenant_id):
                    problems.add(
                        label, "subscription_id",
                        f"subscription {sid} is on tenant {subscription.tenant_id}, not on tenant {record.tenant_id}",
                    )
                if product is not None and subscription.product_id not in (MISSING, record.product_id):
                    problems.add(
                        label, "subscription_id",
                        f"subscription {sid} is for product {show(subscription.product_id)}, "
                        f"not {show(record.product_id)}",
                    )
        key = tuple(getattr(record, name) for name in _KEY)
        if MISSING in key:
            continue
        if key in seen:
            problems.add(label, None, f"duplicate of {seen[key].label} (same partner, tenant, product and activity)")
        else:
            seen[key] = record


def _claims_by_key(associations, organizations) -> dict[tuple, Claim]:
    """The latest claim past draft of each (organization, tenant, product, activity) the file names."""
    keys = {(organizations[a.partner_id].id, a.tenant_id, a.product_id, a.activity) for a in associations}
    columns = tuple_(Claim.organization_id, Claim.tenant_id, Claim.product_id, Claim.activity)
    found = {}
    for chunk in chunks(sorted(keys)):
        query = select(Claim).where(columns.in_(chunk), Claim.status != ClaimStatus.DRAFT.value).order_by(Claim.id)
        for claim in db.session.scalars(query):
            found[(claim.organization_id, claim.tenant_id, claim.product_id, claim.activity)] = claim
    return found


def submitted_at(approved_on: date | None, now: datetime) -> datetime:
    """When an imported claim counts as submitted: an approved one, by the start of its
    approval's day (it was submitted outside the portal before it was approved, and no later
    than the import), so no page shows a submission after the approval; one under review, at
    the import, from which its deadline counts."""
    if approved_on is None:
        return now
    return min(now, datetime.combine(approved_on, time.min))


def apply(associations, report: ImportReport, now: datetime) -> None:
    """Each association not yet a claim becomes one, entering the lifecycle at its status now:
    its deadline counts from the import, and a competing claim puts both in arbitration. An
    approved one was created, submitted and approved by its approval's day (``submitted_at``)."""
    if not associations:
        return
    organizations = {o.slug: o for o in fetch(Organization, Organization.slug, {a.partner_id for a in associations})}
    mpns = {m.mpn_id: m for m in fetch(Mpn, Mpn.mpn_id, {a.mpn_id for a in associations})}
    tenant_names = {t.tenant_id: t.name for t in fetch(Tenant, Tenant.tenant_id, {a.tenant_id for a in associations})}
    products = {p.id: p for p in fetch(Product, Product.id, {a.product_id for a in associations})}
    claims = _claims_by_key(associations, organizations)
    for record in associations:
        organization = organizations[record.partner_id]
        mpn = mpns[record.mpn_id]
        existing = claims.get((organization.id, record.tenant_id, record.product_id, record.activity))
        if existing is not None:
            same = (
                existing.status == record.status
                and existing.mpn_pk == mpn.id
                and existing.subscription_id == record.subscription_id
                and existing.approved_on == record.approved_on
            )
            if not same:
                report.notes.append(
                    f"{record.label}: claim {existing.number} already exists "
                    f"(status {existing.status}) and differs from the file; left as it is"
                )
            continue
        since = submitted_at(record.approved_on, now)
        claim = Claim(
            organization_id=organization.id,
            created_by_id=None,
            solution_area=products[record.product_id].solution_area,
            tenant_id=record.tenant_id,
            customer_name=tenant_names.get(record.tenant_id),
            product_id=record.product_id,
            subscription_id=record.subscription_id,
            activity=record.activity,
            mpn_pk=mpn.id,
            created_at=since,
            submitted_at=since,
            approved_on=record.approved_on,
        )
        db.session.add(claim)
        lifecycle.enter_imported(claim, record.status, now, since=since)
        report.count("associations", created=True)

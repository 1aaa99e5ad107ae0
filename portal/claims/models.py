"""Claims and their append-only history."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Mpn, Organization, User
from portal.claims.base import OPEN_STATUSES, SETTLED_STATUSES, claim_number
from portal.directory.models import Product, Subscription, Tenant
from portal.extensions import db
from portal.timeutil import utcnow


OPEN_STATUS_SQL = "status IN ({})".format(", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES)))


class Claim(db.Model):
    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_org_status", "organization_id", "status"),
        Index("ix_claims_tenant_product", "tenant_id", "product_id"),
        Index("ix_claims_creator_status", "created_by_id", "status"),
        # The reviewer queue (portal/review/services.py): each filter, then its keyset order.
        Index("ix_claims_status_due_on", "status", "due_on", "id"),
        Index("ix_claims_area_status_due_on", "solution_area", "status", "due_on", "id"),
        Index("ix_claims_arbitration_status_due_on", "in_arbitration", "status", "due_on", "id"),
        Index("ix_claims_reviewer_status_due_on", "reviewer_id", "status", "due_on", "id"),
        # The claims list (portal/claims/listing/claims.py): its scope, then each sort's keyset order.
        Index("ix_claims_org_submitted", "organization_id", "submitted_at", "id"),
        Index("ix_claims_submitted", "submitted_at", "id"),
        Index("ix_claims_org_due_on", "organization_id", "due_on", "id"),
        Index("ix_claims_org_customer", "organization_id", "customer_name", "id"),
        Index("ix_claims_customer", "customer_name", "id"),
        Index("ix_claims_due_on_id", "due_on", "id"),
        Index("ix_claims_org_area", "organization_id", "solution_area"),
        Index("ix_claims_org_activity", "organization_id", "activity"),
        Index("ix_claims_org_arbitration", "organization_id", "in_arbitration"),
        # The database itself refuses a second open claim by one organization for the same
        # tenant, product and activity, whatever races the application loses.
        Index(
            "uq_claims_open_per_org",
            "organization_id",
            "tenant_id",
            "product_id",
            "activity",
            unique=True,
            sqlite_where=text(OPEN_STATUS_SQL),
            postgresql_where=text(OPEN_STATUS_SQL),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))  # ix_claims_status_due_on
    solution_area: Mapped[str | None] = mapped_column(String(32))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.tenant_id"))
    domain: Mapped[str | None] = mapped_column(String(253))
    # The customer's name as the claim was filed, so that lists sort by it from an index.
    customer_name: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.subscription_id"), index=True
    )
    activity: Mapped[str | None] = mapped_column(String(32))
    mpn_pk: Mapped[int | None] = mapped_column(ForeignKey("mpns.id"), index=True)
    in_arbitration: Mapped[bool] = mapped_column(default=False)
    # The wizard's raw input per step, as typed: forms are rebuilt from it and revalidated.
    draft: Mapped[dict] = mapped_column(JSON, default=dict)
    customer_contact_name: Mapped[str | None] = mapped_column(String(200))
    customer_contact_title: Mapped[str | None] = mapped_column(String(200))
    customer_contact_email: Mapped[str | None] = mapped_column(String(254))
    partner_contact_name: Mapped[str | None] = mapped_column(String(200))
    partner_contact_email: Mapped[str | None] = mapped_column(String(254))
    solution_seller: Mapped[str | None] = mapped_column(String(200))
    isv_product: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    acknowledged_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    approved_on: Mapped[date | None]
    # Lifecycle (portal.claims.lifecycle sets these, and only it).
    status_changed_at: Mapped[datetime | None]
    due_on: Mapped[date | None] = mapped_column(index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # ix_claims_reviewer_status_due_on
    reason_code: Mapped[str | None] = mapped_column(String(200))
    reason_message: Mapped[str | None] = mapped_column(Text)
    dispute_used: Mapped[bool] = mapped_column(default=False)
    # Customer consent (portal.consent): pending, confirmed or declined; None when not asked.
    consent_state: Mapped[str | None] = mapped_column(String(16))
    consent_nonce: Mapped[str | None] = mapped_column(String(64))
    consent_requested_at: Mapped[datetime | None]
    consent_decided_at: Mapped[datetime | None]
    consent_message: Mapped[str | None] = mapped_column(Text)

    organization: Mapped[Organization] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    tenant: Mapped[Tenant | None] = relationship()
    product: Mapped[Product | None] = relationship()
    subscription: Mapped[Subscription | None] = relationship()
    mpn: Mapped[Mpn | None] = relationship()

    files: Mapped[list[ClaimFile]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimFile.id"
    )

    @property
    def number(self) -> str:
        return claim_number(self.id)

    @property
    def shown_due_on(self) -> date | None:
        """The date the page and lists show as due: none once the claim is approved or over."""
        return None if self.status in SETTLED_STATUSES else self.due_on

    @property
    def subscription_shown(self) -> bool:
        """The subscription a product claim resolved to is shown once approved; one the
        partner typed is theirs to see all along."""
        typed = (self.draft or {}).get("product", {}).get("subscription_id", [""])
        return bool(self.subscription_id) and (self.status == "approved" or any(v.strip() for v in typed))


class ClaimFile(db.Model):
    """A proof-of-execution file. Stored under a random key; the name is for display only."""

    __tablename__ = "claim_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claim: Mapped[Claim] = relationship(back_populates="files")


class ClaimEvent(db.Model):
    """History: every state change, edit, upload and comment. Rows are never updated."""

    __tablename__ = "claim_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(32))
    reason_code: Mapped[str | None] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[User | None] = relationship()


class Comment(db.Model):
    """The thread between the organization and the reviewers on one claim. Plain text."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_claim_id_id", "claim_id", "id"),
        # A comment form sent twice (a retry after an error, a resubmitted page) adds one comment.
        Index("uq_comments_claim_id_nonce", "claim_id", "nonce", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: comment, information_request, reply, dispute, decision
    kind: Mapped[str] = mapped_column(String(32), default="comment")
    body: Mapped[str] = mapped_column(Text)
    #: The comment form's one-time key (``comments.new_nonce``); None for comments made otherwise.
    nonce: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[User | None] = relationship()

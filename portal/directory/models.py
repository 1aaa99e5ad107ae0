"""The portal's copy of the commerce directory: products, tenants, subscriptions."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import DDL, ForeignKey, Index, String, event, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class SolutionArea(StrEnum):
    BUSINESS_APPLICATIONS = "business_applications"
    MICROSOFT_365 = "microsoft_365"


class Channel(StrEnum):
    VOLUME_LICENSING = "volume_licensing"
    WEB_DIRECT = "web_direct"
    CSP = "csp"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    IN_GRACE = "in_grace"
    PENDING_PROVISIONING = "pending_provisioning"
    EXPIRED = "expired"
    SUSPENDED = "suspended"


class Product(db.Model):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    solution_area: Mapped[str] = mapped_column(String(32), index=True)


class Tenant(db.Model):
    __tablename__ = "tenants"
    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", order_by="TenantDomain.domain"
    )


def trigram_index(name: str, column) -> Index:
    """A PostgreSQL GIN trigram index on ``lower(column)``: it serves the claims list's
    case-insensitive substring search (``lower(column) LIKE '%term%'``) without reading the
    table. PostgreSQL only (pg_trgm): SQLite, the development database, scans its few rows,
    with the same results, and autogenerate cannot compare expression indexes there."""
    return Index(name, func.lower(column).label("lowered"), postgresql_using="gin",
                 postgresql_ops={"lowered": "gin_trgm_ops"}).ddl_if(dialect="postgresql")


# The migration creates the extension (0007); this does for ``db.create_all()`` (tests).
event.listen(db.metadata, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
trigram_index("ix_tenants_name_trgm", Tenant.name)


class TenantDomain(db.Model):
    __tablename__ = "tenant_domains"
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.tenant_id"), index=True)
    tenant: Mapped[Tenant] = relationship(back_populates="domains")


trigram_index("ix_tenant_domains_domain_trgm", TenantDomain.domain)


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    subscription_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.tenant_id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date]
    end_date: Mapped[date]
    product: Mapped[Product] = relationship()

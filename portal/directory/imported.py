"""The directory's own records in the directory file: products, tenants, subscriptions; their
checks against each other and the database, and their idempotent upsert."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.directory.models import Channel, Product, SolutionArea, Subscription, SubscriptionStatus, Tenant, TenantDomain
from portal.directory.schema import (
    MISSING,
    Day,
    Domains,
    Guid,
    ImportReport,
    Problems,
    Record,
    Text,
    assign,
    chunks,
    fetch,
    one_of,
    refuse,
    show,
    unknown,
)
from portal.extensions import db


class ProductRecord(Record):
    label_key = "id"
    id: Text(64)
    name: Text(200)
    solution_area: one_of(SolutionArea)


class TenantRecord(Record):
    label_key = "tenant_id"
    tenant_id: Guid
    name: Text(200)
    domains: Domains


class SubscriptionRecord(Record):
    label_key = "subscription_id"
    subscription_id: Guid
    tenant_id: Guid
    product_id: Text(64)
    channel: one_of(Channel)
    status: one_of(SubscriptionStatus)
    start_date: Day
    end_date: Day

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, end, info: ValidationInfo):
        start = info.data.get("start_date")
        if start is not None and end < start:
            refuse(f"must not be before start_date {start.isoformat()} (got {end.isoformat()})")
        return end


@dataclass
class Catalog:
    """What the file defines and the database already holds of products, tenants and
    subscriptions: what the rest of the file may refer to. Values are records or rows alike
    (both have ``solution_area``, ``tenant_id``, ``product_id``)."""

    products: dict[str, Any] = field(default_factory=dict)
    tenants: set[str] = field(default_factory=set)
    subscriptions: dict[str, Any] = field(default_factory=dict)

    def product(self, product_id):
        return self.products.get(product_id)

    def has_tenant(self, tenant_id) -> bool:
        return tenant_id in self.tenants

    def subscription(self, subscription_id):
        return self.subscriptions.get(subscription_id)


def unique(records, key: str, problems: Problems) -> dict:
    """The records by ``key``; a second record with the same value is a problem."""
    seen: dict = {}
    for record in records:
        value = getattr(record, key)
        if value is MISSING:
            continue
        if value in seen:
            problems.add(record.label, key, f"duplicate of {seen[value].label}")
        else:
            seen[value] = record
    return seen


def check(products, tenants, subscriptions, problems: Problems, *,
          product_refs=(), tenant_refs=(), subscription_refs=()) -> Catalog:
    """The checks between these records and against the database. ``*_refs`` are what the
    rest of the file refers to, read from the database in the same queries."""
    by_product = unique(products, "id", problems)
    by_tenant = unique(tenants, "tenant_id", problems)
    by_subscription = unique(subscriptions, "subscription_id", problems)

    # What the file refers to but does not define must already be in the database.
    db_products = {p.id: p for p in fetch(
        Product, Product.id, {s.product_id for s in subscriptions} | set(product_refs)
    )}
    db_tenants = {t.tenant_id for t in fetch(
        Tenant, Tenant.tenant_id,
        {s.tenant_id for s in subscriptions} | set(tenant_refs) | {s.subscription_id for s in subscriptions},
    )}
    db_subscriptions = {s.subscription_id: s for s in fetch(
        Subscription, Subscription.subscription_id, set(subscription_refs) | {t.tenant_id for t in tenants}
    )}

    _check_domains(tenants, by_tenant, problems)

    known_tenants = set(by_tenant) | db_tenants
    known_products = set(by_product) | set(db_products)
    for record in subscriptions:
        if record.tenant_id is not MISSING and record.tenant_id not in known_tenants:
            problems.add(record.label, "tenant_id", unknown("tenant", record.tenant_id))
        if record.product_id is not MISSING and record.product_id not in known_products:
            problems.add(record.label, "product_id", unknown("product", show(record.product_id)))
        if record.subscription_id in known_tenants:
            problems.add(record.label, "subscription_id", "is a tenant ID, not a subscription ID")
    for record in tenants:
        if record.tenant_id in by_subscription or record.tenant_id in db_subscriptions:
            problems.add(record.label, "tenant_id", "is a subscription ID, not a tenant ID")

    return Catalog(
        products={**db_products, **by_product},
        tenants=known_tenants,
        subscriptions={**db_subscriptions, **by_subscription},
    )


def _check_domains(tenants, by_tenant: dict, problems: Problems) -> None:
    owner: dict[str, TenantRecord] = {}
    for record in tenants:
        for domain in record.domains if record.domains is not MISSING else ():
            if domain in owner:
                problems.add(record.label, "domains", f"{domain} already belongs to {owner[domain].label}")
            else:
                owner[domain] = record
    # Tenants in the file get exactly the file's domains, so only a tenant the file leaves
    # alone can still hold one of them after the import.
    for row in fetch(TenantDomain, TenantDomain.domain, owner):
        if row.tenant_id not in by_tenant and row.tenant_id != owner[row.domain].tenant_id:
            problems.add(
                owner[row.domain].label, "domains",
                f"{row.domain} already belongs to tenant {row.tenant_id} in the database",
            )


def apply(products, tenants, subscriptions, report: ImportReport) -> None:
    """Upserts checked records in the current session. Rows of one kind are flushed before
    the rows that refer to them (the foreign keys have no relationship() the unit of work
    could order by)."""
    _products(products, report)
    db.session.flush()
    _tenants(tenants, report)
    db.session.flush()
    _subscriptions(subscriptions, report)
    db.session.flush()


def _products(records, report: ImportReport) -> None:
    existing = {p.id: p for p in fetch(Product, Product.id, {p.id for p in records})}
    for record in records:
        row = existing.get(record.id)
        if row is None:
            db.session.add(Product(id=record.id, name=record.name, solution_area=record.solution_area))
            report.count("products", created=True)
        else:
            report.count("products", False, assign(row, name=record.name, solution_area=record.solution_area))


def _tenants(records, report: ImportReport) -> None:
    existing = {}
    for chunk in chunks(sorted({t.tenant_id for t in records})):
        query = select(Tenant).where(Tenant.tenant_id.in_(chunk)).options(selectinload(Tenant.domains))
        existing.update((t.tenant_id, t) for t in db.session.scalars(query))
    changed: set[str] = set()
    # Domains leave their old tenants first and are flushed away, so that a domain moving
    # from one tenant of the file to another never meets itself on the primary key.
    for record in records:
        row = existing.get(record.tenant_id)
        if row is None:
            continue
        if assign(row, name=record.name):
            changed.add(record.tenant_id)
        for domain_row in list(row.domains):
            if domain_row.domain not in record.domains:
                row.domains.remove(domain_row)
                changed.add(record.tenant_id)
    db.session.flush()
    for record in records:
        row = existing.get(record.tenant_id)
        if row is None:
            row = Tenant(tenant_id=record.tenant_id, name=record.name)
            db.session.add(row)
        current = {d.domain for d in row.domains}
        for domain in record.domains:
            if domain not in current:
                row.domains.append(TenantDomain(domain=domain))
                changed.add(record.tenant_id)
        report.count("tenants", record.tenant_id not in existing, record.tenant_id in changed)


def _subscriptions(records, report: ImportReport) -> None:
    existing = {s.subscription_id: s for s in fetch(
        Subscription, Subscription.subscription_id, {s.subscription_id for s in records}
    )}
    for record in records:
        values = dict(
            tenant_id=record.tenant_id,
            product_id=record.product_id,
            channel=record.channel,
            status=record.status,
            start_date=record.start_date,
            end_date=record.end_date,
        )
        row = existing.get(record.subscription_id)
        if row is None:
            db.session.add(Subscription(subscription_id=record.subscription_id, **values))
            report.count("subscriptions", created=True)
        else:
            report.count("subscriptions", False, assign(row, **values))

"""The one interface through which the wizard's checks read the directory.

Today it reads the portal's own copy (loaded by ``flask directory import``); a live
commerce source can replace ``SqlDirectory`` by implementing the same methods and being
installed with ``set_directory``.
"""
from __future__ import annotations

import re
import uuid
from typing import Protocol

from flask import current_app
from sqlalchemy import bindparam, select

from portal.directory.models import Product, Subscription, Tenant, TenantDomain
from portal.extensions import db, run_core

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")


def normalize_guid(value: str) -> str | None:
    """Lower-case GUID without braces, or None when ``value`` is not a GUID."""
    value = (value or "").strip()
    if not _GUID.match(value) or (value.startswith("{") != value.endswith("}")):
        return None
    return str(uuid.UUID(value.strip("{}")))


def normalize_domain(value: str) -> str:
    return (value or "").strip().rstrip(".").lower()


class Directory(Protocol):
    def tenant(self, tenant_id: str) -> Tenant | None: ...
    def tenant_has_domain(self, tenant_id: str, domain: str) -> bool: ...
    def product(self, product_id: str) -> Product | None: ...
    def products(self, solution_area: str | None = None) -> list[Product]: ...
    def products_on_tenant(self, tenant_id: str, solution_area: str | None = None) -> list[Product]: ...
    def subscription(self, subscription_id: str) -> Subscription | None: ...
    def subscriptions_on_tenant(self, tenant_id: str, product_id: str | None = None) -> list[Subscription]: ...


_domains = TenantDomain.__table__
#: The tenant a domain belongs to: a primary-key probe, built once, on the table (Core).
_DOMAIN_OWNER = select(_domains.c.tenant_id).where(_domains.c.domain == bindparam("domain"))


class SqlDirectory:
    """Reads the directory tables of the portal's own database."""

    def tenant(self, tenant_id):
        key = normalize_guid(tenant_id)
        return db.session.get(Tenant, key) if key else None

    def tenant_has_domain(self, tenant_id, domain):
        key = normalize_guid(tenant_id)
        if not key:
            return False
        owner = run_core(_DOMAIN_OWNER, {"domain": normalize_domain(domain)}).scalar()
        return owner == key

    def product(self, product_id):
        return db.session.get(Product, product_id)

    def products(self, solution_area=None):
        query = select(Product).order_by(Product.name)
        if solution_area:
            query = query.where(Product.solution_area == solution_area)
        return list(db.session.scalars(query))

    def products_on_tenant(self, tenant_id, solution_area=None):
        key = normalize_guid(tenant_id)
        if not key:
            return []
        query = (
            select(Product)
            .where(Product.id.in_(select(Subscription.product_id).where(Subscription.tenant_id == key)))
            .order_by(Product.name)
        )
        if solution_area:
            query = query.where(Product.solution_area == solution_area)
        return list(db.session.scalars(query))

    def subscription(self, subscription_id):
        key = normalize_guid(subscription_id)
        return db.session.get(Subscription, key) if key else None

    def subscriptions_on_tenant(self, tenant_id, product_id=None):
        key = normalize_guid(tenant_id)
        if not key:
            return []
        query = select(Subscription).where(Subscription.tenant_id == key)
        if product_id:
            query = query.where(Subscription.product_id == product_id)
        return list(db.session.scalars(query.order_by(Subscription.start_date.desc())))


def directory() -> Directory:
    return current_app.extensions.setdefault("cpor_directory", SqlDirectory())


def set_directory(app, source: Directory) -> None:
    app.extensions["cpor_directory"] = source

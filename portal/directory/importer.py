"""Loads a directory file (SPEC section 3) into the portal's own tables.

The import runs in two phases so that a bad file is refused whole:

1. ``validate`` reads the whole document (and, for references, the database) and collects
   every problem, each naming its record and field, into one ``DirectoryImportError``.
   Nothing is written in this phase.
2. ``_Apply`` upserts the validated records in the current session and only flushes: the
   caller commits once, so either everything is imported or nothing is.

The upsert is idempotent: a row whose values already match the file is not touched, a
password already verifying against the stored hash is not hashed again (hashes are
salted, so re-hashing would change the row), and an association that already exists as a
claim is never imported twice. Optional fields missing from a record (``locale``,
``incentives_enrolled``) leave the stored value as it is; new rows take the default.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.accounts.auth import hash_password, verify_password
from portal.accounts.models import AccountKind, Mpn, Organization, User
from portal.claims.base import Activity, ClaimStatus
from portal.claims import lifecycle
from portal.claims.models import Claim, ClaimEvent
from portal.directory.models import (
    Channel,
    Product,
    SolutionArea,
    Subscription,
    SubscriptionStatus,
    Tenant,
    TenantDomain,
)
from portal.directory.source import normalize_domain, normalize_guid
from portal.extensions import db
from portal.timeutil import utcnow

SECTIONS = ("products", "tenants", "subscriptions", "partners", "reviewers", "associations")
#: The kinds counted in an ImportReport, in the order they are applied.
KINDS = ("products", "tenants", "subscriptions", "partners", "mpns", "users", "reviewers", "associations")
#: Statuses an association may be imported with.
ASSOCIATION_STATUSES = (ClaimStatus.APPROVED.value, ClaimStatus.UNDER_REVIEW.value)
LOCALES = ("en", "fr")
#: As for the temporary password a global admin sets (portal/accounts/forms.py AddUserForm).
PASSWORD_MIN, PASSWORD_MAX = 12, 128
IMPORTED_NOTE = "Imported from the directory"

_MPN_ID = re.compile(r"^[0-9]{6,7}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_MISSING = object()
_ONE_PARTNER = "an MPN ID belongs to one partner"
_ONE_KIND = "an email cannot be both a partner user and a reviewer"


class DirectoryImportError(Exception):
    """The file was refused; ``errors`` lists every problem found, one line each."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        count = len(self.errors)
        plural = "" if count == 1 else "s"
        heading = f"The directory file was refused ({count} error{plural}); nothing was imported:"
        super().__init__("\n".join([heading, *(f"  {error}" for error in self.errors)]))


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    #: Things the import deliberately left alone, for the operator to know about.
    notes: list[str] = field(default_factory=list)

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    @property
    def total_updated(self) -> int:
        return sum(self.updated.values())

    @property
    def changed(self) -> bool:
        return bool(self.total_created or self.total_updated)

    def summary(self) -> str:
        if not self.changed:
            return "Directory imported: nothing changed, everything was already up to date."
        parts = [
            f"{kind} {self.created[kind]} created, {self.updated[kind]} updated"
            for kind in KINDS
            if self.created[kind] or self.updated[kind]
        ]
        return (
            f"Directory imported: {self.total_created} created, {self.total_updated} updated ("
            + "; ".join(parts)
            + ")."
        )


# --------------------------------------------------------------------------- validated records


@dataclass
class _Product:
    label: str
    id: str
    name: str
    solution_area: str


@dataclass
class _Tenant:
    label: str
    tenant_id: str
    name: str
    domains: list[str]


@dataclass
class _Subscription:
    label: str
    subscription_id: str
    tenant_id: Any
    product_id: Any
    channel: str
    status: str
    start_date: date
    end_date: date


@dataclass
class _Mpn:
    label: str
    mpn_id: str
    location: str
    partner_type: str
    incentives_enrolled: Any  # bool, or _MISSING


@dataclass
class _Person:
    label: str
    email: str
    name: str
    password: str
    locale: Any  # "en", "fr", None, or _MISSING
    role: str | None = None
    partner_id: str | None = None
    reviewer: bool = False


@dataclass
class _Partner:
    label: str
    id: str
    name: str
    mpns: list[_Mpn]
    users: list[_Person]


@dataclass
class _Association:
    label: str
    partner_id: str
    mpn_id: str
    tenant_id: str
    product_id: str
    subscription_id: str | None
    activity: str
    status: str
    approved_on: date | None


@dataclass
class _Plan:
    products: list[_Product] = field(default_factory=list)
    tenants: list[_Tenant] = field(default_factory=list)
    subscriptions: list[_Subscription] = field(default_factory=list)
    partners: list[_Partner] = field(default_factory=list)
    reviewers: list[_Person] = field(default_factory=list)
    associations: list[_Association] = field(default_factory=list)


# --------------------------------------------------------------------------- phase 1: validate


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown(kind: str, value: str) -> str:
    plural = {"tenant": "tenants", "product": "products", "subscription": "subscriptions", "partner": "partners"}
    return f"unknown {kind} {value}: not in the file's {plural[kind]} nor in the database"


def _chunks(values, size=500):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _fetch(model, column, keys) -> list:
    """Rows whose ``column`` is one of ``keys`` (missing and None keys ignored)."""
    rows = []
    for chunk in _chunks(sorted({key for key in keys if isinstance(key, str)})):
        rows.extend(db.session.scalars(select(model).where(column.in_(chunk))))
    return rows


class _Validator:
    """Reads the document into a ``_Plan``, collecting every error on the way."""

    def __init__(self, data: Any):
        self.data = data
        self.errors: list[str] = []
        self.plan = _Plan()

    # -- reporting

    def error(self, label: str, field_name: str | None, message: str) -> None:
        if field_name is None:
            self.errors.append(f"{label}: {message}")
        else:
            self.errors.append(f'{label}: field "{field_name}": {message}')

    # -- generic field readers; each returns _MISSING after reporting a problem

    def record(self, label, raw, required, optional=()) -> bool:
        if not isinstance(raw, dict):
            self.error(label, None, f"must be an object, not {_show(raw)}")
            return False
        allowed = set(required) | set(optional)
        for key in raw:
            if key not in allowed:
                self.error(label, key, "unknown field (expected " + ", ".join(sorted(allowed)) + ")")
        return True

    def present(self, label, raw, key) -> bool:
        if raw.get(key) is None:
            self.error(label, key, "is required")
            return False
        return True

    def text(self, label, raw, key, max_length):
        if not self.present(label, raw, key):
            return _MISSING
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            self.error(label, key, f"must be a non-empty string, not {_show(value)}")
            return _MISSING
        value = value.strip()
        if len(value) > max_length:
            self.error(label, key, f"must be at most {max_length} characters")
            return _MISSING
        return value

    def choice(self, label, raw, key, choices):
        if not self.present(label, raw, key):
            return _MISSING
        value = raw[key]
        if value not in choices:
            self.error(label, key, "must be one of " + ", ".join(choices) + f" (got {_show(value)})")
            return _MISSING
        return value

    def guid(self, label, raw, key):
        if not self.present(label, raw, key):
            return _MISSING
        value = raw[key]
        normalized = normalize_guid(value) if isinstance(value, str) else None
        if normalized is None:
            self.error(
                label, key,
                f"must be a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e (got {_show(value)})",
            )
            return _MISSING
        return normalized

    def day(self, label, raw, key):
        if not self.present(label, raw, key):
            return _MISSING
        value = raw[key]
        if isinstance(value, str) and _DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.error(label, key, f"must be a date written yyyy-mm-dd (got {_show(value)})")
        return _MISSING

    def mpn_id(self, label, raw, key):
        if not self.present(label, raw, key):
            return _MISSING
        value = raw[key]
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and _MPN_ID.match(value.strip()):
            return value.strip()
        self.error(label, key, f"must be an MPN ID of 6 or 7 digits (got {_show(raw[key])})")
        return _MISSING

    def email(self, label, raw, key):
        value = self.text(label, raw, key, 254)
        if value is _MISSING:
            return _MISSING
        if not _EMAIL.match(value):
            self.error(label, key, f"must be an email address (got {_show(value)})")
            return _MISSING
        return value.lower()

    def password(self, label, raw, key):
        """As given, never stripped; the same length rule as a password set in the portal."""
        if not self.present(label, raw, key):
            return _MISSING
        value = raw[key]
        if not isinstance(value, str) or not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
            self.error(label, key, f"must be a string of {PASSWORD_MIN} to {PASSWORD_MAX} characters")
            return _MISSING
        return value

    def locale(self, label, raw, key):
        if key not in raw:
            return _MISSING
        value = raw[key]
        if value is not None and value not in LOCALES:
            self.error(label, key, "must be one of " + ", ".join(LOCALES) + f" or null (got {_show(value)})")
            return _MISSING
        return value

    def items(self, label, raw, key, required=False) -> list:
        if key not in raw or raw[key] is None:
            if required:
                self.error(label, key, "is required")
            return []
        value = raw[key]
        if not isinstance(value, list):
            self.error(label, key, f"must be a list, not {_show(value)}")
            return []
        return value

    @staticmethod
    def label(prefix: str, raw: Any, key: str) -> str:
        if isinstance(raw, dict):
            ident = raw.get(key)
            if isinstance(ident, (str, int)) and not isinstance(ident, bool) and str(ident).strip():
                return f"{prefix} ({_show(ident).strip(chr(34))})"
        return prefix

    @staticmethod
    def ok(*values) -> bool:
        return all(value is not _MISSING for value in values)

    # -- the document

    def run(self) -> _Plan:
        if not isinstance(self.data, dict):
            raise DirectoryImportError(["the document must be a JSON object with the keys " + ", ".join(SECTIONS)])
        sections = {}
        for key, value in self.data.items():
            if key not in SECTIONS:
                self.errors.append(f'top level: unknown key "{key}" (expected ' + ", ".join(SECTIONS) + ")")
            elif value is None:
                sections[key] = []
            elif not isinstance(value, list):
                self.errors.append(f'top level: "{key}" must be a list, not {_show(value)}')
            else:
                sections[key] = value
        for index, raw in enumerate(sections.get("products", [])):
            self.read_product(index, raw)
        for index, raw in enumerate(sections.get("tenants", [])):
            self.read_tenant(index, raw)
        for index, raw in enumerate(sections.get("subscriptions", [])):
            self.read_subscription(index, raw)
        for index, raw in enumerate(sections.get("partners", [])):
            self.read_partner(index, raw)
        for index, raw in enumerate(sections.get("reviewers", [])):
            self.read_reviewer(index, raw)
        for index, raw in enumerate(sections.get("associations", [])):
            self.read_association(index, raw)
        self.check_across_records()
        if self.errors:
            raise DirectoryImportError(self.errors)
        return self.plan

    def read_product(self, index, raw):
        label = self.label(f"products[{index}]", raw, "id")
        if not self.record(label, raw, ("id", "name", "solution_area")):
            return
        self.plan.products.append(_Product(
            label,
            self.text(label, raw, "id", 64),
            self.text(label, raw, "name", 200),
            self.choice(label, raw, "solution_area", [area.value for area in SolutionArea]),
        ))

    def read_tenant(self, index, raw):
        label = self.label(f"tenants[{index}]", raw, "tenant_id")
        if not self.record(label, raw, ("tenant_id", "name", "domains")):
            return
        tenant_id = self.guid(label, raw, "tenant_id")
        name = self.text(label, raw, "name", 200)
        domains: list[str] = []
        for position, value in enumerate(self.items(label, raw, "domains", required=True)):
            domain = normalize_domain(value) if isinstance(value, str) else None
            if not domain or len(domain) > 253 or "." not in domain or not all(
                _DOMAIN_LABEL.match(part) for part in domain.split(".")
            ):
                self.error(
                    label, f"domains[{position}]", f"must be a domain name such as contoso.com (got {_show(value)})"
                )
            elif domain not in domains:
                domains.append(domain)
        self.plan.tenants.append(_Tenant(label, tenant_id, name, domains))

    def read_subscription(self, index, raw):
        label = self.label(f"subscriptions[{index}]", raw, "subscription_id")
        fields = ("subscription_id", "tenant_id", "product_id", "channel", "status", "start_date", "end_date")
        if not self.record(label, raw, fields):
            return
        record = _Subscription(
            label,
            self.guid(label, raw, "subscription_id"),
            self.guid(label, raw, "tenant_id"),
            self.text(label, raw, "product_id", 64),
            self.choice(label, raw, "channel", [channel.value for channel in Channel]),
            self.choice(label, raw, "status", [status.value for status in SubscriptionStatus]),
            self.day(label, raw, "start_date"),
            self.day(label, raw, "end_date"),
        )
        start, end = record.start_date, record.end_date
        if self.ok(start, end) and end < start:
            self.error(
                label, "end_date", f"must not be before start_date {start.isoformat()} (got {end.isoformat()})"
            )
        self.plan.subscriptions.append(record)

    def read_partner(self, index, raw):
        label = self.label(f"partners[{index}]", raw, "id")
        if not self.record(label, raw, ("id", "name"), ("mpns", "users")):
            return
        partner_id = self.text(label, raw, "id", 64)
        if partner_id is not _MISSING and not _SLUG.match(partner_id):
            self.error(label, "id", f"must be lower-case letters, digits, - or _ (got {_show(partner_id)})")
            partner_id = _MISSING
        name = self.text(label, raw, "name", 200)
        prefix = f"partners[{index}]"
        mpns = [
            mpn
            for position, item in enumerate(self.items(label, raw, "mpns"))
            if (mpn := self.read_mpn(self.label(f"{prefix}.mpns[{position}]", item, "mpn_id"), item))
        ]
        users = [
            user
            for position, item in enumerate(self.items(label, raw, "users"))
            if (user := self.read_person(
                self.label(f"{prefix}.users[{position}]", item, "email"), item, partner_id
            ))
        ]
        self.plan.partners.append(_Partner(label, partner_id, name, mpns, users))

    def read_mpn(self, label, raw) -> _Mpn | None:
        if not self.record(label, raw, ("mpn_id", "location", "partner_type"), ("incentives_enrolled",)):
            return None
        enrolled = raw.get("incentives_enrolled", _MISSING)
        if enrolled is not _MISSING and not isinstance(enrolled, bool):
            self.error(label, "incentives_enrolled", f"must be true or false (got {_show(enrolled)})")
        return _Mpn(
            label,
            self.mpn_id(label, raw, "mpn_id"),
            self.text(label, raw, "location", 200),
            self.text(label, raw, "partner_type", 100),
            enrolled,
        )

    def read_person(self, label, raw, partner_id=None, reviewer=False) -> _Person | None:
        required = ("email", "name", "password") if reviewer else ("email", "name", "role", "password")
        if not self.record(label, raw, required, ("locale",)):
            return None
        return _Person(
            label,
            self.email(label, raw, "email"),
            self.text(label, raw, "name", 200),
            self.password(label, raw, "password"),
            self.locale(label, raw, "locale"),
            role=None if reviewer else self.text(label, raw, "role", 64),
            partner_id=partner_id,
            reviewer=reviewer,
        )

    def read_reviewer(self, index, raw):
        person = self.read_person(self.label(f"reviewers[{index}]", raw, "email"), raw, reviewer=True)
        if person is not None:
            self.plan.reviewers.append(person)

    def read_association(self, index, raw):
        label = f"associations[{index}]"
        if isinstance(raw, dict):
            keys = ("partner_id", "tenant_id", "product_id", "activity")
            ident = [str(raw[key]) for key in keys if raw.get(key)]
            if ident:
                label += " (" + ", ".join(ident) + ")"
        fields = ("partner_id", "mpn_id", "tenant_id", "product_id", "activity", "status")
        if not self.record(label, raw, fields, ("subscription_id", "approved_on")):
            return
        values = (
            self.text(label, raw, "partner_id", 64),
            self.mpn_id(label, raw, "mpn_id"),
            self.guid(label, raw, "tenant_id"),
            self.text(label, raw, "product_id", 64),
        )
        subscription_id = None
        if raw.get("subscription_id") is not None:
            subscription_id = self.guid(label, raw, "subscription_id")
        activity = self.choice(label, raw, "activity", [activity.value for activity in Activity])
        status = self.choice(label, raw, "status", list(ASSOCIATION_STATUSES))
        approved_on = None
        if status == ClaimStatus.APPROVED:
            approved_on = self.day(label, raw, "approved_on")
        elif status is not _MISSING and raw.get("approved_on") is not None:
            self.error(label, "approved_on", "is only for approved associations")
        self.plan.associations.append(
            _Association(label, *values, subscription_id, activity, status, approved_on)
        )

    # -- checks between records, and against what the database already holds
    # A field that failed its own check above is _MISSING here and is skipped, so each
    # problem is reported once while every other reference is still checked.

    def check_across_records(self) -> None:
        plan = self.plan
        products = self.unique(plan.products, lambda p: p.id, "id")
        tenants = self.unique(plan.tenants, lambda t: t.tenant_id, "tenant_id")
        subscriptions = self.unique(plan.subscriptions, lambda s: s.subscription_id, "subscription_id")
        partners = self.unique(plan.partners, lambda p: p.id, "id")

        # What the file refers to but does not define must already be in the database.
        db_products = {p.id: p for p in _fetch(
            Product, Product.id,
            {s.product_id for s in plan.subscriptions} | {a.product_id for a in plan.associations},
        )}
        db_tenants = {t.tenant_id for t in _fetch(
            Tenant, Tenant.tenant_id,
            {s.tenant_id for s in plan.subscriptions}
            | {a.tenant_id for a in plan.associations}
            | {s.subscription_id for s in plan.subscriptions},
        )}
        db_subscriptions = {s.subscription_id: s for s in _fetch(
            Subscription, Subscription.subscription_id,
            {a.subscription_id for a in plan.associations} | {t.tenant_id for t in plan.tenants},
        )}

        self.check_domains(tenants)

        known_tenants = set(tenants) | db_tenants
        known_products = set(products) | set(db_products)
        for record in plan.subscriptions:
            if record.tenant_id is not _MISSING and record.tenant_id not in known_tenants:
                self.error(record.label, "tenant_id", _unknown("tenant", record.tenant_id))
            if record.product_id is not _MISSING and record.product_id not in known_products:
                self.error(record.label, "product_id", _unknown("product", _show(record.product_id)))
            if record.subscription_id in tenants or record.subscription_id in db_tenants:
                self.error(record.label, "subscription_id", "is a tenant ID, not a subscription ID")
        for record in plan.tenants:
            if record.tenant_id in subscriptions or record.tenant_id in db_subscriptions:
                self.error(record.label, "tenant_id", "is a subscription ID, not a tenant ID")

        mpn_owner = self.check_mpns(partners)
        self.check_emails()
        self.check_associations(products, tenants, subscriptions, partners, mpn_owner,
                                db_products, db_tenants, db_subscriptions)

    def unique(self, records, key, field_name) -> dict:
        seen: dict = {}
        for record in records:
            value = key(record)
            if value is _MISSING:
                continue
            if value in seen:
                self.error(record.label, field_name, f"duplicate of {seen[value].label}")
            else:
                seen[value] = record
        return seen

    def check_domains(self, tenants: dict) -> None:
        owner: dict[str, _Tenant] = {}
        for record in self.plan.tenants:
            for domain in record.domains:
                if domain in owner:
                    self.error(record.label, "domains", f"{domain} already belongs to {owner[domain].label}")
                else:
                    owner[domain] = record
        # Tenants in the file get exactly the file's domains, so only a tenant the file
        # leaves alone can still hold one of them after the import.
        for row in _fetch(TenantDomain, TenantDomain.domain, owner):
            if row.tenant_id not in tenants and row.tenant_id != owner[row.domain].tenant_id:
                self.error(
                    owner[row.domain].label, "domains",
                    f"{row.domain} already belongs to tenant {row.tenant_id} in the database",
                )

    def check_mpns(self, partners: dict) -> dict[str, str]:
        """Returns mpn_id -> partner id for every MPN the file and the database know of."""
        owner: dict[str, _Partner] = {}
        for partner in self.plan.partners:
            for mpn in partner.mpns:
                if mpn.mpn_id is _MISSING:
                    continue
                if mpn.mpn_id in owner:
                    other = owner[mpn.mpn_id]
                    where = "to this partner" if other is partner else f"to {other.label}"
                    self.error(mpn.label, "mpn_id", f"{mpn.mpn_id} already belongs {where}; {_ONE_PARTNER}")
                else:
                    owner[mpn.mpn_id] = partner
        result = {mpn_id: partner.id for mpn_id, partner in owner.items()}
        wanted = set(owner) | {a.mpn_id for a in self.plan.associations}
        for row in _fetch(Mpn, Mpn.mpn_id, wanted):
            slug = row.organization.slug
            partner = owner.get(row.mpn_id)
            if partner is not None and partner.id is not _MISSING and slug != partner.id:
                label = next(m.label for m in partner.mpns if m.mpn_id == row.mpn_id)
                self.error(
                    label, "mpn_id",
                    f"{row.mpn_id} already belongs to partner {_show(slug)} in the database; {_ONE_PARTNER}",
                )
            result.setdefault(row.mpn_id, slug)
        return result

    def check_emails(self) -> None:
        people: dict[str, _Person] = {}
        everyone = [user for partner in self.plan.partners for user in partner.users] + self.plan.reviewers
        for person in everyone:
            if person.email is _MISSING:
                continue
            other = people.get(person.email)
            if other is None:
                people[person.email] = person
            elif other.reviewer != person.reviewer:
                self.error(person.label, "email", f"{person.email} is also {other.label}; {_ONE_KIND}")
            else:
                self.error(person.label, "email", f"{person.email} is already used by {other.label}")
        for chunk in _chunks(sorted(people)):
            for row in db.session.scalars(select(User).where(func.lower(User.email).in_(chunk))):
                person = people.get(row.email.lower())
                if person is None:
                    continue
                wanted = AccountKind.REVIEWER if person.reviewer else AccountKind.PARTNER
                if row.kind != wanted:
                    found = "a reviewer" if row.kind == AccountKind.REVIEWER else "a partner user"
                    self.error(
                        person.label, "email", f"{person.email} is already {found} in the database; {_ONE_KIND}"
                    )

    def check_associations(self, products, tenants, subscriptions, partners, mpn_owner,
                           db_products, db_tenants, db_subscriptions) -> None:
        db_partners = {o.slug for o in _fetch(
            Organization, Organization.slug,
            {a.partner_id for a in self.plan.associations} - set(partners),
        )}
        seen: dict[tuple, _Association] = {}
        for record in self.plan.associations:
            label = record.label
            partner_known = record.partner_id in partners or record.partner_id in db_partners
            if record.partner_id is not _MISSING and not partner_known:
                self.error(label, "partner_id", _unknown("partner", _show(record.partner_id)))
            if record.mpn_id is not _MISSING and partner_known:
                if record.mpn_id not in mpn_owner:
                    self.error(label, "mpn_id", f"unknown MPN ID {record.mpn_id}")
                elif mpn_owner[record.mpn_id] != record.partner_id:
                    partner = _show(record.partner_id)
                    self.error(label, "mpn_id", f"MPN ID {record.mpn_id} does not belong to partner {partner}")
            tenant_known = record.tenant_id in tenants or record.tenant_id in db_tenants
            if record.tenant_id is not _MISSING and not tenant_known:
                self.error(label, "tenant_id", _unknown("tenant", record.tenant_id))
            product = products.get(record.product_id) or db_products.get(record.product_id)
            if record.product_id is not _MISSING and product is None:
                self.error(label, "product_id", _unknown("product", _show(record.product_id)))
            elif (
                product is not None
                and product.solution_area == SolutionArea.MICROSOFT_365
                and record.activity not in (_MISSING, Activity.USAGE)
            ):
                self.error(
                    label, "activity",
                    f"Microsoft 365 workloads are associated for usage only (got {_show(record.activity)})",
                )
            if record.subscription_id not in (None, _MISSING):
                sid = record.subscription_id
                subscription = subscriptions.get(sid) or db_subscriptions.get(sid)
                if subscription is None:
                    self.error(label, "subscription_id", _unknown("subscription", sid))
                else:
                    if tenant_known and subscription.tenant_id != record.tenant_id:
                        self.error(
                            label, "subscription_id",
                            f"subscription {sid} is on tenant {subscription.tenant_id}, "
                            f"not on tenant {record.tenant_id}",
                        )
                    if product is not None and subscription.product_id != record.product_id:
                        self.error(
                            label, "subscription_id",
                            f"subscription {sid} is for product {_show(subscription.product_id)}, "
                            f"not {_show(record.product_id)}",
                        )
            key = (record.partner_id, record.tenant_id, record.product_id, record.activity)
            if _MISSING in key:
                continue
            if key in seen:
                self.error(
                    label, None, f"duplicate of {seen[key].label} (same partner, tenant, product and activity)"
                )
            else:
                seen[key] = record


def validate(data: Any) -> _Plan:
    """Phase 1: the whole document checked, or ``DirectoryImportError`` listing every problem."""
    return _Validator(data).run()


# --------------------------------------------------------------------------- phase 2: upsert


def _assign(row, **values) -> bool:
    """Sets only the attributes that differ, so unchanged rows stay clean; True if any did."""
    changed = False
    for name, value in values.items():
        if value is _MISSING:
            continue
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


class _Apply:
    def __init__(self, plan: _Plan):
        self.plan = plan
        self.report = ImportReport()
        self.now = utcnow()

    def count(self, kind: str, created: bool, changed: bool = True) -> None:
        if created:
            self.report.created[kind] += 1
        elif changed:
            self.report.updated[kind] += 1

    def run(self) -> ImportReport:
        session = db.session
        # A flush after each kind: rows of one kind are written before the rows that refer
        # to them (the foreign keys have no relationship() the unit of work could order by).
        with session.no_autoflush:
            self.products()
            session.flush()
            self.tenants()
            session.flush()
            self.subscriptions()
            session.flush()
            organizations = self.partners()
            session.flush()
            self.people(organizations)
            session.flush()
            self.associations(organizations)
            session.flush()
        return self.report

    def products(self):
        existing = {p.id: p for p in _fetch(Product, Product.id, {p.id for p in self.plan.products})}
        for record in self.plan.products:
            row = existing.get(record.id)
            if row is None:
                db.session.add(Product(id=record.id, name=record.name, solution_area=record.solution_area))
                self.count("products", created=True)
            else:
                self.count("products", False, _assign(row, name=record.name, solution_area=record.solution_area))

    def tenants(self):
        keys = {t.tenant_id for t in self.plan.tenants}
        existing = {}
        for chunk in _chunks(sorted(keys)):
            query = select(Tenant).where(Tenant.tenant_id.in_(chunk)).options(selectinload(Tenant.domains))
            existing.update((t.tenant_id, t) for t in db.session.scalars(query))
        changed: set[str] = set()
        # Domains leave their old tenants first and are flushed away, so that a domain moving
        # from one tenant of the file to another never meets itself on the primary key.
        for record in self.plan.tenants:
            row = existing.get(record.tenant_id)
            if row is None:
                continue
            if _assign(row, name=record.name):
                changed.add(record.tenant_id)
            for domain_row in list(row.domains):
                if domain_row.domain not in record.domains:
                    row.domains.remove(domain_row)
                    changed.add(record.tenant_id)
        db.session.flush()
        for record in self.plan.tenants:
            row = existing.get(record.tenant_id)
            if row is None:
                row = Tenant(tenant_id=record.tenant_id, name=record.name)
                db.session.add(row)
            current = {d.domain for d in row.domains}
            for domain in record.domains:
                if domain not in current:
                    row.domains.append(TenantDomain(domain=domain))
                    changed.add(record.tenant_id)
            created = record.tenant_id not in existing
            self.count("tenants", created, record.tenant_id in changed)

    def subscriptions(self):
        existing = {s.subscription_id: s for s in _fetch(
            Subscription, Subscription.subscription_id, {s.subscription_id for s in self.plan.subscriptions}
        )}
        for record in self.plan.subscriptions:
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
                self.count("subscriptions", created=True)
            else:
                self.count("subscriptions", False, _assign(row, **values))

    def partners(self) -> dict[str, Organization]:
        organizations = {o.slug: o for o in _fetch(
            Organization, Organization.slug,
            {p.id for p in self.plan.partners} | {a.partner_id for a in self.plan.associations},
        )}
        for record in self.plan.partners:
            row = organizations.get(record.id)
            if row is None:
                row = organizations[record.id] = Organization(slug=record.id, name=record.name)
                db.session.add(row)
                self.count("partners", created=True)
            else:
                self.count("partners", False, _assign(row, name=record.name))
        db.session.flush()  # new organizations need their ids for MPNs and users

        records = [(partner, mpn) for partner in self.plan.partners for mpn in partner.mpns]
        existing = {m.mpn_id: m for m in _fetch(Mpn, Mpn.mpn_id, {mpn.mpn_id for _, mpn in records})}
        for partner, record in records:
            organization = organizations[partner.id]
            row = existing.get(record.mpn_id)
            if row is None:
                enrolled = record.incentives_enrolled
                db.session.add(Mpn(
                    mpn_id=record.mpn_id,
                    organization_id=organization.id,
                    location=record.location,
                    partner_type=record.partner_type,
                    incentives_enrolled=False if enrolled is _MISSING else enrolled,
                ))
                self.count("mpns", created=True)
            else:
                self.count("mpns", False, _assign(
                    row,
                    organization_id=organization.id,
                    location=record.location,
                    partner_type=record.partner_type,
                    incentives_enrolled=record.incentives_enrolled,
                ))
        return organizations

    def people(self, organizations: dict[str, Organization]) -> None:
        everyone = [(user, "users") for partner in self.plan.partners for user in partner.users]
        everyone += [(reviewer, "reviewers") for reviewer in self.plan.reviewers]
        existing = {}
        for chunk in _chunks(sorted({person.email for person, _ in everyone})):
            for row in db.session.scalars(select(User).where(func.lower(User.email).in_(chunk))):
                existing[row.email.lower()] = row
        for person, kind in everyone:
            if kind == "users":
                values = dict(
                    kind=AccountKind.PARTNER.value,
                    organization_id=organizations[person.partner_id].id,
                    role=person.role,
                )
            else:
                values = dict(kind=AccountKind.REVIEWER.value, organization_id=None, role=None)
            row = existing.get(person.email)
            if row is None:
                db.session.add(User(
                    email=person.email,
                    name=person.name,
                    password_hash=hash_password(person.password),
                    locale=None if person.locale is _MISSING else person.locale,
                    **values,
                ))
                self.count(kind, created=True)
                continue
            changed = _assign(row, email=person.email, name=person.name, locale=person.locale, **values)
            if not verify_password(row.password_hash, person.password):
                row.password_hash = hash_password(person.password)
                changed = True
            self.count(kind, False, changed)

    def associations(self, organizations: dict[str, Organization]) -> None:
        if not self.plan.associations:
            return
        products = {p.id: p for p in _fetch(Product, Product.id, {a.product_id for a in self.plan.associations})}
        mpns = {m.mpn_id: m for m in _fetch(Mpn, Mpn.mpn_id, {a.mpn_id for a in self.plan.associations})}
        tenant_names = {t.tenant_id: t.name for t in _fetch(Tenant, Tenant.tenant_id, {a.tenant_id for a in self.plan.associations})}
        for record in self.plan.associations:
            organization = organizations[record.partner_id]
            mpn = mpns[record.mpn_id]
            existing = db.session.scalars(
                select(Claim)
                .where(
                    Claim.organization_id == organization.id,
                    Claim.tenant_id == record.tenant_id,
                    Claim.product_id == record.product_id,
                    Claim.activity == record.activity,
                    Claim.status != ClaimStatus.DRAFT.value,
                )
                .order_by(Claim.id.desc())
                .limit(1)
            ).first()
            if existing is not None:
                # From its import on, a claim's lifecycle belongs to the portal: it is never
                # imported twice nor overwritten; a difference is only reported.
                same = (
                    existing.status == record.status
                    and existing.mpn_pk == mpn.id
                    and existing.subscription_id == record.subscription_id
                    and existing.approved_on == record.approved_on
                )
                if not same:
                    self.report.notes.append(
                        f"{record.label}: claim {existing.number} already exists "
                        f"(status {existing.status}) and differs from the file; left as it is"
                    )
                continue
            claim = Claim(
                organization_id=organization.id,
                created_by_id=None,
                status=record.status,
                solution_area=products[record.product_id].solution_area,
                tenant_id=record.tenant_id,
                customer_name=tenant_names.get(record.tenant_id),
                product_id=record.product_id,
                subscription_id=record.subscription_id,
                activity=record.activity,
                mpn_pk=mpn.id,
                created_at=self.now,
                submitted_at=self.now,
                approved_on=record.approved_on,
                # An imported claim enters its status now: its deadline counts from the import.
                status_changed_at=self.now,
                due_on=lifecycle.due_on_for(record.status, self.now, lifecycle.holidays()),
            )
            db.session.add(claim)
            db.session.flush()
            db.session.add(ClaimEvent(
                claim_id=claim.id,
                actor_id=None,
                kind="imported",
                action="import",
                from_status=None,
                to_status=record.status,
                note=IMPORTED_NOTE,
                created_at=self.now,
            ))
            self.count("associations", created=True)


def import_directory(data: dict) -> ImportReport:
    """Validates the whole document, then upserts it in the current session (flush, no commit).

    Raises ``DirectoryImportError`` (with every problem in ``.errors``) before writing anything.
    """
    plan = validate(data)
    return _Apply(plan).run()


def load_file(path) -> dict:
    """The parsed JSON document at ``path``; unreadable or malformed files raise DirectoryImportError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DirectoryImportError([f"{path}: cannot be read: {error}"]) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DirectoryImportError(
            [f"{path}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"]
        ) from error

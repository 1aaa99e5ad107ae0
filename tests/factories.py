"""Rows for tests, written through the real models (never mocks)."""
from __future__ import annotations

import itertools
from pathlib import Path

from portal.accounts.auth import hash_password
from portal.accounts.models import AccountKind, Mpn, Organization, User
from portal.extensions import db
from tests.support import PASSWORD

_seq = itertools.count(1)


def org(name=None, slug=None) -> Organization:
    n = next(_seq)
    organization = Organization(slug=slug or f"org{n}", name=name or f"Organization {n}")
    db.session.add(organization)
    db.session.flush()
    return organization


def user(organization=None, role="global_admin", email=None, name=None, active=True, locale=None) -> User:
    n = next(_seq)
    account = User(
        email=email or f"user{n}@example.com",
        name=name or f"User {n}",
        password_hash=hash_password(PASSWORD),
        kind=AccountKind.PARTNER,
        organization_id=organization.id if organization else None,
        role=role,
        active=active,
        locale=locale,
    )
    db.session.add(account)
    db.session.flush()
    return account


def reviewer(email=None, name=None) -> User:
    n = next(_seq)
    account = User(
        email=email or f"reviewer{n}@review.example.com",
        name=name or f"Reviewer {n}",
        password_hash=hash_password(PASSWORD),
        kind=AccountKind.REVIEWER,
    )
    db.session.add(account)
    db.session.flush()
    return account


def mpn(organization, mpn_id=None, enrolled=True, location="Paris, France", partner_type="Solutions Partner") -> Mpn:
    n = next(_seq)
    row = Mpn(
        mpn_id=mpn_id or f"{1000000 + n}",
        organization_id=organization.id,
        location=location,
        partner_type=partner_type,
        incentives_enrolled=enrolled,
    )
    db.session.add(row)
    db.session.flush()
    return row


POE_TEMPLATE = Path(__file__).resolve().parent.parent / "static" / "proof-of-execution-template.docx"


def poe_template_docx() -> bytes:
    """The proof-of-execution template the portal serves (a static file)."""
    return POE_TEMPLATE.read_bytes()

"""Claims in every status for the reviewer console, written through the models and the
lifecycle in an app context that is closed before any request is made."""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from portal.claims import lifecycle
from portal.claims.base import ClaimStatus
from portal.claims.files import storage
from portal.claims.models import Claim, ClaimFile
from portal.directory.models import Product, Tenant
from portal.extensions import db
from portal.timeutil import utcnow
from tests import factories

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PARTNER_ROLES = ("global_admin", "incentives_admin", "billing_admin", "referrals_admin", "sales_agent",
                 "account_admin", "marketing_admin")
_seq = itertools.count(1)


@pytest.fixture
def app_overrides(tmp_path):
    return {"UPLOAD_FOLDER": str(tmp_path / "uploads")}


@dataclass
class Partner:
    """An organization with one signed-in-able admin and an enrolled MPN."""

    org_id: int
    org_name: str
    user_id: int
    email: str
    mpn_pk: int
    mpn_id: str


@dataclass
class World:
    reviewer_id: int
    reviewer_email: str
    other_reviewer_id: int
    fabrikam: Partner
    proseware: Partner


def partner(name) -> Partner:
    organization = factories.org(name=name)
    admin = factories.user(organization, role="global_admin")
    mpn = factories.mpn(organization)
    return Partner(organization.id, organization.name, admin.id, admin.email, mpn.id, mpn.mpn_id)


def tenant(name=None) -> Tenant:
    n = next(_seq)
    row = Tenant(tenant_id=f"00000000-0000-4000-8000-{n:012d}", name=name or f"Customer {n}")
    db.session.add(row)
    db.session.flush()
    return row


def product(area="business_applications", name=None) -> Product:
    n = next(_seq)
    row = Product(id=f"product-{n}", name=name or f"Product {n}", solution_area=area)
    db.session.add(row)
    db.session.flush()
    return row


def submitted(who: Partner, customer: Tenant, item: Product, *, activity="presales", when: datetime | None = None,
              description="Workshops and a pilot for the sales team.", files=0) -> Claim:
    """A claim submitted by ``who`` through the lifecycle (its due date counts from ``when``).
    The lifecycle marks the arbitration when another organization's claim on the same customer
    and product is open: submit one to put a claim in arbitration."""
    from portal.accounts.models import User

    claim = Claim(
        organization_id=who.org_id,
        created_by_id=who.user_id,
        status=ClaimStatus.DRAFT,
        solution_area=item.solution_area,
        tenant_id=customer.tenant_id,
        domain="customer.example",
        product_id=item.id,
        activity=activity,
        mpn_pk=who.mpn_pk,
        customer_contact_name="Dana Customer",
        customer_contact_title="CIO",
        customer_contact_email="dana@customer.example",
        partner_contact_name="Gina Martin",
        partner_contact_email="gina@partner.example",
        description=description,
        acknowledged_on=date(2026, 10, 1),
        draft={},
    )
    db.session.add(claim)
    db.session.flush()
    for n in range(files):
        stored = storage.save(io.BytesIO(PDF), 10_000_000)
        db.session.add(ClaimFile(claim_id=claim.id, storage_key=stored.key, filename=f"proof-{n + 1}.pdf", kind="pdf",
                                 content_type="application/pdf", size=stored.size, sha256=stored.sha256,
                                 uploaded_by_id=who.user_id))
    db.session.flush()
    lifecycle.transition(claim, "submit", db.session.get(User, who.user_id), now=when or utcnow())
    return claim


def move(claim: Claim, action: str, user_id: int, **kwargs):
    from portal.accounts.models import User

    return lifecycle.transition(claim, action, db.session.get(User, user_id), **kwargs)


def start_review(claim: Claim, reviewer_id: int):
    """What ``actions.start_review`` does: the review starts and the reviewer holds the claim."""
    move(claim, "start_review", reviewer_id)
    claim.reviewer_id = reviewer_id


def make_world(app) -> World:
    with app.app_context():
        reviewer = factories.reviewer(name="Rita Ortiz")
        other = factories.reviewer(name="Rémy Dubois")
        world = World(reviewer.id, reviewer.email, other.id, partner("Fabrikam Consulting"), partner("Proseware, Inc."))
        db.session.commit()
    return world


@pytest.fixture
def world(app) -> World:
    return make_world(app)


@pytest.fixture
def any_world(any_app) -> World:
    return make_world(any_app)



def claim_state(app, claim_id) -> Claim:
    """The claim as stored, detached (read after the request committed)."""
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        db.session.expunge(claim)
        return claim


def days_ago(n) -> datetime:
    return utcnow() - timedelta(days=n)

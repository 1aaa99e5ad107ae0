"""A world of claims for the claims list: two organizations, a reviewer, tenants, products,
and claims inserted as rows (the list reads rows; how they got there is the lifecycle's
business). Rows are written in an app context closed before any request is made."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest

from portal.claims.models import Claim
from portal.directory.models import Product, Tenant, TenantDomain
from portal.extensions import db
from tests import factories

TODAY = date.today()
BASE = datetime(2026, 3, 2, 9, 0, 0)

# Tenants: (tenant ID, name, domains).
CONTOSO = ("0f8fad5b-d9cb-469f-a165-70867728950e", "Contoso Ltd", ["contoso.com", "contoso.fr"])
NORTHWIND = ("8d840575-5419-4dfb-b6c0-f5bb679e0663", "Northwind Traders", ["northwindtraders.com"])
ADVENTURE = ("8d9479c8-c585-4bcd-8f4c-ed893b922391", "Adventure Works", ["adventure-works.com"])
TAILSPIN = ("e5c45229-6456-430d-b658-241c76fc9061", "Tailspin Toys", ["tailspintoys.com"])
WINGTIP = ("a0507f91-b345-46a0-97c0-ffe38cf19cb2", "Wingtip Toys", ["wingtiptoys.com"])
TENANTS = (CONTOSO, NORTHWIND, ADVENTURE, TAILSPIN, WINGTIP)

# Products: (id, name, solution area).
PRODUCTS = (
    ("d365-sales", "Dynamics 365 Sales", "business_applications"),
    ("d365-field-service", "Dynamics 365 Field Service", "business_applications"),
    ("d365-finance", "Dynamics 365 Finance", "business_applications"),
    ("m365-teams", "Microsoft Teams", "microsoft_365"),
    ("m365-exchange", "Exchange Online", "microsoft_365"),
    ("m365-sharepoint", "SharePoint Online", "microsoft_365"),
    ("d365-customer-service", "Dynamics 365 Customer Service", "business_applications"),
    ("m365-onedrive", "OneDrive for Business", "microsoft_365"),
)
STATUSES = ("submitted", "under_review", "partner_action_required", "approved", "rejected", "disputed", "closed")
ACTIVITIES = ("presales", "usage", "revenue_association")


@dataclass
class Row:
    """What a test needs to know of a claim it inserted, to compute the expected list."""

    id: int
    organization_id: int
    status: str
    tenant_id: str
    customer_name: str | None
    product_id: str
    solution_area: str
    activity: str
    mpn_id: str
    in_arbitration: bool
    submitted_at: datetime | None
    due_on: date | None


@dataclass
class World:
    reviewer_email: str
    fabrikam_id: int
    fabrikam_email: str
    fabrikam_mpns: list[str]
    proseware_id: int
    proseware_email: str
    proseware_mpns: list[str]
    rows: list[Row] = field(default_factory=list)
    mpns: dict[int, list[tuple[int, str]]] = field(default_factory=dict)

    def of(self, organization_id) -> list[Row]:
        return [r for r in self.rows if r.organization_id == organization_id]


@pytest.fixture
def app_overrides(tmp_path):
    return {"UPLOAD_FOLDER": str(tmp_path / "uploads")}


def _directory():
    for tenant_id, name, domains in TENANTS:
        db.session.add(Tenant(tenant_id=tenant_id, name=name))
        for domain in domains:
            db.session.add(TenantDomain(domain=domain, tenant_id=tenant_id))
    for product_id, name, area in PRODUCTS:
        db.session.add(Product(id=product_id, name=name, solution_area=area))
    db.session.flush()


def insert_claim(organization_id, mpn: tuple[int, str], *, status="submitted", tenant=CONTOSO, product=PRODUCTS[0], activity="presales",
                 in_arbitration=False, submitted_at=BASE, due_on=None, customer_name="", created_by_id=None) -> Row:
    """One claim row with the columns the list reads (``customer_name=""`` means the tenant's)."""
    name = tenant[1] if customer_name == "" else customer_name
    claim = Claim(organization_id=organization_id, created_by_id=created_by_id, status=status, tenant_id=tenant[0],
                  customer_name=name, product_id=product[0], solution_area=product[2], activity=activity,
                  mpn_pk=mpn[0], in_arbitration=in_arbitration, submitted_at=submitted_at, due_on=due_on, draft={},
                  customer_contact_email="dana@customer.example")
    db.session.add(claim)
    db.session.flush()
    return Row(claim.id, organization_id, status, tenant[0], name, product[0], product[2], activity, mpn[1],
               in_arbitration, submitted_at, due_on)


def make_world(app) -> World:
    with app.app_context():
        _directory()
        reviewer = factories.reviewer(name="Rita Ortiz")
        fabrikam = factories.org(name="Fabrikam Consulting")
        fabrikam_admin = factories.user(fabrikam, role="global_admin")
        fabrikam_mpns = [factories.mpn(fabrikam), factories.mpn(fabrikam)]
        proseware = factories.org(name="Proseware, Inc.")
        proseware_admin = factories.user(proseware, role="global_admin")
        proseware_mpns = [factories.mpn(proseware)]
        world = World(reviewer.email, fabrikam.id, fabrikam_admin.email, [m.mpn_id for m in fabrikam_mpns],
                      proseware.id, proseware_admin.email, [m.mpn_id for m in proseware_mpns])
        world.mpns = {fabrikam.id: [(m.id, m.mpn_id) for m in fabrikam_mpns],
                      proseware.id: [(m.id, m.mpn_id) for m in proseware_mpns]}
        db.session.commit()
    return world


# Customer names that sort alike in every collation (same case, letters only), some shared.
NAMES = ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel")


def fill(app, world: World, count: int = 120, organization_id: int | None = None, start: int = 0) -> list[Row]:
    """``count`` claims for one organization (Fabrikam by default) with every combination the
    list distinguishes: ties on each sort key, no due date, no customer name, no submission
    time (imported before submissions were recorded), both MPN IDs, arbitration or not."""
    organization_id = organization_id or world.fabrikam_id
    rows = []
    with app.app_context():
        mpns = world.mpns[organization_id]
        for n in range(start, start + count):
            tenant = TENANTS[n % len(TENANTS)]
            # (tenant, product, activity) differ for each of the first 120: one open claim each.
            product = PRODUCTS[(n // len(TENANTS)) % len(PRODUCTS)]
            activity = ACTIVITIES[(n // (len(TENANTS) * len(PRODUCTS))) % len(ACTIVITIES)]
            status = STATUSES[n % len(STATUSES)]
            rows.append(insert_claim(
                organization_id, mpns[n % len(mpns)], status=status, tenant=tenant, product=product, activity=activity,
                in_arbitration=n % 9 == 0,
                # Three claims share each second; every 40th has none.
                submitted_at=None if n % 40 == 39 else BASE + timedelta(minutes=17 * (n // 3)),
                # Every fifth claim has no due date; the others share a few dates.
                due_on=None if n % 5 == 4 else TODAY + timedelta(days=1 + (n * 7) % 11),
                customer_name=None if n % 13 == 12 else NAMES[(n * 5) % len(NAMES)],
            ))
        db.session.commit()
    world.rows.extend(rows)
    return rows


@pytest.fixture
def world(app) -> World:
    return make_world(app)


@pytest.fixture
def any_world(any_app) -> World:
    return make_world(any_app)


# Expected orders ------------------------------------------------------------------------------


def _sort_value(row: Row, sort: str):
    if sort == "due":
        return row.due_on
    if sort == "customer":
        return row.customer_name
    return row.submitted_at


def expected_order(rows: list[Row], sort: str) -> list[int]:
    """The order the list promises: by the sort key (ties by id), rows without the key last,
    by id."""
    keyed = [r for r in rows if _sort_value(r, sort) is not None]
    missing = sorted((r for r in rows if _sort_value(r, sort) is None), key=lambda r: r.id)
    descending = sort == "newest"
    keyed.sort(key=lambda r: (_sort_value(r, sort), r.id), reverse=descending)
    return [r.id for r in keyed] + [r.id for r in missing]


# Reading the list page ------------------------------------------------------------------------

_ROW = re.compile(r'<th scope="row"><a href="/claims/(\d+)">CPOR-\d{6}</a></th>')
_NEXT = re.compile(r'<a href="([^"]+)"[^>]*>Next page</a>')


def claim_ids(response) -> list[int]:
    return [int(m) for m in _ROW.findall(response.get_data(as_text=True))]


def next_link(response) -> str | None:
    import html

    match = _NEXT.search(response.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else None


def walk(client, url: str, htmx: bool = False, limit: int = 200) -> tuple[list[int], list[str]]:
    """Every claim of the list from ``url``, following Next links; and the URLs visited."""
    headers = {"HX-Request": "true"} if htmx else {}
    seen, urls = [], []
    while url:
        urls.append(url)
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        seen += claim_ids(response)
        url = next_link(response)
        assert len(urls) < limit, "the pages never end"
    return seen, urls

"""Searching by name, domain or product finds the same claims on SQLite and on PostgreSQL (where
trigram indexes serve it): common and rare terms, mixed case, LIKE's own wildcards taken
literally, a term too short to search; whichever way the claims query is written (tenant IDs
resolved first, or a common term tested claim by claim); at a fixed number of statements."""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from portal.claims.listing import claims as listing
from portal.directory.models import Tenant, TenantDomain
from portal.extensions import db
from tests.html import text
from tests.claims.listing.conftest import PRODUCTS, TENANTS, expected_order, fill, insert_claim, walk
from tests.support import Statements, sign_in

# Names with LIKE's wildcards in them, and look-alikes that an unescaped pattern would match.
PERCENT = ("5f0d8bc6-55b4-4a43-9e5e-bd1c1e0a6a01", "100% Pure_Water", ["pure-water.example"])
LOOKALIKE = ("c1b2f0e3-8d7a-4c2e-b7f1-3e5a9d0c4b12", "1000 Pure Water", ["purewater.example"])
BACKSLASH = ("9a7e3c21-6b4d-4f80-a2c9-d8e1f5b3a604", "Back\\Slash Ltd", ["backslash.example"])
EXTRA = (PERCENT, LOOKALIKE, BACKSLASH)

TERMS = (
    "toys",            # two tenants of five
    "adventure",       # one tenant
    "CoNtOsO lTd",     # mixed case
    "contoso.fr",      # a domain
    "traders.com",     # the end of a domain
    "field service",   # a product
    "dynamics 365",    # several products
    "no such thing",   # nothing
    "0% p",            # '%' literally: not "1000 Pure Water"
    "pure_water",      # '_' literally: not "pure water" nor "pure-water"
    "e_w",
    "k\\s",            # the escape character itself
    "%%%",
    "___",
)


@pytest.fixture
def searchable(any_app, any_world):
    fill(any_app, any_world)
    fill(any_app, any_world, count=30, organization_id=any_world.proseware_id)
    with any_app.app_context():
        for tenant_id, name, domains in EXTRA:
            db.session.add(Tenant(tenant_id=tenant_id, name=name))
            db.session.add_all(TenantDomain(domain=d, tenant_id=tenant_id) for d in domains)
        db.session.flush()
        mpn = any_world.mpns[any_world.fabrikam_id][0]
        for n, tenant in enumerate(EXTRA * 2):
            any_world.rows.append(insert_claim(any_world.fabrikam_id, mpn, tenant=tenant, product=PRODUCTS[n],
                                               status="closed"))
        db.session.commit()
    return any_app, any_world


def matching(rows, term: str) -> list[int]:
    """What the search promises: a case-insensitive substring of the tenant's name or of one of
    its domains, or of the product's name."""
    needle = term.strip().lower()
    tenants = {tenant_id: [name, *domains] for tenant_id, name, domains in TENANTS + EXTRA}
    products = {product_id: name for product_id, name, _ in PRODUCTS}
    return expected_order([r for r in rows if any(needle in value.lower() for value in tenants[r.tenant_id])
                           or needle in products[r.product_id].lower()], "newest")


def listed(client, **params) -> list[int]:
    return walk(client, "/claims/?" + urlencode(params))[0]


def test_each_term_finds_the_same_claims_on_either_database(searchable):
    app, world = searchable
    partner = sign_in(app, world.fabrikam_email)
    reviewer = sign_in(app, world.reviewer_email)
    mine = world.of(world.fabrikam_id)
    for term in TERMS:
        assert listed(partner, q=term) == matching(mine, term), term
        assert listed(reviewer, q=term) == matching(world.rows, term), term
    # The wildcards were taken literally: each of these found exactly one customer.
    assert {r.tenant_id for r in world.rows if r.id in listed(partner, q="0% p")} == {PERCENT[0]}
    assert {r.tenant_id for r in world.rows if r.id in listed(partner, q="pure_water")} == {PERCENT[0]}
    assert listed(partner, q="%%%") == listed(partner, q="___") == []


def test_a_common_term_tested_claim_by_claim_finds_the_same_claims(searchable, monkeypatch):
    """Past SEARCH_IDS_MAX matching rows, the claims query tests each claim against the
    directory instead of filtering by resolved IDs: the same claims either way."""
    app, world = searchable
    partner = sign_in(app, world.fabrikam_email)
    reviewer = sign_in(app, world.reviewer_email)
    resolved = {term: (listed(partner, q=term), listed(reviewer, q=term)) for term in TERMS}
    monkeypatch.setattr(listing, "SEARCH_IDS_MAX", 1)
    for term in TERMS:
        assert (listed(partner, q=term), listed(reviewer, q=term)) == resolved[term], term


def test_a_term_under_3_characters_is_not_applied_and_the_field_says_so(searchable):
    app, world = searchable
    partner = sign_in(app, world.fabrikam_email)
    everything = listed(partner)
    for term in ("t", "To", " co "):
        assert listed(partner, q=term) == everything, term
    page = partner.get("/claims/?q=to")
    body = page.get_data(as_text=True)
    tag = re.search(r'<input [^>]*id="search-q"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in tag and 'aria-describedby="search-hint search-q-error"' in tag
    assert "Type at least 3 characters to search by name, domain or product" in text(page)
    fragment = partner.get("/claims/?q=to", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<div id="search-q-error" hx-swap-oob="innerHTML">' in fragment and "at least 3 characters" in fragment
    # The export says the same: not filtered.
    export = partner.get("/claims/export.csv?q=to").get_data(as_text=True)
    assert len(export.strip().splitlines()) == len(everything) + 1
    # A claim number or 3 characters are searched, and the message goes away as one types.
    one = world.of(world.fabrikam_id)[3]
    assert listed(partner, q=str(one.id)) == [one.id]
    fragment = partner.get("/claims/?q=toy", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.search(r'<div id="search-q-error" hx-swap-oob="innerHTML">\s*</div>', fragment)
    assert "aria-invalid" not in re.search(r'<input [^>]*id="search-q"[^>]*>',
                                           partner.get("/claims/?q=toy").get_data(as_text=True)).group(0)


def test_the_french_page_says_it_in_french(searchable):
    app, world = searchable
    partner = sign_in(app, world.fabrikam_email)
    page = partner.get("/claims/?q=to", headers={"Accept-Language": "fr"})
    assert "Saisissez au moins 3 caractères" in text(page)


def test_a_search_page_costs_no_more_statements_for_120_claims_than_for_5(any_app, any_world, monkeypatch):
    """Resolving the search is one statement whatever the number of claims or of tenants
    matched, so a page costs the same at 5 claims as at 120 (and, in the benchmark, at a
    million); the list's own part of it (listing.page) is at most 8 statements."""
    from portal.accounts.models import User

    clients = {"partner": sign_in(any_app, any_world.fabrikam_email), "reviewer": sign_in(any_app, any_world.reviewer_email)}
    recorder = Statements(any_app)

    def statements(who, url):
        clients[who].get(url)
        with recorder as counter:
            response = clients[who].get(url)
        assert response.status_code == 200
        return len(counter.statements)

    def listing_statements(email, term):
        with any_app.app_context():
            user = db.session.scalar(db.select(User).where(User.email == email))
            with recorder as counter:
                listing.page(user, listing.ListQuery(q=term))
            return len(counter.statements)

    terms = ("adventure", "toys", "365 sales", "CPOR-000003", "no such thing", "to")
    cases = [(who, "/claims/?" + urlencode({"q": term})) for who in clients for term in terms]
    fill(any_app, any_world, count=5)
    few = {case: statements(*case) for case in cases}
    fill(any_app, any_world, count=115, start=5)
    many = {case: statements(*case) for case in cases}
    monkeypatch.setattr(listing, "SEARCH_IDS_MAX", 1)
    common = {case: statements(*case) for case in cases}
    assert many == common
    # With 5 claims a page may also read the claims without a submission time (the pager's
    # second range), a statement and its related rows that a full first page does not need.
    for case in cases:
        assert many[case] <= few[case], case
    for email in (any_world.fabrikam_email, any_world.reviewer_email):
        for term in terms:
            assert listing_statements(email, term) <= 8, term

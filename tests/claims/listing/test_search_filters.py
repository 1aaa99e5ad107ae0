"""Search and filters of the claims list, on SQLite and on PostgreSQL, and the URL that says what
is shown: the Next link carries the filters, an htmx request gets the results fragment only,
and the same URL without htmx is the whole page with the same rows."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.html import text
from tests.claims.listing.conftest import (
    ADVENTURE,
    CONTOSO,
    NORTHWIND,
    TAILSPIN,
    WINGTIP,
    claim_ids,
    expected_order,
    fill,
    next_link,
    walk,
)
from tests.support import sign_in


@pytest.fixture
def filled(any_app, any_world):
    fill(any_app, any_world)
    fill(any_app, any_world, count=30, organization_id=any_world.proseware_id)
    return any_app, any_world


def listed(client, sort="newest", **params) -> list[int]:
    return walk(client, "/claims/?" + urlencode({"sort": sort, **params}))[0]


def test_search_by_customer_domain_tenant_id_number_and_product(filled):
    app, world = filled
    client = sign_in(app, world.fabrikam_email)
    mine = world.of(world.fabrikam_id)
    theirs = world.of(world.proseware_id)

    def expect(rows):
        return expected_order(rows, "newest")

    def of_tenant(*tenants):
        return expect([r for r in mine if r.tenant_id in {t[0] for t in tenants}])

    assert listed(client, q="contoso") == of_tenant(CONTOSO)
    assert listed(client, q="CONTOSO LTD") == of_tenant(CONTOSO)
    assert listed(client, q="toys") == of_tenant(TAILSPIN, WINGTIP)
    assert listed(client, q="northwindtraders.com") == of_tenant(NORTHWIND)
    assert listed(client, q="adventure-works") == of_tenant(ADVENTURE)
    assert listed(client, q="contoso.fr") == of_tenant(CONTOSO)
    assert listed(client, q=NORTHWIND[0]) == of_tenant(NORTHWIND)
    assert listed(client, q=NORTHWIND[0].upper()) == of_tenant(NORTHWIND)
    assert listed(client, q="{" + NORTHWIND[0] + "}") == of_tenant(NORTHWIND)
    assert listed(client, q=f"  {{{NORTHWIND[0].upper()}}}  ") == of_tenant(NORTHWIND)
    assert listed(client, q="field service") == expect([r for r in mine if r.product_id == "d365-field-service"])
    assert listed(client, q="Dynamics 365") == expect([r for r in mine if r.product_id.startswith("d365-")])

    one = mine[11]
    for query in (f"CPOR-{one.id:06d}", f"cpor-{one.id:06d}", f"CPOR{one.id}", str(one.id), f"{one.id:06d}", f" {one.id} "):
        assert listed(client, q=query) == [one.id], query

    assert listed(client, q="no such customer") == []
    assert "No claim matches these filters." in text(client.get("/claims/?q=no+such+customer"))
    assert listed(client, q="999999") == []

    # Another organization's claims are found by nothing a partner can type.
    other = theirs[0]
    assert listed(client, q=f"CPOR-{other.id:06d}") == []
    assert listed(client, q=str(other.id)) == []
    assert listed(client, q="Proseware") == []
    assert not set(listed(client, q="contoso")) & {r.id for r in theirs}

    reviewer = sign_in(app, world.reviewer_email)
    assert listed(reviewer, q="contoso") == expect([r for r in world.rows if r.tenant_id == CONTOSO[0]])
    assert listed(reviewer, q=f"CPOR-{other.id:06d}") == [other.id]


def test_each_filter_and_their_combination(filled):
    app, world = filled
    client = sign_in(app, world.fabrikam_email)
    mine = world.of(world.fabrikam_id)

    def expect(keep, sort="newest"):
        return expected_order([r for r in mine if keep(r)], sort)

    for status in ("submitted", "under_review", "partner_action_required", "approved", "rejected", "disputed", "closed"):
        assert listed(client, status=status) == expect(lambda r: r.status == status), status
    for area in ("business_applications", "microsoft_365"):
        assert listed(client, area=area) == expect(lambda r: r.solution_area == area), area
    for activity in ("presales", "usage", "revenue_association"):
        assert listed(client, activity=activity) == expect(lambda r: r.activity == activity), activity
    for mpn in world.fabrikam_mpns:
        assert listed(client, mpn=mpn) == expect(lambda r: r.mpn_id == mpn), mpn
    assert listed(client, arbitration="yes") == expect(lambda r: r.in_arbitration)
    assert listed(client, arbitration="no") == expect(lambda r: not r.in_arbitration)
    assert set(listed(client, arbitration="maybe")) == {r.id for r in mine}

    combined = dict(q="toys", status="submitted", area="business_applications", activity="presales",
                    mpn=world.fabrikam_mpns[0], arbitration="no")
    assert listed(client, sort="due", **combined) == expect(
        lambda r: r.tenant_id in (TAILSPIN[0], WINGTIP[0]) and r.status == "submitted"
        and r.solution_area == "business_applications" and r.activity == "presales"
        and r.mpn_id == world.fabrikam_mpns[0] and not r.in_arbitration, "due")

    # Values no form offers select nothing (or are ignored), never an error.
    assert listed(client, status="draft") == []
    assert listed(client, status="bogus") == []
    assert listed(client, mpn=world.proseware_mpns[0]) == []
    assert listed(client, area="<script>") == []
    assert listed(client, sort="bogus") == listed(client)


def test_reviewer_filters_span_every_organization(filled):
    app, world = filled
    reviewer = sign_in(app, world.reviewer_email)
    assert listed(reviewer, status="approved") == expected_order([r for r in world.rows if r.status == "approved"], "newest")
    assert listed(reviewer, mpn=world.proseware_mpns[0]) == expected_order(world.of(world.proseware_id), "newest")
    page = text(reviewer.get("/claims/?sort=oldest"))
    assert "Proseware, Inc." in page and "Fabrikam Consulting" in page


def test_a_partner_never_sees_another_organizations_claims(filled):
    app, world = filled
    fabrikam = sign_in(app, world.fabrikam_email)
    proseware = sign_in(app, world.proseware_email)
    assert listed(fabrikam) == expected_order(world.of(world.fabrikam_id), "newest")
    assert listed(proseware) == expected_order(world.of(world.proseware_id), "newest")
    for sort in ("oldest", "due", "customer"):
        assert set(listed(proseware, sort=sort)) == {r.id for r in world.of(world.proseware_id)}
    # A cursor taken from another organization's list does not let its rows through.
    reviewer = sign_in(app, world.reviewer_email)
    cursor = parse_qs(urlsplit(next_link(reviewer.get("/claims/"))).query)["after"][0]
    assert set(claim_ids(proseware.get(f"/claims/?after={cursor}"))) <= {r.id for r in world.of(world.proseware_id)}


def test_the_next_link_carries_the_filters(filled):
    app, world = filled
    client = sign_in(app, world.fabrikam_email)
    params = {"q": "dynamics", "area": "business_applications", "arbitration": "no", "sort": "due"}
    response = client.get("/claims/?" + urlencode(params))
    link = next_link(response)
    assert link is not None
    url = urlsplit(link)
    assert url.path == "/claims/"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query.pop("after")
    assert query == params
    # The second page is the continuation of the first, filters kept.
    second = client.get(link)
    assert not set(claim_ids(second)) & set(claim_ids(response))
    assert 'href="/claims/?' in second.get_data(as_text=True) and "First page" in text(second)
    # The export link says the same filters, from the first row.
    export = re.search(r'<a href="(/claims/export\.csv[^"]*)"', second.get_data(as_text=True))
    export_query = {k: v[0] for k, v in parse_qs(urlsplit(text_unescape(export.group(1))).query).items()}
    assert export_query == params


def text_unescape(value: str) -> str:
    import html

    return html.unescape(value)


def test_newest_is_the_default_and_stays_out_of_the_url(filled):
    app, world = filled
    client = sign_in(app, world.fabrikam_email)
    link = next_link(client.get("/claims/?arbitration=no&sort=newest&q=&status="))
    query = parse_qs(urlsplit(link).query)
    assert set(query) == {"arbitration", "after"}


def test_htmx_gets_the_results_fragment_and_the_same_url_gets_the_page(filled):
    app, world = filled
    client = sign_in(app, world.fabrikam_email)
    url = "/claims/?" + urlencode({"q": "toys", "status": "submitted", "sort": "customer"})
    fragment = client.get(url, headers={"HX-Request": "true"})
    page = client.get(url)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and page.status_code == 200
    assert body.lstrip().startswith('<section id="results"')
    assert body.rstrip().endswith("</section>")
    assert "<html" not in body and "<search" not in body
    full = page.get_data(as_text=True)
    assert "<html" in full and "<search" in full and '<section id="results"' in full
    assert claim_ids(fragment) == claim_ids(page) != []
    assert "HX-Request" in page.headers.get("Vary", "") and "HX-Request" in fragment.headers.get("Vary", "")
    # The address bar gets the tidy URL of what is shown (no empty filters), which loads it again.
    pushed = client.get("/claims/?q=toys&status=submitted&area=&activity=&mpn=&arbitration=&sort=customer",
                        headers={"HX-Request": "true"}).headers["HX-Push-Url"]
    assert {k: v for k, v in parse_qs(urlsplit(pushed).query).items()} == {"q": ["toys"], "status": ["submitted"],
                                                                             "sort": ["customer"]}
    assert claim_ids(client.get(pushed)) == claim_ids(page)
    # The page shows the filters it applies.
    assert 'value="toys"' in full
    assert '<option value="submitted" selected>' in full
    assert '<option value="customer" selected>' in full
    # A history restore or a boosted request wants the whole page back.
    for header in ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, {"HX-Request": "true", "HX-Boosted": "true"}):
        restored = client.get(url, headers=header).get_data(as_text=True)
        assert "<html" in restored and claim_ids(client.get(url, headers=header)) == claim_ids(page)


def test_the_filter_form_and_pager_push_the_url(filled):
    app, world = filled
    body = sign_in(app, world.fabrikam_email).get("/claims/").get_data(as_text=True)
    form = re.search(r'<form method="get" action="/claims/"[^>]*>', body).group(0)
    assert 'hx-get="/claims/"' in form and 'hx-target="#results"' in form and 'hx-push-url="true"' in form
    pager = re.search(r'<a href="[^"]+"[^>]*>Next page</a>', body).group(0)
    assert 'hx-push-url="true"' in pager and 'hx-target="#results"' in pager


def test_signed_out_users_are_sent_to_sign_in(app):
    client = app.test_client()
    response = client.get("/claims/")
    assert response.status_code in (302, 401)
    assert client.get("/claims/export.csv").status_code in (302, 401)

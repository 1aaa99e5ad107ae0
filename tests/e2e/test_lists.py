"""The claims list in a real browser: filters and search swap the results with htmx and push
the URL, the back button brings the previous list back, a pushed URL loads the same list on
its own, and the pages go on by key."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.timeutil import utcnow
from tests.e2e.conftest import assert_no_axe_violations, sign_in

PAGE_SIZE = 25
BIRCH = [f"Birch Customer {n:02d}" for n in range(1, 27)]  # submitted, the oldest first
UNDER_REVIEW = ["Cedar North", "Cedar South", "Maple East"]
APPROVED = ["Cedar West"]


@pytest.fixture
def partner_with_claims(portal_app, make_login, submitted_claim):
    """A partner organization of its own (so other tests' claims never show in its list) with
    an MPN ID and 30 claims: more than a page."""
    from portal.accounts.models import Mpn, User

    login = make_login("global_admin")
    with portal_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == login.email))
        db.session.add(Mpn(mpn_id=f"{uuid.uuid4().int % 10**7:07d}", organization_id=user.organization_id,
                           location="Lyon, France", partner_type="Solutions Partner", incentives_enrolled=True))
        db.session.commit()
    start = utcnow() - timedelta(days=2)
    for n, customer in enumerate(BIRCH + UNDER_REVIEW + APPROVED):
        actions = ("start_review",) if customer in UNDER_REVIEW else ("start_review", "approve") if customer in APPROVED else ()
        submitted_claim(login.email, customer, submitted_at=start + timedelta(minutes=n), reviewer_actions=actions)
    return login


def rows(page):
    return page.locator("#results tbody tr")


def expect_customers(page, names) -> None:
    expect(rows(page)).to_have_count(len(names))
    expect(rows(page).locator("td:nth-of-type(1)")).to_have_text(names)


def query(page) -> dict[str, str]:
    """The address bar's query string, without the empty values and the default sort a form sends."""
    values = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items() if values[0]}
    if values.get("sort") == "newest":
        del values["sort"]
    return values


def mark_loaded(page) -> None:
    """Tag the document: the tag survives htmx swaps and history restores, not a page load."""
    page.evaluate("() => { window.e2eSameDocument = true; }")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("() => window.e2eSameDocument === true"), f"{page.url} was loaded again"


def test_filters_push_the_url_and_back_restores_the_previous_list(page, partner_with_claims):
    sign_in(page, partner_with_claims.email, partner_with_claims.password)
    page.goto("/claims/")
    expect(rows(page)).to_have_count(PAGE_SIZE)
    expect(page.get_by_role("link", name="Next page")).to_be_visible()
    assert_no_axe_violations(page)
    mark_loaded(page)

    # Search first, then pick a status, as a person would: the search box loses the focus
    # on the way to the status list.
    page.get_by_label("Search").fill("Cedar")
    expect(page).to_have_url(re.compile(r"[?&]q=Cedar(&|$)"))
    expect_customers(page, ["Cedar West", "Cedar South", "Cedar North"])
    searched = page.url
    page.get_by_label("Status").focus()
    page.get_by_label("Status").select_option(label="Under review")
    expect(page).to_have_url(re.compile(r"[?&]status=under_review(&|$)"))
    expect_customers(page, ["Cedar South", "Cedar North"])
    assert query(page) == {"q": "Cedar", "status": "under_review"}
    filtered = page.url
    assert_not_reloaded(page)

    export = page.get_by_role("link", name="Export these claims (CSV)")
    href = export.get_attribute("href")
    assert urlsplit(href).path == "/claims/export.csv"
    assert {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()} == {"q": "Cedar", "status": "under_review"}
    csv = page.request.get(href)
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text().strip().splitlines()
    assert len(lines) == 3 and all("Cedar" in line for line in lines[1:]), lines

    page.go_back()
    expect(page).to_have_url(searched)
    expect_customers(page, ["Cedar West", "Cedar South", "Cedar North"])
    expect(page.get_by_label("Status")).to_have_value("")
    expect(page.get_by_label("Search")).to_have_value("Cedar")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/claims/$"))
    expect(rows(page)).to_have_count(PAGE_SIZE)
    expect(page.get_by_label("Search")).to_have_value("")
    assert_not_reloaded(page)

    page.goto(filtered)
    expect_customers(page, ["Cedar South", "Cedar North"])
    expect(page.get_by_label("Search")).to_have_value("Cedar")
    expect(page.get_by_label("Status")).to_have_value("under_review")
    page.reload()
    expect_customers(page, ["Cedar South", "Cedar North"])


def test_next_page_loads_with_htmx_and_pushes_the_url(page, partner_with_claims):
    sign_in(page, partner_with_claims.email, partner_with_claims.password)
    page.goto("/claims/")
    newest = list(reversed(BIRCH + UNDER_REVIEW + APPROVED))
    expect_customers(page, newest[:PAGE_SIZE])
    mark_loaded(page)

    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"[?&]after=[^&]+"))
    expect_customers(page, newest[PAGE_SIZE:])
    expect(page.get_by_role("table")).to_have_accessible_name("Claims, continued")
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    assert_not_reloaded(page)
    second = page.url

    page.go_back()
    expect(page).to_have_url(re.compile(r"/claims/$"))
    expect_customers(page, newest[:PAGE_SIZE])
    page.goto(second)
    expect_customers(page, newest[PAGE_SIZE:])


def test_previous_page_loads_with_htmx_and_pushes_the_url(page, partner_with_claims):
    sign_in(page, partner_with_claims.email, partner_with_claims.password)
    page.goto("/claims/")
    newest = list(reversed(BIRCH + UNDER_REVIEW + APPROVED))
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)
    page.get_by_role("link", name="Next page").click()
    expect_customers(page, newest[PAGE_SIZE:])
    mark_loaded(page)

    page.get_by_role("link", name="Previous page").click()
    expect(page).to_have_url(re.compile(r"[?&]before=[^&]+"))
    expect_customers(page, newest[:PAGE_SIZE])
    expect(page.get_by_role("table")).to_have_accessible_name("Claims")
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)
    expect(page.get_by_role("link", name="First page")).to_have_count(0)
    expect(page.get_by_role("link", name="Next page")).to_be_visible()
    assert_not_reloaded(page)
    page.reload()
    expect_customers(page, newest[:PAGE_SIZE])


def test_list_without_results_has_no_axe_violation(page, partner_with_claims):
    sign_in(page, partner_with_claims.email, partner_with_claims.password)
    page.goto("/claims/")
    page.get_by_label("Search").fill("No customer has this name")
    expect(page.get_by_text("No claim matches these filters.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=No(\+|%20)customer"))
    expect(rows(page)).to_have_count(0)
    assert_no_axe_violations(page)
    page.reload()
    expect(page.get_by_text("No claim matches these filters.")).to_be_visible()
    assert_no_axe_violations(page)


def test_a_reviewer_filters_by_a_typed_mpn_id(page, demo, partner_with_claims, portal_app):
    """Reviewers see every organization's claims: the MPN ID is typed, checked beside the field
    as it is typed, and the list follows with the URL pushed."""
    from portal.accounts.models import Mpn, User

    with portal_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == partner_with_claims.email))
        mpn_id = db.session.scalar(db.select(Mpn.mpn_id).where(Mpn.organization_id == user.organization_id))
        organization = user.organization.name
    reviewer = demo.login(reviewer=True)
    sign_in(page, reviewer.email, reviewer.password)
    page.goto("/claims/")
    mark_loaded(page)
    field = page.get_by_label("MPN ID")
    expect(field).to_have_accessible_description("The exact MPN ID, 6 or 7 digits.")

    field.fill("12")
    message = "An MPN ID is 6 or 7 digits: this filter is not applied."
    expect(page.locator("#filter-mpn-error")).to_contain_text(message)
    expect(field).to_have_accessible_description(re.compile(re.escape(message)))
    assert_no_axe_violations(page)

    field.fill(mpn_id)
    expect(page).to_have_url(re.compile(rf"[?&]mpn={mpn_id}\b"))
    expect(page.locator("#filter-mpn-error")).to_have_text("")
    expect(rows(page)).to_have_count(PAGE_SIZE)
    expect(rows(page).locator("td:nth-of-type(1)")).to_have_text([organization] * PAGE_SIZE)  # that MPN's only
    expect(rows(page).first).to_contain_text(APPROVED[-1])  # the newest first
    assert_not_reloaded(page)
    assert_no_axe_violations(page)

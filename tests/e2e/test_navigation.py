import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_axe_violations, sign_in

ALL = ("Home", "Review queue", "Incentives", "Users")


@pytest.mark.parametrize(
    "role, shown",
    [
        ("global_admin", ("Home", "Incentives", "Users")),
        ("incentives_admin", ("Home", "Incentives")),
        ("billing_admin", ("Home",)),
        ("reviewer", ("Home", "Review queue")),
    ],
)
def test_navigation_offers_what_the_role_may_use(page, demo, role, shown):
    login = demo.login(reviewer=True) if role == "reviewer" else demo.login(role)
    sign_in(page, login.email, login.password)
    nav = page.get_by_role("navigation", name="Main")
    for label in ALL:
        link = nav.get_by_role("link", name=label, exact=True)
        if label in shown:
            expect(link).to_be_visible()
        else:
            expect(link).to_have_count(0)
    current = nav.locator("[aria-current=page]")
    expect(current).to_have_text("Review queue" if role == "reviewer" else "Home")
    assert_no_axe_violations(page)


def test_no_access_role_is_told_which_global_admins_to_ask(page, demo):
    login = demo.no_access()
    admins = demo.global_admins(login.partner)
    assert admins, f"partner {login.partner} has no global admin in the demo file"
    sign_in(page, login.email, login.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("You don't have access to this page")
    expect(page.get_by_role("heading", name="Who can give you access")).to_be_visible()
    listed = page.locator("ul.admins > li")
    expect(listed).to_have_count(len(admins))
    for admin in admins:
        expect(listed.filter(has_text=admin.name).get_by_role("link", name=admin.email)).to_have_attribute(
            "href", f"mailto:{admin.email}"
        )
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Incentives", "Users", "Review queue"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
    assert_no_axe_violations(page)


def test_billing_admin_opening_the_users_page_gets_403(page, demo):
    login = demo.login("billing_admin")
    sign_in(page, login.email, login.password)
    response = page.goto("/users")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You don't have access to this page")
    expect(page.get_by_text("Your role doesn't allow this action.")).to_be_visible()


def test_unknown_address_shows_the_404_page(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert_no_axe_violations(page)
    page.get_by_role("link", name="Go to the home page").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_first_tab_reaches_the_skip_link_that_moves_focus_to_main(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

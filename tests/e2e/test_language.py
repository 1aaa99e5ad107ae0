import pytest
from babel.support import Translations
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_axe_violations, sign_in


@pytest.fixture(scope="module")
def french(portal_app):
    """The French for a message from the catalog the server reads (the message itself when
    the catalog is not compiled or lacks it), so labels are checked wherever translated."""
    directory = portal_app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")[0]
    return Translations.load(directory, ["fr"]).gettext


def expect_language(page, lang):
    expect(page.locator("html")).to_have_attribute("lang", lang)


def test_signed_out_visitor_switches_to_french_and_back(page, french):
    page.goto("/login")
    expect_language(page, "en")
    page.get_by_role("button", name="Français").click()
    expect_language(page, "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(french("Sign in"))
    expect(page.get_by_label(french("Password"), exact=True)).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="English").click()
    expect_language(page, "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_language_chosen_before_sign_in_is_kept_after_it(page, make_login, french):
    login = make_login("global_admin")
    page.goto("/login")
    page.get_by_role("button", name="Français").click()
    expect_language(page, "fr")
    page.get_by_label(french("Email"), exact=True).fill(login.email)
    page.get_by_label(french("Password"), exact=True).fill(login.password)
    page.get_by_role("button", name=french("Sign in")).click()
    expect_language(page, "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(french("Customer associations"))


def test_signed_in_user_switches_to_french_on_any_page_and_stays_there(page, make_login, french):
    login = make_login("global_admin")
    sign_in(page, login.email, login.password, through_form=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("button", name="Français").click()
    expect_language(page, "fr")
    nav = page.get_by_role("navigation", name=french("Main"))
    for label in ("Home", "Incentives", "Users"):
        expect(nav.get_by_role("link", name=french(label), exact=True)).to_be_visible()
    expect(nav.locator("[aria-current=page]")).to_have_text(french("Users"))
    assert_no_axe_violations(page)

    nav.get_by_role("link", name=french("Home"), exact=True).click()
    expect_language(page, "fr")
    page.get_by_role("button", name="English").click()
    expect_language(page, "en")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users", exact=True)).to_be_visible()

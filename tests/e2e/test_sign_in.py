import re

from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_axe_violations, sign_in, sign_out


def test_login_page_has_no_accessibility_violation(page):
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    expect(page.get_by_label("Email")).to_be_focused()
    assert_no_axe_violations(page)


def test_partner_signs_in_to_the_home_page(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password, through_form=True)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer associations")
    expect(page.locator(".whoami")).to_contain_text(login.name)


def test_reviewer_signs_in_to_the_review_queue(page, demo):
    login = demo.login(reviewer=True)
    sign_in(page, login.email, login.password, through_form=True)
    expect(page).to_have_url(re.compile(r"/review/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    assert_no_axe_violations(page)


def test_wrong_password_is_refused_with_one_message(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, "not-the-password", through_form=True)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    expect(page.get_by_label("Email")).to_have_value(login.email)
    expect(page.get_by_label("Password")).to_have_value("")
    assert_no_axe_violations(page)


def test_empty_form_focuses_the_error_summary_that_links_to_each_field(page):
    page.goto("/login")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    assert_no_axe_violations(page)
    summary.get_by_role("link", name=re.compile("^Password")).click()
    expect(page.get_by_label("Password")).to_be_focused()


def test_sign_out_returns_to_the_login_page(page, demo):
    login = demo.login("billing_admin")
    sign_in(page, login.email, login.password, through_form=True)
    sign_out(page)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)$"))


def test_error_states_have_no_accessibility_violation_in_dark_mode(page, demo):
    page.emulate_media(color_scheme="dark")
    page.goto("/login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    sign_in(page, demo.login("billing_admin").email, "not-the-password", through_form=True)
    expect(page.get_by_role("alert")).to_be_visible()
    assert_no_axe_violations(page)

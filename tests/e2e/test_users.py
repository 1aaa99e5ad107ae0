import re
import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_axe_violations, sign_in, sign_out


def open_users_page(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Users of "))
    return login


def test_users_page_lists_the_organization_without_accessibility_violation(page, demo):
    login = open_users_page(page, demo)
    table = page.get_by_role("table", name="People who can sign in for your organization")
    expect(table.get_by_role("row", name=re.compile(re.escape(login.email)))).to_have_count(1)
    assert_no_axe_violations(page)


def test_invalid_new_user_shows_the_error_summary_and_marks_each_field(page, demo):
    open_users_page(page, demo)
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_label("Temporary password", exact=True).fill("short")
    page.get_by_role("button", name="Add user").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    for label in ("Name", "Email", "Temporary password"):
        expect(summary.get_by_role("link", name=re.compile(f"^{label}:"))).to_be_visible()
        expect(page.get_by_label(label, exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email", exact=True)).to_have_value("not-an-email")
    assert_no_axe_violations(page)


def test_admin_adds_a_user_who_can_then_sign_in(page, demo):
    open_users_page(page, demo)
    email = f"new-{uuid.uuid4().hex[:8]}@e2e.example"
    name = f"Nouvel Utilisateur {email[4:8]}"
    password = "temporary-password-42"

    page.get_by_label("Name", exact=True).fill(name)
    page.keyboard.press("Tab")
    page.keyboard.type(email)
    page.get_by_label("Role", exact=True).select_option(label="Billing admin")
    page.get_by_label("Language", exact=True).select_option(label="English")
    page.get_by_label("Temporary password", exact=True).fill(password)
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text(f"{name} was added.")
    row = page.get_by_role("row", name=re.compile(re.escape(email)))
    expect(row.get_by_role("rowheader")).to_have_text(name)
    expect(row.get_by_role("combobox")).to_have_value("billing_admin")
    expect(row.get_by_role("cell", name="Active", exact=True)).to_be_visible()

    sign_out(page)
    sign_in(page, email, password, through_form=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer associations")
    expect(page.locator(".whoami")).to_contain_text(name)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users", exact=True)).to_have_count(0)

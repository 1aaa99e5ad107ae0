"""The "API access" page in a browser: a token made, shown once, usable, revoked; the API
reference page; no accessibility violation on either."""
import re

from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_axe_violations, sign_in


def test_a_token_is_made_shown_once_used_and_revoked(page, demo):
    login = demo.login("billing_admin")
    sign_in(page, login.email, login.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API access", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API access")
    assert_no_axe_violations(page)

    page.get_by_label("Expires after (days)", exact=True).fill("400")
    page.get_by_role("button", name="Create token").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Expires after (days)", exact=True)).to_have_attribute("aria-invalid", "true")
    assert_no_axe_violations(page)

    page.get_by_label("Name", exact=True).fill("Our CRM")
    page.get_by_label("Access", exact=True).select_option(label="Read only: list and read claims, run checks")
    page.get_by_label("Expires after (days)", exact=True).fill("30")
    page.get_by_role("button", name="Create token").click()
    secret_field = page.get_by_label("Token", exact=True)
    expect(secret_field).to_have_value(re.compile(r"^cpor_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$"))
    secret = secret_field.input_value()
    assert_no_axe_violations(page)

    answer = page.request.get("/api/v1/claims", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200 and "items" in answer.json()

    page.goto("/account/api-access/")
    expect(page.get_by_label("Token", exact=True)).to_have_count(0)
    row = page.get_by_role("row", name=re.compile("Our CRM"))
    row.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(page.get_by_role("status")).to_have_text("The token “Our CRM” was revoked: it no longer works.")
    expect(page.get_by_role("row", name=re.compile("Our CRM"))).to_have_count(0)
    refused = page.request.get("/api/v1/claims", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status == 401 and refused.json()["code"] == "token_revoked"


def test_the_api_reference_page_is_readable_without_scripts(page, demo):
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", level=1)).to_contain_text("CPOR claims portal API")
    page.get_by_role("link", name="GET /api/v1/claims/{claim_id}", exact=True).click()
    expect(page.get_by_role("heading", name="GET /api/v1/claims/{claim_id} · Read a claim", exact=True)).to_be_in_viewport()
    assert_no_axe_violations(page)

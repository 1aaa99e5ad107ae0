import re

from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_axe_violations, sign_in


def test_incentives_admin_enrolls_and_unenrolls_an_mpn_id(page, demo):
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incentives", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incentives overview")
    assert_no_axe_violations(page)

    row = page.get_by_role("table").locator("tbody tr").first
    mpn_id = row.get_by_role("rowheader").inner_text().strip()
    row = page.locator(f"#mpn-{mpn_id}")
    enrolled = row.get_by_role("cell", name="Enrolled", exact=True)
    was_enrolled = enrolled.count() == 1
    first, second = ("Unenroll", "Enroll") if was_enrolled else ("Enroll", "Unenroll")
    messages = {
        "Enroll": f"MPN ID {mpn_id} is enrolled in incentives.",
        "Unenroll": f"MPN ID {mpn_id} is no longer enrolled in incentives.",
    }
    history_verb = {"Enroll": "enrolled", "Unenroll": "unenrolled"}

    for action, state_after in ((first, not was_enrolled), (second, was_enrolled)):
        row.get_by_role("button", name=f"{action} {mpn_id}", exact=True).click()
        expect(page.get_by_role("status")).to_have_text(messages[action])
        expect(row.get_by_role("cell", name="Enrolled" if state_after else "Not enrolled", exact=True)).to_be_visible()
        latest = page.locator("ol.history > li").first
        expect(latest).to_contain_text(f"{login.name} {history_verb[action]} MPN ID {mpn_id}")
    assert_no_axe_violations(page)


def test_billing_admin_has_no_incentives_page(page, demo):
    login = demo.login("billing_admin")
    sign_in(page, login.email, login.password)
    response = page.goto("/incentives")
    assert response.status == 403
    expect(page).to_have_url(re.compile(r"/incentives$"))

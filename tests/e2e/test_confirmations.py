"""What destroys something asks first, on a page of its own that works without JavaScript: the
claim's withdrawal and a draft's deletion. Their links come after every other action."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    assert_no_axe_violations,
    click_and_wait,
    fabrikam_admin,
    sign_in,
    status_heading,
    watch,
)


@pytest.fixture
def without_javascript(browser, browser_context_args):
    """A page whose browser runs no script at all (htmx and app.js included)."""
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = context.new_page()
    problems = watch(page)
    yield page
    context.close()
    assert not problems, "\n".join(problems)


def test_withdraw_asks_on_a_page_of_its_own_without_javascript(without_javascript, demo, submitted_claim):
    page = without_javascript
    fabrikam = fabrikam_admin(demo)
    claim_id, number = submitted_claim(fabrikam.email, f"Withdrawn Customer {uuid.uuid4().hex[:6]}")
    sign_in(page, fabrikam.email, fabrikam.password)
    page.goto(f"/claims/{claim_id}")

    # The last thing the actions offer, a link, not a button that acts at once.
    actions = page.locator(".claim-actions")
    withdraw = actions.get_by_role("link", name="Withdraw the claim")
    expect(actions.get_by_role("button")).to_have_count(0)
    click_and_wait(page, withdraw)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Withdraw claim {number}?")
    expect(page.get_by_text("This cannot be undone")).to_be_visible()

    click_and_wait(page, page.get_by_role("link", name="Cancel"))
    assert page.url.endswith(f"/claims/{claim_id}")
    expect(status_heading(page, "Submitted")).to_be_visible()

    click_and_wait(page, page.get_by_role("link", name="Withdraw the claim"))
    click_and_wait(page, page.get_by_role("button", name="Withdraw the claim"))
    expect(page.get_by_role("status").filter(has_text=f"Claim {number} was withdrawn.")).to_be_visible()
    expect(status_heading(page, "Closed")).to_be_visible()


def test_delete_draft_is_a_quiet_link_that_asks_and_cancel_returns_to_the_step(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    with page.expect_navigation():
        page.get_by_role("button", name="New claim").click()
    number = re.search(r"CPOR-\d+", page.locator("hgroup p").inner_text()).group(0)
    step_url = page.url

    delete = page.get_by_role("link", name="Delete draft")
    next_button = page.get_by_role("button", name="Next")
    # After the step's own buttons, on the page and for the keyboard; as wide as its words.
    assert next_button.bounding_box()["y"] < delete.bounding_box()["y"]
    assert delete.bounding_box()["width"] < page.viewport_size["width"] / 4
    delete.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete draft {number}?")
    assert_no_axe_violations(page)

    click_and_wait(page, page.get_by_role("link", name="Cancel"))
    assert page.url == step_url
    click_and_wait(page, page.get_by_role("link", name="Delete draft"))
    click_and_wait(page, page.get_by_role("button", name="Delete the draft"))
    expect(page.get_by_role("status").filter(has_text="The draft was deleted.")).to_be_visible()
    expect(page.get_by_text(f"Resume draft {number}")).to_have_count(0)

"""The other paths of the lifecycle, from the browser: two organizations claim the same customer
and product, the reviewer compares them and approves one; the partner that lost disputes, the
reviewer rejects the dispute; the partner that won later disassociates. Three browser contexts,
and neither partner ever sees the other."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.timeutil import utcnow
from tests.e2e.conftest import assert_no_axe_violations, click_and_wait, fabrikam_admin, status_heading

ARBITRATION_NOTICE = "This claim is in arbitration"
JUSTIFICATION = "Our team ran the deployment workshops in March; the signed minutes are attached to the claim."
DISPUTE_ANSWER = "The customer confirmed the other partner's work; the claim stays closed."
DISASSOCIATION = "The customer moved this product to its in-house team."


def proseware_admin(demo):
    admins = [login for login in demo.global_admins("proseware") if login.locale != "fr"]
    if not admins:
        pytest.fail("the demo directory has no English-speaking Proseware global admin")
    return admins[0]


def open_disassociation(page, claim_id: int) -> None:
    """The claim page's quiet link to the page that asks before disassociating."""
    expect(page.get_by_role("heading", name="What you can do")).to_be_visible()
    click_and_wait(page, page.get_by_role("link", name="Disassociate from this customer"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Disassociate from this customer?")
    assert page.url.endswith(f"/claims/{claim_id}/confirm-disassociate")


def assert_never_shows(page, *names: str) -> None:
    html = page.content()
    for name in names:
        assert name not in html, f"{page.url} shows {name!r}"


def test_arbitration_then_dispute_then_disassociation(signed_in, demo, submitted_claim):
    fabrikam, proseware, reviewer_login = fabrikam_admin(demo), proseware_admin(demo), demo.login(reviewer=True)
    fabrikam_name, proseware_name = demo.partners["fabrikam"]["name"], demo.partners["proseware"]["name"]
    tenant = str(uuid.uuid4())
    customer = f"Arbitration Customer {tenant[:6]}"
    won_id, won_number = submitted_claim(fabrikam.email, customer, tenant_id=tenant, submitted_at=utcnow() - timedelta(days=2))
    lost_id, lost_number = submitted_claim(proseware.email, customer, tenant_id=tenant, submitted_at=utcnow() - timedelta(days=1))

    # Each partner is told its claim is in arbitration, and nothing about the other partner.
    winner = signed_in(fabrikam)
    winner.goto(f"/claims/{won_id}")
    expect(winner.locator(".status-panel")).to_contain_text(ARBITRATION_NOTICE)
    assert_never_shows(winner, proseware_name, lost_number)
    loser = signed_in(proseware)
    loser.goto(f"/claims/{lost_id}")
    expect(loser.locator(".status-panel")).to_contain_text(ARBITRATION_NOTICE)
    assert_never_shows(loser, fabrikam_name, won_number)
    assert_no_axe_violations(loser)

    # The reviewer compares the two side by side and approves one.
    reviewer = signed_in(reviewer_login)
    reviewer.goto(f"/review/claims/{lost_id}")
    click_and_wait(reviewer, reviewer.get_by_role("link", name="Compare the competing claims and decide"))
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("Arbitration")
    table = reviewer.get_by_role("table", name="Competing claims, side by side")
    for text in (won_number, lost_number, fabrikam_name, proseware_name, "proof.pdf"):
        expect(table).to_contain_text(text)
    assert_no_axe_violations(reviewer)
    decide = reviewer.get_by_role("button", name="Decide: approve the chosen claim, reject the others")
    click_and_wait(reviewer, decide)
    expect(reviewer.get_by_role("alert").filter(has_text="Choose the claim to approve.").first).to_be_visible()
    assert_no_axe_violations(reviewer)
    reviewer.get_by_label(f"Approve this claim {won_number} ({fabrikam_name})").check()
    click_and_wait(reviewer, reviewer.get_by_role("button", name="Decide: approve the chosen claim, reject the others"))
    expect(reviewer.get_by_role("status").filter(has_text=f"claim {won_number} is approved")).to_be_visible()
    expect(status_heading(reviewer, "Approved")).to_be_visible()

    # The partner that lost sees why, disputes once with a justification.
    loser.reload()
    expect(status_heading(loser, "Rejected")).to_be_visible()
    expect(loser.locator(".status-panel")).to_contain_text("Competing claim")
    assert_never_shows(loser, fabrikam_name, won_number)
    loser.get_by_label("Justification").fill(JUSTIFICATION)
    click_and_wait(loser, loser.get_by_role("button", name="Send the dispute"))
    expect(loser.get_by_role("status").filter(has_text="Your dispute was sent")).to_be_visible()
    expect(status_heading(loser, "Disputed")).to_be_visible()
    expect(loser.locator("#comment-list")).to_contain_text(JUSTIFICATION)
    assert_no_axe_violations(loser)

    # The reviewer rejects the dispute: the claim closes for good.
    reviewer.goto(f"/review/claims/{lost_id}")
    dispute = reviewer.get_by_role("region", name="Decide the dispute")
    expect(dispute).to_be_visible()
    assert_no_axe_violations(reviewer)
    dispute.get_by_label("Message to the partner").fill(DISPUTE_ANSWER)
    click_and_wait(reviewer, dispute.get_by_role("button", name="Reject the dispute"))
    expect(status_heading(reviewer, "Closed")).to_be_visible()

    loser.reload()
    expect(status_heading(loser, "Closed")).to_be_visible()
    expect(loser.locator("#comment-list")).to_contain_text(DISPUTE_ANSWER)
    expect(loser.get_by_role("button", name="Send the dispute")).to_have_count(0)
    assert_never_shows(loser, fabrikam_name, won_number)

    # The partner that won is approved, and later disassociates with a reason.
    winner.reload()
    expect(status_heading(winner, "Approved")).to_be_visible()
    assert_never_shows(winner, proseware_name, lost_number)
    open_disassociation(winner, won_id)
    winner.get_by_label("Reason").fill(DISASSOCIATION)
    click_and_wait(winner, winner.get_by_role("button", name="Disassociate"))
    expect(winner.get_by_role("status").filter(has_text="no longer associated with this customer")).to_be_visible()
    expect(status_heading(winner, "Closed")).to_be_visible()
    expect(winner.get_by_role("region", name="History")).to_contain_text("Disassociated")
    assert_no_axe_violations(winner)


def test_disassociation_asks_first_and_cancel_changes_nothing(signed_in, demo, submitted_claim):
    fabrikam = fabrikam_admin(demo)
    claim_id, _ = submitted_claim(fabrikam.email, f"Kept Customer {uuid.uuid4().hex[:6]}",
                                  reviewer_actions=("start_review", "approve"))
    page = signed_in(fabrikam)
    page.goto(f"/claims/{claim_id}")
    expect(status_heading(page, "Approved")).to_be_visible()
    expect(page.get_by_label("Reason")).to_have_count(0)  # nothing to fill on the claim page
    open_disassociation(page, claim_id)
    expect(page.get_by_text("This cannot be undone")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Reason").fill(DISASSOCIATION)
    click_and_wait(page, page.get_by_role("link", name="Cancel"))
    assert page.url.endswith(f"/claims/{claim_id}")
    expect(status_heading(page, "Approved")).to_be_visible()


def test_disassociation_without_a_reason_is_answered_beside_the_reason(signed_in, demo, submitted_claim):
    fabrikam = fabrikam_admin(demo)
    claim_id, _ = submitted_claim(fabrikam.email, f"Unsure Customer {uuid.uuid4().hex[:6]}",
                                  reviewer_actions=("start_review", "approve"))
    page = signed_in(fabrikam)
    page.goto(f"/claims/{claim_id}")
    open_disassociation(page, claim_id)

    # Only spaces: the server says a reason is needed, in the summary (focused) and beside it.
    page.get_by_label("Reason").fill("   ")
    click_and_wait(page, page.get_by_role("button", name="Disassociate"))
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Give a reason.")).to_be_visible()
    reason = page.get_by_label("Reason")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile(r"Give a reason\.$"))
    assert_no_axe_violations(page)
    page.goto(f"/claims/{claim_id}")
    expect(status_heading(page, "Approved")).to_be_visible()

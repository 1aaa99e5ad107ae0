"""The claim lifecycle in two browsers at once: a Fabrikam admin and a reviewer, each in a
context of their own, talk through the comment thread while the claim goes from Submitted
through Partner action required to Approved."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import expect

from portal.timeutil import utcnow
from tests.e2e.conftest import assert_no_axe_violations, click_and_wait, fabrikam_admin, status_heading

#: The thread's polling brings the other side's comments within this time (SPEC section 6).
NEW_COMMENT_MS = 10_000
REQUEST = "Please add the PoE signed by the customer's CIO.\nThe current one isn't signed."
REPLY = "The signed PoE is on its way: see https://fabrikam.example/poe for the draft."
DESCRIPTION = "Workshops, a pilot and a signed PoE for the sales team."


def comment(page, text: str):
    return page.locator("#comment-list > li").filter(has_text=text.splitlines()[0])


def unread(page) -> int:
    """The count the notification badge shows (none shown is 0)."""
    badge = page.locator("#notification-badge .badge")
    if badge.count() == 0:
        return 0
    return int(re.search(r"\d+", badge.text_content()).group(0))


def mark_loaded(page) -> None:
    """Tag the document: the tag survives htmx swaps but not a reload or a navigation."""
    page.evaluate("() => { window.e2eSameDocument = true; }")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("() => window.e2eSameDocument === true"), f"{page.url} was reloaded"


def test_reviewer_asks_partner_answers_without_reload_and_claim_is_approved(signed_in, demo, submitted_claim):
    partner_login, reviewer_login = fabrikam_admin(demo), demo.login(reviewer=True)
    customer = f"Lifecycle Customer {uuid.uuid4().hex[:6]}"
    # Submitted long ago: overdue, so it heads the reviewer's queue whatever else is in it.
    claim_id, number = submitted_claim(partner_login.email, customer, submitted_at=utcnow() - timedelta(days=90))

    partner = signed_in(partner_login)
    partner.goto(f"/claims/{claim_id}")
    expect(status_heading(partner, "Submitted")).to_be_visible()
    expect(partner.get_by_text("No comment yet.")).to_be_visible()
    unread_at_start = unread(partner)
    mark_loaded(partner)

    reviewer = signed_in(reviewer_login)
    reviewer.goto("/review/")
    row = reviewer.locator(f"#queue-claim-{claim_id}")
    expect(row).to_contain_text(customer)
    expect(row).to_contain_text("Overdue")
    assert_no_axe_violations(reviewer)
    click_and_wait(reviewer, row.get_by_role("link", name=number, exact=True))
    expect(reviewer.get_by_role("heading", level=1)).to_have_text(f"Claim {number}")
    click_and_wait(reviewer, reviewer.get_by_role("button", name="Start review"))
    expect(status_heading(reviewer, "Under review")).to_be_visible()

    information = reviewer.get_by_role("region", name="Request information", exact=True)
    information.get_by_label("Missing proof of execution").check()
    information.get_by_label("What the partner should provide").fill(REQUEST)
    click_and_wait(reviewer, information.get_by_role("button", name="Send the information request"))
    expect(status_heading(reviewer, "Partner action required")).to_be_visible()
    expect(comment(reviewer, REQUEST)).to_be_visible()
    mark_loaded(reviewer)

    # The partner's page, still open since before the review started, gets the request.
    request = comment(partner, REQUEST)
    expect(request).to_be_visible(timeout=NEW_COMMENT_MS)
    expect(request).to_contain_text("Information request")
    expect(request).to_contain_text(f"Reviewer · {reviewer_login.name}")
    assert request.locator(".comment-body").inner_text() == REQUEST, "the line break isn't kept"
    expect(partner.get_by_text("No comment yet.")).to_have_count(0)
    assert_not_reloaded(partner)

    partner.get_by_label("Your comment").fill(REPLY)
    partner.get_by_role("button", name="Post comment").click()
    reply = comment(partner, REPLY)
    expect(reply).to_be_visible()
    expect(reply).to_have_count(1)
    expect(reply.get_by_role("link", name="https://fabrikam.example/poe")).to_have_attribute(
        "href", "https://fabrikam.example/poe"
    )
    expect(partner.get_by_label("Your comment")).to_have_value("")
    assert_not_reloaded(partner)

    # The page shows what the status allows once it is loaded again.
    partner.reload()
    expect(status_heading(partner, "Partner action required")).to_be_visible()
    expect(partner.locator(".status-panel")).to_contain_text("Missing proof of execution")
    assert unread(partner) > unread_at_start, "the badge doesn't count the reviewer's request"
    assert_no_axe_violations(partner)
    unread_after_request = unread(partner)

    click_and_wait(partner, partner.get_by_role("button", name="Edit the claim"))
    expect(partner.get_by_role("heading", level=1)).to_have_text(f"Edit claim {number}")
    assert_no_axe_violations(partner)
    partner.get_by_label("Description of the work").fill(DESCRIPTION)
    click_and_wait(partner, partner.get_by_role("button", name="Save changes"))
    expect(partner.get_by_role("status").filter(has_text="Your changes were saved")).to_be_visible()
    expect(partner.get_by_role("region", name="Claim details")).to_contain_text(DESCRIPTION)

    click_and_wait(partner, partner.get_by_role("button", name="Resubmit the claim"))
    expect(partner.get_by_role("status").filter(has_text=f"Claim {number} was resubmitted")).to_be_visible()
    expect(status_heading(partner, "Under review")).to_be_visible()

    # The reviewer's page, open since the request, gets the reply.
    expect(comment(reviewer, REPLY)).to_be_visible(timeout=NEW_COMMENT_MS)
    # ... and is told that the claim moved on, with a way to see the decisions it now allows.
    moved = reviewer.get_by_role("status").filter(has_text="the claim's status changed to Under review")
    expect(moved).to_be_visible(timeout=NEW_COMMENT_MS)
    assert_not_reloaded(reviewer)
    click_and_wait(reviewer, moved.get_by_role("link", name="Reload the claim"))
    expect(status_heading(reviewer, "Under review")).to_be_visible()
    expect(reviewer.get_by_role("region", name="Claim details")).to_contain_text(DESCRIPTION)
    assert_no_axe_violations(reviewer)
    approval = reviewer.get_by_role("region", name="Approve", exact=True)
    click_and_wait(reviewer, approval.get_by_role("button", name="Approve the claim"))
    expect(status_heading(reviewer, "Approved")).to_be_visible()

    partner.reload()
    expect(status_heading(partner, "Approved")).to_be_visible()
    assert unread(partner) > unread_after_request, "the badge doesn't count the approval"

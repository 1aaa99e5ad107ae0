"""Notifications in the browser (issue 12): following one to its claim marks it read, and
"Mark all as read" empties the badge; the page passes axe."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.claims import comments
from portal.claims.models import Claim
from portal.extensions import db
from tests.e2e.conftest import assert_no_axe_violations, click_and_wait, fabrikam_admin
from tests.e2e.test_lifecycle import unread


def test_following_a_notification_marks_it_read_and_mark_all_empties_the_badge(signed_in, demo, submitted_claim,
                                                                                 portal_app):
    partner_login = fabrikam_admin(demo)
    claim_id, number = submitted_claim(partner_login.email, f"Notified Customer {uuid.uuid4().hex[:6]}",
                                       reviewer_actions=("start_review",))
    with portal_app.test_request_context():  # a reviewer's comment, as the thread's form posts it
        reviewer = db.session.scalar(select(User).where(User.email == "rita@review.example"))
        comments.post(reviewer, db.session.get(Claim, claim_id), "Could you add the signed PoE?")
        db.session.commit()

    partner = signed_in(partner_login)
    partner.goto("/notifications/")
    text = f"A reviewer commented on claim {number}."
    item = partner.locator(".notification-list > li").filter(has_text=text)
    expect(item).to_have_count(1)  # one notification for one comment
    expect(item).to_contain_text("New")
    assert_no_axe_violations(partner)
    before = unread(partner)
    assert before >= 1

    click_and_wait(partner, item.get_by_role("button", name=text))
    expect(partner).to_have_url(f"{partner.url.split('/claims/')[0]}/claims/{claim_id}")
    expect(partner.get_by_role("heading", level=1)).to_have_text(f"Claim {number}")
    assert unread(partner) == before - 1

    partner.goto("/notifications/")
    item = partner.locator(".notification-list > li").filter(has_text=text)
    expect(item.get_by_role("link", name=text)).to_have_attribute("href", f"/claims/{claim_id}")  # read: a plain link
    expect(item).not_to_contain_text("New")
    click_and_wait(partner, partner.get_by_role("button", name="Mark all as read"))
    expect(partner.locator(".notification-list > li.unread")).to_have_count(0)
    assert unread(partner) == 0
    assert_no_axe_violations(partner)

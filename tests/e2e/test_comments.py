"""A long thread shows its latest comments; "Show earlier comments" brings the rest in place."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.claims import comments
from portal.claims.models import Claim
from portal.extensions import db
from tests.e2e.conftest import expect_settled, fabrikam_admin


def test_show_earlier_comments_brings_them_above_the_latest_without_a_reload(signed_in, demo, submitted_claim, portal_app):
    login = fabrikam_admin(demo)
    claim_id, _number = submitted_claim(login.email, f"Thread Customer {uuid.uuid4().hex[:6]}")
    total = comments.PAGE_SIZE + 5
    with portal_app.test_request_context():
        author = db.session.scalar(select(User).where(User.email == login.email))
        claim = db.session.get(Claim, claim_id)
        for n in range(1, total + 1):
            comments.post(author, claim, f"Thread message {n}.")
        db.session.commit()

    page = signed_in(login)
    page.goto(f"/claims/{claim_id}")
    items = page.locator("#comment-list > li")
    expect(items).to_have_count(comments.PAGE_SIZE)
    expect(items.first).to_contain_text("Thread message 6.")
    page.evaluate("() => { window.e2eSameDocument = true; }")

    page.get_by_role("link", name="Show earlier comments").click()

    expect(items).to_have_count(total)
    expect(items.first).to_contain_text("Thread message 1.")
    expect(items.nth(5)).to_contain_text("Thread message 6.")
    expect(items.last).to_contain_text(f"Thread message {total}.")
    expect(page.get_by_role("link", name="Show earlier comments")).to_have_count(0)
    expect_settled(page)
    assert page.evaluate("() => window.e2eSameDocument === true"), "the page was reloaded"


def test_two_comments_posted_in_a_row_both_appear_each_with_its_own_form_key(signed_in, demo, submitted_claim):
    """The comment form's one-time key is renewed (out of band) after each htmx post, and the
    form's reset keeps the new one: the second comment is added, not taken for a resubmission."""
    login = fabrikam_admin(demo)
    claim_id, _number = submitted_claim(login.email, f"Row Customer {uuid.uuid4().hex[:6]}")
    page = signed_in(login)
    page.goto(f"/claims/{claim_id}")
    page.evaluate("() => { window.e2eSameDocument = true; }")
    key = page.locator("#comment-nonce")
    first_key = key.get_attribute("value")

    for text in ("First in a row.", "Second in a row."):
        page.get_by_label("Your comment").fill(text)
        page.get_by_role("button", name="Post comment").click()
        expect(page.locator("#comment-list > li", has_text=text)).to_have_count(1)
        expect(page.get_by_label("Your comment")).to_have_value("")

    expect(page.locator("#comment-list > li")).to_have_count(2)
    assert key.input_value() not in ("", first_key)
    expect_settled(page)
    assert page.evaluate("() => window.e2eSameDocument === true"), "the page was reloaded"

"""The reviewer's claim page and its decisions, and the arbitration view."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.claims.models import Claim, ClaimEvent, Comment
from portal.extensions import db
from tests.html import csp_violations, text
from tests.review.conftest import (
    claim_state,
    days_ago,
    move,
    product,
    start_review,
    submitted,
    tenant,
)
from tests.support import sign_in


def comments_of(app, claim_id) -> list[tuple[str, str]]:
    with app.app_context():
        return [(c.kind, c.body) for c in db.session.scalars(select(Comment).where(Comment.claim_id == claim_id).order_by(Comment.id))]


def events_of(app, claim_id) -> list[str]:
    with app.app_context():
        return [e.action for e in db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id))]


def follow(client, response):
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client.get(response.headers["Location"])


def new_claim(app, world, status="submitted", **kwargs) -> int:
    """A Fabrikam claim brought to ``status`` by the lifecycle, held by the test's reviewer
    once its review started."""
    with app.app_context():
        claim = submitted(world.fabrikam, kwargs.pop("customer", None) or tenant("Contoso Ltd"),
                          kwargs.pop("item", None) or product(name="Dynamics 365 Sales"), **kwargs)
        if status != "submitted":
            start_review(claim, world.reviewer_id)
        if status in ("partner_action_required",):
            move(claim, "request_information", world.reviewer_id, reason_code="missing_poe", message="Add the PoE.")
        if status in ("rejected", "disputed"):
            move(claim, "reject", world.reviewer_id, reason_code="insufficient_poe", message="Not enough.")
        if status == "disputed":
            move(claim, "dispute", world.fabrikam.user_id, message="Here is why it is enough.")
        db.session.commit()
        return claim.id


@pytest.fixture
def reviewer(app, world):
    return sign_in(app, world.reviewer_email)


# The page -----------------------------------------------------------------------------------


def test_the_claim_page_shows_the_claims_data_files_history_and_thread(app, world, reviewer):
    claim_id = new_claim(app, world, "under_review", activity="revenue_association", files=2)
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        claim.solution_seller, claim.isv_product = "Litware Sales", "Litware CRM Connector"
        file_ids = [f.id for f in claim.files]
        db.session.commit()

    response = reviewer.get(f"/review/claims/{claim_id}")
    page = text(response)

    assert response.status_code == 200
    for expected in ("Fabrikam Consulting", world.fabrikam.mpn_id, "Paris, France", "Solutions Partner",
                     "Contoso Ltd", "customer.example", "Dynamics 365 Sales", "Revenue association", "Litware Sales",
                     "Litware CRM Connector", "Dana Customer", "CIO", "dana@customer.example", "Gina Martin",
                     "Workshops and a pilot for the sales team.", "Oct 1, 2026", "proof-1.pdf", "proof-2.pdf",
                     "Under review", "Review started", "Rita Ortiz", "Comments", "History"):
        assert expected in page, expected
    for file_id in file_ids:
        assert f'href="/claims/{claim_id}/files/{file_id}"' in page
        download = reviewer.get(f"/claims/{claim_id}/files/{file_id}")
        assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert not csp_violations(response)


@pytest.mark.parametrize(
    "status, offered, absent",
    [
        ("submitted", ["Take this claim", "Start review"], ["Approve the claim", "Reject the claim", "Approve the dispute"]),
        ("under_review", ["Approve the claim", "Reject the claim", "Send the information request"],
         ["Start review", "Take this claim", "Approve the dispute"]),
        ("partner_action_required", [], ["Start review", "Approve the claim", "Reject the claim", "Approve the dispute"]),
        ("rejected", [], ["Take this claim", "Approve the claim", "Approve the dispute"]),
        ("disputed", ["Approve the dispute", "Reject the dispute"], ["Approve the claim", "Start review"]),
    ],
)
def test_the_page_offers_the_decisions_of_the_status(app, world, reviewer, status, offered, absent):
    claim_id = new_claim(app, world, status)
    page = text(reviewer.get(f"/review/claims/{claim_id}"))
    for label in offered:
        assert label in page, label
    for label in absent:
        assert label not in page, label


def test_a_deadline_that_passed_is_applied_when_the_reviewer_opens_the_claim(app, world, reviewer):
    claim_id = new_claim(app, world, "partner_action_required")
    with app.app_context():
        db.session.get(Claim, claim_id).due_on = days_ago(3).date()
        db.session.commit()

    page = text(reviewer.get(f"/review/claims/{claim_id}"))

    state = claim_state(app, claim_id)
    assert (state.status, state.reason_code) == ("rejected", "no_partner_response")
    assert "Status: Rejected" in page and "No partner response" in page


def test_an_overdue_review_says_so(app, world, reviewer):
    claim_id = new_claim(app, world, when=days_ago(20))
    page = text(reviewer.get(f"/review/claims/{claim_id}"))
    assert "Overdue" in page
    assert claim_state(app, claim_id).status == "submitted"


def test_drafts_and_missing_claims_are_not_found(app, world, reviewer):
    with app.app_context():
        draft = Claim(organization_id=world.fabrikam.org_id, created_by_id=world.fabrikam.user_id, status="draft", draft={})
        db.session.add(draft)
        db.session.commit()
        draft_id = draft.id
    for path in (f"/review/claims/{draft_id}", "/review/claims/999999", f"/review/claims/{draft_id}/arbitration"):
        assert reviewer.get(path).status_code == 404, path
    assert reviewer.post(f"/review/claims/{draft_id}/take").status_code == 404


# Take, start, approve -----------------------------------------------------------------------


def test_take_then_start_review_then_approve(any_app, any_world):
    reviewer = sign_in(any_app, any_world.reviewer_email)
    claim_id = new_claim(any_app, any_world)

    page = follow(reviewer, reviewer.post(f"/review/claims/{claim_id}/take"))
    assert "You hold claim" in text(page)
    assert claim_state(any_app, claim_id).reviewer_id == any_world.reviewer_id

    page = follow(reviewer, reviewer.post(f"/review/claims/{claim_id}/start-review"))
    assert "Review of claim" in text(page)
    assert claim_state(any_app, claim_id).status == "under_review"

    page = follow(reviewer, reviewer.post(f"/review/claims/{claim_id}/approve", data={"approve-message": "Well documented."}))
    state = claim_state(any_app, claim_id)
    assert state.status == "approved" and state.approved_on is not None
    assert "is approved" in text(page) and "Well documented." in text(page)
    assert comments_of(any_app, claim_id) == [("decision", "Well documented.")]
    assert events_of(any_app, claim_id) == ["submit", "take", "start_review", "approve", "decision"]


def test_start_review_assigns_the_reviewer_who_starts_it(app, world, reviewer):
    claim_id = new_claim(app, world)
    reviewer.post(f"/review/claims/{claim_id}/start-review")
    state = claim_state(app, claim_id)
    assert (state.status, state.reviewer_id) == ("under_review", world.reviewer_id)


def test_approve_without_a_message_posts_no_comment(app, world, reviewer):
    claim_id = new_claim(app, world, "under_review")
    reviewer.post(f"/review/claims/{claim_id}/approve", data={"approve-message": "  "})
    assert claim_state(app, claim_id).status == "approved"
    assert comments_of(app, claim_id) == []


def test_a_decision_the_status_does_not_allow_is_flashed_and_changes_nothing(app, world, reviewer):
    claim_id = new_claim(app, world)  # submitted: the review has not started
    response = reviewer.post(f"/review/claims/{claim_id}/approve", data={"approve-message": "Fine."})
    assert response.headers["Location"] == f"/review/claims/{claim_id}"
    page = text(reviewer.get(response.headers["Location"]))
    assert "isn't possible while the claim is Submitted" in page
    assert claim_state(app, claim_id).status == "submitted"
    assert comments_of(app, claim_id) == []
    assert events_of(app, claim_id) == ["submit"]


# Reject ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        ({"reject-message": "Not enough proof."}, "Choose the reason for the rejection."),
        ({"reject-reason_code": "insufficient_poe", "reject-message": ""}, "Write a message that explains the rejection"),
        ({"reject-reason_code": "competing_claim", "reject-message": "Someone else."}, "Not a valid choice"),
    ],
)
def test_reject_needs_a_reviewer_reason_and_a_message(app, world, reviewer, data, message):
    claim_id = new_claim(app, world, "under_review")
    response = reviewer.post(f"/review/claims/{claim_id}/reject", data=data)
    page = text(response)
    assert response.status_code == 422
    assert message in page and "There is a problem" in page
    assert data["reject-message"] in page  # what was typed is kept
    state = claim_state(app, claim_id)
    assert (state.status, state.reason_code) == ("under_review", None)
    assert comments_of(app, claim_id) == []


def test_reject_with_reason_and_message(app, world, reviewer):
    claim_id = new_claim(app, world, "under_review")
    page = follow(reviewer, reviewer.post(f"/review/claims/{claim_id}/reject", data={
        "reject-reason_code": "insufficient_poe", "reject-message": "The PoE shows no work for this customer."}))
    state = claim_state(app, claim_id)
    assert (state.status, state.reason_code, state.reason_message) == (
        "rejected", "insufficient_poe", "The PoE shows no work for this customer.")
    assert "Insufficient proof of execution" in text(page)
    assert comments_of(app, claim_id) == [("decision", "The PoE shows no work for this customer.")]


def test_the_reject_form_offers_the_reviewer_reasons_with_their_labels(app, world, reviewer):
    claim_id = new_claim(app, world, "under_review")
    page = text(reviewer.get(f"/review/claims/{claim_id}"))
    select_html = re.search(r'<select[^>]*name="reject-reason_code".*?</select>', page, re.S).group(0)
    values = re.findall(r'value="([^"]*)"', select_html)
    assert values == ["", "insufficient_poe", "not_eligible", "incorrect_details", "duplicate", "other"]
    assert "Product or activity not eligible" in select_html and "competing_claim" not in select_html


# Request information ------------------------------------------------------------------------


def test_request_information_moves_the_claim_to_the_partner_and_shows_in_the_thread(app, world, reviewer):
    claim_id = new_claim(app, world, "under_review")
    response = reviewer.post(f"/review/claims/{claim_id}/request-information", data={
        "info-reasons": ["missing_poe", "missing_dates"], "info-message": "Add the signed PoE with its dates."})

    page = text(follow(reviewer, response))
    state = claim_state(app, claim_id)
    assert state.status == "partner_action_required"
    assert state.reason_code == "missing_poe,missing_dates"
    assert state.due_on is not None
    assert comments_of(app, claim_id) == [("information_request", "Add the signed PoE with its dates.")]
    assert "Information request" in page and "Missing proof of execution, Missing or old dates" in page

    partner = sign_in(app, world.fabrikam.email)
    partner_page = text(partner.get(f"/claims/{claim_id}"))
    assert "Add the signed PoE with its dates." in partner_page and "Information request" in partner_page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"info-message": "Add it."}, "Choose at least one reason"),
        ({"info-reasons": ["missing_poe"], "info-message": ""}, "Write a message that tells the partner what to provide."),
        ({"info-reasons": ["made_up"], "info-message": "Add it."}, "not a valid choice"),
    ],
)
def test_request_information_needs_reasons_and_a_message(app, world, reviewer, data, message):
    claim_id = new_claim(app, world, "under_review")
    response = reviewer.post(f"/review/claims/{claim_id}/request-information", data=data)
    assert response.status_code == 422
    assert message.lower() in text(response).lower()
    assert claim_state(app, claim_id).status == "under_review"
    assert comments_of(app, claim_id) == []


# Disputes -----------------------------------------------------------------------------------


def test_approve_a_dispute(app, world, reviewer):
    claim_id = new_claim(app, world, "disputed")
    page = follow(reviewer, reviewer.post(f"/review/claims/{claim_id}/approve-dispute", data={"dispute-message": ""}))
    state = claim_state(app, claim_id)
    assert (state.status, state.reason_code) == ("approved", None)
    assert "dispute is upheld" in text(page)


def test_reject_a_dispute_needs_a_message_then_closes_the_claim(app, world, reviewer):
    claim_id = new_claim(app, world, "disputed")

    response = reviewer.post(f"/review/claims/{claim_id}/reject-dispute", data={"dispute-message": " "})
    assert response.status_code == 422
    assert "Explain to the partner why the dispute is rejected." in text(response)
    assert claim_state(app, claim_id).status == "disputed"
    # The shared message box stays optional in the browser: the approve button needs none.
    textarea = re.search(r'<textarea[^>]*id="dispute-message"[^>]*>', response.get_data(as_text=True)).group(0)
    assert "required" not in textarea

    follow(reviewer, reviewer.post(f"/review/claims/{claim_id}/reject-dispute",
                                   data={"dispute-message": "The new PoE predates the subscription."}))
    state = claim_state(app, claim_id)
    assert (state.status, state.reason_code) == ("closed", "rejected_after_dispute")
    assert comments_of(app, claim_id)[-1] == ("decision", "The new PoE predates the subscription.")


def test_dispute_buttons_post_to_their_own_routes(app, world, reviewer):
    claim_id = new_claim(app, world, "disputed")
    page = reviewer.get(f"/review/claims/{claim_id}").get_data(as_text=True)
    assert f'action="/review/claims/{claim_id}/approve-dispute"' in page
    assert f'formaction="/review/claims/{claim_id}/reject-dispute"' in page


# Arbitration --------------------------------------------------------------------------------


def _competing(app, world):
    """Fabrikam and then Proseware claim the same customer and product; Proseware's claim
    went into arbitration when it was submitted."""
    with app.app_context():
        customer, item = tenant("Contoso Ltd"), product(name="Dynamics 365 Sales")
        first = submitted(world.fabrikam, customer, item, activity="presales", when=days_ago(6), files=1,
                          description="Fabrikam ran the pilot.")
        start_review(first, world.reviewer_id)
        second = submitted(world.proseware, customer, item, activity="usage", when=days_ago(2), files=1,
                           description="Proseware deployed it.")
        assert first.in_arbitration and second.in_arbitration, "the lifecycle didn't mark the arbitration"
        db.session.commit()
        return first.id, second.id


def test_the_claim_page_links_to_the_arbitration_view(app, world, reviewer):
    first, _second = _competing(app, world)
    page = reviewer.get(f"/review/claims/{first}").get_data(as_text=True)
    assert f'href="/review/claims/{first}/arbitration"' in page
    lone = new_claim(app, world)
    assert "/arbitration" not in reviewer.get(f"/review/claims/{lone}").get_data(as_text=True)


def test_the_arbitration_view_shows_the_claims_side_by_side(app, world, reviewer):
    first, second = _competing(app, world)
    response = reviewer.get(f"/review/claims/{second}/arbitration")
    page = text(response)
    assert response.status_code == 200
    for expected in ("Fabrikam Consulting", "Proseware, Inc.", world.fabrikam.mpn_id, world.proseware.mpn_id,
                     "Presales", "Usage", "Under review", "Submitted", "Fabrikam ran the pilot.", "Proseware deployed it.",
                     "Oct 1, 2026", "proof-1.pdf"):
        assert expected in page, expected
    assert page.count('type="radio"') == 2 and page.count("Approve this claim") == 2
    assert '<caption' in page and 'scope="row"' in page
    assert not csp_violations(response)
    with app.app_context():
        files = {c.id: [f.id for f in c.files] for c in db.session.scalars(select(Claim))}
    for claim_id in (first, second):
        assert f'href="/claims/{claim_id}/files/{files[claim_id][0]}"' in page


def test_an_arbitration_decision_approves_one_claim_and_rejects_the_other(any_app, any_world):
    reviewer = sign_in(any_app, any_world.reviewer_email)
    first, second = _competing(any_app, any_world)

    response = reviewer.post(f"/review/claims/{first}/arbitration", data={"winner": second, "message": ""})

    assert response.headers["Location"] == f"/review/claims/{second}"
    assert "Arbitration decided" in text(reviewer.get(response.headers["Location"]))
    winner, loser = claim_state(any_app, second), claim_state(any_app, first)
    assert (winner.status, winner.in_arbitration) == ("approved", False)
    assert (loser.status, loser.reason_code, loser.in_arbitration) == ("rejected", "competing_claim", False)
    assert [kind for kind, _body in comments_of(any_app, second)] == ["decision"]
    assert [kind for kind, _body in comments_of(any_app, first)] == ["decision"]
    assert "approved" in comments_of(any_app, second)[0][1]
    assert "competing claim" in comments_of(any_app, first)[0][1]
    assert "win_arbitration" in events_of(any_app, second) and "lose_arbitration" in events_of(any_app, first)


def test_a_claim_in_arbitration_cannot_be_approved_on_its_own(any_app, any_world):
    """Approving one of two competing claims would leave two organizations approved on one
    customer and product: the page offers the arbitration view instead, and the lifecycle
    refuses a hand-made request."""
    reviewer = sign_in(any_app, any_world.reviewer_email)
    first, second = _competing(any_app, any_world)  # first is under review

    page = text(reviewer.get(f"/review/claims/{first}"))
    assert "Approve the claim" not in page
    assert "Another partner's claim competes with this one: approve one of them in the arbitration view." in page
    assert "Send the information request" in page and "Reject the claim" in page

    refused = follow(reviewer, reviewer.post(f"/review/claims/{first}/approve", data={"approve-message": ""}))
    assert "decide between the claims in the arbitration view" in text(refused)
    assert [claim_state(any_app, i).status for i in (first, second)] == ["under_review", "submitted"]
    assert "approve" not in events_of(any_app, first)


def test_the_arbitration_ends_when_the_competitor_is_gone(app, world, reviewer):
    first, second = _competing(app, world)
    with app.app_context():
        from portal.claims import actions
        from portal.accounts.models import User

        actions.withdraw(db.session.get(User, world.proseware.user_id), second)
        db.session.commit()

    assert (claim_state(app, first).in_arbitration, claim_state(app, second).in_arbitration) == (False, False)
    partner_page = text(sign_in(app, world.fabrikam.email).get(f"/claims/{first}"))
    assert "This claim is in arbitration" not in partner_page
    assert "This claim is in arbitration" not in text(reviewer.get(f"/review/claims/{first}"))
    follow(reviewer, reviewer.post(f"/review/claims/{first}/approve", data={"approve-message": ""}))
    assert claim_state(app, first).status == "approved"


def test_a_rejected_competitor_ends_the_arbitration_too(app, world, reviewer):
    first, second = _competing(app, world)
    follow(reviewer, reviewer.post(f"/review/claims/{first}/reject",
                                   data={"reject-reason_code": "insufficient_poe", "reject-message": "Not enough."}))
    assert claim_state(app, first).status == "rejected"
    assert (claim_state(app, first).in_arbitration, claim_state(app, second).in_arbitration) == (False, False)


def test_a_dispute_after_losing_an_arbitration_is_decided_in_arbitration_again(app, world, reviewer):
    first, second = _competing(app, world)
    follow(reviewer, reviewer.post(f"/review/claims/{first}/arbitration", data={"winner": second, "message": ""}))
    with app.app_context():
        loser = db.session.get(Claim, first)
        move(loser, "dispute", world.fabrikam.user_id, message="Our PoE predates theirs.")
        db.session.commit()
    assert (claim_state(app, first).in_arbitration, claim_state(app, second).in_arbitration) == (True, True)

    page = text(reviewer.get(f"/review/claims/{first}"))
    assert "Approve the dispute" not in page and "Reject the dispute" in page
    refused = follow(reviewer, reviewer.post(f"/review/claims/{first}/approve-dispute", data={"dispute-message": ""}))
    assert "decide between the claims in the arbitration view" in text(refused)
    assert [claim_state(app, i).status for i in (first, second)] == ["disputed", "approved"]

    follow(reviewer, reviewer.post(f"/review/claims/{first}/reject-dispute",
                                   data={"dispute-message": "The other partner's PoE stands."}))
    assert claim_state(app, first).status == "closed"
    assert (claim_state(app, first).in_arbitration, claim_state(app, second).in_arbitration) == (False, False)


def test_an_arbitration_decision_needs_a_chosen_claim(app, world, reviewer):
    first, second = _competing(app, world)
    for data in ({"message": "Hm."}, {"winner": "999999"}, {"winner": "x"}):
        response = reviewer.post(f"/review/claims/{first}/arbitration", data=data)
        assert response.status_code == 422
        assert "There is a problem" in text(response)
    assert claim_state(app, first).status == "under_review"
    assert claim_state(app, second).status == "submitted"
    assert comments_of(app, first) == comments_of(app, second) == []


def test_arbitration_with_one_open_claim_has_nothing_to_decide(app, world, reviewer):
    claim_id = new_claim(app, world)
    page = text(reviewer.get(f"/review/claims/{claim_id}/arbitration"))
    assert "nothing to arbitrate" in page and 'type="radio"' not in page


def test_arbitration_message_goes_to_both_partners(app, world, reviewer):
    first, second = _competing(app, world)
    reviewer.post(f"/review/claims/{first}/arbitration", data={"winner": first, "message": "Fabrikam's PoE came first."})
    assert comments_of(app, first) == [("decision", "Fabrikam's PoE came first.")]
    assert comments_of(app, second) == [("decision", "Fabrikam's PoE came first.")]


def test_reviewer_comments_from_the_claim_page_come_back_to_it(app, world, reviewer):
    claim_id = new_claim(app, world, "under_review")
    response = reviewer.post(f"/claims/{claim_id}/comments", data={"body": "Looking at it."})
    assert response.headers["Location"].startswith(f"/review/claims/{claim_id}")
    assert "Looking at it." in text(reviewer.get(f"/review/claims/{claim_id}"))


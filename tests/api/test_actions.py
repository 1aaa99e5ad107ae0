"""POST /api/v1/claims/{id}/submit, /withdraw, /dispute and /reply: the wizard's submission and
the claim page's partner actions, through their own services, for every role and organization;
a retried submit with its Idempotency-Key never submits twice."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from portal.claims.models import Claim, ClaimEvent
from portal.extensions import db
from tests.api.conftest import BEA, BILLIE, GINA, IAN, PAUL, assert_problem, bearer, make_claim, person, token_for
from tests.claims.conftest import complete_draft, valid_steps

FABRIKAM = (GINA, IAN, BEA)
PROSEWARE = (PAUL, BILLIE)


def _draft(app, email=GINA, **steps) -> int:
    with app.test_request_context():
        claim = complete_draft(person(email), valid_steps(**steps))
        db.session.commit()
        return claim.id


def _status(app, claim_id) -> str:
    with app.app_context():
        return db.session.get(Claim, claim_id).status


def _submits(app, claim_id) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ClaimEvent).where(
            ClaimEvent.claim_id == claim_id, ClaimEvent.action == "submit"))


def _post(app, email, url, scope="read_write", **kwargs):
    headers = bearer(token_for(app, email, scope=scope), **kwargs.pop("headers", {}))
    return app.test_client().post(url, headers=headers, **kwargs)


# Submit -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", FABRIKAM)
def test_every_claims_role_submits_its_draft_as_the_wizard_does(demo, email):
    claim_id = _draft(demo, email)
    response = _post(demo, email, f"/api/v1/claims/{claim_id}/submit", json={"attest": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == claim_id and body["status"] == "submitted" and body["submitted_at"]
    assert body["consent"]["state"] == "pending"  # the customer is asked, as after the wizard
    assert _status(demo, claim_id) == "submitted" and _submits(demo, claim_id) == 1


def test_submit_needs_the_attestation_and_valid_steps(demo):
    claim_id = _draft(demo)
    body = assert_problem(_post(demo, GINA, f"/api/v1/claims/{claim_id}/submit", json={},
                                headers={"Accept-Language": "fr"}), 422, "attestation_required")
    assert "attestation" in body["detail"] and body["detail"] != "Confirm the attestation to submit the claim."
    bad = _draft(demo, domain="contoso.com")
    body = assert_problem(_post(demo, GINA, f"/api/v1/claims/{bad}/submit", json={"attest": True}), 422, "step_invalid")
    assert body["errors"][0]["field"] == "customer"
    assert _status(demo, claim_id) == _status(demo, bad) == "draft"


def test_a_second_open_claim_for_the_same_work_is_409(demo):
    make_claim(demo, "submitted")  # Gina's organization's, same tenant, product and activity
    claim_id = _draft(demo, IAN)
    body = assert_problem(_post(demo, IAN, f"/api/v1/claims/{claim_id}/submit", json={"attest": True}), 409, "duplicate_claim")
    assert body["detail"].startswith("Your organization already has an open claim")
    assert _status(demo, claim_id) == "draft"


def test_a_submitted_claim_is_409_and_others_drafts_404(demo):
    submitted = make_claim(demo, "submitted")
    assert_problem(_post(demo, GINA, f"/api/v1/claims/{submitted}/submit", json={"attest": True}), 409, "not_a_draft")
    claim_id = _draft(demo, GINA)
    for email in (IAN, PAUL, BILLIE):  # another user's draft, another organization's: missing
        assert_problem(_post(demo, email, f"/api/v1/claims/{claim_id}/submit", json={"attest": True}), 404, "not_found")
    assert_problem(_post(demo, GINA, f"/api/v1/claims/{claim_id}/submit", json={"attest": True}, scope="read"),
                   403, "token_read_only")
    assert _status(demo, claim_id) == "draft"


def test_a_retried_submit_with_its_key_answers_the_first_response(demo):
    claim_id = _draft(demo)
    headers = bearer(token_for(demo, GINA, scope="read_write"), **{"Idempotency-Key": "crm-submit-1"})
    client, url = demo.test_client(), f"/api/v1/claims/{claim_id}/submit"
    first = client.post(url, json={"attest": True}, headers=headers)
    again = client.post(url, json={"attest": True}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert _submits(demo, claim_id) == 1
    assert_problem(client.post(url, json={"attest": False}, headers=headers), 422, "idempotency_key_reused")


@pytest.mark.real_commits
def test_concurrent_retries_of_a_submit_submit_once(any_demo):
    demo = any_demo
    claim_id = _draft(demo)
    token = token_for(demo, GINA, scope="read_write")
    answers, barrier = [], threading.Barrier(4)

    def submit():
        barrier.wait()
        answer = demo.test_client().post(f"/api/v1/claims/{claim_id}/submit", json={"attest": True},
                                         headers=bearer(token, **{"Idempotency-Key": "same-submit"}))
        answers.append((answer.status_code, answer.get_json()))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [200] * 4
    assert len({(body["id"], body["status"], body["submitted_at"]) for _, body in answers}) == 1
    assert _submits(demo, claim_id) == 1 and _status(demo, claim_id) == "submitted"


# Withdraw, dispute, reply -----------------------------------------------------------------------


@pytest.mark.parametrize("email,allowed", [(GINA, True), (IAN, True), (BEA, False)])
def test_withdraw_as_the_role_allows(demo, email, allowed):
    claim_id = make_claim(demo, "submitted")
    response = _post(demo, email, f"/api/v1/claims/{claim_id}/withdraw")
    if allowed:
        assert response.status_code == 200 and response.get_json()["status"] == "closed"
        assert _status(demo, claim_id) == "closed"
    else:
        assert_problem(response, 403, "permission_denied")
        assert _status(demo, claim_id) == "submitted"


@pytest.mark.parametrize("email", PROSEWARE)
@pytest.mark.parametrize("action,status,payload", [
    ("withdraw", "submitted", None), ("dispute", "rejected", {"justification": "The PoE is signed."}),
    ("reply", "partner_action_required", {"reply": "Added."})])
def test_another_organization_cannot_act(demo, email, action, status, payload):
    claim_id = make_claim(demo, status)
    response = _post(demo, email, f"/api/v1/claims/{claim_id}/{action}", json=payload)
    if email == BILLIE and action == "withdraw":  # the role: 403, as on the pages
        assert_problem(response, 403, "permission_denied")
    else:
        missing = _post(demo, email, f"/api/v1/claims/999999/{action}", json=payload)
        assert assert_problem(response, 404, "not_found") == missing.get_json()
    assert _status(demo, claim_id) == status


@pytest.mark.parametrize("action,payload", [("withdraw", None), ("dispute", {"justification": "x"}), ("reply", {})])
def test_a_status_that_doesnt_allow_the_action_is_409(demo, action, payload):
    claim_id = make_claim(demo, "under_review")
    body = assert_problem(_post(demo, GINA, f"/api/v1/claims/{claim_id}/{action}", json=payload,
                                headers={"Accept-Language": "fr"}), 409, "action_not_allowed")
    assert "statut" in body["detail"]
    assert _status(demo, claim_id) == "under_review"


def test_a_rejection_is_disputed_once_with_a_justification(demo):
    claim_id = make_claim(demo, "rejected")
    url = f"/api/v1/claims/{claim_id}/dispute"
    body = assert_problem(_post(demo, BEA, url, json={"justification": "  "}), 422, "action_refused")
    assert body["detail"].startswith("Give a justification or add new proof")
    response = _post(demo, BEA, url, json={"justification": "The signed PoE shows the work."})
    assert response.status_code == 200 and response.get_json()["status"] == "disputed"
    assert response.get_json()["history"][-1]["action"] == "dispute"
    with demo.app_context():
        db.session.execute(update(Claim).where(Claim.id == claim_id).values(status="rejected"))
        db.session.commit()
    assert_problem(_post(demo, BEA, url, json={"justification": "Again."}), 409, "action_not_allowed")


def test_a_reply_sends_the_claim_back_to_review_with_the_reply_in_the_thread(demo):
    claim_id = make_claim(demo, "partner_action_required")
    response = _post(demo, BEA, f"/api/v1/claims/{claim_id}/reply", json={"reply": "Signed PoE attached."})
    assert response.status_code == 200 and response.get_json()["status"] == "under_review"
    thread = demo.test_client().get(f"/api/v1/claims/{claim_id}/comments", headers=bearer(token_for(demo, BEA))).get_json()
    assert thread["items"][-1]["body"] == "Signed PoE attached." and thread["items"][-1]["kind"] == "reply"


def test_a_read_token_cannot_act(demo):
    claim_id = make_claim(demo, "submitted")
    assert_problem(_post(demo, GINA, f"/api/v1/claims/{claim_id}/withdraw", scope="read"), 403, "token_read_only")
    assert _status(demo, claim_id) == "submitted"


def test_a_retried_withdraw_with_its_key_answers_the_first_response(demo):
    claim_id = make_claim(demo, "submitted")
    client, url = demo.test_client(), f"/api/v1/claims/{claim_id}/withdraw"
    headers = bearer(token_for(demo, GINA, scope="read_write"), **{"Idempotency-Key": "w-1"})
    first, again = client.post(url, headers=headers), client.post(url, headers=headers)
    assert first.status_code == again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    without_key = client.post(url, headers=bearer(token_for(demo, GINA, scope="read_write")))
    assert_problem(without_key, 409, "action_not_allowed")


def test_a_form_sent_where_json_is_expected_is_415_not_an_error_page(demo):
    claim_id = _draft(demo)
    for url in ("/api/v1/claims", f"/api/v1/claims/{claim_id}", f"/api/v1/claims/{claim_id}/submit",
                f"/api/v1/claims/{claim_id}/comments", "/api/v1/checks/customer", "/api/v1/checks/subscription"):
        method = "patch" if url.endswith(str(claim_id)) else "post"
        response = getattr(demo.test_client(), method)(url, data={"attest": "y"},
                                                        headers=bearer(token_for(demo, GINA, scope="read_write")))
        assert_problem(response, 415, "json_expected")
    assert _status(demo, claim_id) == "draft"

"""POST /api/v1/claims and PATCH /api/v1/claims/{id}: drafts from JSON, checked step by step by
the wizard's own forms; a retried create with its Idempotency-Key makes one draft."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.api.models import IdempotencyKey
from portal.claims.base import ClaimStatus
from portal.claims.models import Claim
from portal.extensions import db
from tests.api.conftest import GINA, IAN, PAUL, WINGTIP, assert_problem, bearer, make_claim, person, token_for

ANSWERS = {
    "customer": {"tenant_id": WINGTIP, "domain": "wingtiptoys.com"},
    "product": {"solution_area": "business_applications", "product": "d365-sales"},
    "activity": {"activity": "presales"},
    "mpn": {"mpn": "1234567"},
}


def _drafts(app, email=GINA) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Claim).where(
            Claim.created_by_id == person(email).id, Claim.status == ClaimStatus.DRAFT))


def test_a_draft_is_made_from_any_subset_and_every_step_is_checked(demo):
    response = demo.test_client().post("/api/v1/claims", json=ANSWERS, headers=bearer(token_for(demo, GINA, scope="read_write")))
    assert response.status_code == 201
    body = response.get_json()
    states = {s["step"]: s["state"] for s in body["steps"]}
    assert states == {"customer": "valid", "product": "valid", "activity": "valid", "mpn": "valid",
                      "contacts": "not_answered", "proof": "not_answered"}
    assert body["first_step_to_fix"] == "contacts"
    assert body["claim"]["status"] == "draft" and body["claim"]["customer"]["tenant_id"] == WINGTIP
    assert body["claim"]["product_id"] == "d365-sales" and body["claim"]["activity"] == "presales"


def test_a_step_refused_gives_the_wizards_reason_and_later_steps_wait(demo):
    answers = {**ANSWERS, "customer": {"tenant_id": WINGTIP, "domain": "contoso.com"}}
    body = demo.test_client().post("/api/v1/claims", json=answers,
                                   headers=bearer(token_for(demo, GINA, scope="read_write"))).get_json()
    customer = body["steps"][0]
    assert customer["state"] == "invalid" and [e["code"] for e in customer["errors"]] == ["domain_tenant_mismatch"]
    assert {s["state"] for s in body["steps"][1:4]} == {"not_checked"}
    assert body["first_step_to_fix"] == "customer"


def test_a_patch_fixes_a_step_and_the_draft_moves_on(demo):
    client, headers = demo.test_client(), bearer(token_for(demo, GINA, scope="read_write"))
    claim_id = client.post("/api/v1/claims", json={"customer": {"tenant_id": WINGTIP, "domain": "contoso.com"}},
                           headers=headers).get_json()["claim"]["id"]
    body = client.patch(f"/api/v1/claims/{claim_id}", json=ANSWERS, headers=headers).get_json()
    assert [s["state"] for s in body["steps"][:4]] == ["valid"] * 4


def test_a_retried_create_with_its_key_makes_one_draft(demo):
    client = demo.test_client()
    headers = bearer(token_for(demo, GINA, scope="read_write"), **{"Idempotency-Key": "crm-create-7"})
    before = _drafts(demo)
    first = client.post("/api/v1/claims", json=ANSWERS, headers=headers)
    again = client.post("/api/v1/claims", json=ANSWERS, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    assert _drafts(demo) == before + 1
    other = client.post("/api/v1/claims", json={"customer": ANSWERS["customer"]}, headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    assert _drafts(demo) == before + 1


@pytest.mark.real_commits
def test_concurrent_retries_of_a_create_make_one_draft(any_demo):
    demo = any_demo
    token = token_for(demo, GINA, scope="read_write")
    before = _drafts(demo)
    answers, barrier = [], threading.Barrier(4)

    def create():
        barrier.wait()
        answer = demo.test_client().post("/api/v1/claims", json=ANSWERS,
                                         headers=bearer(token, **{"Idempotency-Key": "same-key"}))
        answers.append((answer.status_code, answer.get_json()["claim"]["id"]))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {201} and len({claim for _, claim in answers}) == 1
    assert _drafts(demo) == before + 1


def test_a_read_token_cannot_create_and_nothing_is_made(demo):
    before = _drafts(demo)
    response = demo.test_client().post("/api/v1/claims", json=ANSWERS, headers=bearer(token_for(demo, GINA)))
    assert_problem(response, 403, "token_read_only")
    assert _drafts(demo) == before


def test_another_users_draft_and_a_submitted_claim_cannot_be_patched(demo):
    client = demo.test_client()
    claim_id = client.post("/api/v1/claims", json=ANSWERS, headers=bearer(token_for(demo, GINA, scope="read_write"))
                           ).get_json()["claim"]["id"]
    for email in (IAN, PAUL):
        assert_problem(client.patch(f"/api/v1/claims/{claim_id}", json=ANSWERS,
                                    headers=bearer(token_for(demo, email, scope="read_write"))), 404, "not_found")
    submitted = make_claim(demo, "submitted")
    assert_problem(client.patch(f"/api/v1/claims/{submitted}", json=ANSWERS,
                                headers=bearer(token_for(demo, GINA, scope="read_write"))), 409, "not_a_draft")


def test_an_unknown_step_or_field_is_422(demo):
    headers = bearer(token_for(demo, GINA, scope="read_write"))
    assert_problem(demo.test_client().post("/api/v1/claims", json={"review": {"attest": "y"}}, headers=headers),
                   422, "invalid_request")
    assert_problem(demo.test_client().post("/api/v1/claims", json={"customer": {"tenant": "x"}}, headers=headers),
                   422, "invalid_request")


class TestDraftLimit:
    @pytest.fixture
    def app_overrides(self, tmp_path):
        return {"DRAFTS_MAX": 0, "UPLOAD_FOLDER": str(tmp_path / "uploads")}

    def test_the_wizards_draft_limit_holds_and_the_key_is_not_kept(self, demo):
        headers = bearer(token_for(demo, GINA, scope="read_write"), **{"Idempotency-Key": "k1", "Accept-Language": "fr"})
        body = assert_problem(demo.test_client().post("/api/v1/claims", json=ANSWERS, headers=headers), 429, "too_many_drafts")
        assert "revendications" in body["detail"]
        with demo.app_context():
            assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0

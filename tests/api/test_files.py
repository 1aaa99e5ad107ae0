"""POST /api/v1/claims/{id}/files (multipart) and DELETE /api/v1/claims/{id}/files/{file_id}: the
pages' files service, with its content checks and limits, for every role and organization."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portal.claims.models import ClaimFile
from portal.extensions import db
from tests.api.conftest import BEA, BILLIE, GINA, IAN, PAUL, assert_problem, bearer, make_claim, person, token_for
from tests.claims.conftest import EXECUTABLE, PDF, PNG, complete_draft, valid_steps


def _draft(app, email=GINA, files=False) -> int:
    with app.test_request_context():
        claim = complete_draft(person(email), valid_steps(), files=files)
        db.session.commit()
        return claim.id


def _files(app, claim_id) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(ClaimFile.filename).where(ClaimFile.claim_id == claim_id)
                                       .order_by(ClaimFile.id)))


def _upload(app, email, claim_id, *parts, scope="read_write", **headers):
    data = {"files": [(io.BytesIO(content), name) for name, content in parts]}
    return app.test_client().post(f"/api/v1/claims/{claim_id}/files", data=data, content_type="multipart/form-data",
                                  headers=bearer(token_for(app, email, scope=scope), **headers))


@pytest.mark.parametrize("email", (GINA, IAN, BEA))
def test_every_claims_role_adds_files_to_its_draft_by_their_content(demo, email):
    claim_id = _draft(demo, email)
    response = _upload(demo, email, claim_id, ("proof.pdf", PDF), ("screenshot.hta", PNG), ("tool.pdf", EXECUTABLE))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [(f["filename"], f["kind"]) for f in body["added"]] == [("proof.pdf", "pdf"), ("screenshot.png", "png")]
    assert [f["filename"] for f in body["refused"]] == ["tool.pdf"] and body["refused"][0]["reason"]
    assert _files(demo, claim_id) == ["proof.pdf", "screenshot.png"]


def test_only_refused_files_is_422_in_the_callers_language_and_nothing_is_kept(demo):
    claim_id = _draft(demo)
    body = assert_problem(_upload(demo, GINA, claim_id, ("tool.exe", EXECUTABLE), **{"Accept-Language": "fr"}),
                          422, "files_refused")
    assert body["errors"][0]["message"].startswith("tool.exe: ") and "Aucun fichier" in body["detail"]
    assert _files(demo, claim_id) == []


def test_the_files_limit_holds(demo):
    claim_id = _draft(demo)
    body = _upload(demo, GINA, claim_id, *[(f"p{i}.pdf", PDF) for i in range(6)]).get_json()
    assert len(body["added"]) == 5 and body["refused"][0]["reason"].startswith("A claim can have at most 5 files")


def test_no_file_or_json_is_422(demo):
    claim_id = _draft(demo)
    headers = bearer(token_for(demo, GINA, scope="read_write"))
    assert_problem(demo.test_client().post(f"/api/v1/claims/{claim_id}/files", json={"files": []}, headers=headers),
                   422, "files_missing")
    body = assert_problem(demo.test_client().post(f"/api/v1/claims/{claim_id}/files", data={"other": "x"},
                                                  content_type="multipart/form-data", headers=headers), 422, "invalid_request")
    assert [e["field"] for e in body["errors"]] == ["files"]


@pytest.mark.parametrize("email", (PAUL, BILLIE, IAN))
def test_another_organizations_claim_or_another_users_draft_is_404(demo, email):
    draft_id, submitted = _draft(demo), make_claim(demo, "partner_action_required")
    for claim_id in (draft_id, submitted) if email != IAN else (draft_id,):
        theirs = _upload(demo, email, claim_id, ("proof.pdf", PDF))
        missing = _upload(demo, email, 999999, ("proof.pdf", PDF))
        assert assert_problem(theirs, 404, "not_found") == missing.get_json()
    assert _files(demo, draft_id) == []


def test_a_status_whose_files_are_settled_is_409_and_a_read_token_403(demo):
    claim_id = make_claim(demo, "under_review")
    before = _files(demo, claim_id)
    body = assert_problem(_upload(demo, GINA, claim_id, ("proof.pdf", PDF)), 409, "action_not_allowed")
    assert "under review" in body["detail"].lower()
    draft_id = _draft(demo)
    assert_problem(_upload(demo, GINA, draft_id, ("proof.pdf", PDF), scope="read"), 403, "token_read_only")
    assert _files(demo, claim_id) == before and _files(demo, draft_id) == []


@pytest.mark.parametrize("status", ("partner_action_required", "rejected"))
def test_files_for_a_reply_or_a_dispute_are_recorded_in_the_history(demo, status):
    claim_id = make_claim(demo, status)
    assert _upload(demo, BEA, claim_id, ("signed.pdf", PDF)).status_code == 201
    history = demo.test_client().get(f"/api/v1/claims/{claim_id}", headers=bearer(token_for(demo, BEA))).get_json()["history"]
    assert history[-1]["kind"] == "upload"
    if status != "rejected":
        return
    # New proof alone is enough to dispute, as on the page.
    disputed = demo.test_client().post(f"/api/v1/claims/{claim_id}/dispute", json={},
                                       headers=bearer(token_for(demo, BEA, scope="read_write")))
    assert disputed.status_code == 200 and disputed.get_json()["status"] == "disputed"


def test_a_retried_upload_with_its_key_adds_once_whatever_the_boundary(demo):
    claim_id = _draft(demo)
    key = {"Idempotency-Key": "upload-1"}
    first = _upload(demo, GINA, claim_id, ("proof.pdf", PDF), **key)
    again = _upload(demo, GINA, claim_id, ("proof.pdf", PDF), **key)
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and _files(demo, claim_id) == ["proof.pdf"]
    assert_problem(_upload(demo, GINA, claim_id, ("proof.pdf", PNG), **key), 422, "idempotency_key_reused")


def test_a_file_is_deleted_by_its_owner_only(demo):
    claim_id = _draft(demo)
    file_id = _upload(demo, GINA, claim_id, ("proof.pdf", PDF)).get_json()["added"][0]["id"]
    url = f"/api/v1/claims/{claim_id}/files/{file_id}"
    for email in (IAN, PAUL):
        assert_problem(demo.test_client().delete(url, headers=bearer(token_for(demo, email, scope="read_write"))),
                       404, "not_found")
    assert_problem(demo.test_client().delete(url, headers=bearer(token_for(demo, GINA))), 403, "token_read_only")
    assert _files(demo, claim_id) == ["proof.pdf"]
    mine = bearer(token_for(demo, GINA, scope="read_write"))
    response = demo.test_client().delete(url, headers=mine)
    assert response.status_code == 204 and _files(demo, claim_id) == []
    assert_problem(demo.test_client().delete(url, headers=mine), 404, "not_found")


def test_a_submitted_claims_file_cannot_be_deleted(demo):
    claim_id = make_claim(demo, "under_review")
    file_ids = [f for f in _files(demo, claim_id)]
    with demo.app_context():
        file_id = db.session.scalar(select(func.min(ClaimFile.id)).where(ClaimFile.claim_id == claim_id))
    assert file_id is not None
    assert_problem(demo.test_client().delete(f"/api/v1/claims/{claim_id}/files/{file_id}",
                                             headers=bearer(token_for(demo, GINA, scope="read_write"))),
                   409, "action_not_allowed")
    assert _files(demo, claim_id) == file_ids

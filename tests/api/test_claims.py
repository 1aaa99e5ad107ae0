"""/api/v1 claims and checks: the pages' access rules (another organization's claim is missing),
the list's filters and keyset pages, the claim page's words, the wizard's checks."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.accounts import services as accounts
from portal.claims import comments, rules
from portal.claims.labels import status_label
from portal.claims.models import Claim, Comment
from portal.extensions import db
from tests.api.conftest import (
    BEA,
    BILLIE,
    GINA,
    IAN,
    PAUL,
    RITA,
    WINGTIP,
    assert_problem,
    bearer,
    make_claim,
    person,
    token_for,
)
from tests.claims.conftest import (
    CONTOSO,
    complete_draft,
    valid_steps,
    SUB_CONTOSO_CS_CSP,
    SUB_CONTOSO_SALES_VL_ACTIVE,
    SUB_CONTOSO_TEAMS,
    SUB_NORTHWIND_FINANCE_EXPIRED,
)

FABRIKAM = (GINA, IAN, BEA)
PROSEWARE = (PAUL, BILLIE)


def _claim_endpoints(claim_id):
    return [f"/api/v1/claims/{claim_id}", f"/api/v1/claims/{claim_id}/comments"]


@pytest.mark.parametrize("email", FABRIKAM)
def test_every_claims_role_of_the_organization_reads_its_claim(demo, make_fabrikam_claim, email):
    claim_id = make_fabrikam_claim("under_review")
    client, headers = demo.test_client(), bearer(token_for(demo, email))
    for url in _claim_endpoints(claim_id):
        assert client.get(url, headers=headers).status_code == 200, url
    listed = client.get("/api/v1/claims?status=under_review", headers=headers).get_json()
    assert claim_id in [item["id"] for item in listed["items"]]


@pytest.mark.parametrize("email", PROSEWARE)
def test_another_organizations_claim_is_404_exactly_like_a_missing_one(any_demo, email):
    demo = any_demo
    claim_id = make_claim(demo, "under_review")
    client, headers = demo.test_client(), bearer(token_for(demo, email, scope="read_write"))
    for url in _claim_endpoints(claim_id):
        theirs, missing = client.get(url, headers=headers), client.get(url.replace(str(claim_id), "999999"), headers=headers)
        assert_problem(theirs, 404, "not_found")
        assert theirs.get_json() == missing.get_json()
    assert_problem(client.post(f"/api/v1/claims/{claim_id}/comments", json={"body": "hi"}, headers=headers), 404, "not_found")
    ids = [item["id"] for item in client.get("/api/v1/claims?limit=100", headers=headers).get_json()["items"]]
    assert claim_id not in ids
    # Searching by the claim's number finds nothing either.
    assert client.get(f"/api/v1/claims?q={claim_id}", headers=headers).get_json()["items"] == []


def test_a_role_without_claims_access_is_403_on_every_endpoint(demo, make_fabrikam_claim):
    claim_id = make_fabrikam_claim("submitted")
    token = token_for(demo, IAN, scope="read_write")
    with demo.test_request_context():
        accounts.change_role(person(GINA), person(IAN).id, "referrals_admin")
        db.session.commit()
    client = demo.test_client()
    for method, url in [("get", "/api/v1/claims"), *[("get", u) for u in _claim_endpoints(claim_id)],
                        ("post", f"/api/v1/claims/{claim_id}/comments"), ("post", "/api/v1/checks/customer"),
                        ("post", "/api/v1/checks/subscription")]:
        assert_problem(getattr(client, method)(url, json={}, headers=bearer(token)), 403, "permission_denied")


def test_another_users_draft_is_404(demo):
    with demo.test_request_context():
        draft = complete_draft(person(IAN), valid_steps())
        db.session.commit()
        draft_id = draft.id
    assert_problem(demo.test_client().get(f"/api/v1/claims/{draft_id}", headers=bearer(token_for(demo, GINA))), 404, "not_found")
    mine = demo.test_client().get(f"/api/v1/claims/{draft_id}", headers=bearer(token_for(demo, IAN)))
    assert mine.status_code == 200 and mine.get_json()["status"] == "draft" and mine.get_json()["next_step"] is None


def test_a_claim_reads_as_its_page_says_it(demo, make_fabrikam_claim):
    claim_id = make_fabrikam_claim("partner_action_required")
    body = demo.test_client().get(f"/api/v1/claims/{claim_id}", headers=bearer(token_for(demo, GINA))).get_json()
    assert body["status"] == "partner_action_required" and body["status_label"] == "Partner action required"
    assert body["customer"]["tenant_id"] == WINGTIP and body["activity"] == "presales"
    assert body["next_step"].startswith("The reviewer needs more from you.") and body["due_on"]
    assert body["reason_codes"] == ["missing_poe", "missing_dates"]
    assert body["reasons"] == ["Missing proof of execution", "Missing or old dates"]
    assert body["actions"] == ["edit", "resubmit"]
    consent = body["consent"]
    assert (consent["state"], consent["label"], consent["decided_at"]) == ("pending", "Waiting for the customer", None)
    assert consent["requested_at"] and body["consent_state"] == "pending"
    assert [entry["action"] for entry in body["history"] if entry["kind"] == "status"] == [
        "submit", "start_review", "request_information"]
    assert body["history"][-1]["label"].startswith("Information requested")
    assert body["page_url"].endswith(f"/claims/{claim_id}")


def test_a_claim_reads_in_french(demo, make_fabrikam_claim):
    claim_id = make_fabrikam_claim("submitted")
    body = demo.test_client().get(f"/api/v1/claims/{claim_id}",
                                  headers=bearer(token_for(demo, GINA), **{"Accept-Language": "fr"})).get_json()
    with demo.test_request_context(headers={"Accept-Language": "fr"}), force_locale("fr"):
        assert body["status_label"] == status_label("submitted") != "Submitted"


def test_the_billing_admin_may_not_withdraw_and_the_claim_says_so(demo, make_fabrikam_claim):
    claim_id = make_fabrikam_claim("submitted")
    client = demo.test_client()
    assert "withdraw" in client.get(f"/api/v1/claims/{claim_id}", headers=bearer(token_for(demo, GINA))).get_json()["actions"]
    assert "withdraw" not in client.get(f"/api/v1/claims/{claim_id}", headers=bearer(token_for(demo, BEA))).get_json()["actions"]


def test_the_list_filters_and_pages_by_key_with_a_next_link(any_demo):
    demo = any_demo
    made = {make_claim(demo, "submitted", tenant=WINGTIP, activity=activity) for activity in ("presales", "usage")}
    client, headers = demo.test_client(), bearer(token_for(demo, GINA))
    seen, url = [], "/api/v1/claims?status=submitted&limit=1"
    while url:
        page = client.get(url, headers=headers)
        assert page.status_code == 200
        body = page.get_json()
        assert len(body["items"]) <= 1
        seen += [item["id"] for item in body["items"]]
        url = body["next"]
        assert url is None or ("limit=1" in url and "status=submitted" in url)
    assert made <= set(seen) and len(seen) == len(set(seen))
    assert all(item["status"] == "submitted" for item in client.get("/api/v1/claims?status=submitted", headers=headers).get_json()["items"])


@pytest.mark.parametrize("query", ["status=draft", "status=nope", "sort=random", "mpn=12", "limit=0", "limit=101", "colour=red"])
def test_a_filter_the_list_does_not_have_is_422(demo, query):
    body = assert_problem(demo.test_client().get(f"/api/v1/claims?{query}", headers=bearer(token_for(demo, GINA))),
                          422, "invalid_request")
    assert body["errors"]


def test_comments_are_listed_oldest_first(demo, make_fabrikam_claim):
    claim_id = make_fabrikam_claim("under_review")
    with demo.test_request_context():
        claim = db.session.get(Claim, claim_id)
        comments.post(person(RITA), claim, "Please add a signed PoE.", kind="information_request")
        comments.post(person(GINA), claim, "Here it is.", kind="reply")
        db.session.commit()
    body = demo.test_client().get(f"/api/v1/claims/{claim_id}/comments", headers=bearer(token_for(demo, IAN))).get_json()
    assert [(c["kind"], c["author"], c["from_reviewer"], c["body"]) for c in body["items"]] == [
        ("information_request", "Rita Ortiz", True, "Please add a signed PoE."),
        ("reply", "Gina Martin", False, "Here it is.")]


def test_a_comment_with_an_idempotency_key_is_added_once(demo, make_fabrikam_claim):
    claim_id = make_fabrikam_claim("submitted")
    client, headers = demo.test_client(), bearer(token_for(demo, GINA, scope="read_write"), **{"Idempotency-Key": "crm-42"})
    first = client.post(f"/api/v1/claims/{claim_id}/comments", json={"body": "Signed PoE attached."}, headers=headers)
    again = client.post(f"/api/v1/claims/{claim_id}/comments", json={"body": "Signed PoE attached."}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    # The same key with another body is refused, not answered with the first comment.
    assert_problem(client.post(f"/api/v1/claims/{claim_id}/comments", json={"body": "Another text."}, headers=headers),
                   422, "idempotency_key_reused")
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment).where(Comment.claim_id == claim_id)) == 1
    assert_problem(client.post(f"/api/v1/claims/{claim_id}/comments", json={"body": "x"},
                               headers={**headers, "Idempotency-Key": "no spaces allowed"}), 422, "idempotency_key_invalid")
    refused = assert_problem(client.post(f"/api/v1/claims/{claim_id}/comments", json={"body": "  "},
                                         headers=bearer(token_for(demo, GINA, scope="read_write"), **{"Accept-Language": "fr"})),
                             422, "comment_refused")
    assert refused["detail"] != "Write a comment first."


# Checks ---------------------------------------------------------------------------------------


def _check(demo, kind, payload, email=GINA, **headers):
    return demo.test_client().post(f"/api/v1/checks/{kind}", json=payload, headers=bearer(token_for(demo, email), **headers))


def test_a_valid_customer_checks_out(demo):
    assert _check(demo, "customer", {"tenant_id": WINGTIP, "domain": "wingtiptoys.com"}).get_json() == {"valid": True, "errors": []}


@pytest.mark.parametrize(("payload", "field", "code"), [
    ({"tenant_id": "not a guid", "domain": "wingtiptoys.com"}, "tenant_id", "tenant_format"),
    ({"tenant_id": "00000000-0000-4000-8000-000000000000", "domain": "wingtiptoys.com"}, "tenant_id", "tenant_unknown"),
    ({"tenant_id": WINGTIP, "domain": "contoso.com"}, "domain", "domain_tenant_mismatch"),
    ({"tenant_id": WINGTIP, "domain": "not a domain"}, "domain", "domain_format"),
])
def test_the_customer_check_gives_the_wizards_reason(demo, payload, field, code):
    body = _check(demo, "customer", payload).get_json()
    assert body["valid"] is False and [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]


def test_the_customer_check_speaks_french(demo):
    body = _check(demo, "customer", {"tenant_id": "not a guid", "domain": "wingtiptoys.com"}, **{"Accept-Language": "fr"}).get_json()
    english = _check(demo, "customer", {"tenant_id": "not a guid", "domain": "wingtiptoys.com"}).get_json()
    with demo.test_request_context(), force_locale("fr"):
        assert body["errors"][0]["message"] == str(rules.check_tenant("not a guid", 0)[1])
    assert body["errors"][0]["message"] != english["errors"][0]["message"]


@pytest.mark.parametrize(("subscription", "code"), [
    (SUB_CONTOSO_CS_CSP, "subscription_csp"),
    (SUB_CONTOSO_TEAMS, "subscription_not_dynamics"),
    (CONTOSO, "tenant_id_as_subscription"),
    (SUB_NORTHWIND_FINANCE_EXPIRED, "subscription_not_on_tenant"),
    ("nope", "not_a_subscription_id"),
])
def test_the_subscription_check_gives_the_wizards_reason(demo, subscription, code):
    body = _check(demo, "subscription", {"tenant_id": CONTOSO, "subscription_id": subscription}).get_json()
    assert body["valid"] is False and [(e["field"], e["code"]) for e in body["errors"]] == [("subscription_id", code)]


def test_a_claimable_subscription_checks_out(demo):
    body = _check(demo, "subscription", {"tenant_id": CONTOSO, "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE}).get_json()
    assert body == {"valid": True, "errors": []}


def test_the_subscription_check_checks_the_tenant_first(demo):
    body = _check(demo, "subscription", {"tenant_id": "x", "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE}).get_json()
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("tenant_id", "tenant_format")]


def test_a_check_with_unknown_fields_or_no_json_is_422(demo):
    assert_problem(_check(demo, "customer", {"tenant_id": WINGTIP, "domain": "x.com", "extra": 1}), 422, "invalid_request")
    assert_problem(_check(demo, "subscription", ["not", "an", "object"]), 422, "invalid_request")


@pytest.mark.parametrize("text", ["a\x00b", "\ud800"])
def test_json_text_no_field_may_hold_is_400_before_anything_is_read(demo, make_fabrikam_claim, text):
    claim_id = make_fabrikam_claim("submitted")
    headers = bearer(token_for(demo, GINA, scope="read_write"), **{"Content-Type": "application/json"})
    client = demo.test_client()
    body = '{"body": "%s"}' % text.encode("unicode_escape").decode().replace("\\x00", "\\u0000")
    assert_problem(client.post(f"/api/v1/claims/{claim_id}/comments", data=body, headers=headers), 400, "unreadable_input")
    assert_problem(client.post("/api/v1/checks/customer", data='{"tenant_id": "%s", "domain": "x.com"}' % body[10:-2],
                               headers=headers), 400, "unreadable_input")
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment).where(Comment.claim_id == claim_id)) == 0

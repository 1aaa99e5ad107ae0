"""Who may call /api/v1: a usable bearer token of a user whose role may use the API, within its
rate limit; never a browser session."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.api.models import ApiToken
from portal.claims.models import Comment
from portal.extensions import db
from portal.timeutil import utcnow
from tests.api.conftest import GINA, IAN, WINGTIP, assert_problem, bearer, person, token_for
from tests.support import PASSWORD, sign_in


def test_no_token_is_401_with_a_bearer_challenge(demo):
    response = demo.test_client().get("/api/v1/claims")
    assert_problem(response, 401, "token_missing")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cpor"'


@pytest.mark.parametrize("header", ["Basic Z2luYTpwdw==", "Bearer", "Bearer abc", "Bearer cpor_123_456", "Token cpor_x"])
def test_a_malformed_authorization_is_401(demo, header):
    response = demo.test_client().get("/api/v1/claims", headers={"Authorization": header})
    assert_problem(response, 401, "token_malformed")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_unknown_token_and_a_wrong_secret_read_the_same(demo):
    real = token_for(demo, GINA)
    unknown = "cpor_0123456789ab_" + "A" * 43
    wrong_secret = real[:-43] + ("B" * 43 if not real.endswith("B" * 43) else "C" * 43)
    for token in (unknown, wrong_secret):
        assert_problem(demo.test_client().get("/api/v1/claims", headers=bearer(token)), 401, "token_invalid")


def test_an_expired_token_is_refused(demo):
    token = token_for(demo, GINA, days=1, now=utcnow() - timedelta(days=2))
    assert_problem(demo.test_client().get("/api/v1/claims", headers=bearer(token)), 401, "token_expired")


def test_a_deactivated_users_token_is_refused(demo):
    token = token_for(demo, IAN)
    with demo.app_context():
        person(IAN).active = False  # as if deactivated by hand in the database: the check still holds
        db.session.commit()
    assert_problem(demo.test_client().get("/api/v1/claims", headers=bearer(token)), 401, "account_inactive")


def test_a_role_without_access_is_403_even_with_a_token_made_before(demo):
    token = token_for(demo, IAN)
    with demo.test_request_context():
        accounts.change_role(person(GINA), person(IAN).id, "referrals_admin")
        db.session.commit()
    assert_problem(demo.test_client().get("/api/v1/claims", headers=bearer(token)), 403, "permission_denied")


def test_a_token_acts_with_the_users_role_as_it_is_now(demo):
    token = token_for(demo, IAN)
    assert demo.test_client().get("/api/v1/claims", headers=bearer(token)).status_code == 200
    with demo.test_request_context():
        accounts.change_role(person(GINA), person(IAN).id, "billing_admin")
        db.session.commit()
    assert demo.test_client().get("/api/v1/claims", headers=bearer(token)).status_code == 200


def test_the_last_use_is_recorded(demo):
    token = token_for(demo, GINA)
    demo.test_client().get("/api/v1/claims", headers=bearer(token))
    with demo.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is not None


def test_a_browser_session_is_never_used_by_the_api(demo):
    client = sign_in(demo, GINA)
    assert client.get("/claims/").status_code == 200
    assert_problem(client.get("/api/v1/claims"), 401, "token_missing")
    response = client.get("/api/v1/claims", headers=bearer(token_for(demo, IAN)))
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_a_read_only_token_cannot_write(demo, make_fabrikam_claim):
    claim_id = make_fabrikam_claim("submitted")
    response = demo.test_client().post(f"/api/v1/claims/{claim_id}/comments", json={"body": "Hello"},
                                       headers=bearer(token_for(demo, GINA)))
    assert_problem(response, 403, "token_read_only")
    with demo.app_context():
        assert db.session.scalar(select(Comment.id).where(Comment.claim_id == claim_id)) is None


def test_problems_are_in_the_accept_language_language(demo):
    body = assert_problem(demo.test_client().get("/api/v1/claims", headers={"Accept-Language": "fr-FR,fr;q=0.9"}),
                          401, "token_missing")
    assert body["title"] == "Non autorisé" and "jeton" in body["detail"]


def test_an_unknown_api_address_is_a_problem_too(demo):
    response = demo.test_client().get("/api/v1/nothing-here", headers=bearer(token_for(demo, GINA)))
    assert_problem(response, 404, "not_found")
    assert_problem(demo.test_client().delete("/api/v1/claims", headers=bearer(token_for(demo, GINA))),
                   405, "method_not_allowed")


class TestRateLimit:
    @pytest.fixture
    def app_overrides(self, tmp_path):
        return {"API_RATE_LIMIT": "2 per minute", "UPLOAD_FOLDER": str(tmp_path / "uploads")}

    def test_each_token_has_its_own_limit(self, demo):
        first, second = token_for(demo, GINA, name="one"), token_for(demo, GINA, name="two")
        client = demo.test_client()
        assert [client.get("/api/v1/claims", headers=bearer(first)).status_code for _ in range(2)] == [200, 200]
        response = client.get("/api/v1/claims", headers=bearer(first))
        assert_problem(response, 429, "rate_limited")
        assert response.headers["Retry-After"] == "60"
        assert client.get("/api/v1/claims", headers=bearer(second)).status_code == 200


class TestCsrf:
    """CSRF protects cookie sessions; the API reads no cookie, so bearer requests need no CSRF
    token and a cookie alone gets nothing done."""

    @pytest.fixture
    def app_overrides(self, tmp_path):
        return {"WTF_CSRF_ENABLED": True, "UPLOAD_FOLDER": str(tmp_path / "uploads")}

    def test_bearer_posts_need_no_csrf_token(self, demo):
        response = demo.test_client().post("/api/v1/checks/customer", json={"tenant_id": WINGTIP, "domain": "wingtiptoys.com"},
                                           headers=bearer(token_for(demo, GINA)))
        assert response.status_code == 200 and response.get_json()["valid"] is True

    def test_a_cookie_session_alone_is_refused(self, demo):
        client = demo.test_client()
        login = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        assert client.post("/login", data={"email": GINA, "password": PASSWORD, "csrf_token": csrf}).status_code == 302
        response = client.post("/api/v1/checks/customer", json={"tenant_id": WINGTIP, "domain": "wingtiptoys.com"})
        assert_problem(response, 401, "token_missing")

"""The "API access" page: making, listing and revoking personal tokens."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts.permissions import PermissionDenied
from portal.api import tokens
from portal.api.models import ApiToken
from portal.extensions import db
from tests.api.conftest import GINA, IAN, RAFAEL, RITA, assert_problem, bearer, person, token_for
from tests.support import PASSWORD, sign_in

TOKEN = re.compile(r"cpor_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def test_the_nav_links_to_the_page_for_roles_that_work_on_claims(demo):
    assert "API access" in sign_in(demo, IAN).get("/").get_data(as_text=True)
    assert "API access" not in sign_in(demo, RAFAEL).get("/").get_data(as_text=True)
    assert "API access" not in sign_in(demo, RITA).get("/").get_data(as_text=True)


@pytest.mark.parametrize("email", [RAFAEL, RITA])
def test_roles_without_claims_work_cannot_open_the_page_nor_make_tokens(demo, email):
    client = sign_in(demo, email)
    assert client.get("/account/api-access/").status_code == 403
    assert client.post("/account/api-access/", data={"name": "x", "scope": "read", "days": "30"}).status_code == 403
    with demo.test_request_context(), pytest.raises(PermissionDenied):
        tokens.create(person(email), "x", "read", 30)


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(demo):
    client = sign_in(demo, GINA)
    response = client.post("/account/api-access/", data={"name": "Our CRM", "scope": "read", "days": "30"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "shown only once" in page
    secret = TOKEN.search(page).group(0)
    assert secret not in client.get("/account/api-access/").get_data(as_text=True)
    with demo.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == person(GINA).id))
        assert row.name == "Our CRM" and row.scope == "read" and (row.expires_at - row.created_at).days == 30
        assert secret.split("_")[-1] not in row.secret_hash and len(row.secret_hash) == 64
        assert row.lookup_id in secret
    assert demo.test_client().get("/api/v1/claims", headers=bearer(secret)).status_code == 200


@pytest.mark.parametrize("days", ["0", "366", "", "ten"])
def test_an_expiry_outside_1_to_365_days_is_refused_beside_its_field(demo, days):
    response = sign_in(demo, GINA).post("/account/api-access/", data={"name": "CRM", "scope": "read", "days": days})
    assert response.status_code == 422
    assert 'id="days-error"' in response.get_data(as_text=True)
    with demo.app_context():
        assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == person(GINA).id)) is None


def test_a_nameless_token_or_an_unknown_scope_is_refused(demo):
    client = sign_in(demo, GINA)
    assert client.post("/account/api-access/", data={"name": " ", "scope": "read", "days": "30"}).status_code == 422
    assert client.post("/account/api-access/", data={"name": "x", "scope": "admin", "days": "30"}).status_code == 422


def test_a_revoked_token_stops_working_at_once(demo):
    secret = token_for(demo, GINA)
    client = sign_in(demo, GINA)
    page = client.get("/account/api-access/").get_data(as_text=True)
    token_id = int(re.search(r'id="token-(\d+)"', page).group(1))
    response = client.post(f"/account/api-access/{token_id}/revoke")
    assert response.status_code == 302
    assert f'id="token-{token_id}"' not in client.get("/account/api-access/").get_data(as_text=True)
    assert_problem(demo.test_client().get("/api/v1/claims", headers=bearer(secret)), 401, "token_revoked")


def test_nobody_revokes_another_users_token(demo):
    secret = token_for(demo, GINA)
    with demo.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == person(GINA).id))
    assert sign_in(demo, IAN).post(f"/account/api-access/{token_id}/revoke").status_code == 404
    assert demo.test_client().get("/api/v1/claims", headers=bearer(secret)).status_code == 200


def test_deactivating_a_user_revokes_their_tokens_for_good(demo):
    secret = token_for(demo, IAN)
    with demo.test_request_context():
        accounts.set_active(person(GINA), person(IAN).id, False)
        db.session.commit()
    assert_problem(demo.test_client().get("/api/v1/claims", headers=bearer(secret)), 401, "token_revoked")
    with demo.test_request_context():
        accounts.set_active(person(GINA), person(IAN).id, True)
        db.session.commit()
    assert_problem(demo.test_client().get("/api/v1/claims", headers=bearer(secret)), 401, "token_revoked")


def test_a_user_holds_at_most_20_tokens(demo):
    with demo.test_request_context():
        for n in range(tokens.MAX_ACTIVE):
            tokens.create(person(GINA), f"t{n}", "read", 30)
        with pytest.raises(tokens.TokenError):
            tokens.create(person(GINA), "one more", "read", 30)


class TestCsrf:
    @pytest.fixture
    def app_overrides(self, tmp_path):
        return {"WTF_CSRF_ENABLED": True, "UPLOAD_FOLDER": str(tmp_path / "uploads")}

    def test_the_page_s_forms_need_the_csrf_token(self, demo):
        client = demo.test_client()
        login = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        assert client.post("/login", data={"email": GINA, "password": PASSWORD, "csrf_token": csrf}).status_code == 302
        assert client.post("/account/api-access/", data={"name": "x", "scope": "read", "days": "30"}).status_code == 400

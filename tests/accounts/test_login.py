"""Signing in and out: credentials, deactivation, redirects after sign-in, cookies, rate limit."""
from __future__ import annotations

import pytest

from portal.accounts.models import User
from portal.extensions import db
from tests.factories import PASSWORD
from tests.html import text, without_tokens

WRONG = "Email or password is incorrect."


def _set_active(app, user_id, active):
    with app.app_context():
        db.session.get(User, user_id).active = active
        db.session.commit()


def test_good_credentials_sign_in_and_go_home(client, people):
    response = client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response.location == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert people.billing_admin.name in text(home)


def test_email_is_matched_whatever_its_case(client, people):
    response = client.post("/login", data={"email": "BILL@Contoso.Example.COM", "password": PASSWORD})
    assert response.status_code == 302


def _failed_sign_in(app, email, password):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 200
    # The page echoes the email typed; everything else must be the same.
    return without_tokens(text(response)).replace(email, "EMAIL")


def test_wrong_email_and_wrong_password_get_the_same_answer(app, people):
    wrong_email = _failed_sign_in(app, "nobody@contoso.example.com", PASSWORD)
    wrong_password = _failed_sign_in(app, people.billing_admin.email, "not-the-password")

    assert WRONG in wrong_email
    assert wrong_email == wrong_password


def test_deactivated_user_gets_the_same_answer_as_a_wrong_password(app, people):
    _set_active(app, people.billing_admin.id, False)

    deactivated = _failed_sign_in(app, people.billing_admin.email, PASSWORD)
    wrong_password = _failed_sign_in(app, people.billing_admin.email, "not-the-password")

    assert WRONG in deactivated
    assert deactivated == wrong_password


def test_deactivated_user_cannot_sign_in(app, client, people):
    _set_active(app, people.billing_admin.id, False)

    client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})

    assert client.get("/").location.startswith("/login")


def test_signed_in_user_is_signed_out_on_the_next_request_once_deactivated(app, client, people, login):
    login("billing_admin")
    assert client.get("/").status_code == 200

    _set_active(app, people.billing_admin.id, False)

    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert "Sign out" not in text(client.get("/login"))


def test_reactivation_does_not_revive_a_session_ended_by_deactivation(app, client, people, login):
    login("billing_admin")
    _set_active(app, people.billing_admin.id, False)
    client.get("/")

    _set_active(app, people.billing_admin.id, True)

    assert client.get("/").location.startswith("/login")


def test_sign_out_ends_the_session(client, login):
    login("billing_admin")

    response = client.post("/logout")

    assert response.location == "/login"
    assert client.get("/").location.startswith("/login")


def test_signed_in_user_visiting_sign_in_goes_home(client, login):
    login("billing_admin")
    assert client.get("/login").location == "/"


def test_missing_fields_are_reported_beside_the_fields(client):
    response = client.post("/login", data={"email": "", "password": ""})
    page = text(response)
    assert response.status_code == 200
    assert 'id="email-error"' in page and 'id="password-error"' in page
    assert "There is a problem" in page


@pytest.mark.production_password_hash
def test_passwords_are_stored_as_scrypt_hashes(app, people):
    with app.app_context():
        stored = db.session.get(User, people.billing_admin.id).password_hash
    assert stored.startswith("scrypt:")
    assert PASSWORD not in stored


def test_sign_in_returns_to_the_page_asked_for(client, people):
    assert client.get("/incentives").location == "/login?next=/incentives"

    response = client.post(
        "/login?next=/incentives",
        data={"email": people.incentives_admin.email, "password": PASSWORD, "next": "/incentives"},
    )

    assert response.location == "/incentives"


def test_sign_in_page_carries_next_into_the_form(client):
    page = client.get("/login?next=%2Fincentives").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/incentives"' in page


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/login",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\t/evil.example",
    ],
)
def test_sign_in_never_redirects_off_site(client, people, target):
    response = client.post(
        "/login", data={"email": people.billing_admin.email, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response.location == "/"


def _set_cookie(response, name):
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, f"no {name} cookie set"
    return headers[-1]


def test_session_cookie_is_http_only_and_same_site_lax(app, client, people):
    response = client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})

    cookie = _set_cookie(response, app.config["SESSION_COOKIE_NAME"])
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_sign_in_starts_a_fresh_session(client, people):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"

    client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})

    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


RATE_LIMITED = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}


@pytest.mark.parametrize("app_overrides", [RATE_LIMITED])
def test_fourth_sign_in_attempt_in_a_minute_is_refused(client, people):
    for _ in range(3):
        response = client.post("/login", data={"email": people.billing_admin.email, "password": "wrong"})
        assert response.status_code == 200

    response = client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many attempts" in text(response)
    assert "<footer" in text(response)
    assert client.get("/").location.startswith("/login")  # the good password did not count


@pytest.mark.parametrize("app_overrides", [RATE_LIMITED])
def test_rate_limit_counts_only_sign_in_posts(client, people):
    for _ in range(5):
        assert client.get("/login").status_code == 200
    response = client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})
    assert response.status_code == 302

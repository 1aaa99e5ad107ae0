"""What the whole app does for every page: settings, CSRF, htmx sign-in, CSP, error pages."""
from __future__ import annotations

import stat
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from portal import config, create_app
from portal.accounts.models import Mpn, User
from portal.extensions import db
from tests import factories
from tests.html import csp_violations, form_token, header_token, text
from tests.support import sign_in

EMAIL = "gloria@contoso.example.com"


@pytest.fixture
def admin(app):
    """A global admin (who may also manage incentives) with one unenrolled MPN ID."""
    with app.app_context():
        organization = factories.org(name="Contoso Partners")
        user = factories.user(organization, "global_admin", email=EMAIL, name="Gloria Admin")
        factories.user(organization, "billing_admin", email="bill@contoso.example.com")
        mpn = factories.mpn(organization, enrolled=False)
        db.session.commit()
        return {"id": user.id, "mpn_pk": mpn.id}


# --- settings ---------------------------------------------------------------------------------


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)

    with pytest.raises(config.ConfigError):
        config.load(str(tmp_path))
    with pytest.raises(config.ConfigError):
        create_app()
    assert not (tmp_path / "secret_key").exists()


def test_production_with_a_secret_key_sends_cookies_over_https_only(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)

    settings = config.load(str(tmp_path))

    assert settings["SECRET_KEY"] == "from-the-environment"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_keeps_a_generated_secret_key_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)

    first = config.load(str(tmp_path))
    second = config.load(str(tmp_path))

    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 64
    assert second["SECRET_KEY"] == first["SECRET_KEY"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_development_prefers_the_environments_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert config.load(str(tmp_path))["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_health_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


# --- CSRF -------------------------------------------------------------------------------------

CSRF_ON = {"WTF_CSRF_ENABLED": True}


def _csrf_sign_in(client):
    token = form_token(client.get("/login"))
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_sign_in_without_a_token_is_refused(client, admin):
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})

    assert response.status_code == 400
    assert "The form has expired" in text(response)
    assert client.get("/").location.startswith("/login")


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_sign_in_with_the_pages_token_works(client, admin):
    _csrf_sign_in(client)
    assert client.get("/").status_code == 200


def _state(app, admin):
    with app.app_context():
        users = db.session.execute(select(User.email, User.role, User.active).order_by(User.id)).all()
        return [tuple(row) for row in users], db.session.get(Mpn, admin["mpn_pk"]).incentives_enrolled


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/users", {"name": "Nora", "email": "nora@contoso.example.com", "role": "billing_admin",
                    "locale": "en", "password": "a-long-temporary-password"}),
        ("/users/{user}/role", {"role": "billing_admin"}),
        ("/users/{user}/deactivate", {}),
        ("/incentives/{mpn}/enroll", {}),
        ("/language", {"locale": "fr", "next": "/"}),
        ("/logout", {}),
    ],
)
def test_post_without_a_token_is_refused_and_changes_nothing(app, client, admin, path, data):
    _csrf_sign_in(client)
    before = _state(app, admin)

    response = client.post(path.format(user=admin["id"], mpn=admin["mpn_pk"]), data=data)

    assert response.status_code == 400
    assert "The form has expired" in text(response)
    assert _state(app, admin) == before
    assert client.get("/").status_code == 200  # still signed in


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_post_with_a_wrong_token_is_refused(app, client, admin):
    _csrf_sign_in(client)
    response = client.post(f"/incentives/{admin['mpn_pk']}/enroll", headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert _state(app, admin)[1] is False


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_htmx_post_with_the_token_from_hx_headers_is_accepted(app, client, admin):
    _csrf_sign_in(client)
    token = header_token(client.get("/incentives"))

    response = client.post(
        f"/incentives/{admin['mpn_pk']}/enroll", headers={"HX-Request": "true", "X-CSRFToken": token}
    )

    assert response.status_code == 302
    assert _state(app, admin)[1] is True


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_form_post_with_the_token_from_the_form_is_accepted(app, client, admin):
    _csrf_sign_in(client)
    token = form_token(client.get("/users"))

    response = client.post(f"/users/{admin['id']}/deactivate", data={"csrf_token": token})

    # Accepted, then refused by the rule that keeps the last global admin.
    assert response.status_code == 302
    assert "This is the last active global admin" in text(client.get("/users"))


# --- signed-out htmx requests -----------------------------------------------------------------


def test_signed_out_htmx_request_gets_401_and_hx_redirect(client):
    response = client.get("/users", headers={"HX-Request": "true"})

    assert response.status_code == 401
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/users"]
    assert response.get_data() == b""


def test_signed_out_htmx_post_gets_401_and_hx_redirect(client, admin):
    response = client.post(f"/incentives/{admin['mpn_pk']}/enroll", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_signed_out_normal_request_is_redirected(client):
    response = client.get("/users")
    assert response.status_code == 302
    assert response.location == "/login?next=/users"
    assert "HX-Redirect" not in response.headers


def test_responses_vary_on_hx_request(client):
    assert "HX-Request" in client.get("/login").headers.get("Vary", "")


# --- Content-Security-Policy ------------------------------------------------------------------


def _assert_strict_csp(response):
    policy = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize(
    ("path", "signed_in", "status"),
    [
        ("/login", False, 200),
        ("/", True, 200),
        ("/users", True, 200),
        ("/incentives", True, 200),
        ("/review/", True, 403),
        ("/no-such-page", False, 404),
        ("/healthz", False, 200),
        ("/users", False, 302),
    ],
)
def test_every_response_has_a_strict_csp_and_pages_need_no_inline_code(client, admin, path, signed_in, status):
    if signed_in:
        sign_in(client.application, EMAIL, client=client)

    response = client.get(path)

    assert response.status_code == status
    _assert_strict_csp(response)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if response.mimetype == "text/html" and status != 302:
        assert not csp_violations(response), csp_violations(response)
        assert response.headers["Cache-Control"] == "no-store"


def test_pages_with_errors_and_messages_need_no_inline_code(client, admin):
    sign_in(client.application, EMAIL, client=client)
    refused = client.post("/users", data={"name": "", "email": "nope", "role": "x", "password": "short"})
    assert refused.status_code == 422
    client.post(f"/incentives/{admin['mpn_pk']}/enroll")
    with_history = client.get("/incentives")

    for response in (refused, with_history):
        _assert_strict_csp(response)
        assert not csp_violations(response), csp_violations(response)


def test_csp_checker_sees_inline_code():
    """The check above would notice what it looks for."""

    class Page:
        def get_data(self, as_text=False):
            return '<script>x()</script><script src="/a.js"></script><p style="color:red" onclick="y()"><style>p{}</style>'

    found = csp_violations(Page())
    assert found.inline_scripts == 1
    assert found.style_attributes == ["p"]
    assert found.event_handlers == ["p onclick"]
    assert found.style_elements == 1


# --- error pages ------------------------------------------------------------------------------


def _in_layout(page):
    return "<footer" in page and 'id="main"' in page and "Contact support" in page


def test_not_found_page_is_in_the_layout(client):
    response = client.get("/no-such-page")
    page = text(response)
    assert response.status_code == 404
    assert "Page not found" in page
    assert _in_layout(page)


def test_not_found_page_for_a_signed_in_user_shows_the_navigation(client, admin):
    sign_in(client.application, EMAIL, client=client)
    page = text(client.get("/no-such-page"))
    assert 'href="/users"' in page and "Sign out" in page


def test_server_error_page_is_in_the_layout(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")

    page = text(response)
    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in page
    assert "boom" not in page.replace("/boom", "")
    assert _in_layout(page)
    _assert_strict_csp(response)


def test_server_error_after_a_failed_write_still_renders_the_page(app, client, admin):
    """The failed transaction is rolled back first, so the page can still load the user."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/duplicate")
    def duplicate():
        factories.user(None, "billing_admin", email=EMAIL)  # the email is taken: flush fails
        return "unreachable"

    sign_in(client.application, EMAIL, client=client)
    response = client.get("/duplicate")

    page = text(response)
    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in page
    assert "Gloria Admin" in page  # the layout loaded the signed-in user after the failure
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User).where(User.email == EMAIL)) == 1


def test_method_not_allowed_is_not_a_server_error(client):
    assert client.get("/logout").status_code == 405

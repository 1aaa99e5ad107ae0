"""Running it for real: health and readiness, error pages with the database down, request IDs
in headers and log lines, the production settings, and client addresses behind a proxy."""
from __future__ import annotations

import io
import logging
import re

import pytest

from portal import config, create_app, operations
from portal.extensions import db
from tests import factories, services
from tests.conftest import settings_for
from tests.html import text
from tests.support import sign_in

#: Nothing listens on port 1 of the loopback: a connection there is refused at once.
NOWHERE_DB = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
NOWHERE_REDIS = "redis://127.0.0.1:1/0"
EMAIL = "gloria@contoso.example.com"


@pytest.fixture
def gloria(app):
    with app.app_context():
        organization = factories.org(name="Contoso Partners")
        factories.user(organization, "global_admin", email=EMAIL, name="Gloria Admin")
        db.session.commit()


def app_on(tmp_path, database_url, **overrides):
    return create_app({**settings_for(database_url, tmp_path), **overrides}, instance_path=str(tmp_path / "instance"))


# --- health and readiness -------------------------------------------------------------------


def test_healthz_answers_without_the_database(tmp_path):
    client = app_on(tmp_path, NOWHERE_DB).test_client()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_with_the_database_and_no_redis_configured(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "redis": "not configured"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_answers_503_naming_the_database_when_it_points_nowhere(tmp_path):
    client = app_on(tmp_path, NOWHERE_DB).test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "unreachable", "redis": "not configured"}}


def test_readyz_answers_503_naming_redis_when_it_is_down(app):
    app.config["REDIS_URL"] = NOWHERE_REDIS

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "unreachable"}}


def test_readyz_is_ready_with_redis_up(app, redis_url):
    app.config["REDIS_URL"] = redis_url

    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_on_postgresql(any_app):
    response = any_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["database"] == "ok"


# --- error pages without the database -------------------------------------------------------


@pytest.fixture
def down(app, gloria, tmp_path):
    """A client signed in (through the working app) whose cookie now reaches an app with the
    same secret key whose database is unreachable. (Tests using it are marked ``real_commits``:
    the rolled-back harness would lend the broken app the working app's connection.)"""
    working = sign_in(app, EMAIL)
    broken = app_on(tmp_path, NOWHERE_DB, PROPAGATE_EXCEPTIONS=False)

    @broken.get("/boom")
    def boom():
        raise RuntimeError("a bug")

    client = broken.test_client()
    cookie = working.get_cookie(app.config["SESSION_COOKIE_NAME"])
    client.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return client


@pytest.mark.real_commits
def test_a_page_needing_the_database_answers_503_in_the_layout(down):
    response = down.get("/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = text(response)
    assert "The portal is briefly unavailable" in page
    assert "may or may not have been saved" in page  # it cannot know (the loss may follow a commit)
    assert "Contact support" in page
    assert "Gloria Admin" not in page and "Sign out" not in page


@pytest.mark.real_commits
def test_the_404_page_renders_with_the_database_down(down):
    response = down.get("/no-such-page")

    assert response.status_code == 404
    assert "Page not found" in text(response)


@pytest.mark.real_commits
def test_the_500_page_renders_with_the_database_down(down):
    response = down.get("/boom")

    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in text(response)


@pytest.mark.real_commits
def test_the_503_page_is_in_french_for_a_french_browser(down):
    response = down.get("/", headers={"Accept-Language": "fr"})

    assert response.status_code == 503
    assert 'lang="fr"' in response.get_data(as_text=True)
    assert "Le portail est momentanément indisponible" in text(response)


def test_a_signed_in_users_404_still_shows_who_is_signed_in_when_the_database_is_up(app, gloria):
    client = sign_in(app, EMAIL)

    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert "Gloria Admin" in text(response)


# --- request IDs and the request log --------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter(operations.LOG_FORMAT))
        self.addFilter(operations.RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def request_log():
    handler = Lines()
    logger = logging.getLogger("portal.request")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_a_well_formed_incoming_request_id_is_kept_returned_and_logged(client, request_log):
    incoming = "3f2b8c9e0d1a4b5c8e7f6a5b4c3d2e1f"

    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert response.headers["X-Request-ID"] == incoming
    assert len(request_log) == 1
    assert f"[{incoming}]" in request_log[0]
    assert re.search(r"GET /healthz 200 \d+\.\dms 127\.0\.0\.1$", request_log[0])


@pytest.mark.parametrize("incoming", [None, "", "short", "has space in it", "x" * 200, "<script>alert(1)"])
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client, request_log, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}

    response = client.get("/login", headers=headers)

    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert request_log == [line for line in request_log if f"[{request_id}]" in line]
    assert any("GET /login 200" in line for line in request_log)


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_error_responses_carry_the_request_id_too(client, request_log):
    response = client.get("/no-such-page", headers={"X-Request-ID": "req-0000-1111-2222"})

    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "req-0000-1111-2222"
    assert "GET /no-such-page 404" in request_log[-1]


def test_a_job_carries_the_request_id_it_was_given(request_log):
    logger = logging.getLogger("portal.request")
    assert operations.current_request_id() is None

    with operations.carrying("3f2b8c9e0d1a4b5c8e7f6a5b4c3d2e1f") as request_id:
        assert operations.current_request_id() == request_id == "3f2b8c9e0d1a4b5c8e7f6a5b4c3d2e1f"
        logger.warning("sending an email")
    with operations.carrying(None) as fresh:
        assert re.fullmatch(r"[0-9a-f]{32}", fresh)

    assert operations.current_request_id() is None
    assert "[3f2b8c9e0d1a4b5c8e7f6a5b4c3d2e1f] portal.request: sending an email" in request_log[0]


def test_the_portals_log_lines_carry_the_request_id(client):
    handlers = [h for h in logging.getLogger("portal").handlers if getattr(h, "cpor_handler", False)]
    assert len(handlers) == 1
    assert "%(request_id)s" in handlers[0].formatter._fmt
    stream = io.StringIO()
    probe = logging.StreamHandler(stream)
    probe.setFormatter(handlers[0].formatter)
    for log_filter in handlers[0].filters:
        probe.addFilter(log_filter)
    logging.getLogger("portal.request").addHandler(probe)
    try:
        response = client.get("/healthz")
    finally:
        logging.getLogger("portal.request").removeHandler(probe)
    assert f"[{response.headers['X-Request-ID']}] portal.request: GET /healthz 200" in stream.getvalue()


# --- production settings --------------------------------------------------------------------


def test_production_refuses_to_start_without_redis(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.delenv("REDIS_URL", raising=False)

    with pytest.raises(config.ConfigError, match="PORTAL_ENV=production needs Redis: set REDIS_URL"):
        config.load(str(tmp_path))
    with pytest.raises(config.ConfigError, match="Rate limits"):
        create_app(instance_path=str(tmp_path))


def test_production_with_redis_counts_rate_limits_there(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")

    settings = config.load(str(tmp_path))

    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


def test_development_needs_no_redis(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert config.load(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"


def test_plain_http_production_gets_a_cookie_name_browsers_keep(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert config.load(str(tmp_path))["SESSION_COOKIE_NAME"] == "cpor_session"
    monkeypatch.delenv("SESSION_COOKIE_SECURE")
    assert config.load(str(tmp_path))["SESSION_COOKIE_NAME"] == "__Host-cpor"


@pytest.mark.parametrize(("name", "value"), [("STORAGE_BACKEND", "ftp"), ("PROXY_FIX_X_FOR", "two"), ("PROXY_FIX_X_FOR", "-1")])
def test_bad_deployment_settings_are_refused_with_a_message(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=name):
        config.load(str(tmp_path))


def test_s3_storage_needs_a_bucket(monkeypatch, tmp_path):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.delenv("S3_BUCKET", raising=False)
    with pytest.raises(config.ConfigError, match="S3_BUCKET"):
        config.load(str(tmp_path))


# --- client addresses behind the proxy ------------------------------------------------------

LIMITED = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute"}


def _bad_sign_in(client, forwarded_for):
    return client.post("/login", data={"email": EMAIL, "password": "wrong"},
                       headers={"X-Forwarded-For": forwarded_for}).status_code


@pytest.mark.parametrize("app_overrides", [{**LIMITED, "PROXY_FIX_X_FOR": 1}])
def test_behind_a_trusted_proxy_the_login_limit_counts_per_real_client(app, client):
    assert [_bad_sign_in(client, "203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert _bad_sign_in(client, "203.0.113.8") == 200


@pytest.mark.parametrize("app_overrides", [LIMITED])
def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(app, client):
    assert [_bad_sign_in(client, f"203.0.113.{n}") for n in range(3)] == [200, 200, 429]

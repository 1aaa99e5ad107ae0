"""Two app servers, one portal: instances with instance folders of their own, one database,
share files (through S3), sessions (one SECRET_KEY) and rate limits (through Redis).

Files and sessions are checked with two apps in this process; rate limits with two gunicorn
servers in processes of their own, since Flask-Limiter keeps one storage per process."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bench.client import Session, csrf_from_form
from bench.servers import Server
from portal import create_app
from portal.claims.models import ClaimFile
from portal.extensions import db
from tests import services
from tests.claims.conftest import GINA, PDF, Walker
from tests.conftest import _build, postgres_url, settings_for
from tests.html import text
from tests.support import PASSWORD, sign_in


@pytest.fixture
def demo_database(request, tmp_path) -> str:
    """A database holding the demo directory, committed, that two apps can open."""
    url = f"sqlite:///{tmp_path / 'shared.db'}" if request.param == "sqlite" else postgres_url("instances")
    _build(url, tmp_path, demo=True)
    return url


def instance(tmp_path, name, database_url, **settings):
    """An app server of its own: its instance folder, upload folder and outbox."""
    folder = tmp_path / name
    return create_app(
        {**settings_for(database_url, folder), "UPLOAD_FOLDER": str(folder / "uploads"), **settings},
        instance_path=str(folder / "instance"),
    )


def carry_session(source, target, app):
    """What a browser does when the balancer sends its next request to another server."""
    cookie = source.get_cookie(app.config["SESSION_COOKIE_NAME"])
    target.set_cookie(cookie.key, cookie.value, domain=cookie.domain)


def uploaded_file(app, claim_id) -> ClaimFile:
    with app.app_context():
        return db.session.scalars(select(ClaimFile).where(ClaimFile.claim_id == claim_id)).one()


both_databases = pytest.mark.parametrize("demo_database", ["sqlite", "postgresql"], indirect=True)


@both_databases
def test_a_file_uploaded_through_one_instance_downloads_through_the_other(tmp_path, demo_database, s3_settings):
    a = instance(tmp_path, "a", demo_database, **s3_settings)
    b = instance(tmp_path, "b", demo_database, **s3_settings)
    gina_on_a = Walker(sign_in(a, GINA))
    claim_id = gina_on_a.new()
    assert gina_on_a.upload(claim_id, ("proof.pdf", PDF)).status_code == 302
    row = uploaded_file(a, claim_id)
    gina_on_b = b.test_client()
    carry_session(gina_on_a.client, gina_on_b, a)

    response = gina_on_b.get(f"/claims/{claim_id}/files/{row.id}")

    assert response.status_code == 200
    assert response.get_data() == PDF
    assert not any(Path(b.config["UPLOAD_FOLDER"]).rglob("*")) and not any(Path(a.config["UPLOAD_FOLDER"]).rglob("*"))
    assert services.bucket_keys(s3_settings) == [row.storage_key]


@both_databases
def test_a_file_removed_through_one_instance_is_gone_for_the_other(tmp_path, demo_database, s3_settings):
    a = instance(tmp_path, "a", demo_database, **s3_settings)
    b = instance(tmp_path, "b", demo_database, **s3_settings)
    gina_on_a = Walker(sign_in(a, GINA))
    claim_id = gina_on_a.new()
    gina_on_a.upload(claim_id, ("proof.pdf", PDF))
    row = uploaded_file(a, claim_id)
    gina_on_b = b.test_client()
    carry_session(gina_on_a.client, gina_on_b, a)

    assert gina_on_b.post(f"/claims/{claim_id}/files/{row.id}/delete").status_code == 302

    assert services.bucket_keys(s3_settings) == []
    assert gina_on_a.client.get(f"/claims/{claim_id}/files/{row.id}").status_code == 404


@both_databases
def test_with_local_folders_the_other_instance_cannot_find_the_file(tmp_path, demo_database):
    """Why production needs S3: each server's folder holds only what was uploaded through it.
    The other server answers a clean 404 (not a 500)."""
    a = instance(tmp_path, "a", demo_database)
    b = instance(tmp_path, "b", demo_database)
    gina_on_a = Walker(sign_in(a, GINA))
    claim_id = gina_on_a.new()
    gina_on_a.upload(claim_id, ("proof.pdf", PDF))
    row = uploaded_file(a, claim_id)
    gina_on_b = b.test_client()
    carry_session(gina_on_a.client, gina_on_b, a)

    assert gina_on_a.client.get(f"/claims/{claim_id}/files/{row.id}").get_data() == PDF
    response = gina_on_b.get(f"/claims/{claim_id}/files/{row.id}")
    assert response.status_code == 404
    assert "Page not found" in text(response)


@both_databases
def test_a_session_from_one_instance_works_on_the_other(tmp_path, demo_database):
    a = instance(tmp_path, "a", demo_database)
    b = instance(tmp_path, "b", demo_database)
    on_a = sign_in(a, GINA)
    on_b = b.test_client()
    carry_session(on_a, on_b, a)

    response = on_b.get("/")

    assert response.status_code == 200
    assert "Gina Martin" in text(response)


@both_databases
def test_a_session_is_refused_by_an_instance_with_another_secret_key(tmp_path, demo_database):
    a = instance(tmp_path, "a", demo_database)
    b = instance(tmp_path, "b", demo_database, SECRET_KEY="another-secret")
    on_a = sign_in(a, GINA)
    on_b = b.test_client()
    carry_session(on_a, on_b, a)

    response = on_b.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- two gunicorn servers, one Redis --------------------------------------------------------


@pytest.fixture
def two_servers(tmp_path, redis_url):
    """Two production-configured gunicorn servers (one worker each, instance folders of their
    own) on one PostgreSQL database with the demo directory, counting in one Redis under a key
    prefix of this test's own."""
    url = postgres_url("servers")
    _build(url, tmp_path, demo=True)
    shared = {
        "PORTAL_ENV": "production", "SECRET_KEY": "shared-by-both-servers", "SESSION_COOKIE_SECURE": "0",
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"), "REDIS_URL": redis_url,
        "RATELIMIT_KEY_PREFIX": services.key_prefix(), "LOGIN_RATE_LIMIT": "3 per minute",
    }
    servers = [Server(name, "wsgi:app", {**shared, "PORTAL_INSTANCE_PATH": str(tmp_path / name)}) for name in ("a", "b")]
    try:
        for server in servers:
            server.start(["--workers", "1"], "/healthz")
        yield servers
    finally:
        for server in servers:
            server.stop()


def post_login(session: Session, email: str, password: str) -> int:
    status, _, page = session.request("GET", "/login")
    assert status == 200
    form = urlencode({"email": email, "password": password, "csrf_token": csrf_from_form(page), "next": ""})
    status, _, _ = session.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    return status


def test_two_servers_share_sessions_and_sign_in_attempts_and_log_each_request(two_servers):
    """One test for both servers (starting them takes most of its time)."""
    a, b = two_servers
    browser = Session(a.port)

    assert post_login(browser, GINA, PASSWORD) == 302
    browser.port = b.port
    status, _, home = browser.request("GET", "/")
    assert status == 200 and "Gina Martin" in home

    other = Session(b.port)
    assert post_login(other, GINA, "wrong") == 200  # attempt 2 of 3, counted on b
    other.port = a.port
    assert post_login(other, GINA, "wrong") == 200  # attempt 3, counted on a
    other.port = b.port
    assert post_login(other, GINA, "wrong") == 429  # a 4th, on either server, is refused

    status, headers, _ = Session(a.port).request("GET", "/healthz", headers={"X-Request-ID": "probe-1234-5678-abcd"})
    assert status == 200 and headers["X-Request-ID"] == "probe-1234-5678-abcd"
    a.stop()
    assert re.search(r"\[probe-1234-5678-abcd\] portal\.request: GET /healthz 200 ", a.log.read_text())

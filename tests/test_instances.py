"""Two app servers, one portal: instances with instance folders of their own, one database,
share files (through S3), sessions (one SECRET_KEY) and rate limits (through Redis); and nginx
in front of them, with the configuration ``make prod`` generates.

Files and sessions are checked with two apps in this process; rate limits and nginx with two
gunicorn servers in processes of their own, since Flask-Limiter keeps one storage per process."""
from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bench.client import Session, csrf_from_form
from bench.servers import Server
from deploy import nginx as deploy_nginx
from portal import create_app
from portal.config import MAX_CONTENT_LENGTH
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


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    """Two production-configured gunicorn servers (one worker each, instance folders of their
    own) on one PostgreSQL database with the demo directory, counting in one Redis under a key
    prefix of this module's own. Started once for the module: starting takes most of the time."""
    redis_url = services.redis_url()
    tmp_path = tmp_path_factory.mktemp("servers")
    url = postgres_url("servers")
    _build(url, tmp_path, demo=True)
    shared = {
        "PORTAL_ENV": "production", "SECRET_KEY": "shared-by-both-servers", "SESSION_COOKIE_SECURE": "0",
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"), "REDIS_URL": redis_url,
        "RATELIMIT_KEY_PREFIX": services.key_prefix(), "LOGIN_RATE_LIMIT": "3 per minute",
        "PROXY_FIX_X_FOR": "1", "UPLOAD_FOLDER": str(tmp_path / "uploads"),
    }
    servers = [Server(name, "wsgi:app", {**shared, "PORTAL_INSTANCE_PATH": str(tmp_path / name)}) for name in ("a", "b")]
    try:
        for server in servers:
            server.start(["--workers", "1"], "/healthz")
        yield servers
    finally:
        for server in servers:
            server.stop()
            if server.log:
                server.log.unlink(missing_ok=True)


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
    assert re.search(r"\[probe-1234-5678-abcd\] portal\.request: GET /healthz 200 ", a.log.read_text())


# --- nginx in front -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def front(two_servers, tmp_path_factory):
    """nginx with make prod's generated configuration, in front of the two servers."""
    binary = services.nginx_binary()
    run_dir = tmp_path_factory.mktemp("nginx")
    port = services.free_port()
    config = deploy_nginx.write(run_dir, f"127.0.0.1:{port}", [f"127.0.0.1:{server.port}" for server in two_servers])
    process = subprocess.Popen([binary, "-e", "stderr", "-p", str(run_dir), "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_through_nginx_requests_reach_both_servers_with_their_request_id(front, two_servers):
    browser = Session(front)
    answers = [browser.request("GET", "/healthz", headers={"X-Request-ID": f"spread-{n:04d}-abcdef"}) for n in range(4)]

    assert [status for status, _, _ in answers] == [200] * 4
    assert [headers["X-Request-ID"] for _, headers, _ in answers] == [f"spread-{n:04d}-abcdef" for n in range(4)]
    logs = [server.log.read_text() for server in two_servers]
    assert all("] portal.request: GET /healthz 200" in log and "[spread-" in log for log in logs)


def test_nginx_serves_hashed_static_files_for_a_year_and_plain_ones_briefly(front):
    browser = Session(front)
    _, _, page = browser.request("GET", "/login")
    hashed = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page).group(1)

    status, headers, body = browser.request("GET", hashed)
    assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert body == (Path(__file__).resolve().parent.parent / "static" / "css" / "app.css").read_text()
    status, headers, _ = browser.request("GET", "/static/css/app.css")
    assert status == 200 and headers["Cache-Control"] == "public, max-age=300"
    assert browser.request("GET", "/static/css/app.000000000000.css")[0] == 404


def test_nginx_refuses_a_body_larger_than_the_app_accepts_before_reading_it(front):
    with socket.create_connection(("127.0.0.1", front), timeout=10) as conn:
        conn.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     + f"Content-Length: {MAX_CONTENT_LENGTH + 1}\r\n\r\n".encode())
        answer = conn.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413")


def test_a_slow_client_does_not_hold_a_worker(front, two_servers):
    """Connections sending their request a byte at a time wait in nginx: the servers (one sync
    worker each) keep answering everyone else."""
    slow = []
    try:
        for _ in range(4):
            conn = socket.create_connection(("127.0.0.1", front), timeout=10)
            conn.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nemail=")
            slow.append(conn)
        for server in two_servers:
            status, _, _ = Session(server.port).request("GET", "/healthz", timeout=5)
            assert status == 200
        status, _, _ = Session(front).request("GET", "/healthz", timeout=5)
        assert status == 200
    finally:
        for conn in slow:
            conn.close()


@pytest.mark.parametrize("demo_database", ["sqlite"], indirect=True)
def test_an_upload_while_the_object_store_is_down_answers_503_and_keeps_nothing(tmp_path, demo_database, s3_endpoint):
    down = instance(tmp_path, "a", demo_database, STORAGE_BACKEND="s3", S3_BUCKET="nowhere",
                    S3_ENDPOINT_URL="http://127.0.0.1:1", S3_REGION=services.REGION)
    gina = Walker(sign_in(down, GINA))
    claim_id = gina.new()

    response = gina.upload(claim_id, ("proof.pdf", PDF), ("more.pdf", PDF))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "The portal is briefly unavailable" in text(response)
    with down.app_context():
        assert db.session.scalars(select(ClaimFile).where(ClaimFile.claim_id == claim_id)).all() == []

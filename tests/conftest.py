"""Shared fixtures.

``app`` runs on SQLite. ``any_app`` runs a test once on SQLite and once on PostgreSQL
(``PORTAL_TEST_DATABASE_URL``); without that variable the PostgreSQL run is skipped with the
reason, unless ``PORTAL_REQUIRE_POSTGRES=1`` (set by CI), where it fails instead.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from portal import create_app
from portal.extensions import db

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("PORTAL_REQUIRE_POSTGRES") == "1"


def _overrides(database_url: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "SECRET_KEY": "test-secret",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
    }


def postgres_url() -> str:
    if not PG_URL:
        message = "PostgreSQL not configured: set PORTAL_TEST_DATABASE_URL to run this test on it"
        if REQUIRE_PG:
            pytest.fail(message + " (PORTAL_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    url = PG_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def reset_postgres(url: str) -> None:
    """An empty public schema, so every test (and the migrations test) starts from nothing."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _make_app(database_url, tmp_path, extra=None):
    overrides = _overrides(database_url, tmp_path)
    overrides.update(extra or {})
    app = create_app(overrides)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app_overrides():
    """Tests override settings by redefining this fixture or parametrizing it."""
    return {}


@pytest.fixture
def app(tmp_path, app_overrides):
    app = _make_app(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, app_overrides)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request, tmp_path, app_overrides):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = postgres_url()
        reset_postgres(url)
    app = _make_app(url, tmp_path, app_overrides)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email, password="password-for-tests"):
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)

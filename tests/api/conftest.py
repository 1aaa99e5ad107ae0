"""The demo directory's people with API tokens, and calling /api/v1 with them. Tokens are made
through the real service, in an app context closed before any request is made."""
from __future__ import annotations

from datetime import datetime

import pytest

from portal.api import tokens
from portal.api.models import TokenScope
from portal.extensions import db
from tests.claims.lifecycle.conftest import (  # noqa: F401  (the demo's people and fixtures, for this package)
    BEA,
    BILLIE,
    GINA,
    IAN,
    PAUL,
    RAFAEL,
    RITA,
    WINGTIP,
    any_demo,
    app_overrides,
    demo,
    make_claim,
    person,
)


def token_for(app, email, scope=TokenScope.READ, days=30, now: datetime | None = None, name="CRM") -> str:
    """A committed token of ``email``; the whole token, as the page shows it once."""
    with app.test_request_context():
        made = tokens.create(person(email), name, scope, days, now=now)
        db.session.commit()
        return made.secret


def bearer(token: str, **more) -> dict:
    return {"Authorization": f"Bearer {token}", **more}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["code"] == code and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def make_fabrikam_claim(demo):
    """A committed claim of Gina's (Fabrikam) in a status, through the real services."""
    return lambda status, **answers: make_claim(demo, status, **answers)

"""Drafts are stored from the first step, so what they hold is bounded: a step keeps its own
fields, of a sensible length, and new drafts come at a bounded rate, up to a number held at once."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.claims.models import Claim
from portal.extensions import db
from tests.claims.conftest import GINA, Walker, sign_in, user_id, valid_steps
from tests.claims.lifecycle.conftest import words


@pytest.fixture
def gina(demo):
    return Walker(sign_in(demo, GINA))


def _draft(app, claim_id) -> dict:
    with app.app_context():
        return db.session.get(Claim, claim_id).draft


def _drafts(app, email) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Claim)
                                 .where(Claim.created_by_id == user_id(app, email), Claim.status == "draft"))


def test_inline_checks_keep_only_the_steps_fields_however_much_is_posted(demo, gina):
    claim_id = gina.new()
    junk = {f"extra{i}": "x" * 40_000 for i in range(30)}
    for _ in range(3):
        response = gina.check(claim_id, "proof", {"description": "Workshops", **junk}, "description")
        assert response.status_code == 200

    stored = _draft(demo, claim_id)
    assert stored["proof"] == {"description": ["Workshops"]}
    assert len(json.dumps(stored)) < 1_000


def test_an_answer_longer_than_any_field_takes_is_not_kept_and_the_field_says_why(demo, gina):
    claim_id = gina.new()
    gina.check(claim_id, "proof", {"description": "Workshops"}, "description")

    inline = gina.check(claim_id, "proof", {"description": "x" * 200_000}, "description")

    assert "5000" in words(inline)  # the description's own length message
    assert _draft(demo, claim_id)["proof"] == {"description": ["Workshops"]}


def test_next_with_an_answer_longer_than_any_field_takes_says_so_and_keeps_nothing(demo, gina):
    claim_id = gina.new()
    steps = valid_steps()
    gina.walk(claim_id, steps, upto="contacts")
    before = _draft(demo, claim_id)

    response = gina.post(claim_id, "contacts", {**steps["contacts"], "customer_name": "D" * 50_000})

    assert response.status_code == 302
    assert response.location.endswith(f"/claims/{claim_id}/wizard/contacts")
    assert "longer than this step's fields take" in words(gina.client.get(response.location))
    assert _draft(demo, claim_id) == before


def test_new_drafts_are_rate_limited_with_a_clear_message(demo, gina):
    demo.config["DRAFT_RATE_LIMIT"] = "3 per minute"
    before = _drafts(demo, GINA)
    for _ in range(3):
        assert gina.client.post("/claims/new").status_code == 302

    refused = gina.client.post("/claims/new")

    assert refused.status_code == 429
    assert "You started many new claims in a short time." in words(refused)
    assert _drafts(demo, GINA) == before + 3


def test_a_user_holds_a_bounded_number_of_drafts(demo, gina):
    held = _drafts(demo, GINA)
    demo.config["DRAFTS_MAX"] = held + 2
    for _ in range(2):
        assert gina.client.post("/claims/new").status_code == 302

    refused = gina.client.post("/claims/new")

    assert refused.status_code == 429
    assert f"You have {held + 2} claims in progress" in words(refused)
    assert _drafts(demo, GINA) == held + 2

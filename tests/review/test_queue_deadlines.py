"""Deadlines are true on read in the reviewer queue (SPEC section 5, issue 4 item 6): a claim
whose partner answer is past due is rejected with reason "no partner response" before the queue
lists it, never shown under Partner action required with an Overdue badge; a claim whose
deadline has not passed is untouched."""
from __future__ import annotations

import re

import pytest

from portal.claims.models import ClaimEvent
from portal.extensions import db
from portal.timeutil import utcnow
from tests.html import text
from tests.review.conftest import claim_state, days_ago, move, product, start_review, submitted, tenant
from tests.support import Statements, sign_in

_ROW = re.compile(r'<tr id="queue-claim-(\d+)">(.*?)</tr>', re.S)


def rows(response) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in _ROW.finditer(text(response))}


@pytest.fixture
def reviewer(app, world):
    return sign_in(app, world.reviewer_email)


def _information_requested(who, reviewer_id, when):
    claim = submitted(who, tenant(), product(), when=when)
    start_review(claim, reviewer_id)
    move(claim, "request_information", reviewer_id, reason_code="missing_poe", message="Add the proof.", now=when)
    return claim


@pytest.fixture
def requests(app, world):
    """Information requested 12 days ago (its 5 business days are over) and today."""
    with app.app_context():
        late = _information_requested(world.proseware, world.other_reviewer_id, days_ago(12))
        fresh = _information_requested(world.fabrikam, world.other_reviewer_id, utcnow())
        db.session.commit()
        return late.id, fresh.id


def test_the_queue_shows_an_unanswered_information_request_rejected_once_its_deadline_passed(app, world, reviewer,
                                                                                            requests):
    late, fresh = requests

    queue = rows(reviewer.get("/review/"))
    waiting = rows(reviewer.get("/review/?status=partner_action_required"))
    rejected = rows(reviewer.get("/review/?status=rejected"))

    assert late not in queue and late not in waiting
    assert list(rejected) == [late]
    assert "Rejected" in rejected[late] and "Partner action required" not in rejected[late]
    assert "Overdue" not in rejected[late]  # the 30 days to dispute have just begun
    state = claim_state(app, late)
    assert (state.status, state.reason_code) == ("rejected", "no_partner_response")
    with app.app_context():
        actions = [e.action for e in db.session.query(ClaimEvent).filter_by(claim_id=late, kind="status")
                   .order_by(ClaimEvent.id)]
        assert actions[-1] == "expire_information_request"


def test_a_claim_whose_deadline_has_not_passed_is_untouched(app, world, reviewer, requests):
    late, fresh = requests

    waiting = rows(reviewer.get("/review/?status=partner_action_required"))

    assert list(waiting) == [fresh]
    assert "Partner action required" in waiting[fresh] and "Overdue" not in waiting[fresh]
    assert fresh in rows(reviewer.get("/review/"))
    state = claim_state(app, fresh)
    assert (state.status, state.reason_code) == ("partner_action_required", "missing_poe")


def test_an_htmx_filter_of_the_queue_applies_passed_deadlines_too(app, world, reviewer, requests):
    late, fresh = requests
    response = reviewer.get("/review/?status=partner_action_required", headers={"HX-Request": "true"})
    assert "<html" not in response.get_data(as_text=True)
    assert list(rows(response)) == [fresh]
    assert claim_state(app, late).status == "rejected"


def test_applying_deadlines_on_read_adds_one_query_whatever_the_queue_holds(any_app, any_world):
    """Once nothing is due, looking for passed deadlines is one indexed query; a queue page
    costs the same with 3 claims as with 40."""
    reviewer = sign_in(any_app, any_world.reviewer_email)

    def statements():
        reviewer.get("/review/")  # anything due is applied by the first look
        with Statements(any_app) as recorder:
            response = reviewer.get("/review/")
        assert response.status_code == 200
        return len(recorder.statements), len(rows(response))

    def claims(count):
        with any_app.app_context():
            for n in range(count):
                who = any_world.fabrikam if n % 2 else any_world.proseware
                if n % 3:
                    submitted(who, tenant(), product(), when=days_ago(n % 9))
                else:
                    _information_requested(who, any_world.other_reviewer_id, days_ago(n % 14))
            db.session.commit()

    claims(3)
    few = statements()
    claims(37)
    many = statements()
    assert few[1] < many[1] == 25
    assert many[0] <= few[0]

"""Deadlines in business days (weekends and the holiday calendar skipped), what happens when they
pass, on read and by `flask --app portal claims sweep`."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from portal import create_app
from portal.claims import lifecycle
from portal.claims import tasks as claims_tasks
from portal.claims.base import ClaimStatus
from portal.claims.lifecycle import add_business_days, due_on_for
from portal.claims.models import Claim, ClaimEvent
from portal.extensions import db
from portal.jobs import huey
from portal.timeutil import utcnow
from tests.html import text
from tests.claims.lifecycle.conftest import (
    ADVENTURE,
    GINA,
    NORTHWIND,
    PAUL,
    TAILSPIN,
    WINGTIP,
    claim_row,
    make_claim,
    move,
)
from tests.support import sign_in

FRIDAY = date(2026, 11, 20)
THURSDAY = date(2026, 11, 19)
THANKSGIVING = {date(2026, 11, 26), date(2026, 11, 27)}  # Thursday and Friday


def status_events(app, claim_id):
    with app.app_context():
        return list(db.session.scalars(
            select(ClaimEvent).where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind == "status").order_by(ClaimEvent.id)
        ))


def end_of(day: date) -> datetime:
    """The moment a deadline on ``day`` passes: the end of that day."""
    return datetime.combine(day + timedelta(days=1), time.min)


# Business days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (FRIDAY, 1, date(2026, 11, 23)),  # Friday + 1 = Monday
        (THURSDAY, 5, date(2026, 11, 26)),  # Thursday + 5 = next Thursday
        (FRIDAY, 5, date(2026, 11, 27)),
        (date(2026, 11, 21), 1, date(2026, 11, 23)),  # from a Saturday
        (date(2026, 11, 22), 5, date(2026, 11, 27)),  # from a Sunday
        (date(2026, 11, 23), 4, date(2026, 11, 27)),  # within one week
        (FRIDAY, 0, FRIDAY),
        (date(2026, 12, 31), 10, date(2027, 1, 14)),  # across the year
    ],
)
def test_business_days_skip_weekends(start, days, expected):
    assert add_business_days(start, days) == expected


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (date(2026, 11, 25), 1, date(2026, 11, 30)),  # Wednesday + 1 over Thursday, Friday and the weekend
        (date(2026, 11, 25), 5, date(2026, 12, 4)),
        (THURSDAY, 5, date(2026, 11, 30)),
        (date(2026, 11, 26), 1, date(2026, 11, 30)),  # from a holiday
    ],
)
def test_business_days_skip_holidays(start, days, expected):
    assert add_business_days(start, days, frozenset(THANKSGIVING)) == expected


def test_a_holiday_on_a_weekend_costs_nothing():
    saturday = frozenset({date(2026, 11, 21)})
    assert add_business_days(FRIDAY, 1, saturday) == add_business_days(FRIDAY, 1) == date(2026, 11, 23)


@pytest.mark.parametrize(
    "status, expected",
    [
        ("draft", None),
        ("submitted", date(2026, 11, 27)),  # 5 business days for the reviewer to start
        ("under_review", date(2026, 11, 27)),
        ("partner_action_required", date(2026, 11, 27)),
        ("disputed", date(2026, 11, 27)),
        ("rejected", date(2026, 12, 20)),  # 30 calendar days to dispute
        ("approved", None),
        ("closed", None),
    ],
)
def test_due_date_of_each_status(status, expected):
    assert due_on_for(status, datetime(2026, 11, 20, 16, 45)) == expected


@pytest.mark.parametrize(
    "status, expected",
    [("submitted", date(2026, 11, 30)), ("partner_action_required", date(2026, 11, 30)), ("rejected", date(2026, 12, 19))],
)
def test_due_date_skips_holidays_but_the_dispute_window_counts_calendar_days(status, expected):
    assert due_on_for(status, datetime(2026, 11, 19, 8, 0), frozenset(THANKSGIVING)) == expected


def test_the_holiday_calendar_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_HOLIDAYS", "2026-11-26, 2026-11-27")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.db'}", "SECRET_KEY": "x"})
    assert app.config["HOLIDAYS"] == frozenset(THANKSGIVING)


def _a_wednesday_ahead() -> date:
    """A Wednesday two to three weeks from today: a deadline counted from it has not passed, so
    reading the claim (which applies passed deadlines) shows it as it is, whatever today is."""
    start = utcnow().date() + timedelta(days=14)
    return start + timedelta(days=(2 - start.weekday()) % 7)


WEDNESDAY_AHEAD = _a_wednesday_ahead()
HOLIDAYS_AHEAD = {WEDNESDAY_AHEAD + timedelta(days=1), WEDNESDAY_AHEAD + timedelta(days=2)}  # its Thursday and Friday


class TestHolidaysConfigured:
    @pytest.fixture
    def app_overrides(self, tmp_path):
        return {"UPLOAD_FOLDER": str(tmp_path / "uploads"), "HOLIDAYS": frozenset(THANKSGIVING | HOLIDAYS_AHEAD)}

    def test_an_information_request_before_a_holiday_is_due_later(self, demo):
        wednesday = datetime(2026, 11, 25, 10, 0)
        claim_id = make_claim(demo, "partner_action_required", now=wednesday)
        assert claim_row(demo, claim_id).due_on == date(2026, 12, 4)

    def test_the_claim_page_shows_the_due_date_after_the_holidays(self, demo):
        wednesday = datetime.combine(WEDNESDAY_AHEAD, time(10, 0))
        claim_id = make_claim(demo, "partner_action_required", now=wednesday)
        # Five business days: Monday to Friday of the next week, as from 25 November 2026 above.
        due = WEDNESDAY_AHEAD + timedelta(days=9)
        assert claim_row(demo, claim_id).due_on == due
        page = sign_in(demo, GINA).get(f"/claims/{claim_id}")
        assert f'datetime="{due.isoformat()}"' in page.get_data(as_text=True)


# Passed deadlines --------------------------------------------------------------------------


def test_no_partner_response_rejects_the_claim_at_the_deadline(demo):
    asked = datetime(2026, 11, 2, 14, 0)  # Monday: due Monday 9 November
    claim_id = make_claim(demo, "partner_action_required", now=asked)
    with demo.test_request_context():
        claim = db.session.get(Claim, claim_id)
        assert claim.due_on == date(2026, 11, 9)
        assert not lifecycle.apply_due(claim, now=datetime(2026, 11, 9, 23, 59))  # the last day is still open
        assert lifecycle.apply_due(claim, now=datetime(2026, 11, 12, 8, 0))
        db.session.commit()
        assert (claim.status, claim.reason_code) == (ClaimStatus.REJECTED, "no_partner_response")
        assert claim.due_on == date(2026, 12, 10)  # the 30 days to dispute count from the deadline
    rejected = status_events(demo, claim_id)[-1]
    assert (rejected.action, rejected.actor_id, rejected.reason_code) == ("expire_information_request", None, "no_partner_response")
    assert rejected.created_at == end_of(date(2026, 11, 9))


def test_the_dispute_window_closes_thirty_days_after_the_rejection(demo):
    asked = datetime(2026, 10, 1, 9, 0)  # Thursday: due Thursday 8 October
    claim_id = make_claim(demo, "partner_action_required", now=asked)
    with demo.test_request_context():
        claim = db.session.get(Claim, claim_id)
        assert lifecycle.apply_due(claim, now=datetime(2026, 11, 10, 12, 0))  # both deadlines passed
        db.session.commit()
        assert (claim.status, claim.reason_code) == (ClaimStatus.CLOSED, "dispute_window_closed")
        assert claim.due_on is None
        assert not lifecycle.apply_due(claim, now=datetime(2027, 1, 1))
    events = status_events(demo, claim_id)[-2:]
    assert [(e.action, e.to_status, e.created_at) for e in events] == [
        ("expire_information_request", "rejected", end_of(date(2026, 10, 8))),
        ("close_dispute_window", "closed", end_of(date(2026, 11, 8))),  # 30 days after the rejection
    ]


def test_a_rejection_can_be_disputed_on_the_last_day_of_the_window(demo):
    rejected_at = datetime(2026, 10, 1, 9, 0)
    claim_id = make_claim(demo, "rejected", now=rejected_at)
    with demo.test_request_context():
        claim = db.session.get(Claim, claim_id)
        assert claim.due_on == date(2026, 10, 31)
        assert not lifecycle.apply_due(claim, now=datetime(2026, 10, 31, 22, 0))
        move(claim, "dispute", now=datetime(2026, 10, 31, 22, 0))
        db.session.commit()
        assert claim.status == ClaimStatus.DISPUTED


# On read -----------------------------------------------------------------------------------


def days_ago(days) -> datetime:
    return utcnow() - timedelta(days=days)


def test_the_claim_page_applies_a_passed_deadline_without_the_sweep(demo):
    claim_id = make_claim(demo, "partner_action_required", now=days_ago(12))
    due = claim_row(demo, claim_id).due_on
    assert due < utcnow().date()

    page = text(sign_in(demo, GINA).get(f"/claims/{claim_id}"))

    assert "Status: Rejected" in page
    assert "No partner response" in page
    assert "Status: Partner action required" not in page
    claim = claim_row(demo, claim_id)
    assert (claim.status, claim.reason_code) == ("rejected", "no_partner_response")
    assert status_events(demo, claim_id)[-1].created_at == end_of(due)


def test_a_passed_review_deadline_shows_as_overdue_not_pending(demo):
    claim_id = make_claim(demo, "submitted", now=days_ago(12))
    page = text(sign_in(demo, GINA).get(f"/claims/{claim_id}"))
    assert "Status: Submitted" in page
    assert "Overdue" in page
    assert claim_row(demo, claim_id).status == "submitted"  # no automatic consequence


def test_the_home_page_applies_passed_deadlines_of_the_organization(demo):
    ours = make_claim(demo, "partner_action_required", now=days_ago(12))
    theirs = make_claim(demo, "partner_action_required", email=PAUL, now=days_ago(12), mpn="3456789")

    page = text(sign_in(demo, GINA).get("/"))

    row = page.split(claim_row(demo, ours).number)[1].split("</tr>")[0]
    assert "Rejected" in row and "Partner action required" not in row
    assert claim_row(demo, ours).status == "rejected"
    assert claim_row(demo, theirs).status == "partner_action_required"  # another organization's: not ours to touch


def test_a_resubmission_after_the_deadline_is_refused(demo):
    claim_id = make_claim(demo, "partner_action_required", now=days_ago(12))
    client = sign_in(demo, GINA)

    response = client.post(f"/claims/{claim_id}/resubmit", data={"reply": "Here it is, late."}, follow_redirects=True)

    assert "isn't possible while the claim is Rejected" in text(response)
    assert claim_row(demo, claim_id).status == "rejected"
    assert [e.action for e in status_events(demo, claim_id)][-1] == "expire_information_request"


# The sweep ---------------------------------------------------------------------------------


def sweep_scenario(app):
    """Claims of every kind, some with deadlines passed. Returns {name: (claim id, expected status)}."""
    return {
        "information unanswered": (make_claim(app, "partner_action_required", now=days_ago(12), tenant=WINGTIP, activity="presales"), "rejected"),
        "not disputed": (make_claim(app, "rejected", now=days_ago(40), tenant=WINGTIP, activity="usage"), "closed"),
        "both passed": (make_claim(app, "partner_action_required", now=days_ago(60), tenant=ADVENTURE, activity="presales"), "closed"),
        "information still open": (make_claim(app, "partner_action_required", now=days_ago(1), tenant=WINGTIP, activity="revenue_association"), "partner_action_required"),
        "rejected recently": (make_claim(app, "rejected", now=days_ago(20), tenant=NORTHWIND, product="d365-finance", activity="usage"), "rejected"),
        "review overdue": (make_claim(app, "under_review", now=days_ago(30), tenant=NORTHWIND, product="d365-finance", activity="presales"), "under_review"),
        "disputed overdue": (make_claim(app, "disputed", now=days_ago(30), tenant=TAILSPIN, product="d365-supply-chain", activity="usage"), "disputed"),
        "other organization": (make_claim(app, "partner_action_required", email=PAUL, now=days_ago(12), mpn="3456789"), "rejected"),
    }


def history_lengths(app, ids):
    return {claim_id: len(status_events(app, claim_id)) for claim_id in ids}


@pytest.mark.real_commits
def test_the_sweep_command_moves_exactly_the_due_claims_and_is_idempotent(any_demo):
    claims = sweep_scenario(any_demo)
    ids = [claim_id for claim_id, _ in claims.values()]
    before = history_lengths(any_demo, ids)
    runner = any_demo.test_cli_runner()

    result = runner.invoke(args=["claims", "sweep"])

    assert result.exit_code == 0, result.output
    assert "4 claim(s) moved on" in result.output
    for name, (claim_id, expected) in claims.items():
        assert claim_row(any_demo, claim_id).status == expected, name
    after = history_lengths(any_demo, ids)
    moved = {name: after[claim_id] - before[claim_id] for name, (claim_id, _) in claims.items()}
    assert moved == {
        "information unanswered": 1, "not disputed": 1, "both passed": 2, "information still open": 0,
        "rejected recently": 0, "review overdue": 0, "disputed overdue": 0, "other organization": 1,
    }

    again = runner.invoke(args=["claims", "sweep"])

    assert again.exit_code == 0 and "0 claim(s) moved on" in again.output
    assert history_lengths(any_demo, ids) == after


@pytest.mark.real_commits
def test_the_sweep_runs_as_a_periodic_job_every_five_minutes(any_demo):
    def scheduled_at(hour, minute):  # what the worker's scheduler enqueues at that minute
        return {type(job) for job in huey.read_periodic(datetime(2026, 12, 1, hour, minute))}
    assert claims_tasks.sweep_deadlines.task_class in scheduled_at(10, 5) & scheduled_at(10, 0)
    assert claims_tasks.sweep_deadlines.task_class not in scheduled_at(10, 7)
    claims = sweep_scenario(any_demo)

    with any_demo.app_context():
        claims_tasks.sweep_deadlines()  # the job, run in-process here

    for name, (claim_id, expected) in claims.items():
        assert claim_row(any_demo, claim_id).status == expected, name
    events = status_events(any_demo, claims["information unanswered"][0])
    assert events[-1].action == "expire_information_request" and events[-1].actor_id is None


@pytest.mark.real_commits
def test_the_sweep_skips_a_claim_already_moved_on_read(any_demo):
    claim_id = make_claim(any_demo, "partner_action_required", now=days_ago(12))
    sign_in(any_demo, GINA).get(f"/claims/{claim_id}")
    assert claim_row(any_demo, claim_id).status == "rejected"

    result = any_demo.test_cli_runner().invoke(args=["claims", "sweep"])

    assert result.exit_code == 0 and "0 claim(s) moved on" in result.output
    assert [e.action for e in status_events(any_demo, claim_id)] == [
        "submit", "start_review", "request_information", "expire_information_request"]


def test_an_open_claim_page_learns_of_a_passed_deadline_at_its_next_poll(demo):
    """The page was loaded while the partner could still answer; the comment poller that runs
    every few seconds brings the rejection once the deadline has passed."""
    claim_id = make_claim(demo, "partner_action_required", now=days_ago(12))

    response = sign_in(demo, GINA).get(f"/claims/{claim_id}/comments?after=0&status=partner_action_required",
                                       headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = text(response)
    assert '<div id="claim-status" hx-swap-oob="true">' in body
    assert "Status: Rejected" in body and "No partner response" in body
    assert claim_row(demo, claim_id).status == "rejected"

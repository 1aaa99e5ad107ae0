"""Deadlines are true on read (SPEC section 5, issue 4 item 6) in the claims list and its CSV
export, for partners and for reviewers: a claim whose partner answer is past due is shown
rejected (reason "no partner response"), never still waiting for the partner; a rejection whose
dispute window has closed is shown closed; a claim whose deadline has not passed is untouched."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from portal.claims.models import Claim, ClaimEvent
from portal.extensions import db
from tests.html import text
from tests.claims.listing.conftest import NORTHWIND, PRODUCTS, TODAY, claim_ids, insert_claim
from tests.support import sign_in


@pytest.fixture
def deadlines(app, world):
    """For each organization: an information request 12 days past its answer deadline, one due
    today (not passed: the day is the partner's to the end), one due in two days; and Fabrikam's
    rejection whose 30 days to dispute ended yesterday."""
    with app.app_context():
        ids = {}
        for name, organization_id in (("fabrikam", world.fabrikam_id), ("proseware", world.proseware_id)):
            mpn = world.mpns[organization_id][0]
            for n, (key, due) in enumerate((("expired", TODAY - timedelta(days=12)), ("due_today", TODAY),
                                            ("pending", TODAY + timedelta(days=2)))):
                ids[f"{name}_{key}"] = insert_claim(organization_id, mpn, status="partner_action_required",
                                                    product=PRODUCTS[n], due_on=due).id
        ids["fabrikam_window_closed"] = insert_claim(world.fabrikam_id, world.mpns[world.fabrikam_id][0], status="rejected",
                                                     tenant=NORTHWIND, due_on=TODAY - timedelta(days=1)).id
        db.session.commit()
    return ids


def state(app, claim_id) -> tuple[str, str | None]:
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        return claim.status, claim.reason_code


def csv_rows(response) -> dict[str, list[str]]:
    """The export's rows by claim number."""
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    return {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}


def number(claim_id) -> str:
    return f"CPOR-{claim_id:06d}"


def assert_applied(app, deadlines, *organizations):
    for name in organizations:
        assert state(app, deadlines[f"{name}_expired"]) == ("rejected", "no_partner_response"), name
        assert state(app, deadlines[f"{name}_due_today"]) == ("partner_action_required", None), name
        assert state(app, deadlines[f"{name}_pending"]) == ("partner_action_required", None), name


def test_the_reviewers_list_applies_every_organizations_passed_deadlines(app, world, deadlines):
    reviewer = sign_in(app, world.reviewer_email)

    waiting = claim_ids(reviewer.get("/claims/?status=partner_action_required"))
    rejected = reviewer.get("/claims/?status=rejected")

    expired = {deadlines["fabrikam_expired"], deadlines["proseware_expired"]}
    assert set(waiting) == {deadlines[f"{o}_{k}"] for o in ("fabrikam", "proseware") for k in ("due_today", "pending")}
    assert set(claim_ids(rejected)) == expired
    row = text(rejected).split(f">{number(deadlines['proseware_expired'])}</a>")[1].split("</tr>")[0]
    assert "Rejected" in row and "Partner action required" not in row
    assert claim_ids(reviewer.get("/claims/?status=closed")) == [deadlines["fabrikam_window_closed"]]
    assert_applied(app, deadlines, "fabrikam", "proseware")
    with app.app_context():
        assert db.session.get(Claim, deadlines["fabrikam_window_closed"]).reason_code == "dispute_window_closed"
        # The history says the system did it, as the sweep would have.
        event = db.session.query(ClaimEvent).filter_by(claim_id=deadlines["proseware_expired"], kind="status").one()
        assert (event.action, event.actor_id, event.reason_code) == ("expire_information_request", None, "no_partner_response")


def test_the_reviewers_list_applies_them_to_an_htmx_request_too(app, world, deadlines):
    reviewer = sign_in(app, world.reviewer_email)
    response = reviewer.get("/claims/?status=partner_action_required", headers={"HX-Request": "true"})
    assert "<html" not in response.get_data(as_text=True)
    assert deadlines["proseware_expired"] not in claim_ids(response)
    assert_applied(app, deadlines, "fabrikam", "proseware")


def test_the_partners_export_shows_a_passed_deadline_applied(app, world, deadlines):
    rows = csv_rows(sign_in(app, world.fabrikam_email).get("/claims/export.csv"))

    expired = rows[number(deadlines["fabrikam_expired"])]
    assert expired["Status"] == "Rejected"
    # The 30 days to dispute count from the end of the day the answer was due.
    assert expired["Due"] == (TODAY - timedelta(days=12) + timedelta(days=31)).isoformat()
    assert rows[number(deadlines["fabrikam_window_closed"])]["Status"] == "Closed"
    for key in ("due_today", "pending"):
        assert rows[number(deadlines[f"fabrikam_{key}"])]["Status"] == "Partner action required", key
    assert_applied(app, deadlines, "fabrikam")

    waiting = csv_rows(sign_in(app, world.fabrikam_email).get("/claims/export.csv?status=partner_action_required"))
    assert set(waiting) == {number(deadlines["fabrikam_due_today"]), number(deadlines["fabrikam_pending"])}


def test_the_reviewers_export_shows_every_organizations_passed_deadlines_applied(app, world, deadlines):
    reviewer = sign_in(app, world.reviewer_email)

    waiting = csv_rows(reviewer.get("/claims/export.csv?status=partner_action_required"))
    rows = csv_rows(reviewer.get("/claims/export.csv"))

    assert number(deadlines["fabrikam_expired"]) not in waiting and number(deadlines["proseware_expired"]) not in waiting
    assert len(waiting) == 4
    for name, partner in (("fabrikam", "Fabrikam Consulting"), ("proseware", "Proseware, Inc.")):
        row = rows[number(deadlines[f"{name}_expired"])]
        assert (row["Partner"], row["Status"]) == (partner, "Rejected")
        assert rows[number(deadlines[f"{name}_pending"])]["Status"] == "Partner action required"
    assert_applied(app, deadlines, "fabrikam", "proseware")


def test_a_list_without_passed_deadlines_changes_nothing(app, world):
    with app.app_context():
        pending = insert_claim(world.fabrikam_id, world.mpns[world.fabrikam_id][0], status="partner_action_required",
                               due_on=TODAY + timedelta(days=1)).id
        db.session.commit()
    for email in (world.reviewer_email, world.fabrikam_email):
        client = sign_in(app, email)
        assert claim_ids(client.get("/claims/?status=partner_action_required")) == [pending]
        assert set(csv_rows(client.get("/claims/export.csv"))) == {number(pending)}
    assert state(app, pending) == ("partner_action_required", None)
    with app.app_context():
        assert db.session.query(ClaimEvent).filter_by(claim_id=pending).count() == 0

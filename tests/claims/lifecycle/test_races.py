"""Races between requests acting on claims at the same moment, on SQLite and on PostgreSQL.

Each attempt runs in a thread with an app context (hence a session and a connection) of its
own, like a request served at the same time as the others, and commits for real. The attempts
start together; each then waits for the others before committing (``tests.support.Rendezvous``):
until they have got as far, or are blocked on the database's lock. Where nothing serialises
them, every attempt has read the claim as it was by then, so the race is lost every time, not
by luck. Where the lock works, the later ones are waiting for it when the first commits, and
then see what it wrote.
"""
from __future__ import annotations

import io
import threading

import pytest
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage

from portal.claims import actions
from portal.claims.errors import ClaimChanged, ClaimError
from portal.claims.files import service as files
from portal.claims.models import Claim, ClaimEvent, ClaimFile, Comment
from portal.claims.wizard import drafts
from portal.extensions import db
from tests.claims.lifecycle.conftest import (
    ADVENTURE,
    GINA,
    NORTHWIND,
    PAUL,
    PDF,
    RITA,
    WINGTIP,
    complete_draft,
    make_claim,
    person,
    valid_steps,
    words,
)
from tests.support import Rendezvous, Statements, sign_in

pytestmark = pytest.mark.real_commits


def race(app, attempts):
    """Run each ``(email, do)`` in its own thread and session, all released at once; each
    waits for the others (``Rendezvous``) before committing, or rolls back what it raised.
    Returns what each ended with: "done" or the exception."""
    start = threading.Barrier(len(attempts), timeout=30)
    outcomes = [None] * len(attempts)

    def attempt(index, email, do):
        with app.test_request_context():
            rendezvous.join()
            try:
                user = person(email)
                start.wait()
                do(user)
                rendezvous.wait()
                db.session.commit()
                outcomes[index] = "done"
            except Exception as error:  # noqa: BLE001  (every outcome is reported and checked)
                db.session.rollback()
                outcomes[index] = error
            finally:
                rendezvous.leave()
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i, email, do)) for i, (email, do) in enumerate(attempts)]
    with Rendezvous(app) as rendezvous:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def status_actions(app, claim_id) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(ClaimEvent.action).where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind == "status").order_by(ClaimEvent.id)
        ))


def refused_as_changed_or_by_status(error) -> bool:
    """The loser is told the claim changed (it read the claim before the winner committed) or,
    having read it after, that the action isn't possible in its new status."""
    return isinstance(error, ClaimChanged) or (isinstance(error, ClaimError) and "isn't possible while" in str(error.message))


def test_withdraw_and_start_review_at_once_one_wins(any_demo):
    claim_id = make_claim(any_demo, "submitted")

    outcomes = race(any_demo, [
        (GINA, lambda user: actions.withdraw(user, claim_id)),
        (RITA, lambda user: actions.start_review(user, claim_id)),
    ])

    assert outcomes.count("done") == 1, outcomes
    loser = next(o for o in outcomes if o != "done")
    assert isinstance(loser, ClaimChanged), outcomes
    history = status_actions(any_demo, claim_id)
    assert history[0] == "submit" and len(history) == 2, history
    with any_demo.app_context():
        status = db.session.get(Claim, claim_id).status
    assert status == {"withdraw": "closed", "start_review": "under_review"}[history[1]]


def test_three_disputes_at_once_give_one_dispute(any_demo):
    claim_id = make_claim(any_demo, "rejected")

    outcomes = race(any_demo, [
        (GINA, lambda user, n=n: actions.dispute(user, claim_id, f"Dispute number {n}.")) for n in range(3)
    ])

    assert outcomes.count("done") == 1, outcomes
    assert all(refused_as_changed_or_by_status(o) for o in outcomes if o != "done"), outcomes
    assert status_actions(any_demo, claim_id) == ["submit", "start_review", "reject", "dispute"]
    with any_demo.app_context():
        disputes = db.session.scalar(select(func.count()).select_from(Comment)
                                     .where(Comment.claim_id == claim_id, Comment.kind == "dispute"))
        assert disputes == 1
        assert db.session.get(Claim, claim_id).status == "disputed"


def test_three_uploads_of_five_files_at_once_leave_five(any_demo):
    with any_demo.test_request_context():
        draft = complete_draft(person(GINA), valid_steps(), files=False)
        db.session.commit()
        draft_id = draft.id

    def upload(user):
        uploads = [FileStorage(io.BytesIO(PDF), filename=f"proof-{i}.pdf") for i in range(5)]
        return files.add_files(user, draft_id, uploads)

    outcomes = race(any_demo, [(GINA, upload)] * 3)

    assert outcomes == ["done"] * 3, outcomes
    with any_demo.app_context():
        kept = db.session.scalar(select(func.count()).select_from(ClaimFile).where(ClaimFile.claim_id == draft_id))
    assert kept == any_demo.config["UPLOAD_MAX_FILES"] == 5


def test_two_organizations_submitting_on_one_customer_and_product_at_once_are_both_in_arbitration(any_demo):
    """Many rounds of two threads: without the lock on the customer and product, each submission's
    check misses the other's uncommitted claim in some of them. After each round both withdraw,
    so the next starts with no claim on that customer and product."""
    combinations = [(WINGTIP, "d365-sales"), (NORTHWIND, "d365-finance"), (ADVENTURE, "d365-sales")]
    for round_ in range(6):
        tenant, product = combinations[round_ % len(combinations)]
        with any_demo.test_request_context():
            gina_draft = complete_draft(person(GINA), valid_steps(tenant=tenant, product=product)).id
            paul_draft = complete_draft(person(PAUL), valid_steps(tenant=tenant, product=product, mpn="3456789")).id
            db.session.commit()

        outcomes = race(any_demo, [
            (GINA, lambda user: drafts.submit(user, gina_draft, attested=True)),
            (PAUL, lambda user: drafts.submit(user, paul_draft, attested=True)),
        ])

        assert outcomes == ["done", "done"], outcomes
        with any_demo.test_request_context():
            claims = {c.id: c for c in db.session.scalars(select(Claim).where(Claim.id.in_([gina_draft, paul_draft])))}
            flagged = [(claims[i].status, claims[i].in_arbitration) for i in (gina_draft, paul_draft)]
            assert flagged == [("submitted", True), ("submitted", True)], (round_, tenant, product, flagged)
            actions.withdraw(person(GINA), gina_draft)
            actions.withdraw(person(PAUL), paul_draft)
            db.session.commit()


# --- what the loser sees ----------------------------------------------------------------------


@pytest.mark.parametrize(("winner", "loser"), [
    ((GINA, actions.withdraw), (RITA, "/review/claims/{}/start-review")),
    ((RITA, actions.start_review), (GINA, "/claims/{}/withdraw")),
], ids=["reviewer-loses", "partner-loses"])
def test_who_loses_the_race_sees_the_claim_as_it_stands_now_409(any_demo, winner, loser):
    """The winner's move is written but not committed when the loser's request reads the claim;
    it commits as soon as the loser's request reaches the claim's lock."""
    claim_id = make_claim(any_demo, "submitted")
    (winner_email, move), (loser_email, url) = winner, loser
    client = sign_in(any_demo, loser_email)
    main = threading.get_ident()
    at_lock = threading.Event()
    moved = threading.Event()
    outcome = []

    def reaching_the_lock(_conn, _cursor, statement, *_args):
        text = " ".join(statement.split()).upper()
        if threading.get_ident() == main and moved.is_set() and (
                "FOR UPDATE" in text or "PG_ADVISORY_XACT_LOCK" in text or text.startswith("UPDATE CLAIMS")):
            at_lock.set()

    def win():
        with any_demo.test_request_context():
            try:
                move(person(winner_email), claim_id)
                moved.set()
                at_lock.wait(30)
                db.session.commit()
                outcome.append("done")
            except Exception as error:  # noqa: BLE001
                db.session.rollback()
                outcome.append(error)
                moved.set()
            finally:
                db.session.remove()

    with any_demo.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", reaching_the_lock)
    try:
        thread = threading.Thread(target=win)
        thread.start()
        assert moved.wait(30)
        response = client.post(url.format(claim_id))
        thread.join(30)
    finally:
        event.remove(engine, "before_cursor_execute", reaching_the_lock)

    assert outcome == ["done"]
    assert response.status_code == 409
    page = words(response)
    assert "This claim changed while you were acting; here is where it stands now. Nothing you sent was saved." in page
    now = {actions.withdraw: "Closed", actions.start_review: "Under review"}[move]
    assert now in page
    assert status_actions(any_demo, claim_id) == ["submit", move.__name__]


def test_a_decision_takes_the_customer_and_product_lock_once(any_demo):
    """The claim's lock and the arbitration check inside the transition need the same advisory
    key: one round trip for it, not two (PostgreSQL; SQLite's write lock needs none)."""
    claim_id = make_claim(any_demo, "submitted")
    reviewer = sign_in(any_demo, RITA)

    with Statements(any_demo) as recorder:
        response = reviewer.post(f"/review/claims/{claim_id}/start-review")

    assert response.status_code == 302
    with any_demo.app_context():
        assert db.session.get(Claim, claim_id).status == "under_review"
    locks = [s for s in recorder.statements if "pg_advisory_xact_lock" in s]
    expected = 0 if any_demo.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else 1
    assert len(locks) == expected, recorder.statements

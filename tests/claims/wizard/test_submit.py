"""Submitting a claim: every kind of claim of the demo data, revalidation against the directory
as it is now, idempotence, duplicates, and races, on SQLite and on PostgreSQL."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from portal.accounts.models import Mpn, User
from portal.accounts.permissions import PermissionDenied
from portal.claims.wizard import drafts
from portal.claims.errors import DuplicateClaim, StepInvalid
from portal.claims.models import Claim, ClaimEvent
from portal.directory.models import Subscription
from portal.extensions import db
from tests.claims.conftest import (
    ADVENTURE,
    BEA,
    CONTOSO,
    DOMAINS,
    GINA,
    IAN,
    MPN_NOT_ENROLLED,
    NORTHWIND,
    PAUL,
    SUB_ADVENTURE_SALES_IN_GRACE,
    SUB_CONTOSO_SALES_VL_ACTIVE,
    SUB_NORTHWIND_FINANCE_ACTIVE,
    SUB_WINGTIP_SALES,
    WINGTIP,
    complete_draft,
    error_slot,
    slot_text,
    valid_steps,
)
from tests.support import sign_in
from tests.html import text

TODAY = date(2026, 11, 24)
M365 = "microsoft_365"


def person(email) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def status_events(claim_id):
    return list(db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind == "status")))


def new_complete_draft(app, email=GINA, **answers) -> int:
    """A committed draft with every step answered and one PoE file."""
    with app.test_request_context():
        claim = complete_draft(person(email), valid_steps(today=TODAY, **answers))
        db.session.commit()
        return claim.id


KINDS = [
    # id, answers, resolved subscription recorded, in arbitration
    ("ba-product-presales", dict(tenant=WINGTIP, product="d365-sales", activity="presales"), SUB_WINGTIP_SALES, False),
    ("ba-product-usage", dict(tenant=NORTHWIND, product="d365-finance", activity="usage"), SUB_NORTHWIND_FINANCE_ACTIVE, False),
    ("ba-product-revenue", dict(tenant=ADVENTURE, product="d365-sales", activity="revenue_association"), SUB_ADVENTURE_SALES_IN_GRACE, False),
    ("ba-competing", dict(tenant=CONTOSO, product="d365-sales", activity="presales"), SUB_CONTOSO_SALES_VL_ACTIVE, True),
    ("ba-subscription-id", dict(tenant=CONTOSO, subscription_id=SUB_CONTOSO_SALES_VL_ACTIVE.upper(), activity="usage"), SUB_CONTOSO_SALES_VL_ACTIVE, True),
    ("m365-usage", dict(tenant=CONTOSO, area=M365, product="m365-teams", activity="usage"), None, False),
    ("m365-competing", dict(tenant=NORTHWIND, area=M365, product="m365-sharepoint", activity="usage"), None, True),
]


@pytest.mark.parametrize("answers, subscription_id, in_arbitration", [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
def test_every_kind_of_claim_of_the_demo_data_submits(any_demo, answers, subscription_id, in_arbitration):
    claim_id = new_complete_draft(any_demo, **answers)

    with any_demo.test_request_context():
        gina = person(GINA)
        claim = drafts.submit(gina, claim_id, attested=True, today=TODAY)
        db.session.commit()

    with any_demo.app_context():
        claim = db.session.get(Claim, claim_id)
        assert claim.status == "submitted"
        assert claim.submitted_at is not None
        assert claim.subscription_id == subscription_id
        assert claim.in_arbitration is in_arbitration
        assert claim.tenant_id == answers["tenant"]
        assert claim.activity == answers["activity"]
        assert claim.mpn.mpn_id == "1234567"
        assert claim.customer_contact_email == f"dana@{DOMAINS[answers['tenant']]}"
        assert claim.acknowledged_on == date(2026, 10, 25)
        if answers["activity"] == "revenue_association":
            assert (claim.solution_seller, claim.isv_product) == ("Litware Sales", "Litware CRM Connector")
        [event] = status_events(claim_id)
        assert (event.from_status, event.to_status, event.actor.email) == ("draft", "submitted", GINA)


def test_submit_revalidates_against_the_directory_as_it_is_now(any_demo):
    claim_id = new_complete_draft(any_demo)
    with any_demo.app_context():
        db.session.execute(update(Subscription).where(Subscription.subscription_id == SUB_WINGTIP_SALES).values(status="expired"))
        db.session.commit()

    with any_demo.test_request_context():
        with pytest.raises(StepInvalid) as refused:
            drafts.submit(person(GINA), claim_id, attested=True, today=TODAY)
        db.session.rollback()

    assert refused.value.step == "product"
    with any_demo.app_context():
        assert db.session.get(Claim, claim_id).status == "draft"
        assert status_events(claim_id) == []


def test_submit_revalidates_every_step_in_order(any_demo):
    claim_id = new_complete_draft(any_demo)
    with any_demo.app_context():
        db.session.execute(update(Mpn).where(Mpn.mpn_id == "1234567").values(organization_id=person(PAUL).organization_id))
        db.session.commit()

    with any_demo.test_request_context():
        with pytest.raises(StepInvalid) as refused:
            drafts.submit(person(GINA), claim_id, attested=True, today=TODAY)

    assert refused.value.step == "mpn"


def test_an_acknowledgement_that_became_too_old_is_refused_on_submit(any_demo):
    claim_id = new_complete_draft(any_demo, acknowledged_on=date(2025, 12, 1))

    with any_demo.test_request_context():
        with pytest.raises(StepInvalid) as refused:
            drafts.submit(person(GINA), claim_id, attested=True, today=date(2026, 12, 2))

    assert refused.value.step == "proof"


def test_submit_without_a_file_is_refused_at_the_proof_step(any_demo):
    with any_demo.test_request_context():
        claim = complete_draft(person(GINA), valid_steps(today=TODAY), files=False)
        db.session.commit()
        with pytest.raises(StepInvalid) as refused:
            drafts.submit(person(GINA), claim.id, attested=True, today=TODAY)

    assert refused.value.step == "proof"


def test_submit_without_the_attestation_is_refused(any_demo):
    claim_id = new_complete_draft(any_demo)

    with any_demo.test_request_context():
        with pytest.raises(StepInvalid) as refused:
            drafts.submit(person(GINA), claim_id, attested=False, today=TODAY)
        db.session.rollback()

    assert refused.value.step == "review"
    with any_demo.app_context():
        assert db.session.get(Claim, claim_id).status == "draft"


def test_submitting_twice_returns_the_submitted_claim(any_demo):
    claim_id = new_complete_draft(any_demo)

    with any_demo.test_request_context():
        first = drafts.submit(person(GINA), claim_id, attested=True, today=TODAY)
        db.session.commit()
        submitted_at = first.submitted_at
    with any_demo.test_request_context():
        second = drafts.submit(person(GINA), claim_id, attested=True, today=TODAY)
        db.session.commit()
        assert second.id == claim_id
        assert second.submitted_at == submitted_at

    with any_demo.app_context():
        assert len(status_events(claim_id)) == 1
        assert db.session.scalar(select(func.count()).select_from(Claim).where(Claim.status == "submitted")) == 1


def test_only_the_author_or_a_filer_of_the_organization_may_submit(any_demo):
    claim_id = new_complete_draft(any_demo)

    with any_demo.test_request_context():
        with pytest.raises(LookupError):
            drafts.submit(person(PAUL), claim_id, attested=True, today=TODAY)  # another organization
        with pytest.raises(LookupError):
            drafts.submit(person(IAN), claim_id, attested=True, today=TODAY)  # not the author of the draft
        with pytest.raises(PermissionDenied):
            drafts.submit(person("rafael@fabrikam.example"), claim_id, attested=True, today=TODAY)

    with any_demo.app_context():
        assert db.session.get(Claim, claim_id).status == "draft"


def test_a_duplicate_of_an_open_claim_is_refused_with_a_link_to_it(any_demo):
    first = new_complete_draft(any_demo)
    second = new_complete_draft(any_demo, email=IAN)
    with any_demo.test_request_context():
        drafts.submit(person(GINA), first, attested=True, today=TODAY)
        db.session.commit()

    with any_demo.test_request_context():
        with pytest.raises(DuplicateClaim) as refused:
            drafts.submit(person(IAN), second, attested=True, today=TODAY)
        db.session.rollback()

    assert refused.value.existing_id == first
    assert refused.value.link_url == f"/claims/{first}"
    assert refused.value.step == "activity"
    with any_demo.app_context():
        assert db.session.get(Claim, second).status == "draft"


def test_the_same_customer_and_product_for_another_activity_is_not_a_duplicate(any_demo):
    first = new_complete_draft(any_demo, activity="presales")
    second = new_complete_draft(any_demo, activity="usage")

    with any_demo.test_request_context():
        drafts.submit(person(GINA), first, attested=True, today=TODAY)
        drafts.submit(person(GINA), second, attested=True, today=TODAY)
        db.session.commit()

    with any_demo.app_context():
        assert {db.session.get(Claim, i).status for i in (first, second)} == {"submitted"}
        assert db.session.get(Claim, second).in_arbitration is False  # its own organization does not compete


def test_another_organizations_claim_is_not_a_duplicate_but_goes_to_arbitration(any_demo):
    fabrikam = new_complete_draft(any_demo)
    with any_demo.test_request_context():
        drafts.submit(person(GINA), fabrikam, attested=True, today=TODAY)
        db.session.commit()
    with any_demo.test_request_context():
        paul = person(PAUL)
        steps = valid_steps(today=TODAY, mpn="3456789")
        proseware = complete_draft(paul, steps).id
        db.session.commit()
        drafts.submit(paul, proseware, attested=True, today=TODAY)
        db.session.commit()

    with any_demo.app_context():
        assert db.session.get(Claim, proseware).in_arbitration is True
        # The claim filed first is now contested too: its partner sees the arbitration notice (SPEC 5).
        assert db.session.get(Claim, fabrikam).in_arbitration is True


# --- races ----------------------------------------------------------------------------------


def _race(app, attempts):
    """Run each ``(email, claim_id)`` attempt in its own thread, app context and session, all
    released at once; commit or roll back like the view. Returns what each attempt ended with."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def attempt(index, email, claim_id):
        with app.test_request_context():
            try:
                user = person(email)
                barrier.wait(timeout=30)
                claim = drafts.submit(user, claim_id, attested=True, today=TODAY)
                db.session.commit()
                outcomes[index] = ("submitted", claim.id)
            except Exception as error:  # noqa: BLE001  (every outcome is reported and checked)
                db.session.rollback()
                outcomes[index] = ("refused", error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i, email, claim_id)) for i, (email, claim_id) in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def _acceptable_refusal(error) -> bool:
    """A refusal that says what happened: a duplicate, or SQLite's single writer giving up."""
    return isinstance(error, DuplicateClaim) or (isinstance(error, OperationalError) and "database is locked" in str(error))


@pytest.mark.real_commits
@pytest.mark.parametrize("threads", [2, 6])
def test_concurrent_submits_of_one_draft_produce_one_submitted_claim(any_demo, threads):
    claim_id = new_complete_draft(any_demo)

    outcomes = _race(any_demo, [(GINA, claim_id)] * threads)

    assert all(o[0] == "submitted" or _acceptable_refusal(o[1]) for o in outcomes), outcomes
    assert any(o == ("submitted", claim_id) for o in outcomes), outcomes
    with any_demo.app_context():
        assert db.session.get(Claim, claim_id).status == "submitted"
        assert len(status_events(claim_id)) == 1
        assert db.session.scalar(select(func.count()).select_from(Claim).where(Claim.created_by_id == person(GINA).id, Claim.status == "submitted")) == 1


@pytest.mark.real_commits
@pytest.mark.parametrize("authors", [(GINA, GINA), (GINA, IAN), (GINA, IAN, BEA)], ids=["two-tabs", "two-users", "three-users"])
def test_concurrent_conflicting_claims_of_one_organization_leave_one(any_demo, authors):
    drafts = [new_complete_draft(any_demo, email=email) for email in authors]

    outcomes = _race(any_demo, list(zip(authors, drafts)))

    submitted = [o for o in outcomes if o[0] == "submitted"]
    refused = [o[1] for o in outcomes if o[0] == "refused"]
    assert len(submitted) == 1, outcomes
    assert all(_acceptable_refusal(error) for error in refused), outcomes
    if any_demo.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert all(isinstance(error, DuplicateClaim) for error in refused), outcomes
    with any_demo.app_context():
        statuses = sorted(db.session.get(Claim, claim_id).status for claim_id in drafts)
        assert statuses == ["draft"] * (len(drafts) - 1) + ["submitted"]
        assert db.session.scalar(select(func.count()).select_from(ClaimEvent).where(ClaimEvent.claim_id.in_(drafts), ClaimEvent.kind == "status")) == 1


# --- over HTTP --------------------------------------------------------------------------------


def test_submitting_in_the_browser_lands_on_the_claim_page(demo, walker_for):
    gina = walker_for(GINA)
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=CONTOSO))

    response = gina.submit(claim_id)

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/claims/{claim_id}")
    page = text(gina.client.get(f"/claims/{claim_id}"))
    assert f"Claim CPOR-{claim_id:06d} was submitted." in page
    assert "This claim is in arbitration" in page
    assert "Proseware" not in page
    home = text(gina.client.get("/"))
    assert f'<a href="/claims/{claim_id}">CPOR-{claim_id:06d}</a>' in home
    assert "Submitted · in arbitration" in " ".join(home.split())


def test_a_double_click_on_submit_gives_one_claim(demo, walker_for):
    gina = walker_for(GINA)
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())

    first, second = gina.submit(claim_id), gina.submit(claim_id)

    assert first.headers["Location"].endswith(f"/claims/{claim_id}")
    assert second.headers["Location"].endswith(f"/claims/{claim_id}")
    with demo.app_context():
        assert len(status_events(claim_id)) == 1


def test_submit_without_attestation_shows_the_message_on_the_review_step(walker_for):
    gina = walker_for(GINA)
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())

    response = gina.submit(claim_id, attest=False)

    assert response.status_code == 422
    assert "Confirm the attestation to submit the claim." in slot_text(response, "attest")
    assert "There is a problem" in text(response)


def test_a_subscription_that_expired_before_submit_sends_the_user_back_to_the_product_step(demo, walker_for):
    gina = walker_for(GINA)
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())
    with demo.app_context():
        db.session.execute(update(Subscription).where(Subscription.subscription_id == SUB_WINGTIP_SALES).values(status="suspended"))
        db.session.commit()

    response = gina.submit(claim_id)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/product?show_errors=1")
    page = gina.client.get(response.headers["Location"])
    assert "An earlier step needs attention first." in text(page)
    assert "isn't active or in grace" in slot_text(page, "product")
    assert f'<a href="{demo.config["SUPPORT_URL"]}">contact support</a>' in error_slot(page, "product")
    with demo.app_context():
        assert db.session.get(Claim, claim_id).status == "draft"


def test_a_duplicate_submitted_in_the_browser_links_to_the_existing_claim(demo, walker_for):
    gina, ian = walker_for(GINA), walker_for(IAN)
    first, second = gina.new(), ian.new()
    gina.walk(first, valid_steps())
    ian.walk(second, valid_steps())
    assert gina.submit(first).status_code == 302

    response = ian.submit(second)

    assert response.headers["Location"].endswith(f"/claims/{second}/wizard/activity?show_errors=1")
    page = ian.client.get(response.headers["Location"])
    assert f'<a href="/claims/{first}">See claim CPOR-{first:06d}</a>' in page.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Claim, second).status == "draft"


def test_an_mpn_not_enrolled_is_warned_about_on_review_but_submits(demo, walker_for):
    gina = walker_for(GINA)
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(mpn=MPN_NOT_ENROLLED))

    review = text(gina.client.get(f"/claims/{claim_id}/wizard/review"))

    assert "The MPN ID you chose isn't enrolled in incentives" in review
    assert gina.submit(claim_id).headers["Location"].endswith(f"/claims/{claim_id}")


def test_the_claim_page_of_a_submitted_claim_is_shown_to_the_organization_only(demo, walker_for):
    claim_id = walker_for(GINA).file_claim()

    assert sign_in(demo, BEA).get(f"/claims/{claim_id}").status_code == 200
    assert sign_in(demo, PAUL).get(f"/claims/{claim_id}").status_code == 404

"""Issue 11, consent: a consent the partner can't forge (the contact must be at the customer's
domains), a new contact gets a new request and the old link stops, a closed claim's link no
longer acts, and a closed claim no longer shows "Waiting for the customer"."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.claims import lifecycle
from portal.claims.models import Claim
from portal.claims.rules import check_contact_domain
from portal.directory.source import directory
from portal.extensions import db
from portal.timeutil import utcnow
from tests.claims.conftest import BEA, GINA, MPN_ENROLLED, RITA, WINGTIP, Walker, valid_steps
from tests.consent.conftest import claim_row, consent_emails, events, latest_token, person, submit, token_in
from tests.html import text
from tests.support import sign_in

REVIEWER_ARGUMENTS = {"request_information": {"reason_code": "missing_poe", "message": "Please add a signed PoE."},
                      "reject_dispute": {"message": "The PoE is still not signed."},
                      "reject": {"reason_code": "insufficient_poe", "message": "No PoE."}}


def move(app, claim_id, *actions, by=GINA):
    """Move a committed claim on: reviewer decisions by Rita, the rest by ``by``."""
    with app.test_request_context():
        claim = db.session.get(Claim, claim_id)
        for action in actions:
            kind = lifecycle.TRANSITIONS[action].actor
            user = person(RITA) if kind == lifecycle.ActorKind.REVIEWER else person(by)
            extra = REVIEWER_ARGUMENTS.get(action, {})
            if action == "disassociate":
                extra = {"message": "We no longer work with this customer."}
            if action == "dispute":
                extra = {"message": "The customer's CIO signed the PoE."}
            lifecycle.transition(claim, action, user, **extra)
        db.session.commit()


# The contact must be the customer's -------------------------------------------------------


@pytest.mark.parametrize("email, accepted", [
    ("dana@wingtiptoys.com", True),
    ("Dana@WingtipToys.COM", True),
    ("dana@wingtiptoys.co.uk", True),
    ("dana@wingtiptoys.onmicrosoft.com", True),
    ("dana@eu.wingtiptoys.com", True),  # a subdomain of a verified domain
    ("gina@fabrikam.example", False),  # the partner's own address
    ("dana@contoso.com", False),  # another customer's
    ("dana@notwingtiptoys.com", False),
    ("dana@wingtiptoys.com.fabrikam.example", False),
    ("dana@com", False),
    ("dana@onmicrosoft.com", False),
])
def test_the_customer_contact_must_be_at_one_of_the_tenants_domains(demo, email, accepted):
    with demo.test_request_context():
        error = check_contact_domain(directory().tenant(WINGTIP), email, "wingtiptoys.com")
    assert (error is None) is accepted
    if not accepted:
        assert error.code == "contact_domain_mismatch" and error.support
        assert "such as wingtiptoys.com" in error


def test_a_partner_cannot_submit_a_claim_whose_customer_contact_is_its_own_address(demo):
    gina = Walker(sign_in(demo, GINA))
    claim_id = gina.new()
    steps = {**valid_steps(), "contacts": {**valid_steps()["contacts"], "customer_email": "gina@fabrikam.example"}}
    gina.walk(claim_id, steps, upto="contacts")

    response = gina.post(claim_id, "contacts", steps["contacts"])

    assert response.status_code == 422
    assert "must be at one of the customer's domains" in text(response)
    gina.submit(claim_id)
    assert claim_row(demo, claim_id).status == "draft"
    assert consent_emails(demo) == []


# A new contact gets a new request ---------------------------------------------------------


def edit_form(**changes):
    return {"mpn": MPN_ENROLLED, "customer_name": "Dana Customer", "customer_title": "CIO",
            "customer_email": "dana@wingtiptoys.com", "partner_name": "Gina Martin", "partner_email": GINA,
            "description": "Workshops and a pilot of the product for the sales team.",
            "acknowledged_on": (utcnow().date() - timedelta(days=10)).isoformat(), **changes}


@pytest.fixture
def returned(demo) -> int:
    """A claim the reviewer asked more of, its customer asked for consent."""
    claim_id = submit(demo)
    move(demo, claim_id, "start_review", "request_information")
    return claim_id


def test_changing_the_contact_revokes_the_old_link_and_asks_the_new_contact(demo, returned):
    old = latest_token(demo, returned)
    client = sign_in(demo, GINA)

    response = client.post(f"/claims/{returned}/edit", data=edit_form(customer_name="Sam Buyer",
                                                                      customer_email="sam@wingtiptoys.co.uk"))

    assert response.status_code == 302
    requests = consent_emails(demo, returned)
    assert [r.recipient for r in requests] == ["dana@wingtiptoys.com", "sam@wingtiptoys.co.uk"]
    assert "Sam Buyer" in requests[-1].body
    new = token_in(requests[-1])
    anonymous = demo.test_client()
    for stale in (anonymous.get(f"/consent/{old}"), anonymous.post(f"/consent/{old}", data={"answer": "decline"})):
        assert stale.status_code == 409
        assert "This link has been replaced by a newer request." in text(stale)
    assert claim_row(demo, returned).status == "partner_action_required"
    history = events(demo, returned)
    assert history[-2:] == [("consent", "consent_superseded"), ("consent", "consent_requested")]
    page = text(client.get(f"/claims/{returned}"))
    assert "Consent request withdrawn: the customer contact changed" in page
    assert anonymous.post(f"/consent/{new}", data={"answer": "confirm"}).status_code == 200
    assert claim_row(demo, returned).consent_state == "confirmed"


def test_a_contact_changed_after_a_confirmation_is_asked_again(demo, returned):
    demo.test_client().post(f"/consent/{latest_token(demo, returned)}", data={"answer": "confirm"})
    assert claim_row(demo, returned).consent_state == "confirmed"

    sign_in(demo, GINA).post(f"/claims/{returned}/edit", data=edit_form(customer_email="sam@wingtiptoys.com"))

    claim = claim_row(demo, returned)
    assert claim.consent_state == "pending" and claim.consent_message is None and claim.consent_decided_at is None
    assert consent_emails(demo, returned)[-1].recipient == "sam@wingtiptoys.com"


def test_an_edit_that_keeps_the_contact_sends_nothing(demo, returned):
    old = latest_token(demo, returned)

    response = sign_in(demo, GINA).post(f"/claims/{returned}/edit",
                                        data=edit_form(customer_title="CTO", customer_email="DANA@wingtiptoys.com"))

    assert response.status_code == 302
    assert len(consent_emails(demo, returned)) == 1
    assert demo.test_client().get(f"/consent/{old}").status_code == 200


def test_an_edit_cannot_move_the_contact_off_the_customers_domains(demo, returned):
    old = latest_token(demo, returned)

    response = sign_in(demo, GINA).post(f"/claims/{returned}/edit", data=edit_form(customer_email="gina@fabrikam.example"))

    assert response.status_code == 422
    assert "must be at one of the customer's domains" in text(response)
    assert claim_row(demo, returned).customer_contact_email == "dana@wingtiptoys.com"
    assert len(consent_emails(demo, returned)) == 1
    assert demo.test_client().get(f"/consent/{old}").status_code == 200


# A closed claim's link no longer acts, and says so ----------------------------------------


CLOSINGS = {
    "withdrawn": ("submitted", ["withdraw"]),
    "disassociated": ("approved", ["disassociate"]),
    "rejected_after_dispute": ("rejected", ["dispute", "reject_dispute"]),
}


@pytest.mark.parametrize("closing", list(CLOSINGS))
def test_a_consent_link_of_a_closed_claim_is_refused_with_a_clear_page(demo, closing):
    status, actions = CLOSINGS[closing]
    claim_id = submit(demo, status=status)
    token = latest_token(demo, claim_id)
    move(demo, claim_id, *actions)
    assert claim_row(demo, claim_id).status == "closed"
    client = demo.test_client()

    for response in (client.get(f"/consent/{token}"), client.post(f"/consent/{token}", data={"answer": "confirm"})):
        assert response.status_code == 410
        assert "This claim is closed, so your answer is no longer needed." in text(response)
    claim = claim_row(demo, claim_id)
    assert claim.consent_state == "pending" and claim.consent_decided_at is None
    assert ("consent", "consent_confirmed") not in events(demo, claim_id)


def test_an_answered_link_of_a_claim_closed_by_the_customer_still_says_it_was_answered(demo):
    claim_id = submit(demo)
    token = latest_token(demo, claim_id)
    demo.test_client().post(f"/consent/{token}", data={"answer": "decline"})

    again = demo.test_client().get(f"/consent/{token}")

    assert again.status_code == 409
    assert "This request has already been answered." in text(again)


@pytest.mark.parametrize("closing", ["withdrawn", "rejected_after_dispute"])
def test_a_closed_claim_no_longer_shows_waiting_for_the_customer(demo, closing):
    status, actions = CLOSINGS[closing]
    claim_id = submit(demo, email=BEA, status=status)
    partner, reviewer = sign_in(demo, BEA), sign_in(demo, RITA)
    assert "Waiting for the customer" in text(partner.get(f"/claims/{claim_id}"))
    move(demo, claim_id, *actions, by=GINA)

    pages = {"partner": text(partner.get(f"/claims/{claim_id}")),
             "reviewer": text(reviewer.get(f"/review/claims/{claim_id}"))}

    for who, page in pages.items():
        assert "Waiting for the customer" not in page, who
        assert "No longer needed" in page, who
    export = partner.get("/claims/export.csv").get_data(as_text=True)
    row = next(line for line in export.splitlines() if line.startswith(f"CPOR-{claim_id:06d}"))
    assert row.endswith("No longer needed") and "Waiting for the customer" not in row


def test_a_rejected_claim_that_can_still_be_disputed_still_waits_for_the_customer(demo):
    claim_id = submit(demo, email=BEA, status="rejected")

    page = text(sign_in(demo, BEA).get(f"/claims/{claim_id}"))

    assert "Waiting for the customer" in page
    assert demo.test_client().get(f"/consent/{latest_token(demo, claim_id)}").status_code == 200


def test_the_contact_rule_is_checked_again_on_submit(demo):
    """A draft whose contact was stored before this rule (or whose tenant lost the domain) is
    sent back to the contacts step on submission."""
    gina = Walker(sign_in(demo, GINA))
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())
    with demo.app_context():
        claim = db.session.get(Claim, claim_id)
        draft = dict(claim.draft)
        draft["contacts"] = {**draft["contacts"], "customer_email": ["dana@contoso.com"]}  # another customer's address
        claim.draft = draft
        db.session.commit()

    response = gina.submit(claim_id)

    assert response.status_code == 302
    assert f"/claims/{claim_id}/wizard/contacts" in response.headers["Location"]
    assert claim_row(demo, claim_id).status == "draft"
    assert "must be at one of the customer's domains" in text(gina.client.get(response.headers["Location"]))

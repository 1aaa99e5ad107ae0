"""The customer's consent (SPEC section 7): a signed link that expires, sent on submission; the
page needs no account; confirming or declining acts once, in the history, and tells the partner;
a tampered, forged, expired, replayed or superseded link does nothing."""
from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.claims.models import Claim
from portal.consent import services as consent
from portal.extensions import db
from tests.claims.conftest import BEA, GINA, PAUL, Walker, user_id
from tests.support import sign_in
from tests.consent.conftest import (
    claim_row,
    consent_emails,
    events,
    latest_token,
    notifications,
    submit,
    token_in,
)
from tests.html import text

DAY = 24 * 3600


def words(response) -> str:
    """The page's text without tags, one space between words."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def _signed(app, data, *, key=None, salt=consent.SALT, age_seconds=0) -> str:
    """A token as the app would sign it ``age_seconds`` ago (or with another key or salt)."""
    issued = int(time.time()) - age_seconds

    class IssuedThen(TimestampSigner):
        def get_timestamp(self):
            return issued

    return URLSafeTimedSerializer(key or app.config["SECRET_KEY"], salt=salt, signer=IssuedThen).dumps(data)


def _nonce(app, claim_id):
    return claim_row(app, claim_id).consent_nonce


def test_submitting_a_claim_emails_the_customer_contact_a_consent_link(demo):
    walker = Walker(sign_in(demo, GINA))
    claim_id = walker.file_claim()
    (request,) = consent_emails(demo)
    assert request.recipient == "dana@wingtiptoys.com"
    # No account, no language setting: English, then French.
    assert request.subject == ("Please confirm your partner of record: Fabrikam Consulting"
                               " / Veuillez confirmer votre partenaire attitré\u00a0: Fabrikam Consulting")
    english, french = request.body.split("\n-----\n")
    assert "Confirm or decline the association here (the link works for 30 days):" in english
    assert "Confirmez ou refusez l'association ici" in french and "30" in french
    link = re.search(r"https?://\S+/consent/\S+", english).group(0)
    assert link in french, "the two languages don't carry the same link"
    assert f"{demo.config['PORTAL_BASE_URL']}/consent/" in request.body
    assert "Dana Customer" in request.body and "Wingtip Toys" in request.body and "Dynamics 365 Sales" in request.body
    assert "30 days" in request.body
    claim = claim_row(demo, claim_id)
    assert claim.consent_state == "pending" and claim.consent_nonce and claim.consent_requested_at
    assert ("consent", "consent_requested") in events(demo, claim_id)
    with demo.app_context():
        assert consent.open_link(token_in(request)).id == claim_id
    page = text(walker.client.get(f"/claims/{claim_id}"))
    assert "Customer consent" in page and "Waiting for the customer" in page


def test_the_consent_page_needs_no_account_and_shows_the_claims_essentials(demo, claim_id):
    anonymous = demo.test_client()
    response = anonymous.get(f"/consent/{latest_token(demo, claim_id)}")
    assert response.status_code == 200
    page = text(response)
    for essential in ("Fabrikam Consulting", "Wingtip Toys", "Dynamics 365 Sales", "Presales",
                      "Workshops and a pilot of the product for the sales team."):
        assert essential in page
    assert 'value="confirm"' in page and 'value="decline"' in page
    assert claim_row(demo, claim_id).consent_state == "pending"  # looking changes nothing


def test_confirming_records_the_answer_and_tells_the_partner(demo):
    claim_id = submit(demo, email=BEA)
    token = latest_token(demo, claim_id)
    response = demo.test_client().post(f"/consent/{token}", data={"answer": "confirm", "message": "  Yes, they did.  "})
    assert response.status_code == 200
    assert "You confirmed Fabrikam Consulting as your partner of record" in text(response)
    claim = claim_row(demo, claim_id)
    assert claim.consent_state == "confirmed" and claim.consent_decided_at is not None
    assert claim.consent_message == "Yes, they did."
    assert claim.consent_nonce is None
    assert claim.status == "submitted"
    assert events(demo, claim_id)[-1] == ("consent", "consent_confirmed")
    assert notifications(demo, claim_id) == {user_id(demo, BEA): ["consent_confirmed"],
                                             user_id(demo, GINA): ["consent_confirmed"]}
    page = words(sign_in(demo, BEA).get(f"/claims/{claim_id}"))
    assert "Customer consent Confirmed by the customer: Yes, they did." in page


def test_declining_closes_the_claim_and_tells_the_partner(demo):
    claim_id = submit(demo, email=BEA)
    response = demo.test_client().post(f"/consent/{latest_token(demo, claim_id)}",
                                       data={"answer": "decline", "message": "We never worked with them."})
    assert response.status_code == 200
    assert "You declined the association with Fabrikam Consulting" in text(response)
    claim = claim_row(demo, claim_id)
    assert claim.consent_state == "declined"
    assert claim.status == "closed" and claim.reason_code == "declined_by_customer"
    assert claim.due_on is None
    history = events(demo, claim_id)
    assert history[-2:] == [("consent", "consent_declined"), ("status", "decline")]
    assert notifications(demo, claim_id) == {user_id(demo, BEA): ["consent_declined"],
                                             user_id(demo, GINA): ["consent_declined"]}
    page = words(sign_in(demo, BEA).get(f"/claims/{claim_id}"))
    assert "Customer consent Declined by the customer: We never worked with them." in page
    assert "Closed" in page
    # The history says it in words, in the order it happened, and who did it.
    assert re.search(r"The portal · Consent asked of the customer by email .*The customer · Declined by the customer "
                     r".*The customer · Declined by the customer \(", page), page
    assert "· consent" not in page, "the history shows an internal identifier"


def test_declining_an_approved_claim_ends_the_association(demo):
    claim_id = submit(demo, status="approved")
    token = latest_token(demo, claim_id)
    response = demo.test_client().post(f"/consent/{token}", data={"answer": "decline"})
    assert response.status_code == 200
    claim = claim_row(demo, claim_id)
    assert claim.status == "closed" and claim.reason_code == "declined_by_customer"
    assert claim.consent_state == "declined" and claim.consent_message is None
    assert ("status", "decline") in events(demo, claim_id)


def test_declining_a_rejected_claim_records_the_answer_only(demo):
    claim_id = submit(demo, status="rejected")
    demo.test_client().post(f"/consent/{latest_token(demo, claim_id)}", data={"answer": "decline"})
    claim = claim_row(demo, claim_id)
    assert claim.consent_state == "declined" and claim.status == "rejected"


def test_an_answer_must_be_chosen(demo, claim_id):
    token = latest_token(demo, claim_id)
    response = demo.test_client().post(f"/consent/{token}", data={"answer": "maybe"})
    assert response.status_code == 422
    assert "Choose whether you confirm or decline." in text(response)
    assert claim_row(demo, claim_id).consent_state == "pending"


def test_an_expired_link_is_refused_with_410(demo, claim_id):
    old = _signed(demo, {"c": claim_id, "n": _nonce(demo, claim_id)}, age_seconds=31 * DAY)
    client = demo.test_client()
    for response in (client.get(f"/consent/{old}"), client.post(f"/consent/{old}", data={"answer": "decline"})):
        assert response.status_code == 410
        assert "This link has expired. Ask the partner to send a new request." in text(response)
    claim = claim_row(demo, claim_id)
    assert claim.consent_state == "pending" and claim.status == "submitted"
    # Within its 30 days, the same link works.
    recent = _signed(demo, {"c": claim_id, "n": _nonce(demo, claim_id)}, age_seconds=29 * DAY)
    assert client.get(f"/consent/{recent}").status_code == 200


def test_the_link_lifetime_comes_from_the_settings(demo, claim_id):
    demo.config["CONSENT_MAX_AGE_DAYS"] = 1
    two_days = _signed(demo, {"c": claim_id, "n": _nonce(demo, claim_id)}, age_seconds=2 * DAY)
    assert demo.test_client().get(f"/consent/{two_days}").status_code == 410
    demo.config["CONSENT_MAX_AGE_DAYS"] = 0
    assert demo.test_client().get(f"/consent/{_signed(demo, {'c': claim_id, 'n': _nonce(demo, claim_id)}, age_seconds=5)}").status_code == 410


def _tampered(token: str) -> list[str]:
    payload, timestamp, signature = token.rsplit(".", 2)
    earlier = ("B" if timestamp[0] != "B" else "C") + timestamp[1:]
    return [
        # Signature changed (in the middle: base64's last character carries padding bits).
        payload + "." + timestamp + "." + signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:],
        payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + timestamp + "." + signature,  # data changed
        payload + "." + earlier + "." + signature,  # issue time changed
        token[: len(token) // 2],  # cut short
        token + "x",
        "not-a-token",
        "a.b.c",
    ]


def test_a_tampered_link_is_refused_with_404(demo, claim_id):
    client = demo.test_client()
    token = latest_token(demo, claim_id)
    for bad in _tampered(token):
        assert bad != token
        for response in (client.get(f"/consent/{bad}"), client.post(f"/consent/{bad}", data={"answer": "decline"})):
            assert response.status_code == 404, bad
            assert "This link isn't valid." in text(response)
    assert claim_row(demo, claim_id).consent_state == "pending"


def test_a_link_forged_with_another_key_or_for_another_claim_is_refused(demo, claim_id):
    other_id = submit(demo, email=PAUL, mpn="3456789")  # a competing claim by another partner
    nonce = _nonce(demo, claim_id)
    client = demo.test_client()
    forged = [
        _signed(demo, {"c": claim_id, "n": nonce}, key="another-secret"),
        _signed(demo, {"c": claim_id, "n": nonce}, salt="another-salt"),
        _signed(demo, {"c": 999999, "n": nonce}),
        _signed(demo, {"c": str(claim_id), "n": nonce}),
        _signed(demo, [claim_id, nonce]),
        _signed(demo, {"c": claim_id}),
    ]
    for bad in forged:
        assert client.post(f"/consent/{bad}", data={"answer": "decline"}).status_code == 404, bad
    # A genuine signature with another claim's nonce (or none) does not act on this claim either.
    for bad in (_signed(demo, {"c": claim_id, "n": _nonce(demo, other_id)}), _signed(demo, {"c": claim_id, "n": "guess"})):
        assert client.post(f"/consent/{bad}", data={"answer": "decline"}).status_code == 409
    for row in (claim_row(demo, claim_id), claim_row(demo, other_id)):
        assert row.consent_state == "pending" and row.status == "submitted"


def test_a_used_link_cannot_act_again(demo):
    claim_id = submit(demo, email=BEA)
    token = latest_token(demo, claim_id)
    client = demo.test_client()
    assert client.post(f"/consent/{token}", data={"answer": "confirm"}).status_code == 200
    before = (claim_row(demo, claim_id).__dict__.copy(), events(demo, claim_id), notifications(demo, claim_id))
    for answer in ("decline", "confirm"):
        replay = client.post(f"/consent/{token}", data={"answer": answer, "message": "Changed my mind."})
        assert replay.status_code == 409
        assert "This request has already been answered." in text(replay)
    assert client.get(f"/consent/{token}").status_code == 409
    after = claim_row(demo, claim_id)
    assert after.consent_state == "confirmed" and after.status == "submitted" and after.consent_message is None
    assert events(demo, claim_id) == before[1]
    assert notifications(demo, claim_id) == before[2]


def test_a_newer_request_supersedes_the_old_link(demo, claim_id):
    old = latest_token(demo, claim_id)
    with demo.test_request_context():
        new = consent.request_consent(db.session.get(Claim, claim_id))
        db.session.commit()
    assert new != old and latest_token(demo, claim_id) == new
    assert len(consent_emails(demo, claim_id)) == 2
    client = demo.test_client()
    assert client.get(f"/consent/{old}").status_code == 409
    assert client.post(f"/consent/{old}", data={"answer": "decline"}).status_code == 409
    assert claim_row(demo, claim_id).status == "submitted"
    assert client.post(f"/consent/{new}", data={"answer": "decline"}).status_code == 200
    assert claim_row(demo, claim_id).status == "closed"


def test_a_claim_without_a_customer_contact_asks_nobody(demo, claim_id):
    with demo.test_request_context():
        claim = db.session.get(Claim, claim_id)
        claim.customer_contact_email = None
        assert consent.request_consent(claim) is None
        db.session.rollback()


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_the_consent_form_carries_its_csrf_token(demo, app_overrides):
    claim_id = submit(demo)
    client = demo.test_client()
    token = latest_token(demo, claim_id)
    page = client.get(f"/consent/{token}")
    from tests.html import form_token

    assert client.post(f"/consent/{token}", data={"answer": "confirm"}).status_code == 400
    assert client.post(f"/consent/{token}", data={"answer": "confirm", "csrf_token": form_token(page)}).status_code == 200

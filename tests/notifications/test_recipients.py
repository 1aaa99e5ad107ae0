"""Who hears about what (SPEC section 6): reviewer comments and status changes go to the claim's
author and the organization's active global admins; partner replies, resubmissions and disputes
go to the reviewer holding the claim; nobody hears of their own action; each email is in its
reader's language."""
from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import select

from portal.accounts.models import User
from portal.claims.models import Claim, Comment
from portal.extensions import db
from portal.notifications import services
from portal.notifications.models import Notification
from tests.notifications.conftest import emails, new_claim, notified
from tests.support import sign_in


def _number(cast):
    return f"CPOR-{cast.claim_id:06d}"


def test_a_reviewer_comment_notifies_the_author_and_the_active_global_admins(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    response = reviewer.post(f"/claims/{cast.claim_id}/comments", data={"body": "Could you add the signed PoE?"})
    assert response.status_code == 302
    assert notified(app) == {cast.author: ["reviewer_comment"], cast.admin_fr: ["reviewer_comment"],
                             cast.admin: ["reviewer_comment"]}
    assert sorted(e.recipient for e in emails(app)) == sorted(cast.emails[i] for i in cast.partner_side)


def test_a_reviewer_status_change_notifies_the_same_people(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    response = reviewer.post(f"/review/claims/{cast.claim_id}/approve", data={"approve-message": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Claim, cast.claim_id).status == "approved"
        details = {n.user_id: n.detail for n in db.session.scalars(select(Notification))}
    assert notified(app) == {i: ["status_changed"] for i in cast.partner_side}
    assert details == {i: "approved" for i in cast.partner_side}


def test_a_decision_with_a_message_is_one_notification_and_one_email(app, cast):
    """The status change and the reviewer's reason (posted to the thread) are one event (issue 12:
    a decision made two entries and two emails)."""
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    reviewer.post(f"/review/claims/{cast.claim_id}/reject",
                  data={"reject-reason_code": "insufficient_poe", "reject-message": "The PoE is not signed."})
    with app.app_context():
        assert db.session.scalar(select(Comment.body).where(Comment.claim_id == cast.claim_id)) == "The PoE is not signed."
    assert notified(app) == {i: ["status_changed"] for i in cast.partner_side}
    assert sorted(e.recipient for e in emails(app)) == sorted(cast.emails[i] for i in cast.partner_side)


def test_an_information_request_has_its_own_message(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    response = reviewer.post(f"/review/claims/{cast.claim_id}/request-information",
                             data={"info-reasons": ["missing_poe"], "info-message": "Please add the signed PoE."})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Claim, cast.claim_id).status == "partner_action_required"
    assert notified(app) == {i: ["information_request"] for i in cast.partner_side}  # one, not two
    with app.test_request_context():
        note = db.session.scalar(select(Notification).where(Notification.message == "information_request"))
        assert services.message_text(note) == f"A reviewer asked for more information on claim {_number(cast)}."
    english = [e for e in emails(app) if e.recipient == cast.emails[cast.admin]]
    assert [e.subject for e in english] == [f"[CPOR] A reviewer asked for more information on claim {_number(cast)}."]


def test_a_partner_comment_notifies_the_reviewer_holding_the_claim_only(app, cast):
    author = sign_in(app, cast.emails[cast.author])
    response = author.post(f"/claims/{cast.claim_id}/comments", data={"body": "The PoE is attached."})
    assert response.status_code == 302
    assert notified(app) == {cast.reviewer: ["partner_comment"]}
    (email,) = emails(app)
    assert email.recipient == cast.emails[cast.reviewer]
    assert f"https://cpor.example/review/claims/{cast.claim_id}" in email.body


def test_an_admins_comment_notifies_the_reviewer_not_the_admin(app, cast):
    admin = sign_in(app, cast.emails[cast.admin])
    admin.post(f"/claims/{cast.claim_id}/comments", data={"body": "Following up."})
    assert notified(app) == {cast.reviewer: ["partner_comment"]}


def test_a_partner_comment_on_a_claim_nobody_holds_notifies_nobody(app, cast):
    claim_id = new_claim(app, cast, status="submitted", hold=False)
    sign_in(app, cast.emails[cast.author]).post(f"/claims/{claim_id}/comments", data={"body": "Any news?"})
    with app.app_context():
        assert db.session.scalar(select(Comment).where(Comment.claim_id == claim_id)) is not None
    assert notified(app) == {}
    assert emails(app) == []


def test_a_deactivated_holder_is_not_notified(app, cast):
    with app.app_context():
        db.session.get(User, cast.reviewer).active = False
        db.session.commit()
    sign_in(app, cast.emails[cast.author]).post(f"/claims/{cast.claim_id}/comments", data={"body": "Hello?"})
    assert notified(app) == {}


def test_a_resubmission_notifies_the_holder_and_the_other_partner_people(app, cast):
    claim_id = new_claim(app, cast, status="partner_action_required")
    author = sign_in(app, cast.emails[cast.author])
    response = author.post(f"/claims/{claim_id}/resubmit", data={"reply": "The signed PoE is attached."})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Claim, claim_id).status == "under_review"
    assert notified(app) == {
        cast.reviewer: ["resubmitted"],  # the reply is part of the resubmission: one notification
        cast.admin_fr: ["status_changed"],
        cast.admin: ["status_changed"],
    }


def test_a_dispute_notifies_the_holder_and_the_other_partner_people(app, cast):
    claim_id = new_claim(app, cast, status="rejected")
    admin = sign_in(app, cast.emails[cast.admin])
    response = admin.post(f"/claims/{claim_id}/dispute", data={"justification": "The CIO signed the PoE."})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Claim, claim_id).status == "disputed"
    assert notified(app) == {
        cast.reviewer: ["disputed"],
        cast.author: ["status_changed"],
        cast.admin_fr: ["status_changed"],
    }


def test_nobody_is_told_of_their_own_action(app, cast):
    """The author who is also a global admin gets one notification of a reviewer's comment, and
    the reviewer none."""
    with app.app_context():
        claim = db.session.get(Claim, cast.claim_id)
        claim.created_by_id = cast.admin
        db.session.commit()
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    reviewer.post(f"/claims/{cast.claim_id}/comments", data={"body": "Thanks."})
    assert notified(app) == {cast.admin_fr: ["reviewer_comment"], cast.admin: ["reviewer_comment"]}
    assert cast.reviewer not in notified(app)


def test_emails_are_in_each_readers_language(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    reviewer.post(f"/claims/{cast.claim_id}/comments", data={"body": "Could you add the signed PoE?"})
    by_recipient = {e.recipient: e for e in emails(app)}
    french = by_recipient[cast.emails[cast.admin_fr]]
    english = by_recipient[cast.emails[cast.admin]]
    default = by_recipient[cast.emails[cast.author]]  # no language set: the portal's default
    assert french.subject == f"[CPOR] Un réviseur a commenté la revendication {_number(cast)}."
    assert french.body.startswith("Bonjour Fanny Admin,")
    assert f"Voir la revendication\xa0: https://cpor.example/claims/{cast.claim_id}" in french.body
    assert english.subject == f"[CPOR] A reviewer commented on claim {_number(cast)}."
    assert english.body.startswith("Hello Gina Admin,")
    assert f"See the claim: https://cpor.example/claims/{cast.claim_id}" in english.body
    assert default.subject == english.subject


def test_every_notification_reads_in_french(app, cast):
    with app.test_request_context():
        for message in ("status_changed", "reviewer_comment", "information_request", "partner_comment", "resubmitted",
                        "disputed", "consent_confirmed", "consent_declined"):
            note = Notification(user_id=cast.author, claim_id=cast.claim_id, kind="claim", message=message,
                                detail="approved")
            with force_locale("en"):
                english = services.message_text(note)
            with force_locale("fr"):
                french = services.message_text(note)
            assert _number(cast) in english and _number(cast) in french
            assert french != english, message
        with force_locale("fr"):
            note = Notification(user_id=cast.author, claim_id=cast.claim_id, kind="claim", message="status_changed",
                                detail="approved")
            assert "Approved" not in services.message_text(note)


def test_a_partner_never_hears_of_another_organizations_claims(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    reviewer.post(f"/claims/{cast.claim_id}/comments", data={"body": "One."})
    reviewer.post(f"/review/claims/{cast.claim_id}/approve", data={"approve-message": ""})
    everyone = notified(app)
    for nobody in (cast.outsider, cast.retired_admin, cast.colleague, cast.reviewer, cast.other_reviewer):
        assert nobody not in everyone
    assert {e.recipient for e in emails(app)} == {cast.emails[i] for i in cast.partner_side}

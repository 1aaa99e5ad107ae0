"""Emails that say what happened (issue 12), read from the messages actually sent: an
information request says what was asked (the reviewer's words, escaped in HTML) and by when,
with the link; a decision says the decision and the reason; each email is in its reader's
language, with a plain-text and an HTML part that loads nothing from elsewhere."""
from __future__ import annotations

import email
import re
from email import policy

from babel.dates import format_date

from portal.claims.models import Claim
from portal.extensions import db
from tests.notifications.test_delivery import outbox
from tests.support import sign_in

ASKED = 'Please add the <b>signed</b> PoE & the "invoice".\nThanks.'
REASON = "The PoE is not signed <script>alert(1)</script>."


def sent(app) -> dict[str, email.message.EmailMessage]:
    """The delivered messages, by recipient."""
    messages = (email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in outbox(app))
    return {m["To"]: m for m in messages}


def parts(message) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def assert_self_contained(html: str) -> None:
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert not re.search(r"<(img|link|script|iframe|object)\b|\bsrc=|url\(|@import", html, re.I), html


def test_an_information_request_says_what_was_asked_and_by_when(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    response = reviewer.post(f"/review/claims/{cast.claim_id}/request-information",
                             data={"info-reasons": ["missing_poe", "missing_dates"], "info-message": ASKED})
    assert response.status_code == 302
    response.close()  # delivered once the response is out
    with app.app_context():
        due = db.session.get(Claim, cast.claim_id).due_on
    number = f"CPOR-{cast.claim_id:06d}"
    messages = sent(app)
    assert len(messages) == 3  # one email each, not one for the status and one for the comment

    english = messages[cast.emails[cast.admin]]
    assert english["Subject"] == f"[CPOR] A reviewer asked for more information on claim {number}."
    text, html = parts(english)
    assert text.startswith("Hello Gina Admin,")
    assert "What is missing: Missing proof of execution, Missing or old dates" in text
    assert "The reviewer asked:\n" + ASKED in text  # the words as written, in plain text
    deadline = format_date(due, "medium", locale="en")
    assert f"Please answer by {deadline}. Without an answer by then, the claim is rejected." in text
    assert f"See the claim: https://cpor.example/claims/{cast.claim_id}" in text
    assert "Please add the &lt;b&gt;signed&lt;/b&gt; PoE &amp; the &#34;invoice&#34;.<br>Thanks." in html
    assert "<b>signed</b>" not in html
    assert f"Please answer by {deadline}." in html
    assert f'<a href="https://cpor.example/claims/{cast.claim_id}">See the claim</a>' in html
    assert '<html lang="en">' in html
    assert_self_contained(html)

    french = messages[cast.emails[cast.admin_fr]]
    assert french["Subject"] == f"[CPOR] Un réviseur a demandé des informations supplémentaires sur la revendication {number}."
    text, html = parts(french)
    date_fr = format_date(due, "medium", locale="fr")
    assert text.startswith("Bonjour Fanny Admin,")
    assert "Ce qui manque\xa0: Preuve d'exécution manquante, " in text
    assert "Le réviseur demande\xa0:\n" + ASKED in text
    assert f"Merci de répondre au plus tard le {date_fr}." in text
    assert f"Voir la revendication\xa0: https://cpor.example/claims/{cast.claim_id}" in text
    assert f"Merci de répondre au plus tard le {date_fr}." in html and '<html lang="fr">' in html
    assert "&lt;b&gt;signed&lt;/b&gt;" in html
    assert_self_contained(html)


def test_a_decision_says_the_decision_and_the_reason(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    response = reviewer.post(f"/review/claims/{cast.claim_id}/reject",
                             data={"reject-reason_code": "insufficient_poe", "reject-message": REASON})
    assert response.status_code == 302
    response.close()
    number = f"CPOR-{cast.claim_id:06d}"
    messages = sent(app)
    assert len(messages) == 3

    english = messages[cast.emails[cast.admin]]
    assert english["Subject"] == f"[CPOR] Claim {number} is now Rejected."
    text, html = parts(english)
    assert "Decision: Rejected" in text and "Reason: Insufficient proof of execution" in text
    assert "The reviewer wrote:\n" + REASON in text
    assert "Decision: Rejected" in html and "Reason: Insufficient proof of execution" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "Please answer by" not in text  # no deadline to answer a rejection
    assert_self_contained(html)

    french = messages[cast.emails[cast.admin_fr]]
    text, html = parts(french)
    assert french["Subject"].startswith(f"[CPOR] La revendication {number}")
    assert "Décision\xa0: Rejetée" in text and "Décision\xa0: Rejetée" in html
    assert "Motif\xa0: " in text and "Insufficient proof of execution" not in text
    assert "Le réviseur a écrit\xa0:\n" + REASON in text


def test_an_approval_without_a_message_says_the_decision(app, cast):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    reviewer.post(f"/review/claims/{cast.claim_id}/approve", data={"approve-message": ""}).close()
    text, html = parts(sent(app)[cast.emails[cast.admin]])
    assert "Decision: Approved" in text and "Reason:" not in text and "wrote:" not in text
    assert "Decision: Approved" in html



def test_a_partners_change_gives_the_reason_and_the_partners_words(app, cast):
    from tests.notifications.conftest import emails, new_claim

    claim_id = new_claim(app, cast, status="partner_action_required")
    author = sign_in(app, cast.emails[cast.author])
    author.post(f"/claims/{claim_id}/resubmit", data={"reply": "The signed PoE is attached."}).close()
    by_recipient = {e.recipient: e for e in emails(app)}
    to_reviewer = by_recipient[cast.emails[cast.reviewer]]
    assert to_reviewer.subject == f"[CPOR] The partner resubmitted claim CPOR-{claim_id:06d}."
    assert "The partner wrote:\nThe signed PoE is attached." in to_reviewer.body
    assert f"https://cpor.example/review/claims/{claim_id}" in to_reviewer.body
    to_admin = by_recipient[cast.emails[cast.admin]]
    assert "Decision:" not in to_admin.body  # the partner's own move, not a decision

    withdrawn = new_claim(app, cast, status="submitted")
    response = sign_in(app, cast.emails[cast.admin]).post(f"/claims/{withdrawn}/withdraw")
    assert response.status_code == 302
    [to_author] = [e for e in emails(app) if e.recipient == cast.emails[cast.author]]
    assert "Reason: Withdrawn by the partner" in to_author.body and "Decision:" not in to_author.body

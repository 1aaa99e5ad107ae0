"""The customer's consent request (issue 12): a plain-text and an HTML part, each in every
language of the portal (the customer has no account), the link in both, nothing remote."""
from __future__ import annotations

import email
from email import policy
from pathlib import Path

from portal.notifications import mailer
from tests.consent.conftest import consent_emails, token_in
from tests.notifications.test_email_content import assert_self_contained, parts


def test_the_consent_request_has_a_text_and_an_html_part_in_both_languages(demo, claim_id):
    app = demo
    [row] = consent_emails(app, claim_id)
    with app.app_context():
        assert mailer.deliver_pending() == (1, 0)
    [file] = sorted(Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml"))
    message = email.message_from_bytes(file.read_bytes(), policy=policy.default)
    text, html = parts(message)
    token = token_in(row)
    assert f"/consent/{token}" in text and f'href="{app.config["PORTAL_BASE_URL"].rstrip("/")}/consent/{token}"' in html
    assert "Confirm or decline the association here" in text and "Confirm or decline the association here" in html
    assert "Confirmez ou refusez" in text and "Confirmez ou refusez" in html
    assert '<div lang="fr">' in html and '<div lang="en">' in html
    assert_self_contained(html)

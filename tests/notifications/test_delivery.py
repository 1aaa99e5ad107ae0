"""Emails are queued with what causes them and delivered after the response: to .eml files in
the outbox folder in development, through SMTP otherwise. A mail server that fails never fails
the request; the email stays queued and a later delivery (or the sweep) sends it."""
from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from portal.claims.models import Comment
from portal.extensions import db
from portal.notifications import mailer
from portal.notifications.models import OutgoingEmail
from portal.timeutil import utcnow
from tests.notifications.conftest import emails
from tests.support import sign_in

SMTP_DOWN = {
    "MAIL_BACKEND": "smtp",
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": 1,  # nothing listens there: the connection is refused
    "MAIL_SUPPRESS_SEND": False,  # Flask-Mail would otherwise pretend to send while testing
    "PORTAL_BASE_URL": "https://cpor.example",
}


def outbox(app) -> list[Path]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def comment_as_reviewer(app, cast, body="Could you add the signed PoE?", **kwargs):
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    return reviewer.post(f"/claims/{cast.claim_id}/comments", data={"body": body}, **kwargs)


def test_deliver_pending_writes_eml_files_to_the_outbox(app, cast):
    comment_as_reviewer(app, cast)
    assert outbox(app) == []  # queued with the comment, not sent inside the request
    with app.app_context():
        assert mailer.deliver_pending() == (3, 0)
        assert mailer.deliver_pending() == (0, 0)  # nothing is sent twice
    files = outbox(app)
    assert len(files) == 3
    messages = {m["To"]: m for m in (email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files)}
    assert set(messages) == {cast.emails[i] for i in cast.partner_side}
    french = messages[cast.emails[cast.admin_fr]]
    assert french["Subject"] == f"[CPOR] Un réviseur a commenté la revendication CPOR-{cast.claim_id:06d}."
    assert french["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert f"https://cpor.example/claims/{cast.claim_id}" in french.get_body(("plain",)).get_content()
    assert f'href="https://cpor.example/claims/{cast.claim_id}"' in french.get_body(("html",)).get_content()
    for row in emails(app):
        assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
        assert (Path(app.config["MAIL_OUTBOX_DIR"]) / f"{row.id:08d}.eml").exists()


def test_the_emails_a_request_queues_go_out_once_its_response_is_closed(app, cast):
    response = comment_as_reviewer(app, cast)
    assert response.status_code == 302
    assert outbox(app) == [] and all(row.sent_at is None for row in emails(app))
    response.close()  # what the WSGI server does once the response has gone out
    assert len(outbox(app)) == 3
    assert all(row.sent_at is not None for row in emails(app))


@pytest.mark.parametrize("app_overrides", [SMTP_DOWN])
def test_a_failing_mail_server_does_not_fail_the_request(app, cast):
    before = utcnow()
    response = comment_as_reviewer(app, cast, body="Saved even though mail is down.")
    assert response.status_code == 302
    response.close()  # delivery after the response fails against the closed port
    with app.app_context():
        assert db.session.scalar(select(Comment.body).where(Comment.claim_id == cast.claim_id)) == "Saved even though mail is down."
    rows = emails(app)
    assert len(rows) == 3
    for row in rows:
        assert row.sent_at is None
        assert row.attempts == 1
        assert row.last_error and "refused" in row.last_error.lower()
        assert row.next_attempt_at > before + timedelta(seconds=60)
    # An htmx post is just as unaffected.
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    fragment = reviewer.post(f"/claims/{cast.claim_id}/comments", data={"body": "Again."}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    fragment.close()


@pytest.mark.parametrize("app_overrides", [SMTP_DOWN])
def test_deliver_pending_keeps_a_failed_email_queued_and_sends_it_later(app, cast):
    comment_as_reviewer(app, cast)  # the response is not closed: delivery is left to us
    with app.app_context():
        now = utcnow()
        assert mailer.deliver_pending() == (0, 3)
        assert mailer.deliver_pending() == (0, 0)  # not due again before its retry time
    for row in emails(app):
        assert row.sent_at is None and row.attempts == 1 and row.last_error
        assert row.next_attempt_at > now
    assert outbox(app) == []

    app.config["MAIL_BACKEND"] = "outbox"  # the server is back (in development: the outbox)
    with app.app_context():
        db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert mailer.deliver_pending() == (3, 0)
    for row in emails(app):
        assert row.sent_at is not None and row.attempts == 2
    assert len(outbox(app)) == 3


@pytest.mark.parametrize("app_overrides", [SMTP_DOWN])
def test_retries_stop_after_the_last_attempt(app, cast):
    comment_as_reviewer(app, cast)
    with app.app_context():
        db.session.execute(update(OutgoingEmail).values(attempts=mailer.MAX_ATTEMPTS - 1))
        db.session.commit()
        assert mailer.deliver_pending() == (0, 3)
        db.session.execute(update(OutgoingEmail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert mailer.deliver_pending() == (0, 0)
    assert all(row.attempts == mailer.MAX_ATTEMPTS and row.sent_at is None for row in emails(app))


@pytest.mark.real_commits
def test_the_sweep_command_delivers_pending_emails(app, cast):
    comment_as_reviewer(app, cast)
    result = app.test_cli_runner().invoke(args=["claims", "sweep"])
    assert result.exit_code == 0, result.output
    assert "3 email(s) sent, 0 left to retry." in result.output
    assert len(outbox(app)) == 3
    assert all(row.sent_at is not None for row in emails(app))
    again = app.test_cli_runner().invoke(args=["claims", "sweep"])
    assert "0 email(s) sent" in again.output and len(outbox(app)) == 3


@pytest.mark.real_commits
@pytest.mark.parametrize("app_overrides", [SMTP_DOWN])
def test_the_sweep_command_survives_a_failing_mail_server(app, cast):
    comment_as_reviewer(app, cast)
    result = app.test_cli_runner().invoke(args=["claims", "sweep"])
    assert result.exit_code == 0, result.output
    assert "0 email(s) sent, 3 left to retry." in result.output
    assert all(row.attempts == 1 and row.sent_at is None for row in emails(app))

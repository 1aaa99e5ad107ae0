"""A comment form sent twice adds one comment, and a connection lost right after the comment's
commit cannot turn the saved comment into an error page that invites a duplicate."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from portal.claims.models import Comment
from portal.extensions import db
from tests.claims.lifecycle.conftest import GINA, RITA, make_claim, words
from tests.support import sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def claim_id(any_demo):
    return make_claim(any_demo, "under_review")


def _count(app, claim_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment).where(Comment.claim_id == claim_id))


def _nonce(page: str) -> str:
    match = re.search(r'<input type="hidden" id="comment-nonce" name="nonce" value="([^"]+)"', page)
    assert match, "the comment form carries no one-time key"
    return match.group(1)


@pytest.mark.parametrize("email", [GINA, RITA])
def test_a_comment_form_sent_twice_adds_one_comment(any_demo, claim_id, email):
    client = sign_in(any_demo, email)
    page = client.get(f"/claims/{claim_id}", follow_redirects=True).get_data(as_text=True)
    form = {"body": "Is anything missing?", "nonce": _nonce(page)}

    first = client.post(f"/claims/{claim_id}/comments", data=form)
    again = client.post(f"/claims/{claim_id}/comments", data=form)

    assert first.status_code == again.status_code == 302
    assert _count(any_demo, claim_id) == 1
    shown = words(client.get(again.location, follow_redirects=True))
    assert "Your comment was already posted." in shown
    assert shown.count("Is anything missing?") == 1


def test_each_form_shown_posts_its_own_comment(any_demo, claim_id):
    client = sign_in(any_demo, GINA)
    for body in ("First question", "Second question"):
        page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
        assert client.post(f"/claims/{claim_id}/comments", data={"body": body, "nonce": _nonce(page)}).status_code == 302
    assert _count(any_demo, claim_id) == 2


def test_htmx_posting_renews_the_forms_key_so_the_next_comment_is_added(any_demo, claim_id):
    client = sign_in(any_demo, GINA)
    key = _nonce(client.get(f"/claims/{claim_id}").get_data(as_text=True))

    posted = client.post(f"/claims/{claim_id}/comments", data={"body": "One", "nonce": key}, headers=HTMX)

    assert posted.status_code == 200
    renewed = _nonce(posted.get_data(as_text=True))
    assert renewed != key
    assert 'hx-swap-oob="true"' in posted.get_data(as_text=True)
    client.post(f"/claims/{claim_id}/comments", data={"body": "Two", "nonce": renewed}, headers=HTMX)
    assert _count(any_demo, claim_id) == 2


def test_another_users_key_adds_nothing_and_says_so(any_demo, claim_id):
    gina, rita = sign_in(any_demo, GINA), sign_in(any_demo, RITA)
    key = _nonce(gina.get(f"/claims/{claim_id}").get_data(as_text=True))
    gina.post(f"/claims/{claim_id}/comments", data={"body": "Mine", "nonce": key})

    response = rita.post(f"/claims/{claim_id}/comments", data={"body": "Theirs", "nonce": key}, headers=HTMX)

    assert response.status_code == 422
    assert "already used" in response.get_data(as_text=True)
    assert _count(any_demo, claim_id) == 1


class _DatabaseGone:
    """From the moment the request's session commits, every statement fails as it does when the
    database server goes away (a real engine hook, not a mock of the database)."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.gone = False

    def _commit(self, session):
        if not session.in_nested_transaction():  # the request's commit, not a savepoint's
            self.gone = True

    def _execute(self, *_args):
        if self.gone:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    def __enter__(self):
        event.listen(db.session, "after_commit", self._commit)
        event.listen(self.engine, "before_cursor_execute", self._execute)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._execute)
        event.remove(db.session, "after_commit", self._commit)


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_a_database_lost_right_after_the_commit_still_answers_the_post(any_demo, claim_id, htmx):
    client = sign_in(any_demo, GINA)
    key = _nonce(client.get(f"/claims/{claim_id}").get_data(as_text=True))

    with _DatabaseGone(any_demo) as gone:
        response = client.post(f"/claims/{claim_id}/comments", data={"body": "Saved once", "nonce": key},
                               headers=HTMX if htmx else {})
        assert gone.gone

    assert response.status_code == (200 if htmx else 302)
    # The user retries anyway (the same form): still one comment.
    client.post(f"/claims/{claim_id}/comments", data={"body": "Saved once", "nonce": key})
    assert _count(any_demo, claim_id) == 1


def test_the_error_page_does_not_claim_that_nothing_was_saved(any_demo, claim_id):
    client = sign_in(any_demo, GINA)
    any_demo.config["PROPAGATE_EXCEPTIONS"] = False
    with _DatabaseGone(any_demo) as gone:
        gone.gone = True
        response = client.get(f"/claims/{claim_id}")
    # A lost database is "briefly unavailable" (503, portal/errors.py), and says no more than it knows.
    assert response.status_code == 503
    shown = words(response)
    assert "Nothing you sent was saved" not in shown
    assert "may or may not have been saved" in shown

"""Notifications in the portal: the unread count in the navigation, the list, marking one or all
as read (a POST with CSRF), and never someone else's."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.claims import comments
from portal.claims.models import Claim
from portal.extensions import db
from portal.notifications.models import Notification
from tests import factories
from tests.html import form_token, header_token, text
from tests.notifications.conftest import make_cast, new_claim
from tests.support import sign_in


def badge(response) -> str:
    match = re.search(r'<a id="notification-badge"[^>]*>(.*?)</a>', response.get_data(as_text=True), re.S)
    assert match, "no notification badge"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def unread(app, user_id) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Notification.id).where(Notification.user_id == user_id,
                                                                     Notification.read_at.is_(None)).order_by(Notification.id)))


@pytest.fixture
def commented(app, cast):
    """Two reviewer comments on the claim: two unread notifications for each partner-side person."""
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    for body in ("First question.", "Second question."):
        assert reviewer.post(f"/claims/{cast.claim_id}/comments", data={"body": body}).status_code == 302
    return cast


def test_the_badge_counts_unread_notifications(app, commented):
    cast = commented
    admin = sign_in(app, cast.emails[cast.admin])
    assert badge(admin.get("/")) == "Notifications 2 unread"
    assert badge(admin.get(f"/claims/{cast.claim_id}")) == "Notifications 2 unread"
    fragment = admin.get("/notifications/badge")
    assert fragment.get_data(as_text=True).lstrip().startswith('<a id="notification-badge"')
    assert badge(fragment) == "Notifications 2 unread"
    assert 'hx-trigger="every 30s"' in fragment.get_data(as_text=True)
    colleague = sign_in(app, cast.emails[cast.colleague])
    assert badge(colleague.get("/")) == "Notifications"
    french = sign_in(app, cast.emails[cast.admin_fr])
    assert badge(french.get("/")) == "Notifications 2 non lues"  # a plural, not "non lue(s)"


def test_the_list_shows_each_notification_in_the_readers_language(app, commented):
    cast = commented
    number = f"CPOR-{cast.claim_id:06d}"
    page = text(sign_in(app, cast.emails[cast.admin]).get("/notifications/"))
    assert page.count(f"A reviewer commented on claim {number}.") == 2
    assert page.count("Mark as read") == 2 and "Mark all as read" in page
    for note in unread(app, cast.admin):  # each leads to the claim, marking it read on the way
        assert f'action="/notifications/{note}/open"' in page
    french = text(sign_in(app, cast.emails[cast.admin_fr]).get("/notifications/"))
    assert french.count(f"Un réviseur a commenté la revendication {number}.") == 2
    empty = text(sign_in(app, cast.emails[cast.colleague]).get("/notifications/"))
    assert "No notification yet." in empty


def test_mark_one_then_all_as_read(app, commented):
    cast = commented
    admin = sign_in(app, cast.emails[cast.admin])
    first, second = unread(app, cast.admin)
    others = unread(app, cast.author)
    response = admin.post(f"/notifications/{first}/read")
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications/")
    assert unread(app, cast.admin) == [second]
    assert badge(admin.get("/")) == "Notifications 1 unread"
    page = text(admin.get("/notifications/"))
    assert page.count("Mark as read") == 1
    assert admin.post("/notifications/read", data={"next": "/claims/"}).headers["Location"].endswith("/claims/")
    assert unread(app, cast.admin) == []
    assert badge(admin.get("/")) == "Notifications"
    assert unread(app, cast.author) == others  # only the reader's own


def test_marking_by_htmx_answers_the_badge_out_of_band(app, commented):
    cast = commented
    admin = sign_in(app, cast.emails[cast.admin])
    first, _ = unread(app, cast.admin)
    response = admin.post(f"/notifications/{first}/read", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "notifications-read"
    body = response.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in body and badge(response) == "Notifications 1 unread"


def test_another_users_notification_cannot_be_marked(app, commented):
    cast = commented
    theirs = unread(app, cast.author)
    intruder = sign_in(app, cast.emails[cast.admin])
    for notification_id in theirs:
        response = intruder.post(f"/notifications/{notification_id}/read")
        assert response.status_code in (302, 404)
    assert unread(app, cast.author) == theirs
    assert len(unread(app, cast.admin)) == 2  # the intruder's own are untouched too
    outsider = sign_in(app, cast.emails[cast.outsider])
    outsider.post("/notifications/read")
    assert unread(app, cast.author) == theirs


def test_marking_needs_a_post(app, commented):
    cast = commented
    admin = sign_in(app, cast.emails[cast.admin])
    first, _ = unread(app, cast.admin)
    assert admin.get(f"/notifications/{first}/read").status_code == 405
    assert admin.get("/notifications/read").status_code == 405
    assert len(unread(app, cast.admin)) == 2


def test_signed_out_visitors_see_no_notifications(app, commented):
    client = app.test_client()
    assert client.get("/notifications/").status_code in (302, 401)
    assert client.post("/notifications/read").status_code in (302, 400, 401)
    assert len(unread(app, commented.admin)) == 2


def _reviewer_comments(app, cast):
    with app.test_request_context():
        comments.post(db.session.get(User, cast.reviewer), db.session.get(Claim, cast.claim_id), "A question.")
        db.session.commit()


def _admin_signed_in_with_csrf(app):
    """A claim with a reviewer's comment, and a client signed in as an admin told of it, with
    CSRF checked as in production."""
    cast = make_cast(app)
    cast.claim_id = new_claim(app, cast)
    _reviewer_comments(app, cast)
    client = app.test_client()
    login = client.get("/login")
    assert client.post("/login", data={"email": cast.emails[cast.admin], "password": factories.PASSWORD,
                                       "csrf_token": form_token(login)}).status_code == 302
    return cast, client


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_marking_as_read_needs_the_csrf_token(app, app_overrides):
    cast, client = _admin_signed_in_with_csrf(app)
    (note,) = unread(app, cast.admin)
    assert client.post(f"/notifications/{note}/read").status_code == 400
    assert client.post("/notifications/read").status_code == 400
    assert unread(app, cast.admin) == [note]
    page = client.get("/notifications/")
    response = client.post(f"/notifications/{note}/read", data={"csrf_token": form_token(page)})
    assert response.status_code == 302
    assert unread(app, cast.admin) == []
    # htmx sends the token the page gives it in a header.
    _reviewer_comments(app, cast)
    assert client.post("/notifications/read", headers={"HX-Request": "true",
                                                       "X-CSRFToken": header_token(client.get("/"))}).status_code == 200
    assert unread(app, cast.admin) == []


def test_following_a_notification_opens_its_claim_and_marks_it_read(app, commented):
    cast = commented
    admin = sign_in(app, cast.emails[cast.admin])
    first, second = unread(app, cast.admin)
    response = admin.post(f"/notifications/{first}/open")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/claims/{cast.claim_id}")
    assert unread(app, cast.admin) == [second]
    assert badge(admin.get(response.headers["Location"])) == "Notifications 1 unread"
    page = text(admin.get("/notifications/"))
    assert f'action="/notifications/{first}/open"' not in page  # read: a plain link to the claim now
    assert f'href="/claims/{cast.claim_id}"' in page and f'action="/notifications/{second}/open"' in page
    # A reviewer's notification opens the claim where reviewers read it.
    sign_in(app, cast.emails[cast.admin]).post(f"/claims/{cast.claim_id}/comments", data={"body": "Here it is."})
    (reviewers,) = unread(app, cast.reviewer)
    reviewer = sign_in(app, cast.emails[cast.reviewer])
    opened = reviewer.post(f"/notifications/{reviewers}/open", follow_redirects=True)
    assert opened.status_code == 200 and opened.request.path == f"/review/claims/{cast.claim_id}"
    assert unread(app, cast.reviewer) == []


def test_nobody_opens_or_marks_someone_elses_notification(app, commented):
    cast = commented
    theirs = unread(app, cast.author)
    intruder = sign_in(app, cast.emails[cast.admin])
    for notification_id in theirs + [999_999]:
        assert intruder.post(f"/notifications/{notification_id}/open").status_code == 404
    assert unread(app, cast.author) == theirs
    assert intruder.get(f"/notifications/{theirs[0]}/open").status_code == 405  # never by a GET


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_following_a_notification_needs_the_csrf_token(app, app_overrides):
    cast, client = _admin_signed_in_with_csrf(app)
    (note,) = unread(app, cast.admin)
    assert client.post(f"/notifications/{note}/open").status_code == 400
    assert unread(app, cast.admin) == [note]
    page = client.get("/notifications/")
    assert client.post(f"/notifications/{note}/open", data={"csrf_token": form_token(page)}).status_code == 303
    assert unread(app, cast.admin) == []

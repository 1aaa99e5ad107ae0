"""Every route against every kind of user, and another organization's objects."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.accounts.models import Mpn, MpnEvent, User
from portal.extensions import db
from tests import factories
from tests.accounts.conftest import CONTOSO
from tests.html import text, without_tokens

LOGIN = "login"  # anonymous: redirected to the sign-in page, coming back afterwards
WHO = ("anonymous", "global_admin", "incentives_admin", "billing_admin", "referrals_admin", "reviewer")

# {member} is a user of the signed-in person's organization, {mpn} one of its MPN IDs.
# fmt: off
MATRIX = {
    #  method, path                          anonymous global incentives billing referrals reviewer
    ("GET",  "/"):                           (LOGIN,    200,   200,       200,    403,      302),
    ("GET",  "/login"):                      (200,      302,   302,       302,    302,      302),
    ("POST", "/logout"):                     (302,      302,   302,       302,    302,      302),
    ("POST", "/language"):                   (302,      302,   302,       302,    302,      302),
    ("GET",  "/users"):                      (LOGIN,    200,   403,       403,    403,      403),
    ("POST", "/users/{member}/role"):        (LOGIN,    302,   403,       403,    403,      403),
    ("POST", "/users/{member}/deactivate"):  (LOGIN,    302,   403,       403,    403,      403),
    ("POST", "/users/{member}/reactivate"):  (LOGIN,    302,   403,       403,    403,      403),
    ("GET",  "/incentives"):                 (LOGIN,    200,   200,       403,    403,      403),
    ("POST", "/incentives/{mpn}/enroll"):    (LOGIN,    302,   302,       403,    403,      403),
    ("POST", "/incentives/{mpn}/unenroll"):  (LOGIN,    302,   302,       403,    403,      403),
    ("GET",  "/review/"):                    (LOGIN,    403,   403,       403,    403,      200),
    ("GET",  "/healthz"):                    (200,      200,   200,       200,    200,      200),
}
# fmt: on

FORM_DATA = {"/language": {"locale": "en", "next": "/"}, "/users/{member}/role": {"role": "billing_admin"}}

CASES = [
    pytest.param(method, path, who, expected, id=f"{method} {path} as {who}")
    for (method, path), row in MATRIX.items()
    for who, expected in zip(WHO, row, strict=True)
]


@pytest.mark.parametrize(("method", "path", "who", "expected"), CASES)
def test_route_answers_each_kind_of_user(client, people, login, method, path, who, expected):
    login(who)
    url = path.format(member=people.billing_admin.id, mpn=people.mpn_pk)

    response = client.open(url, method=method, data=FORM_DATA.get(path, {}))

    if expected == LOGIN:
        assert response.status_code == 302
        target = urlsplit(response.location)
        assert target.path == "/login"
        assert parse_qs(target.query)["next"] == [url]
    else:
        assert response.status_code == expected
    if expected == 403:
        assert "You don't have access to this page" in text(response)


def test_reviewer_home_is_the_review_queue(client, login):
    login("reviewer")
    assert client.get("/").location == "/review/"


def test_anonymous_redirect_keeps_the_query_string(client):
    response = client.get("/incentives?page=2")
    assert parse_qs(urlsplit(response.location).query)["next"] == ["/incentives?page=2"]


def _user_state(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.role, user.active


@pytest.mark.parametrize("action", ["role", "deactivate", "reactivate"])
def test_another_organizations_user_is_not_found_and_unchanged(app, client, people, login, action):
    login("global_admin")
    before = _user_state(app, people.other_admin.id)

    response = client.post(f"/users/{people.other_admin.id}/{action}", data={"role": "billing_admin"})

    assert response.status_code == 404
    assert _user_state(app, people.other_admin.id) == before


@pytest.mark.parametrize("action", ["role", "deactivate", "reactivate"])
def test_another_organizations_user_looks_like_a_missing_one(client, people, login, action):
    login("global_admin")
    answers = {}
    for user_id in (people.other_admin.id, 999999):
        response = client.post(f"/users/{user_id}/{action}", data={"role": "billing_admin"})
        assert response.status_code == 404
        answers[user_id] = without_tokens(text(response)).replace(f"/users/{user_id}/", "/users/ID/")
    assert answers[people.other_admin.id] == answers[999999]


@pytest.mark.parametrize("who", ["global_admin", "incentives_admin"])
@pytest.mark.parametrize("action", ["enroll", "unenroll"])
def test_another_organizations_mpn_is_not_found_and_unchanged(app, client, people, login, who, action):
    with app.app_context():
        db.session.get(Mpn, people.other_mpn_pk).incentives_enrolled = action == "unenroll"
        db.session.commit()
    login(who)

    response = client.post(f"/incentives/{people.other_mpn_pk}/{action}")

    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Mpn, people.other_mpn_pk).incentives_enrolled is (action == "unenroll")
        assert db.session.query(MpnEvent).count() == 0


def test_another_organizations_mpn_is_not_listed(client, people, login):
    login("incentives_admin")
    page = text(client.get("/incentives"))
    assert people.mpn_id in page
    assert people.other_mpn_id not in page


def test_users_page_lists_only_the_own_organization(client, people, login):
    login("global_admin")
    page = text(client.get("/users"))
    assert people.billing_admin.email in page
    assert people.other_admin.email not in page
    assert people.reviewer.email not in page


def _admins_listed(page):
    match = re.search(r'<ul class="admins">(.*?)</ul>', page, re.S)
    return re.findall(r"<li>(.*?) · <a href=\"mailto:(.*?)\">", match.group(1)) if match else []


def test_forbidden_page_lists_the_organizations_active_global_admins(app, client, people, login):
    with app.app_context():
        organization = db.session.get(User, people.global_admin.id).organization
        factories.user(organization, "global_admin", name="Ann Second", email=f"ann@{CONTOSO}")
        factories.user(organization, "global_admin", name="Gone Admin", email=f"gone@{CONTOSO}", active=False)
        db.session.commit()
    login("referrals_admin")

    response = client.get("/")

    page = text(response)
    assert response.status_code == 403
    assert "Your role doesn't give access to customer associations" in page
    assert _admins_listed(page) == [
        ("Ann Second", f"ann@{CONTOSO}"),
        (people.global_admin.name, people.global_admin.email),
    ]
    assert people.other_admin.email not in page and people.other_admin.name not in page
    assert "Fabrikam" not in page


def test_forbidden_page_for_a_role_lacking_one_permission_also_lists_admins(client, people, login):
    login("billing_admin")
    page = text(client.get("/users"))
    assert "Your role doesn't allow this action." in page
    assert _admins_listed(page) == [(people.global_admin.name, people.global_admin.email)]


def test_forbidden_page_for_a_reviewer_lists_no_partner_admins(client, people, login):
    login("reviewer")
    page = text(client.get("/users"))
    assert _admins_listed(page) == []
    assert people.global_admin.email not in page


@pytest.mark.parametrize(
    ("who", "visible", "hidden"),
    [
        ("global_admin", ["/incentives", "/users"], ["/review/"]),
        ("incentives_admin", ["/incentives"], ["/users", "/review/"]),
        ("billing_admin", [], ["/incentives", "/users", "/review/"]),
    ],
)
def test_navigation_offers_only_allowed_pages(client, login, who, visible, hidden):
    login(who)
    page = text(client.get("/"))
    for path in visible:
        assert f'href="{path}"' in page
    for path in hidden:
        assert f'href="{path}"' not in page


def test_the_no_access_page_offers_contact_support_once(client, people, login):
    login("billing_admin")

    response = client.get("/users")

    assert response.status_code == 403
    assert response.get_data(as_text=True).count("Contact support") == 1

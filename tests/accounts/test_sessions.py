"""Ending sessions: sign-out, deactivation, reactivation, a role or password change and "Sign out
everywhere" end every session of the user, and every copy of its cookie."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.directory_import import import_directory, load_file
from portal.extensions import db
from tests.html import text
from tests.support import Statements, sign_in

COOKIE = "cpor_session"


def copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie (as someone who copied it)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_a_copied_cookie_works_while_the_session_does(app, people):
    """The copy is a real copy: without this, the tests below would prove nothing."""
    client = sign_in(app, people.billing_admin.email)
    assert signed_in(copy_of(app, client))


def test_sign_out_ends_every_copy_of_the_session(app, people):
    client = sign_in(app, people.billing_admin.email)
    thief = copy_of(app, client)

    client.post("/logout")

    assert not signed_in(client)
    assert not signed_in(thief)


def test_a_cookie_copied_before_deactivation_does_not_work_after_reactivation(app, people):
    admin = sign_in(app, people.global_admin.email)
    client = sign_in(app, people.billing_admin.email)
    thief = copy_of(app, client)

    admin.post(f"/users/{people.billing_admin.id}/deactivate")
    assert not signed_in(client)
    admin.post(f"/users/{people.billing_admin.id}/reactivate")

    assert not signed_in(thief)
    assert signed_in(sign_in(app, people.billing_admin.email))  # signing in again works


def test_a_role_change_ends_the_users_sessions(app, people):
    admin = sign_in(app, people.global_admin.email)
    client = sign_in(app, people.billing_admin.email)

    admin.post(f"/users/{people.billing_admin.id}/role", data={"role": "incentives_admin"})

    assert not signed_in(client)
    assert signed_in(admin)  # the admin's own session is not the one that changed


def test_sign_out_everywhere_ends_every_session_of_the_user_only(app, people):
    laptop = sign_in(app, people.billing_admin.email)
    phone = sign_in(app, people.billing_admin.email)
    colleague = sign_in(app, people.incentives_admin.email)

    response = laptop.post("/logout/everywhere", follow_redirects=True)

    assert "You are signed out everywhere" in text(response)
    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert signed_in(colleague)


def test_every_page_offers_sign_out_everywhere_as_a_form(app, people):
    page = text(sign_in(app, people.billing_admin.email).get("/"))
    assert 'action="/logout/everywhere"' in page and "Sign out everywhere" in page


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_sign_out_everywhere_needs_the_csrf_token(app, people):
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": people.billing_admin.email, "password": "demo-password", "csrf_token": token})
    assert signed_in(client)

    response = client.post("/logout/everywhere")

    assert response.status_code == 400
    assert signed_in(client)


def test_sign_out_everywhere_signed_out_goes_to_sign_in(app):
    response = app.test_client().post("/logout/everywhere")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_a_new_password_from_the_directory_import_ends_the_users_sessions(demo_directory, app):
    client = sign_in(app, "bea@fabrikam.example")
    data = load_file(Path(__file__).resolve().parents[2] / "portal" / "directory" / "demo.json")
    for user in data["partners"][0]["users"]:
        if user["email"] == "bea@fabrikam.example":
            user["password"] = "a-brand-new-password"

    with app.app_context():
        import_directory(data)
        db.session.commit()

    assert not signed_in(client)
    assert signed_in(sign_in(app, "bea@fabrikam.example", password="a-brand-new-password"))


def test_the_session_check_reads_only_the_users_row_it_already_read(app, people):
    """The user loader's one query (the user with their organization) brings the version too."""
    client = sign_in(app, people.billing_admin.email)
    with Statements(app) as recorder:
        assert client.get("/notifications/badge").status_code in (200, 204, 286)
    reading_users = [s for s in recorder.statements if "FROM users" in s]
    assert len(reading_users) == 1, reading_users


def test_version_is_kept_in_the_row(app, people):
    sign_in(app, people.billing_admin.email).post("/logout")
    with app.app_context():
        assert db.session.scalar(select(User.session_version).where(User.id == people.billing_admin.id)) == 1

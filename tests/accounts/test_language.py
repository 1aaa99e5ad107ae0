"""Language: the user's setting, else the choice made on this browser, else Accept-Language."""
from __future__ import annotations

import pytest

from portal.accounts.models import User
from portal.extensions import db
from portal.i18n import LOCALE_COOKIE
from tests.factories import PASSWORD
from tests.html import lang


def _locale(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).locale


def test_signed_in_user_switches_to_french_and_it_is_saved(app, client, people, login):
    login("billing_admin")

    response = client.post("/language", data={"locale": "fr", "next": "/"})

    assert response.location == "/"
    assert lang(client.get("/")) == "fr"
    assert _locale(app, people.billing_admin.id) == "fr"


def test_saved_setting_follows_the_user_to_another_browser(app, people, login):
    with app.app_context():
        db.session.get(User, people.billing_admin.id).locale = "fr"
        db.session.commit()
    browser = app.test_client()
    browser.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})
    assert lang(browser.get("/")) == "fr"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("fr", "fr"), ("fr-CA,fr;q=0.9,en;q=0.5", "fr"), ("en-GB", "en"), ("de", "en"), (None, "en")],
)
def test_anonymous_visitor_gets_the_browsers_language(client, accept, expected):
    headers = {"Accept-Language": accept} if accept else {}
    assert lang(client.get("/login", headers=headers)) == expected


def test_anonymous_choice_wins_over_the_browser(client):
    client.post("/language", data={"locale": "en", "next": "/login"})
    assert lang(client.get("/login", headers={"Accept-Language": "fr"})) == "en"


def test_user_setting_wins_over_the_browser(app, client, people, login):
    with app.app_context():
        db.session.get(User, people.billing_admin.id).locale = "en"
        db.session.commit()
    login("billing_admin")
    assert lang(client.get("/", headers={"Accept-Language": "fr"})) == "en"


def test_choice_made_before_signing_in_becomes_the_users_setting(app, client, people):
    client.post("/language", data={"locale": "fr", "next": "/login"})

    client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})

    assert _locale(app, people.billing_admin.id) == "fr"
    assert lang(client.get("/")) == "fr"


def test_choice_made_before_signing_in_does_not_override_a_saved_setting(app, client, people):
    with app.app_context():
        db.session.get(User, people.billing_admin.id).locale = "en"
        db.session.commit()
    client.post("/language", data={"locale": "fr", "next": "/login"})

    client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD})

    assert _locale(app, people.billing_admin.id) == "en"
    assert lang(client.get("/")) == "en"


def test_language_switch_offers_the_other_language(client):
    assert 'value="fr"' in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"locale": "fr", "next": "/login"})
    assert 'value="en"' in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_refused(app, client, people, login):
    login("billing_admin")
    assert client.post("/language", data={"locale": "de", "next": "/"}).status_code == 400
    assert _locale(app, people.billing_admin.id) is None


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example"])
def test_language_switch_never_redirects_off_site(client, target):
    assert client.post("/language", data={"locale": "fr", "next": target}).location == "/"


def test_language_switch_returns_to_the_page(client):
    assert client.post("/language", data={"locale": "fr", "next": "/login?next=/users"}).location == (
        "/login?next=/users"
    )


def test_sign_in_page_choice_outlives_the_session(app, client):
    """Kept in its own cookie: a session that ends (or a new one) doesn't lose it."""
    client.post("/language", data={"locale": "fr", "next": "/login"})
    client.delete_cookie(app.config["SESSION_COOKIE_NAME"])

    assert lang(client.get("/login", headers={"Accept-Language": "en"})) == "fr"


def test_sign_in_page_choice_is_used_after_signing_in_when_the_user_has_no_setting(app, client, people):
    with app.app_context():
        db.session.get(User, people.billing_admin.id).locale = None
        db.session.commit()
    client.post("/language", data={"locale": "fr", "next": "/login"})

    client.post("/login", data={"email": people.billing_admin.email, "password": PASSWORD},
                headers={"Accept-Language": "en"})

    assert lang(client.get("/", headers={"Accept-Language": "en"})) == "fr"


def test_signing_out_keeps_the_language_for_the_sign_in_page(app, client, people, login):
    with app.app_context():
        db.session.get(User, people.billing_admin.id).locale = "fr"
        db.session.commit()
    login("billing_admin")

    response = client.post("/logout", follow_redirects=True, headers={"Accept-Language": "en"})

    assert lang(response) == "fr"
    assert "Vous êtes déconnecté" in response.get_data(as_text=True)
    assert lang(client.get("/login", headers={"Accept-Language": "en"})) == "fr"


def test_an_unknown_language_in_the_cookie_is_ignored(app, client):
    client.set_cookie(LOCALE_COOKIE, "de")
    assert lang(client.get("/login", headers={"Accept-Language": "fr"})) == "fr"

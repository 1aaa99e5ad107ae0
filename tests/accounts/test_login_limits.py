"""Sign-in attempts are limited per account (the submitted email, whoever sends it) as well as
per client address."""
from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from tests.html import text

PER_ACCOUNT = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "100 per minute", "LOGIN_ACCOUNT_RATE_LIMIT": "3 per minute"}


def attempt(app, email, password, address):
    """A sign-in from a browser of its own at client ``address``."""
    return app.test_client().post("/login", data={"email": email, "password": password},
                                  environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize("app_overrides", [PER_ACCOUNT])
def test_failed_attempts_on_one_account_from_many_addresses_are_limited(app, people):
    for n in range(3):
        assert attempt(app, people.billing_admin.email, "wrong", f"198.51.100.{n}").status_code == 200

    response = attempt(app, people.billing_admin.email, PASSWORD, "198.51.100.99")

    assert response.status_code == 429
    page = text(response)
    assert "Too many sign-in attempts for this email address. Wait a few minutes and try again." in page
    assert "<footer" in page  # in the layout


@pytest.mark.parametrize("app_overrides", [PER_ACCOUNT])
def test_the_account_is_the_normalised_email(app, people):
    email = people.billing_admin.email
    for n, spelling in enumerate([email.upper(), f"  {email} ", email.title()]):
        assert attempt(app, spelling, "wrong", f"198.51.100.{n}").status_code == 200

    assert attempt(app, email, PASSWORD, "198.51.100.99").status_code == 429


@pytest.mark.parametrize("app_overrides", [PER_ACCOUNT])
def test_another_account_from_the_same_address_is_not_limited(app, people):
    for _ in range(3):
        attempt(app, people.billing_admin.email, "wrong", "198.51.100.1")

    assert attempt(app, people.incentives_admin.email, PASSWORD, "198.51.100.1").status_code == 302


@pytest.mark.parametrize("app_overrides", [PER_ACCOUNT])
def test_successful_sign_ins_do_not_count_against_the_account(app, people):
    for n in range(5):
        assert attempt(app, people.billing_admin.email, PASSWORD, f"198.51.100.{n}").status_code == 302


@pytest.mark.parametrize("app_overrides", [PER_ACCOUNT])
def test_unknown_accounts_are_limited_the_same_way(app):
    for n in range(3):
        assert attempt(app, "nobody@contoso.example.com", "wrong", f"198.51.100.{n}").status_code == 200
    assert attempt(app, "nobody@contoso.example.com", "wrong", "198.51.100.99").status_code == 429

"""The Users page: a global admin adds people, changes roles, deactivates and reactivates."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.extensions import db
from tests import factories
from tests.html import text

LAST_ADMIN = "This is the last active global admin: make someone else a global admin first."
NEW_PASSWORD = "a-long-temporary-password"


def _new_user(**changes):
    data = {
        "name": "Nora New",
        "email": "nora@contoso.example.com",
        "role": "billing_admin",
        "locale": "fr",
        "password": NEW_PASSWORD,
    }
    data.update(changes)
    return data


def _user_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def _state(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.role, user.active


@pytest.mark.production_password_hash
def test_added_user_belongs_to_the_organization_and_can_sign_in(app, client, people, login):
    login("global_admin")

    response = client.post("/users", data=_new_user(email="Nora@Contoso.Example.com"))

    assert response.status_code == 302
    assert "Nora New was added." in text(client.get(response.location))
    with app.app_context():
        nora = db.session.scalar(select(User).where(User.email == "nora@contoso.example.com"))
        assert (nora.organization_id, nora.role, nora.locale, nora.active) == (
            people.org_id, "billing_admin", "fr", True)
        assert nora.password_hash.startswith("scrypt:")
        assert NEW_PASSWORD not in nora.password_hash
    newcomer = app.test_client()
    signed_in = newcomer.post("/login", data={"email": "nora@contoso.example.com", "password": NEW_PASSWORD})
    assert signed_in.location == "/"
    assert newcomer.get("/").status_code == 200


@pytest.mark.parametrize("email", ["bill@contoso.example.com", "BILL@contoso.example.com"])
def test_an_email_already_in_use_is_refused(app, client, people, login, email):
    login("global_admin")
    before = _user_count(app)

    response = client.post("/users", data=_new_user(email=email))

    assert response.status_code == 422
    page = text(response)
    assert "A user with this email already exists." in page
    assert 'id="email-error"' in page
    assert _user_count(app) == before
    assert "Fabrikam" not in page


@pytest.mark.parametrize("email", ["otto@fabrikam.example.com", "OTTO@fabrikam.example.com", "rene@review.example.com"])
def test_an_email_of_another_organization_or_a_reviewer_is_refused_without_saying_it_exists(
        app, client, people, login, email):
    login("global_admin")
    before = _user_count(app)

    response = client.post("/users", data=_new_user(email=email))

    assert response.status_code == 422
    page = text(response)
    assert "This email address can't be used for a new user." in page
    assert "exists" not in page and "already" not in page
    assert 'id="email-error"' in page
    assert "Fabrikam" not in page and "Otto" not in page and "Rene" not in page
    assert _user_count(app) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"role": "emperor"}, "role"),
        ({"role": ""}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"password": "short"}, "password"),
    ],
)
def test_an_invalid_new_user_is_refused_beside_the_field(app, client, login, changes, field):
    login("global_admin")
    before = _user_count(app)

    response = client.post("/users", data=_new_user(**changes))

    assert response.status_code == 422
    page = text(response)
    assert f'id="{field}-error"' in page
    assert f'href="#{field}"' in page  # the error summary links to the field
    assert _user_count(app) == before


def test_role_change(app, client, people, login):
    login("global_admin")

    response = client.post(f"/users/{people.billing_admin.id}/role", data={"role": "incentives_admin"})

    assert response.location == "/users"
    assert f"The role of {people.billing_admin.name} was changed." in text(client.get("/users"))
    assert _state(app, people.billing_admin.id) == ("incentives_admin", True)


@pytest.mark.parametrize("role", ["emperor", "", "reviewer"])
def test_role_change_to_a_role_not_offered_is_refused(app, client, people, login, role):
    login("global_admin")

    response = client.post(f"/users/{people.billing_admin.id}/role", data={"role": role})

    assert response.status_code == 400
    assert _state(app, people.billing_admin.id) == ("billing_admin", True)


def test_deactivate_then_reactivate(app, client, people, login):
    login("global_admin")
    bill = people.billing_admin

    response = client.post(f"/users/{bill.id}/deactivate")

    assert response.location == "/users"
    page = text(client.get("/users"))
    assert f"{bill.name} was deactivated and can no longer sign in." in page
    assert f"/users/{bill.id}/reactivate" in page
    assert _state(app, bill.id) == ("billing_admin", False)

    client.post(f"/users/{bill.id}/reactivate")

    assert f"{bill.name} was reactivated." in text(client.get("/users"))
    assert _state(app, bill.id) == ("billing_admin", True)


def test_deactivated_user_is_signed_out_and_cannot_sign_back_in(app, client, people, login):
    bill = app.test_client()
    bill.post("/login", data={"email": people.billing_admin.email, "password": factories.PASSWORD})
    login("global_admin")

    client.post(f"/users/{people.billing_admin.id}/deactivate")

    assert bill.get("/").location.startswith("/login")
    again = bill.post("/login", data={"email": people.billing_admin.email, "password": factories.PASSWORD})
    assert "Email or password is incorrect." in text(again)


@pytest.mark.parametrize(
    ("path", "data"),
    [("role", {"role": "billing_admin"}), ("deactivate", {})],
    ids=["demote", "deactivate"],
)
def test_the_last_active_global_admin_stays(app, client, people, login, path, data):
    with app.app_context():  # a deactivated global admin does not count
        organization = db.session.get(User, people.global_admin.id).organization
        factories.user(organization, "global_admin", active=False)
        db.session.commit()
    login("global_admin")

    response = client.post(f"/users/{people.global_admin.id}/{path}", data=data)

    assert response.location == "/users"
    assert LAST_ADMIN in text(client.get("/users"))
    assert _state(app, people.global_admin.id) == ("global_admin", True)


def test_with_two_global_admins_one_can_be_demoted_but_not_the_second(app, client, people, login):
    with app.app_context():
        organization = db.session.get(User, people.global_admin.id).organization
        second_id = factories.user(organization, "global_admin", name="Second Admin").id
        db.session.commit()
    login("global_admin")

    client.post(f"/users/{second_id}/role", data={"role": "incentives_admin"})

    assert _state(app, second_id) == ("incentives_admin", True)

    client.post(f"/users/{people.global_admin.id}/role", data={"role": "incentives_admin"})

    assert LAST_ADMIN in text(client.get("/users"))
    assert _state(app, people.global_admin.id) == ("global_admin", True)


def test_with_two_global_admins_one_can_be_deactivated(app, client, people, login):
    with app.app_context():
        organization = db.session.get(User, people.global_admin.id).organization
        second_id = factories.user(organization, "global_admin").id
        db.session.commit()
    login("global_admin")

    client.post(f"/users/{second_id}/deactivate")

    assert _state(app, second_id) == ("global_admin", False)


def test_another_organizations_last_admin_does_not_count(app, client, people, login):
    """Otto is Fabrikam's admin: Contoso's only admin still may not leave."""
    login("global_admin")
    client.post(f"/users/{people.global_admin.id}/deactivate")
    assert _state(app, people.global_admin.id) == ("global_admin", True)


def test_add_a_user_preselects_no_role(client, people, login):
    """Never Global admin by default: the role list starts on a prompt, and nothing is selected."""
    login("global_admin")

    page = client.get("/users").get_data(as_text=True)

    add_form = page[page.index('id="add-user-heading"'):]
    select = add_form[add_form.index('<select id="role"'):add_form.index("</select>")]
    assert '<option selected value="">Choose a role</option>' in select
    assert select.count("selected") == 1


def test_adding_a_user_without_a_role_is_refused_and_adds_nobody(app, client, people, login):
    login("global_admin")
    before = _user_count(app)

    response = client.post("/users", data=_new_user(role=""))

    assert response.status_code == 422
    body = text(response)
    assert "Choose the user's role." in body
    assert 'aria-describedby="role-error"' in body
    assert _user_count(app) == before

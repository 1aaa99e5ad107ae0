"""One organization with a user of every kind, a second organization, and signing in as any of
them. Rows are written in an app context that is closed before any request is made."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.extensions import db
from tests import factories
from tests.support import sign_in


# Addresses must pass the sign-in form's email validator, which refuses special-use domains
# such as .test.
CONTOSO = "contoso.example.com"


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class People:
    org_id: int
    other_org_id: int
    global_admin: Person
    incentives_admin: Person
    billing_admin: Person
    referrals_admin: Person
    reviewer: Person
    other_admin: Person
    mpn_pk: int
    mpn_id: str
    other_mpn_pk: int
    other_mpn_id: str

    def __getitem__(self, who: str) -> Person:
        return getattr(self, who)


def _person(user) -> Person:
    return Person(user.id, user.email, user.name)


@pytest.fixture
def people(app) -> People:
    with app.app_context():
        org = factories.org(name="Contoso Partners")
        other = factories.org(name="Fabrikam Partners")
        everyone = dict(
            global_admin=factories.user(org, "global_admin", name="Gloria Admin", email=f"gloria@{CONTOSO}"),
            incentives_admin=factories.user(org, "incentives_admin", name="Ines Incentives", email=f"ines@{CONTOSO}"),
            billing_admin=factories.user(org, "billing_admin", name="Bill Billing", email=f"bill@{CONTOSO}"),
            referrals_admin=factories.user(org, "referrals_admin", name="Rita Referrals", email=f"rita@{CONTOSO}"),
            reviewer=factories.reviewer(name="Rene Reviewer", email="rene@review.example.com"),
            other_admin=factories.user(other, "global_admin", name="Otto Otherorg", email="otto@fabrikam.example.com"),
        )
        mpn = factories.mpn(org, enrolled=False)
        other_mpn = factories.mpn(other, enrolled=False)
        result = People(
            org_id=org.id,
            other_org_id=other.id,
            mpn_pk=mpn.id,
            mpn_id=mpn.mpn_id,
            other_mpn_pk=other_mpn.id,
            other_mpn_id=other_mpn.mpn_id,
            **{who: _person(user) for who, user in everyone.items()},
        )
        db.session.commit()
    return result


@pytest.fixture
def login(app, client, people):
    """``login("billing_admin")`` signs the test client in as that person and returns them;
    ``login("anonymous")`` leaves it signed out."""

    def sign_in_as(who: str) -> Person | None:
        if who == "anonymous":
            return None
        person = people[who]
        sign_in(app, person.email, client=client)
        return person

    return sign_in_as

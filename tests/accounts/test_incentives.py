"""Incentives overview: enrolling and unenrolling MPN IDs, with the history on the page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import Mpn, MpnEvent
from portal.extensions import db
from tests.html import text
from tests.support import PASSWORD


def _mpn_state(app, mpn_pk):
    with app.app_context():
        enrolled = db.session.get(Mpn, mpn_pk).incentives_enrolled
        events = db.session.execute(
            select(MpnEvent.action, MpnEvent.user_id).where(MpnEvent.mpn_pk == mpn_pk).order_by(MpnEvent.id)
        ).all()
        return enrolled, [tuple(event) for event in events]


def _row(page, mpn_id):
    match = re.search(rf'<tr id="mpn-{mpn_id}">(.*?)</tr>', page, re.S)
    assert match, f"no row for MPN ID {mpn_id}"
    return match.group(1)


@pytest.mark.parametrize("who", ["incentives_admin", "global_admin"])
def test_enroll_then_unenroll_records_both_in_the_history(app, client, people, login, who):
    person = login(who)

    response = client.post(f"/incentives/{people.mpn_pk}/enroll")

    assert response.location == "/incentives"
    assert _mpn_state(app, people.mpn_pk) == (True, [("enrolled", person.id)])
    page = text(client.get("/incentives"))
    assert f"MPN ID {people.mpn_id} is enrolled in incentives." in page
    assert "Not enrolled" not in _row(page, people.mpn_id)
    assert f"{person.name} enrolled MPN ID {people.mpn_id}" in page

    client.post(f"/incentives/{people.mpn_pk}/unenroll")

    assert _mpn_state(app, people.mpn_pk) == (False, [("enrolled", person.id), ("unenrolled", person.id)])
    page = text(client.get("/incentives"))
    assert f"MPN ID {people.mpn_id} is no longer enrolled in incentives." in page
    assert "Not enrolled" in _row(page, people.mpn_id)
    assert f"{person.name} unenrolled MPN ID {people.mpn_id}" in page
    assert page.index(f"{person.name} unenrolled") < page.index(f"{person.name} enrolled")  # newest first


def test_enrolling_an_enrolled_mpn_records_nothing(app, client, people, login):
    login("incentives_admin")
    client.post(f"/incentives/{people.mpn_pk}/enroll")

    response = client.post(f"/incentives/{people.mpn_pk}/enroll")

    assert response.status_code == 302
    assert _mpn_state(app, people.mpn_pk) == (True, [("enrolled", people.incentives_admin.id)])


def test_unenrolling_an_unenrolled_mpn_records_nothing(app, client, people, login):
    login("incentives_admin")

    client.post(f"/incentives/{people.mpn_pk}/unenroll")

    assert _mpn_state(app, people.mpn_pk) == (False, [])
    assert "No enrollment change yet." in text(client.get("/incentives"))


def test_the_row_offers_the_opposite_action(client, people, login):
    login("incentives_admin")
    assert f"/incentives/{people.mpn_pk}/enroll" in _row(text(client.get("/incentives")), people.mpn_id)

    client.post(f"/incentives/{people.mpn_pk}/enroll")

    assert f"/incentives/{people.mpn_pk}/unenroll" in _row(text(client.get("/incentives")), people.mpn_id)


def test_another_organizations_history_is_not_shown(app, client, people, login):
    other = app.test_client()
    other.post("/login", data={"email": people.other_admin.email, "password": PASSWORD})
    other.post(f"/incentives/{people.other_mpn_pk}/enroll")
    assert _mpn_state(app, people.other_mpn_pk)[0] is True

    login("incentives_admin")
    page = text(client.get("/incentives"))

    assert people.other_mpn_id not in page
    assert people.other_admin.name not in page
    assert "No enrollment change yet." in page


def test_unknown_action_is_not_a_route(client, people, login):
    login("incentives_admin")
    assert client.post(f"/incentives/{people.mpn_pk}/delete").status_code == 404

"""A user the directory import moves to another organization: their drafts stay with the old
organization, out of their sight, and their sessions from before end."""
from __future__ import annotations

import copy

import pytest

from portal.directory_import import import_directory, load_file
from portal.extensions import db
from tests.claims.conftest import GINA, PAUL, complete_draft, user_id, valid_steps
from tests.claims.lifecycle.conftest import person, words
from tests.conftest import DEMO_FILE
from tests.support import sign_in


def move_to_proseware(app, email):
    document = copy.deepcopy(load_file(DEMO_FILE))
    fabrikam, proseware = document["partners"]
    record = next(u for u in fabrikam["users"] if u["email"] == email)
    fabrikam["users"].remove(record)
    proseware["users"].append(record)
    with app.app_context():
        import_directory(document)
        db.session.commit()


@pytest.fixture
def old_draft(demo):
    with demo.test_request_context():
        draft = complete_draft(person(GINA), valid_steps())
        db.session.commit()
        return draft.id


def test_a_moved_user_no_longer_sees_the_old_organizations_drafts(demo, old_draft):
    assert f"/claims/{old_draft}/" in sign_in(demo, GINA).get("/").get_data(as_text=True)
    move_to_proseware(demo, GINA)

    gina = sign_in(demo, GINA)

    home = gina.get("/")
    assert "Proseware" in words(home)
    assert f"/claims/{old_draft}" not in home.get_data(as_text=True)
    assert gina.get(f"/claims/{old_draft}/resume").status_code == 404
    assert gina.get(f"/claims/{old_draft}").status_code == 404


def test_a_moved_users_session_from_before_ends(demo, old_draft):
    before = sign_in(demo, GINA)
    move_to_proseware(demo, GINA)
    assert before.get("/").location.startswith("/login")


def test_the_new_organizations_people_never_see_the_draft(demo, old_draft):
    move_to_proseware(demo, GINA)
    assert f"/claims/{old_draft}" not in sign_in(demo, PAUL).get("/").get_data(as_text=True)
    assert user_id(demo, GINA)  # still there, in Proseware

"""Two global admins removing each other at the same moment leave one global admin.

Each thread has its own app context, hence its own session and database connection, like two
requests served at once. Both threads start the service call together; then each waits for the
other before committing (``tests.support.Rendezvous``): until it has got as far, or is blocked on
the database's lock. Where nothing serializes the two changes, both have read "two active global
admins" by then, so the race is lost every time, not by luck. Where the organization lock works,
the second thread is waiting for it when the first commits, and then sees one admin left and is
refused.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from portal.accounts import services
from portal.accounts.models import User
from portal.accounts.permissions import PermissionDenied
from portal.extensions import db
from tests import factories
from tests.support import Rendezvous

# Threads on connections of their own: commits must be real.
pytestmark = pytest.mark.real_commits


def _demote(actor, target_id):
    return services.change_role(actor, target_id, "billing_admin")


def _deactivate(actor, target_id):
    return services.set_active(actor, target_id, False)


def _attempt(app, change, actor_id, target_id, start, rendezvous, outcomes):
    with app.app_context():
        rendezvous.join()
        try:
            actor = db.session.get(User, actor_id)
            start.wait()
            change(actor, target_id)
            rendezvous.wait()
            db.session.commit()
            outcomes[actor_id] = "changed"
        except PermissionDenied:
            # Under the lock the actor is checked again: demoted a moment ago, it may not act.
            db.session.rollback()
            outcomes[actor_id] = "refused: no longer an admin"
        except services.AccountError:
            db.session.rollback()
            outcomes[actor_id] = "refused"
        except SQLAlchemyError as error:  # e.g. "database is locked" on SQLite: also a refusal
            db.session.rollback()
            outcomes[actor_id] = f"database refused: {error.__class__.__name__}"
        except BaseException as error:  # noqa: BLE001  (reported by the test, not swallowed)
            outcomes[actor_id] = f"crashed: {error!r}"
        finally:
            rendezvous.leave()
            db.session.remove()


@pytest.mark.parametrize(
    ("a_does", "b_does"),
    [(_demote, _demote), (_deactivate, _deactivate), (_demote, _deactivate)],
    ids=["both-demote", "both-deactivate", "demote-and-deactivate"],
)
def test_two_admins_removing_each_other_at_once_leave_one(any_app, a_does, b_does):
    app = any_app
    with app.app_context():
        organization = factories.org()
        a_id = factories.user(organization, "global_admin", email="a@contoso.example.com").id
        b_id = factories.user(organization, "global_admin", email="b@contoso.example.com").id
        org_id = organization.id
        db.session.commit()

    start = threading.Barrier(2, timeout=10)
    outcomes: dict[int, str] = {}
    with Rendezvous(app) as rendezvous:
        threads = [
            threading.Thread(target=_attempt, args=(app, a_does, a_id, b_id, start, rendezvous, outcomes)),
            threading.Thread(target=_attempt, args=(app, b_does, b_id, a_id, start, rendezvous, outcomes)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"

    assert not [o for o in outcomes.values() if o.startswith("crashed")], outcomes
    assert sorted(outcomes) == sorted([a_id, b_id])
    assert "changed" in outcomes.values(), outcomes
    with app.app_context():
        remaining = db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.organization_id == org_id, User.role == "global_admin", User.active.is_(True))
        )
    assert remaining == 1, outcomes

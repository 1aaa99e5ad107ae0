"""People around one claim, for who hears about what: the claim's author, the organization's
global admins (one in French, one deactivated), a colleague who is neither, another
organization's admin, the reviewer who holds the claim and another reviewer.

Rows are written in an app context closed before any request is made."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.claims import lifecycle
from portal.claims.models import Claim
from portal.directory.models import Product, Tenant
from portal.extensions import db
from portal.notifications.models import Notification, NotificationEvent, OutgoingEmail
from tests import factories

TENANT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
_products = itertools.count(1)


@dataclass
class Cast:
    author: int
    admin_fr: int
    admin: int
    retired_admin: int
    colleague: int
    outsider: int
    reviewer: int
    other_reviewer: int
    emails: dict[int, str]
    claim_id: int = 0

    @property
    def partner_side(self) -> set[int]:
        return {self.author, self.admin_fr, self.admin}


@pytest.fixture
def app_overrides(tmp_path):
    return {"UPLOAD_FOLDER": str(tmp_path / "uploads"), "PORTAL_BASE_URL": "https://cpor.example"}


def make_cast(app) -> Cast:
    with app.app_context():
        fabrikam = factories.org(name="Fabrikam Consulting")
        proseware = factories.org(name="Proseware, Inc.")
        people = dict(
            author=factories.user(fabrikam, role="billing_admin", name="Ana Author"),
            admin_fr=factories.user(fabrikam, role="global_admin", name="Fanny Admin", locale="fr"),
            admin=factories.user(fabrikam, role="global_admin", name="Gina Admin", locale="en"),
            retired_admin=factories.user(fabrikam, role="global_admin", name="Old Admin", active=False),
            colleague=factories.user(fabrikam, role="incentives_admin", name="Ian Colleague"),
            outsider=factories.user(proseware, role="global_admin", name="Paul Outsider"),
            reviewer=factories.reviewer(name="Rita Reviewer"),
            other_reviewer=factories.reviewer(name="Remy Reviewer"),
        )
        factories.mpn(fabrikam)
        db.session.add(Tenant(tenant_id=TENANT_ID, name="Contoso Ltd"))
        db.session.commit()
        cast = Cast(**{k: u.id for k, u in people.items()}, emails={u.id: u.email for u in people.values()})
    return cast


def new_claim(app, cast: Cast, status="under_review", hold=True) -> int:
    """A claim filed by the author and moved by the lifecycle to ``status``; the reviewer holds
    it. What the setup caused (notifications, emails) is cleared."""
    with app.test_request_context():
        author = db.session.get(User, cast.author)
        reviewer = db.session.get(User, cast.reviewer)
        # A product of its own: one open claim per organization, tenant, product and activity.
        product = Product(id=f"product-{next(_products)}", name="Dynamics 365 Sales", solution_area="business_applications")
        db.session.add(product)
        claim = Claim(organization_id=author.organization_id, created_by_id=author.id, status="draft", draft={},
                      solution_area="business_applications", tenant_id=TENANT_ID, customer_name="Contoso Ltd",
                      domain="contoso.com", product_id=product.id, activity="presales",
                      mpn_pk=author.organization.mpns[0].id, customer_contact_name="Dana Customer",
                      customer_contact_email="dana@contoso.example", description="Workshops.",
                      acknowledged_on=date(2026, 1, 5))
        db.session.add(claim)
        db.session.flush()
        lifecycle.transition(claim, "submit", author)
        path = {"submitted": [], "under_review": ["start_review"], "partner_action_required": ["start_review", "request_information"],
                "rejected": ["start_review", "reject"], "approved": ["start_review", "approve"]}[status]
        arguments = {"reject": {"reason_code": "insufficient_poe", "message": "No PoE."},
                     "request_information": {"reason_code": "missing_poe", "message": "Add the PoE."}}
        for action in path:
            lifecycle.transition(claim, action, reviewer, **arguments.get(action, {}))
        if hold:
            claim.reviewer_id = reviewer.id
        db.session.commit()
        claim_id = claim.id
    # Once the request context is over, its events have been fanned out (jobs run in-process).
    with app.app_context():
        clear()
    return claim_id


def clear() -> None:
    db.session.execute(Notification.__table__.delete())
    db.session.execute(OutgoingEmail.__table__.delete())
    db.session.execute(NotificationEvent.__table__.delete())
    db.session.commit()


@pytest.fixture
def cast(app) -> Cast:
    cast = make_cast(app)
    cast.claim_id = new_claim(app, cast)
    return cast


def notified(app, message=None) -> dict[int, list[str]]:
    """Who has which notifications (their message keys), optionally of one kind."""
    with app.app_context():
        found: dict[int, list[str]] = {}
        for note in db.session.scalars(select(Notification).order_by(Notification.id)):
            if message is None or note.message == message:
                found.setdefault(note.user_id, []).append(note.message)
        return found


def rows_of(app, model) -> list:
    """Every row of ``model``, oldest first, detached (readable once the context is gone)."""
    with app.app_context():
        rows = list(db.session.scalars(select(model).order_by(model.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def emails(app) -> list[OutgoingEmail]:
    return rows_of(app, OutgoingEmail)


def events(app) -> list[NotificationEvent]:
    return rows_of(app, NotificationEvent)

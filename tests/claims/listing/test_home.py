"""The partner's home: claims counted by status, and the claims waiting for the partner first,
soonest deadline first."""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from babel.dates import format_date

from portal.claims.models import Claim
from portal.extensions import db
from tests.html import text
from tests.claims.listing.conftest import PRODUCTS, TENANTS, TODAY, fill, insert_claim
from tests.support import sign_in


def test_counts_by_status_cover_the_organizations_claims_only(app, world):
    rows = fill(app, world, count=40)
    fill(app, world, count=25, organization_id=world.proseware_id)
    with app.app_context():
        db.session.add(Claim(organization_id=world.fabrikam_id, status="draft", draft={}))
        db.session.commit()
    page = text(sign_in(app, world.fabrikam_email).get("/"))
    section = page.split('id="counts-heading"')[1].split("</section>")[0]
    shown = dict(re.findall(r"([A-Z][a-z ]+): <strong>(\d+)</strong>", section))
    labels = {"submitted": "Submitted", "under_review": "Under review", "partner_action_required": "Partner action required",
              "approved": "Approved", "rejected": "Rejected", "disputed": "Disputed", "closed": "Closed"}
    assert shown == {labels[s]: str(n) for s, n in Counter(r.status for r in rows).items()}
    assert "Draft" not in shown
    assert 'href="/claims/?status=submitted"' in section


def test_waiting_for_you_lists_information_requests_and_disputable_rejections_soonest_first(app, world):
    mine, other = world.fabrikam_id, world.proseware_id
    with app.app_context():
        mpn, their_mpn = world.mpns[mine][0], world.mpns[other][0]

        def claim(status, days, organization_id=mine, number=[0], **extra):
            number[0] += 1
            n = number[0]
            row = insert_claim(organization_id, mpn if organization_id == mine else their_mpn, status=status,
                               tenant=TENANTS[n % 5], product=PRODUCTS[n % 8], activity=("presales", "usage")[n % 2],
                               due_on=TODAY + timedelta(days=days) if days is not None else None)
            for key, value in extra.items():
                setattr(db.session.get(Claim, row.id), key, value)
            return row.id

        answer_late = claim("partner_action_required", 4)
        dispute_soon = claim("rejected", 1)
        answer_today = claim("partner_action_required", 0)
        dispute_late = claim("rejected", 20)
        already_disputed = claim("rejected", 2, dispute_used=True)
        under_review = claim("under_review", 3)
        approved = claim("approved", None)
        theirs = claim("partner_action_required", 1, organization_id=other)
        db.session.commit()

    page = text(sign_in(app, world.fabrikam_email).get("/"))
    assert "Waiting for you" in page
    section = page.split('id="action-heading"')[1].split("</section>")[0]
    listed = [int(n) for n in re.findall(r'href="/claims/(\d+)"', section)]
    assert listed == [answer_today, dispute_soon, answer_late, dispute_late]
    for excluded in (already_disputed, under_review, approved, theirs):
        assert excluded not in listed

    def medium(days):
        return format_date(TODAY + timedelta(days=days), "medium", locale="en")

    assert f"answer by {medium(0)}" in section
    assert f"dispute until {medium(1)}" in section
    assert f"answer by {medium(4)}" in section
    assert f"dispute until {medium(20)}" in section


def test_nothing_waiting_means_no_section(app, world):
    with app.app_context():
        insert_claim(world.fabrikam_id, world.mpns[world.fabrikam_id][0], status="under_review",
                     due_on=TODAY + timedelta(days=3))
        db.session.commit()
    page = text(sign_in(app, world.fabrikam_email).get("/"))
    assert "Waiting for you" not in page
    assert "Under review: <strong>1</strong>" in page


def test_a_passed_deadline_is_applied_before_the_home_page_shows_it(app, world):
    """A claim whose answer deadline passed is no longer waiting for the partner: it is
    rejected (and waits for a dispute instead)."""
    with app.app_context():
        row = insert_claim(world.fabrikam_id, world.mpns[world.fabrikam_id][0], status="partner_action_required",
                           due_on=TODAY - timedelta(days=1))
        db.session.commit()
    page = text(sign_in(app, world.fabrikam_email).get("/"))
    section = page.split('id="action-heading"')[1].split("</section>")[0]
    assert f'href="/claims/{row.id}"' in section
    assert "Rejected" in section and "dispute until" in section
    with app.app_context():
        assert db.session.get(Claim, row.id).status == "rejected"

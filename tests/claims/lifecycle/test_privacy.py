"""Privacy in arbitration (SPEC sections 2 and 5): Fabrikam and Proseware claim the same customer
and product. Every page, fragment, download, CSV and email each of them can reach is rendered,
and none holds a trace of the other organization: name, people, MPN IDs, claim numbers, files,
comments, or what it wrote in its claim."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from portal.accounts.models import Organization, User
from portal.claims import actions, comments
from portal.claims.models import Claim, ClaimFile
from portal.extensions import db
from portal.notifications.models import OutgoingEmail
from tests.claims.conftest import CONTOSO, SUB_CONTOSO_SALES_VL_ACTIVE, Walker, valid_steps
from tests.html import without_tokens
from tests.claims.lifecycle.conftest import BEA, BILLIE, GINA, PAUL, PDF, RITA, person
from tests.support import sign_in

HTMX = {"HX-Request": "true"}


@dataclass
class Side:
    """One organization in the arbitration: who signs in, and everything that is its own."""

    slug: str
    people: tuple[str, ...]
    secrets: set[str] = field(default_factory=set)
    claim_ids: set[int] = field(default_factory=set)
    arbitration_claim: int = 0
    files: list[tuple[int, int]] = field(default_factory=list)  # (claim id, file id)


def claim_steps(side: str, mpn: str, activity: str) -> dict:
    """A Contoso + Dynamics 365 Sales claim whose every free text names its organization."""
    steps = valid_steps(tenant=CONTOSO, activity=activity, mpn=mpn,
                        solution_seller=f"{side} Seller", isv_product=f"{side} ISV Product")
    steps["contacts"] = {
        "customer_name": f"Quinn {side}-Contact", "customer_title": f"{side} liaison",
        "customer_email": f"quinn.{side.lower()}@contoso.com",
        "partner_name": f"{side} Partner Contact", "partner_email": f"contact@{side.lower()}.example",
    }
    steps["proof"]["description"] = f"{side.upper()}-DESCRIPTION of the workshops."
    return steps


def file_claim(app, email, side, mpn, activity) -> int:
    walker = Walker(sign_in(app, email))
    claim_id = walker.new()
    walker.walk(claim_id, claim_steps(side, mpn, activity), files=((f"{side.lower()}-secret-poe.pdf", PDF),))
    response = walker.submit(claim_id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/claims/{claim_id}")
    return claim_id


def comment(app, email, claim_id, body):
    response = sign_in(app, email).post(f"/claims/{claim_id}/comments", data={"body": body}, headers=HTMX)
    assert response.status_code == 200


def organization_secrets(app, slug) -> set[str]:
    """The organization's name, its people's names and emails, its MPN IDs."""
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == slug))
        people = db.session.scalars(select(User).where(User.organization_id == org.id))
        return {org.name, org.name.split(",")[0].split()[0]} | {p.name for p in people} | {p.email for p in people} \
            | {m.mpn_id for m in org.mpns}


@pytest.fixture
def arbitration(demo):
    """Proseware holds the approved Contoso + Dynamics 365 Sales claim of the demo data and
    files a second one (presales); Fabrikam files its own presales claim for the same customer
    and product, which goes to arbitration. Both comment; the reviewer comments on both and asks
    Fabrikam for more information."""
    fabrikam = Side("fabrikam", (GINA, BEA))
    proseware = Side("proseware", (PAUL, BILLIE))

    with demo.app_context():
        imported = db.session.scalar(select(Claim.id).where(Claim.subscription_id == SUB_CONTOSO_SALES_VL_ACTIVE))
    proseware_new = file_claim(demo, PAUL, "Proseware", "3456789", "presales")
    comment(demo, PAUL, imported, "PROSEWARE-COMMENT on the approved claim.")
    comment(demo, BILLIE, proseware_new, "PROSEWARE-COMMENT on the new claim.")

    fabrikam_claim = file_claim(demo, GINA, "Fabrikam", "1234567", "presales")
    comment(demo, GINA, fabrikam_claim, "FABRIKAM-COMMENT about our workshops.")

    with demo.test_request_context():
        rita = person(RITA)
        assert db.session.get(Claim, fabrikam_claim).in_arbitration
        comments.post(rita, db.session.get(Claim, proseware_new), "RITA-TO-PROSEWARE: which workshops?")
        comments.post(rita, db.session.get(Claim, imported), "RITA-TO-PROSEWARE-APPROVED: noted.")
        actions.start_review(rita, fabrikam_claim)
        actions.request_information(rita, fabrikam_claim, ["missing_acknowledgement"], "RITA-TO-FABRIKAM: add the signed acknowledgement.")
        db.session.commit()

        for side, ids in ((fabrikam, {fabrikam_claim}), (proseware, {imported, proseware_new})):
            org = db.session.scalar(select(Organization).where(Organization.slug == side.slug))
            side.claim_ids = set(db.session.scalars(select(Claim.id).where(Claim.organization_id == org.id)))
            assert ids <= side.claim_ids
            side.files = [(f.claim_id, f.id) for f in db.session.scalars(
                select(ClaimFile).where(ClaimFile.claim_id.in_(side.claim_ids)))]
            side.secrets = organization_secrets(demo, side.slug) | {
                f"CPOR-{claim_id:06d}" for claim_id in side.claim_ids
            } | {f"{side.slug}-secret-poe.pdf", f"{side.slug.upper()}-COMMENT", f"{side.slug.upper()}-DESCRIPTION",
                 f"RITA-TO-{side.slug.upper()}", f"Quinn {side.slug.capitalize()}-Contact",
                 f"{side.slug.capitalize()} Partner Contact", f"contact@{side.slug}.example",
                 f"{side.slug.capitalize()} ISV Product"}
    fabrikam.arbitration_claim, proseware.arbitration_claim = fabrikam_claim, proseware_new
    return fabrikam, proseware


def pages(app, email, own: Side, other: Side):
    """Every page, fragment and download ``email`` can reach, as (label, response)."""
    client = sign_in(app, email)
    seen = []

    def get(label, url, **kwargs):
        response = client.get(url, **kwargs)
        response.get_data()  # a streamed body (the CSV) is read before the next request
        response.close()
        seen.append((label, response))
        return response

    get("home", "/")
    get("claims list", "/claims/")
    get("claims list, htmx", "/claims/?q=contoso", headers=HTMX)
    get("claims list, in arbitration", "/claims/?arbitration=yes")
    for number in [f"CPOR-{i:06d}" for i in sorted(other.claim_ids)]:
        response = get(f"claims list searching for {number}", f"/claims/?q={number}")
        assert "No claim matches these filters." in response.get_data(as_text=True)
    get("CSV export", "/claims/export.csv")
    get("CSV export, Contoso", f"/claims/export.csv?q={CONTOSO}")
    get("notifications", "/notifications/")
    get("notifications badge", "/notifications/badge", headers=HTMX)
    get("incentives", "/incentives")
    get("users", "/users")
    for claim_id in sorted(own.claim_ids):
        get(f"claim {claim_id}", f"/claims/{claim_id}")
        get(f"comments poll {claim_id}", f"/claims/{claim_id}/comments?after=0", headers=HTMX)
        get(f"comments poll {claim_id}, stale status", f"/claims/{claim_id}/comments?after=0&status=draft", headers=HTMX)
        get(f"edit {claim_id}", f"/claims/{claim_id}/edit", follow_redirects=True)
    for claim_id, file_id in own.files:
        response = get(f"download {file_id}", f"/claims/{claim_id}/files/{file_id}")
        assert response.status_code == 200
    # The other side's claims and files answer as if they did not exist.
    for claim_id in sorted(other.claim_ids):
        for url in (f"/claims/{claim_id}", f"/claims/{claim_id}/comments?after=0", f"/claims/{claim_id}/edit",
                    f"/claims/{claim_id}/resume", f"/claims/{claim_id}/wizard/review"):
            response = get(f"other side's {url}", url)
            assert response.status_code == 404, url
    for claim_id, file_id in other.files:
        for url in (f"/claims/{claim_id}/files/{file_id}", f"/claims/{own.arbitration_claim}/files/{file_id}"):
            assert get(f"other side's file {url}", url).status_code == 404

    # A new claim for the same customer and product, through every step of the wizard.
    new = client.post("/claims/new")
    draft = int(re.search(r"/claims/(\d+)/", new.headers["Location"]).group(1))
    mpn = "1234567" if own.slug == "fabrikam" else "3456789"
    # Fabrikam's usage and Proseware's revenue association: both compete, neither duplicates.
    activity = "usage" if own.slug == "fabrikam" else "revenue_association"
    steps = claim_steps(own.slug.capitalize(), mpn, activity)
    for step, data in steps.items():
        get(f"wizard {step}", f"/claims/{draft}/wizard/{step}")
        for name in data:
            response = client.post(f"/claims/{draft}/wizard/{step}/check", data=data,
                                   headers={**HTMX, "HX-Trigger-Name": name})
            seen.append((f"wizard {step} check {name}", response))
        if step == "proof":
            client.post(f"/claims/{draft}/files", data={"files": (io.BytesIO(PDF), "draft.pdf")},
                        content_type="multipart/form-data")
        response = client.post(f"/claims/{draft}/wizard/{step}", data={**data, "action": "next"})
        assert response.status_code == 302, (step, response.get_data(as_text=True)[:2000])
    review = get("wizard review: the competing-claim notice", f"/claims/{draft}/wizard/review")
    assert "Another partner is associated with this product: your claim will go to arbitration." in review.get_data(as_text=True)
    # The subscription the other side holds, typed by its ID.
    typed = {"solution_area": "business_applications", "product": "", "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE}
    seen.append(("wizard product by subscription ID", client.post(
        f"/claims/{draft}/wizard/product/check", data=typed, headers={**HTMX, "HX-Trigger-Name": "subscription_id"})))
    seen.append(("wizard product by subscription ID, next", client.post(
        f"/claims/{draft}/wizard/product", data={**typed, "action": "next"}, follow_redirects=True)))
    return seen


def traces(body: str, other: Side) -> list[str]:
    found = [secret for secret in other.secrets if secret.lower() in body.lower()]
    for claim_id in other.claim_ids:
        if re.search(rf"/claims/{claim_id}(?![0-9])", body):
            found.append(f"/claims/{claim_id}")
    return found


def assert_no_trace(seen, other: Side):
    assert len(seen) > 40
    for label, response in seen:
        # 204 and 286: a comment poll with nothing new (286 once the claim is closed).
        assert response.status_code in (200, 204, 286, 403, 404), (label, response.status_code)
        body = without_tokens(response.get_data(as_text=True))
        if label.startswith(("claims list searching for ", "other side's ")):
            # What was asked for comes back as typed (the search box, the language switch's
            # return address), never more.
            body = body.replace(label.rsplit(" ", 1)[1], "")
        headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
        assert traces(body + headers, other) == [], label


def emails_to(app, people) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.recipient.in_(people)))
        return [f"{row.subject}\n{row.body}" for row in rows]


def test_fabrikam_sees_no_trace_of_proseware(demo, arbitration):
    fabrikam, proseware = arbitration
    for email in fabrikam.people:
        assert_no_trace(pages(demo, email, fabrikam, proseware), proseware)


def test_proseware_sees_no_trace_of_fabrikam(demo, arbitration):
    fabrikam, proseware = arbitration
    for email in proseware.people:
        assert_no_trace(pages(demo, email, proseware, fabrikam), fabrikam)


def test_the_secrets_are_there_to_be_found(demo, arbitration):
    """The check above finds what it looks for: each side's own pages hold its own secrets."""
    fabrikam, proseware = arbitration
    for own, email in ((fabrikam, GINA), (proseware, PAUL)):
        seen = pages(demo, email, own, proseware if own is fabrikam else fabrikam)
        everything = " ".join(r.get_data(as_text=True) for _, r in seen if r.status_code == 200)
        for secret in (f"{own.slug}-secret-poe.pdf", f"{own.slug.upper()}-COMMENT", f"{own.slug.upper()}-DESCRIPTION",
                       f"CPOR-{own.arbitration_claim:06d}", f"Quinn {own.slug.capitalize()}-Contact"):
            assert secret in everything, secret


def test_emails_to_each_side_hold_no_trace_of_the_other(demo, arbitration):
    fabrikam, proseware = arbitration
    for own, other in ((fabrikam, proseware), (proseware, fabrikam)):
        with demo.app_context():
            people = list(db.session.scalars(select(User.email).where(
                User.organization_id == db.session.scalar(select(Organization.id).where(Organization.slug == own.slug)))))
        mails = emails_to(demo, people)
        if own is fabrikam:
            assert mails, "the reviewer's information request was announced to Fabrikam"
        for mail in mails:
            assert traces(mail, other) == [], mail


def test_the_reviewers_comments_reach_only_the_claim_they_were_for(demo, arbitration):
    fabrikam, proseware = arbitration
    own_page = sign_in(demo, GINA).get(f"/claims/{fabrikam.arbitration_claim}").get_data(as_text=True)
    assert "RITA-TO-FABRIKAM" in own_page
    assert "RITA-TO-PROSEWARE" not in own_page
    for claim_id in proseware.claim_ids:
        page = sign_in(demo, PAUL).get(f"/claims/{claim_id}").get_data(as_text=True)
        assert "RITA-TO-FABRIKAM" not in page


def test_after_the_arbitration_decision_the_loser_still_sees_no_trace(demo, arbitration):
    fabrikam, proseware = arbitration
    with demo.test_request_context():
        winner = db.session.scalar(select(Claim.id).where(Claim.subscription_id == SUB_CONTOSO_SALES_VL_ACTIVE,
                                                          Claim.status == "approved"))
        assert winner in proseware.claim_ids
        actions.decide_arbitration(person(RITA), fabrikam.arbitration_claim, winner)
        db.session.commit()
        assert db.session.get(Claim, fabrikam.arbitration_claim).reason_code == "competing_claim"
    seen = pages(demo, GINA, fabrikam, proseware)
    page = next(r for label, r in seen if label == f"claim {fabrikam.arbitration_claim}")
    assert "Competing claim" in page.get_data(as_text=True)
    assert_no_trace(seen, proseware)

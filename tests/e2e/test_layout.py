"""Every page fits the screen: at 1,280 px and at 390 px (a phone), in English and in French.

One partner and one reviewer, in an organization of their own, open every page they have (home,
lists, each wizard step with and without errors, the claim page in several statuses, the pages
that ask before something is destroyed, users, incentives, notifications, the review queue, a
claim under review, arbitration), then the customer's consent page and the error pages. On each
the test fails when the document is wider than the viewport, or a visible control lies off
screen horizontally (at 1,280 px a table's scroll region must not need scrolling either), and
axe-core finds nothing. One browser context per person and width, signed in once.

Every page is photographed (full page) into ``PORTAL_SCREENSHOTS_DIR`` (default: a directory
under pytest's temporary directory, printed at the end): look at them.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from tests.e2e.conftest import assert_no_axe_violations, expect_settled, watch

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}
PASSWORD = "layout-password-1"

#: What a page must not be: wider than the screen, or hiding a control beside it. Controls in a
#: scroll region (a wide table on a phone) are reached by scrolling the region; at desktop width
#: no region may need it. The skip link waits off screen until it has the focus.
FIT = """(desktop) => {
  const doc = document.documentElement;
  const width = doc.clientWidth;
  const problems = [];
  if (doc.scrollWidth > width) {
    problems.push(`the document is ${doc.scrollWidth} px wide in a ${width} px viewport`);
  }
  const name = (el) => {
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || el.name || "").trim();
    return `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}> ${JSON.stringify(text.slice(0, 40))}`;
  };
  for (const region of document.querySelectorAll(".table-scroll")) {
    if (desktop && region.scrollWidth > region.clientWidth + 1) {
      problems.push(`${name(region)} needs scrolling: ${region.scrollWidth} px in ${region.clientWidth} px`);
    }
  }
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";
  for (const el of document.querySelectorAll(controls)) {
    if (el.closest(".skip-link, .visually-hidden")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 && box.height <= 1) continue;
    const region = el.parentElement && el.parentElement.closest(".table-scroll");
    if (!desktop && region && region.scrollWidth > region.clientWidth) continue;
    if (box.left < -1 || box.right > width + 1) {
      problems.push(`${name(el)} lies off screen: ${Math.round(box.left)}..${Math.round(box.right)} px of ${width}`);
    }
  }
  return problems;
}"""


@dataclass
class World:
    """One partner organization (a long name, long e-mail addresses), its admin, a reviewer,
    a customer of its own with a subscription, and the partner's claims in several statuses."""

    key: str
    partner_email: str
    reviewer_email: str
    tenant_id: str
    domain: str
    mpn_id: str
    claims: dict[str, int] = field(default_factory=dict)
    consent_token: str = ""
    closed_token: str = ""


def _make_world(portal_app, submitted_claim) -> World:
    from sqlalchemy import select

    from portal.accounts.auth import hash_password
    from portal.accounts.models import AccountKind, Mpn, Organization, User
    from portal.claims import actions
    from portal.consent import services as consent
    from portal.directory.models import Subscription, Tenant, TenantDomain
    from portal.timeutil import utcnow

    key = uuid.uuid4().hex[:8]
    world = World(key=key, partner_email=f"alexandra.vandermeulen-{key}@northwind-layout-partners.example",
                  reviewer_email=f"reviewer-{key}@review.example", tenant_id=str(uuid.uuid4()),
                  domain=f"customer-{key}.example", mpn_id=str(1_000_000 + int(key[:6], 16) % 9_000_000))
    today = utcnow().date()
    with portal_app.test_request_context():
        password = hash_password(PASSWORD)
        org = Organization(slug=f"layout-{key}", name=f"Northwind Layout Partners Europe GmbH & Co. KG {key[:4]}")
        db.session.add(org)
        db.session.flush()
        db.session.add(Mpn(mpn_id=world.mpn_id, organization_id=org.id, location="Frankfurt am Main, Germany",
                           partner_type="Cloud Solution Provider (indirect reseller)", incentives_enrolled=True))
        people = [
            ("Alexandra Van der Meulen-Okonkwo", world.partner_email, "global_admin", True),
            ("Bartholomew Fitzgerald-Wainwright", f"bartholomew.fitzgerald-wainwright-{key}@northwind-layout-partners.example",
             "incentives_admin", True),
            ("Chloé Lefèvre", f"chloe-{key}@northwind-layout-partners.example", "billing_admin", False),
        ]
        for name, email, role, active in people:
            db.session.add(User(email=email, name=name, password_hash=password, kind=AccountKind.PARTNER,
                                organization_id=org.id, role=role, active=active))
        db.session.add(User(email=world.reviewer_email, name=f"Renée Reviewer {key[:4]}", password_hash=password,
                            kind=AccountKind.REVIEWER))
        tenant = Tenant(tenant_id=world.tenant_id, name=f"Contoso Pharmaceuticals International {key[:4]}")
        db.session.add(tenant)
        db.session.add(TenantDomain(domain=world.domain, tenant=tenant))
        db.session.flush()
        db.session.add(Subscription(subscription_id=str(uuid.uuid4()), tenant_id=world.tenant_id, product_id="d365-sales",
                                    channel="volume_licensing", status="active", start_date=today - timedelta(days=200),
                                    end_date=today + timedelta(days=300)))
        db.session.commit()
        reviewer_email = world.reviewer_email

    def claim(name, **kwargs):
        world.claims[name] = submitted_claim(world.partner_email, f"{name.title()} Customer Holdings {key[:4]}",
                                             reviewer=reviewer_email, **kwargs)[0]

    claim("submitted")
    claim("withdrawn")
    claim("information", reviewer_actions=("start_review",), product="d365-finance")
    claim("approved", reviewer_actions=("start_review", "approve"), product="d365-customer-service")
    claim("disassociated", reviewer_actions=("start_review", "approve"), product="d365-customer-service")
    claim("rejected", reviewer_actions=("start_review",), product="d365-field-service")
    # Two organizations on one customer and product: the arbitration.
    shared = str(uuid.uuid4())
    claim("arbitration", reviewer_actions=("start_review",), tenant_id=shared, product="d365-supply-chain",
          submitted_at=utcnow() - timedelta(days=3))
    submitted_claim("gina@fabrikam.example", "Arbitrated Customer", tenant_id=shared, product="d365-supply-chain",
                    reviewer=reviewer_email)
    with portal_app.test_request_context():
        from portal.claims.models import Claim

        reviewer = db.session.scalar(select(User).where(User.email == world.reviewer_email))
        partner = db.session.scalar(select(User).where(User.email == world.partner_email))
        actions.request_information(reviewer, world.claims["information"], ["missing_poe", "missing_dates"],
                                    "Please add the signed workshop minutes, and the dates of the pilot.")
        actions.reject(reviewer, world.claims["rejected"], "insufficient_poe",
                       "The files show a plan, not work done for the customer.")
        world.consent_token = consent.request_consent(db.session.get(Claim, world.claims["approved"]))
        world.closed_token = consent.request_consent(db.session.get(Claim, world.claims["disassociated"]))
        actions.withdraw(partner, world.claims["withdrawn"])
        actions.disassociate(partner, world.claims["disassociated"], "The customer moved the product in house.")
        db.session.commit()
    return world


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    chosen = os.environ.get("PORTAL_SCREENSHOTS_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("layout-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Pages:
    """Opens pages in one context and checks each: fits, axe, a screenshot."""

    def __init__(self, page, width: str, language: str, shots: Path, checked: list[str]):
        self.page, self.width, self.language, self.shots, self.checked = page, width, language, shots, checked
        self.problems = watch(page)

    def check(self, name: str, *, status: int | None = None) -> None:
        page = self.page
        page.wait_for_load_state("load")
        expect_settled(page)
        expect(page.locator("html")).to_have_attribute("lang", self.language)
        self.checked.append(name)
        page.screenshot(path=str(self.shots / f"{self.width}-{self.language}-{len(self.checked):02d}-{name}.png"),
                        full_page=True, caret="initial")
        problems = page.evaluate(FIT, self.width == "desktop")
        assert not problems, f"{name} ({page.url}) at {self.width} width, {self.language}:\n" + "\n".join(problems)
        assert_no_axe_violations(page)

    def open(self, name: str, url: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response.status == status, f"{url}: {response.status}"
        self.check(name)

    def press(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.locator(selector).click()


def _sign_in(pages: Pages, email: str) -> None:
    """The sign-in form by its fields' names: the same in every language."""
    page = pages.page
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    pages.press("form[action='/login'] button[type=submit]")
    expect(page.locator("form[action='/logout']")).to_be_attached()


def _next(pages: Pages) -> None:
    pages.press("button[name=action][value=next]")


def _walk_the_wizard(pages: Pages, world: World, tmp_path) -> int:
    """A new draft, each step first sent empty (its errors), then answered."""
    page = pages.page
    page.goto("/")
    pages.press("form[action='/claims/new'] button[type=submit]")
    claim_id = int(page.url.split("/claims/")[1].split("/")[0])

    pages.check("wizard-customer")
    _next(pages)
    pages.check("wizard-customer-errors")
    page.locator("input[name=tenant_id]").fill(world.tenant_id)
    page.locator("input[name=domain]").fill(world.domain)
    _next(pages)

    pages.check("wizard-product")
    _next(pages)
    pages.check("wizard-product-errors")
    page.locator("input[name=solution_area][value=business_applications]").check()
    expect(page.locator("select[name=product] option[value=d365-sales]")).to_be_attached()
    expect_settled(page)
    page.locator("select[name=product]").select_option("d365-sales")
    _next(pages)

    pages.check("wizard-activity")
    _next(pages)
    pages.check("wizard-activity-errors")
    page.locator("input[name=activity][value=usage]").check()
    _next(pages)

    pages.check("wizard-mpn")
    _next(pages)
    pages.check("wizard-mpn-errors")
    page.locator(f"input[name=mpn][value='{world.mpn_id}']").check()
    _next(pages)

    pages.check("wizard-contacts")
    for name in ("customer_name", "customer_title", "customer_email", "partner_name", "partner_email"):
        page.locator(f"[name={name}]").fill("")
    _next(pages)
    pages.check("wizard-contacts-errors")
    page.locator("[name=customer_name]").fill("Dana Customer")
    page.locator("[name=customer_title]").fill("Chief Information Officer")
    page.locator("[name=customer_email]").fill(f"dana@{world.domain}")
    page.locator("[name=partner_name]").fill("Alexandra Van der Meulen-Okonkwo")
    page.locator("[name=partner_email]").fill(world.partner_email)
    _next(pages)

    pages.check("wizard-proof")
    _next(pages)
    pages.check("wizard-proof-errors")
    proof = tmp_path / f"signed-workshop-minutes-and-adoption-plan-{pages.width}.pdf"
    proof.write_bytes(b"%PDF-1.7\n%%EOF\n")
    page.locator("#files").set_input_files(proof)  # choosing uploads it (issue 12, trap 1)
    expect(page.locator("#files-region .file-list")).to_contain_text(proof.name)
    expect_settled(page)
    pages.check("wizard-proof-uploaded")
    page.locator("[name=description]").fill("Deployment workshops, a pilot for the sales team, and an adoption plan.")
    page.locator("[name=acknowledged_on]").fill((pages_today() - timedelta(days=7)).isoformat())
    _next(pages)

    pages.check("wizard-review")
    pages.press("button[name=action][value=submit]")
    pages.check("wizard-review-errors")
    return claim_id


def pages_today():
    from portal.timeutil import utcnow

    return utcnow().date()


@pytest.fixture
def open_context(browser, browser_context_args):
    """A browser context of its own size and language (``new_context`` takes no locale: the
    session's English one is in ``browser_context_args``); all closed after the test."""
    opened = []

    def make(width: str, language: str):
        context = browser.new_context(**{**browser_context_args, "viewport": WIDTHS[width], "locale": LOCALES[language]})
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.mark.parametrize("language", list(LOCALES))
@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_fits_the_screen(open_context, portal_app, submitted_claim, screenshots, tmp_path, width, language):
    world = _make_world(portal_app, submitted_claim)
    checked: list[str] = []
    shots = screenshots

    def context():
        return open_context(width, language)

    # The customer, without an account; the sign-in page; pages that are not there.
    visitor = Pages(context().new_page(), width, language, shots, checked)
    visitor.open("sign-in", "/login")
    visitor.open("consent", f"/consent/{world.consent_token}")
    visitor.open("consent-closed-410", f"/consent/{world.closed_token}", 410)
    visitor.open("consent-invalid-404", "/consent/not-a-token", 404)

    # The partner.
    partner = Pages(context().new_page(), width, language, shots, checked)
    _sign_in(partner, world.partner_email)
    claims = world.claims
    draft_id = _walk_the_wizard(partner, world, tmp_path)
    partner.open("home", "/")
    partner.open("claims", "/claims/")
    partner.open("claims-search-too-short", "/claims/?q=ab")
    for status in ("submitted", "information", "approved", "rejected", "arbitration", "withdrawn"):
        partner.open(f"claim-{status}", f"/claims/{claims[status]}")
    partner.open("claim-edit", f"/claims/{claims['information']}/edit")
    partner.open("confirm-delete-draft", f"/claims/{draft_id}/confirm-delete")
    partner.open("confirm-withdraw", f"/claims/{claims['submitted']}/confirm-withdraw")
    partner.open("confirm-disassociate", f"/claims/{claims['approved']}/confirm-disassociate")
    partner.press("form[action$='/disassociate'] button[type=submit]")
    partner.check("confirm-disassociate-errors")
    partner.open("users", "/users")
    partner.open("incentives", "/incentives")
    partner.open("notifications", "/notifications/")
    partner.open("forbidden-403", "/review/", 403)
    partner.open("not-found-404", "/claims/2000000000", 404)

    # The reviewer.
    reviewer = Pages(context().new_page(), width, language, shots, checked)
    _sign_in(reviewer, world.reviewer_email)
    reviewer.open("queue", "/review/")
    reviewer.open("queue-filtered", "/review/?status=under_review&arbitration=yes")
    reviewer.open("review-claim", f"/review/claims/{claims['arbitration']}")
    reviewer.open("review-claim-rejected", f"/review/claims/{claims['rejected']}")
    reviewer.open("arbitration", f"/review/claims/{claims['arbitration']}/arbitration")
    reviewer.open("reviewer-claims", "/claims/")

    problems = visitor.problems + partner.problems + reviewer.problems
    assert not problems, "\n".join(problems)
    print(f"\n{len(checked)} pages at {width} width in {language}: screenshots in {shots}")

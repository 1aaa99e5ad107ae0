"""The claim wizard over HTTP: steps and their URLs, messages tied to fields, inline checks,
every error reason as the user meets it, drafts and who may open them."""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from portal.accounts.models import User
from portal.claims.models import Claim
from portal.extensions import db
from tests.claims.conftest import (
    ADVENTURE,
    BEA,
    CAMILLE,
    CONTOSO,
    GINA,
    IAN,
    MPN_ENROLLED,
    MPN_NOT_ENROLLED,
    NORTHWIND,
    PAUL,
    PDF,
    RAFAEL,
    RITA,
    SUB_ADVENTURE_CS,
    SUB_CONTOSO_CS_CSP,
    SUB_CONTOSO_FIELD_PENDING,
    SUB_CONTOSO_SALES_VL_ACTIVE,
    SUB_CONTOSO_TEAMS,
    SUB_NORTHWIND_FINANCE_EXPIRED,
    SUB_NORTHWIND_SALES_SUSPENDED,
    SUB_WINGTIP_SALES,
    WINGTIP,
    Walker,
    element,
    error_slot,
    slot_text,
    translated,
    valid_steps,
)
from tests.support import sign_in
from tests.html import form_token, header_token, lang, text

BA = "business_applications"
M365 = "microsoft_365"
STEPS = ("customer", "product", "activity", "mpn", "contacts", "proof", "review")
TITLES = ("Customer", "Product or subscription", "Activity", "MPN ID", "Contacts", "Proof of execution", "Review and submit")


@pytest.fixture
def gina(walker_for):
    return walker_for(GINA)


def stored_draft(app, claim_id):
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        return None if claim is None else dict(claim.draft or {})


def assert_error_on_field(response, field, phrase):
    """The message sits in the field's slot, the field points at the slot, the summary lists it."""
    tag, attributes = element(response, field)
    assert f"{field}-error" in attributes["aria-describedby"].split()
    assert attributes.get("aria-invalid") == "true"
    assert phrase in slot_text(response, field)
    summary = re.search(r'<div class="error-summary".*?</div>', response.get_data(as_text=True), re.S)
    assert summary and phrase in text_of(summary.group(0))
    link = "#" + (f"{field}-0" if tag == "fieldset" else field)
    assert f'href="{link}"' in summary.group(0)


def text_of(fragment: str) -> str:
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --- steps and their URLs ------------------------------------------------------------------


def test_new_claim_creates_a_draft_and_opens_the_customer_step(demo, gina):
    response = gina.client.post("/claims/new")

    assert response.status_code == 302
    claim_id = int(re.search(r"/claims/(\d+)/wizard/customer$", response.headers["Location"]).group(1))
    with demo.app_context():
        claim = db.session.get(Claim, claim_id)
        assert claim.status == "draft"
        assert claim.created_by.email == GINA
    page = gina.client.get(response.headers["Location"])
    assert page.status_code == 200
    body = text(page)
    assert "Step 1 of 7" in body
    assert '<label for="tenant_id">Tenant ID</label>' in body
    assert '<label for="domain">Domain</label>' in body


def test_new_claim_needs_a_post(gina):
    assert gina.client.get("/claims/new").status_code == 405


def test_each_step_has_its_own_url_with_its_place_in_the_progress(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())

    for number, (step, title) in enumerate(zip(STEPS, TITLES), start=1):
        response = gina.client.get(f"/claims/{claim_id}/wizard/{step}")
        assert response.status_code == 200, step
        body = text(response)
        assert f"Step {number} of 7" in body
        assert f"<h1>{title}</h1>" in body
        assert f'<strong aria-current="step">{title}</strong>' in body


def test_unknown_step_is_not_found(gina):
    claim_id = gina.new()

    assert gina.client.get(f"/claims/{claim_id}/wizard/payment").status_code == 404
    assert gina.client.post(f"/claims/{claim_id}/wizard/payment").status_code == 404
    assert gina.client.get("/claims/999999/wizard/customer").status_code == 404


def test_next_with_errors_answers_422_with_a_summary_and_messages_tied_to_fields(gina):
    claim_id = gina.new()

    response = gina.post(claim_id, "customer", {"tenant_id": "not-a-guid", "domain": ""})

    assert response.status_code == 422
    assert "There is a problem" in text(response)
    assert_error_on_field(response, "tenant_id", "Enter the Tenant ID as a GUID")
    assert_error_on_field(response, "domain", "Enter one of the customer's domains.")
    assert 'value="not-a-guid"' in response.get_data(as_text=True)


def test_radio_group_errors_are_tied_to_the_fieldset(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="product")

    response = gina.post(claim_id, "product", {})

    assert response.status_code == 422
    assert_error_on_field(response, "solution_area", "Choose a solution area.")


def test_valid_step_moves_on_to_the_next_and_is_stored(demo, gina):
    claim_id = gina.new()

    response = gina.post(claim_id, "customer", {"tenant_id": WINGTIP.upper(), "domain": "WingtipToys.com"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/product")
    with demo.app_context():
        claim = db.session.get(Claim, claim_id)
        assert (claim.tenant_id, claim.domain) == (WINGTIP, "wingtiptoys.com")


def test_back_saves_what_was_typed_without_validating(demo, gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="product")

    response = gina.post(claim_id, "product", {"solution_area": BA, "subscription_id": "half-typed"}, action="back")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/customer")
    assert stored_draft(demo, claim_id)["product"] == {"solution_area": [BA], "subscription_id": ["half-typed"]}
    page = gina.client.get(f"/claims/{claim_id}/wizard/product")
    assert page.status_code == 200
    assert 'value="half-typed"' in page.get_data(as_text=True)
    assert "There is a problem" not in text(page)  # messages only once the user asks to go on


def test_a_step_not_reachable_yet_redirects_to_the_first_step_needing_attention(gina):
    claim_id = gina.new()

    response = gina.client.get(f"/claims/{claim_id}/wizard/mpn")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/customer")

    gina.walk(claim_id, valid_steps(), upto="product")
    response = gina.client.get(f"/claims/{claim_id}/wizard/review")
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/product")

    response = gina.client.post(f"/claims/{claim_id}/wizard/contacts", data={**valid_steps()["contacts"], "action": "next"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/product")


def test_an_earlier_step_that_became_invalid_is_shown_with_its_messages(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="mpn")
    gina.check(claim_id, "customer", {"tenant_id": WINGTIP, "domain": "contoso.com"}, "domain")

    response = gina.client.get(f"/claims/{claim_id}/wizard/mpn")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/customer?show_errors=1")
    page = gina.client.get(response.headers["Location"])
    assert "domain-tenant mismatch" in slot_text(page, "domain")


def test_proof_step_without_a_file_points_at_the_upload_field(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="proof", files=())

    response = gina.post(claim_id, "proof", valid_steps()["proof"])

    assert response.status_code == 422
    assert "Add at least one proof of execution file." in slot_text(response, "files")
    _tag, attributes = element(response, "files")
    assert attributes["type"] == "file"
    assert "files-error" in attributes["aria-describedby"].split()
    assert '<li><a href="#files">Add at least one proof of execution file.</a></li>' in response.get_data(as_text=True)


def test_wizard_posts_and_inline_checks_need_the_csrf_token(demo, gina):
    claim_id = gina.new()
    demo.config["WTF_CSRF_ENABLED"] = True
    page = gina.client.get(f"/claims/{claim_id}/wizard/customer")
    customer = valid_steps()["customer"]

    refused = gina.post(claim_id, "customer", customer)
    refused_inline = gina.check(claim_id, "customer", customer, "tenant_id")

    assert refused.status_code == 400
    assert "The form has expired" in text(refused)
    assert refused_inline.status_code == 400
    inline = gina.client.post(
        f"/claims/{claim_id}/wizard/customer/check", data=customer,
        headers={"HX-Request": "true", "HX-Trigger-Name": "tenant_id", "X-CSRFToken": header_token(page)},
    )
    assert inline.status_code == 200
    assert gina.post(claim_id, "customer", {**customer, "csrf_token": form_token(page)}).status_code == 302


# --- inline checks ---------------------------------------------------------------------------


def test_inline_check_answers_the_triggering_fields_slot_out_of_band_only(demo, gina):
    claim_id = gina.new()

    response = gina.check(claim_id, "customer", {"tenant_id": "0f8fad5b", "domain": ""}, "tenant_id")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    slot = error_slot(response, "tenant_id")
    assert 'hx-swap-oob="innerHTML"' in slot
    assert "Enter the Tenant ID as a GUID" in slot
    assert "domain-error" not in body  # the empty field gets no message yet
    assert "<input" not in body  # never the inputs being typed in
    assert "<html" not in body
    assert stored_draft(demo, claim_id)["customer"] == {"tenant_id": ["0f8fad5b"], "domain": [""]}


def test_inline_check_reports_every_field_already_typed(gina):
    claim_id = gina.new()

    response = gina.check(claim_id, "customer", {"tenant_id": CONTOSO, "domain": "northwindtraders.com"}, "domain")

    assert "domain-tenant mismatch" in slot_text(response, "domain")
    assert error_slot(response, "tenant_id") is not None
    assert slot_text(response, "tenant_id") == ""  # a valid field's slot is emptied


def test_inline_check_saves_the_input_and_resuming_shows_it(demo, gina):
    claim_id = gina.new()
    gina.check(claim_id, "customer", {"tenant_id": CONTOSO, "domain": "contoso.c"}, "domain")

    elsewhere = sign_in(demo, GINA)  # another browser
    page = elsewhere.get(f"/claims/{claim_id}/wizard/customer")

    body = page.get_data(as_text=True)
    assert f'value="{CONTOSO}"' in body
    assert 'value="contoso.c"' in body


def test_inline_check_of_the_solution_area_swaps_in_its_products(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=CONTOSO), upto="product")

    response = gina.check(claim_id, "product", {"solution_area": M365}, "solution_area")

    body = response.get_data(as_text=True)
    assert '<div id="product-choices" hx-swap-oob="true">' in body
    options = re.findall(r'<option[^>]*value="([^"]*)"', body)
    assert options == ["", "m365-exchange", "m365-teams"]
    assert "subscription_id" not in body  # Subscription IDs are for Business Applications only


def test_a_subscription_id_left_from_business_applications_is_ignored_for_microsoft_365(demo, gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=CONTOSO), upto="product")
    gina.check(claim_id, "product", {"solution_area": BA, "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE}, "subscription_id")

    switched = gina.check(claim_id, "product", {"solution_area": M365, "product": "m365-teams",
                                                "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE}, "product")
    assert 'name="subscription_id"' not in switched.get_data(as_text=True)  # hidden: no error, no field
    assert stored_draft(demo, claim_id)["product"] == {"solution_area": [M365], "product": ["m365-teams"]}

    response = gina.post(claim_id, "product", {"solution_area": M365, "product": "m365-teams",
                                               "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE})

    assert response.status_code == 302 and response.headers["Location"].endswith("/wizard/activity")
    assert stored_draft(demo, claim_id)["product"] == {"solution_area": [M365], "product": ["m365-teams"]}
    rest = valid_steps(tenant=CONTOSO, area=M365, product="m365-teams", activity="usage")
    gina.upload(claim_id, ("proof.pdf", PDF))
    for step in ("activity", "mpn", "contacts", "proof"):
        assert gina.post(claim_id, step, rest[step]).status_code == 302
    assert gina.submit(claim_id).status_code == 302
    with demo.app_context():
        claim = db.session.get(Claim, claim_id)
        assert (claim.solution_area, claim.product_id) == (M365, "m365-teams")
        assert claim.subscription_id != SUB_CONTOSO_SALES_VL_ACTIVE


def test_inline_check_of_revenue_association_swaps_in_its_fields(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="activity")

    response = gina.check(claim_id, "activity", {"activity": "revenue_association"}, "activity")

    body = response.get_data(as_text=True)
    assert '<div id="revenue-fields" hx-swap-oob="true">' in body
    assert "Solution seller's name" in text(response)
    assert "ISV product name" in text(response)
    assert "Enter the solution seller's name." not in text(response)  # not typed in yet: no message


def test_inline_check_on_the_review_step_does_nothing(gina):
    claim_id = gina.new()

    response = gina.check(claim_id, "review", {"attest": "y"}, "attest")

    assert response.status_code == 204


# --- every error reason as the user meets it ---------------------------------------------------


def _earlier(step, **answers):
    steps = valid_steps(**answers)
    return {s: steps[s] for s in STEPS[: STEPS.index(step)]}


ERROR_CASES = [
    # id, answers for the earlier steps, step, posted data, field, phrase, contact support
    ("tenant_format", {}, "customer", {"tenant_id": "contoso", "domain": "contoso.com"}, "tenant_id", "Enter the Tenant ID as a GUID", False),
    ("tenant_unknown", {}, "customer", {"tenant_id": "11111111-2222-3333-4444-555555555555", "domain": "contoso.com"}, "tenant_id", "We can't find a customer tenant with this ID", True),
    ("domain_format", {}, "customer", {"tenant_id": CONTOSO, "domain": "contoso"}, "domain", "Enter a domain such as", False),
    ("domain_tenant_mismatch", {}, "customer", {"tenant_id": CONTOSO, "domain": "wingtiptoys.com"}, "domain", "domain-tenant mismatch", True),
    ("product_not_on_tenant", {"tenant": CONTOSO}, "product", {"solution_area": BA, "product": "d365-finance"}, "product", "The product selected doesn't exist on the customer's tenant", True),
    ("product_csp", {"tenant": CONTOSO}, "product", {"solution_area": BA, "product": "d365-customer-service"}, "product", "The subscription provided is for CSP", True),
    ("product_not_provisioned", {"tenant": CONTOSO}, "product", {"solution_area": BA, "product": "d365-field-service"}, "product", "hasn't yet activated or provisioned", True),
    ("product_suspended", {"tenant": NORTHWIND}, "product", {"solution_area": BA, "product": "d365-sales"}, "product", "isn't active or in grace", True),
    ("subscription_not_dynamics", {"tenant": CONTOSO}, "product", {"solution_area": BA, "subscription_id": SUB_CONTOSO_TEAMS}, "subscription_id", "The subscription provided isn't for Dynamics", True),
    ("subscription_csp", {"tenant": CONTOSO}, "product", {"solution_area": BA, "subscription_id": SUB_CONTOSO_CS_CSP}, "subscription_id", "The subscription provided is for CSP", True),
    ("subscription_not_provisioned", {"tenant": CONTOSO}, "product", {"solution_area": BA, "subscription_id": SUB_CONTOSO_FIELD_PENDING}, "subscription_id", "hasn't yet activated or provisioned", True),
    ("subscription_expired", {"tenant": NORTHWIND}, "product", {"solution_area": BA, "subscription_id": SUB_NORTHWIND_FINANCE_EXPIRED}, "subscription_id", "isn't active or in grace", True),
    ("subscription_suspended", {"tenant": NORTHWIND}, "product", {"solution_area": BA, "subscription_id": SUB_NORTHWIND_SALES_SUSPENDED}, "subscription_id", "isn't active or in grace", True),
    ("not_a_subscription_id", {"tenant": CONTOSO}, "product", {"solution_area": BA, "subscription_id": "SUB-12345"}, "subscription_id", "The identifier provided isn't a subscription ID", True),
    ("tenant_id_as_subscription", {"tenant": CONTOSO}, "product", {"solution_area": BA, "subscription_id": CONTOSO}, "subscription_id", "it is a Tenant ID", True),
    ("subscription_not_on_tenant", {"tenant": CONTOSO}, "product", {"solution_area": BA, "subscription_id": SUB_WINGTIP_SALES}, "subscription_id", "There is no subscription with this ID on this customer's tenant", True),
    ("already_claimed_subscription", {"tenant": ADVENTURE, "subscription_id": SUB_ADVENTURE_CS}, "activity", {"activity": "usage"}, "activity", "The subscription has already been claimed by your organization for this activity", True),
    ("already_claimed_product", {"tenant": ADVENTURE, "product": "d365-customer-service"}, "activity", {"activity": "usage"}, "activity", "Your organization already has an open claim for this customer, product and activity", True),
    ("revenue_fields", {}, "activity", {"activity": "revenue_association"}, "solution_seller", "Enter the solution seller's name.", False),
    ("email_format", {}, "contacts", {**valid_steps()["contacts"], "customer_email": "dana@"}, "customer_email", "Enter an email address in the right format", False),
    ("contact_not_at_the_customer", {}, "contacts", {**valid_steps()["contacts"], "customer_email": "gina@fabrikam.example"}, "customer_email", "The customer contact's email address must be at one of the customer's domains, such as wingtiptoys.com", True),
    ("ack_future", {}, "proof", {"description": "Work", "acknowledged_on": (date.today() + timedelta(days=1)).isoformat()}, "acknowledged_on", "can't be in the future", False),
    ("ack_too_old", {}, "proof", {"description": "Work", "acknowledged_on": (date.today() - timedelta(days=400)).isoformat()}, "acknowledged_on", "must be from the last 12 months", False),
]


@pytest.mark.parametrize("earlier, step, data, field, phrase, support", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_every_error_reason_reaches_the_user_beside_its_field(demo, gina, earlier, step, data, field, phrase, support):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(**earlier), upto=step)

    response = gina.post(claim_id, step, data)

    assert response.status_code == 422
    assert_error_on_field(response, field, phrase)
    slot = error_slot(response, field)
    support_link = f'<a href="{demo.config["SUPPORT_URL"]}">contact support</a>'
    assert (support_link in slot) is support
    if support:
        assert "If that doesn't resolve it," in slot

    inline = gina.check(claim_id, step, data, field)  # the inline check says the same
    assert phrase in slot_text(inline, field)
    assert (support_link in error_slot(inline, field)) is support


@pytest.mark.parametrize("earlier, step, data, field, phrase, support", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_every_error_reason_reaches_a_french_user_beside_its_field(demo, walker_for, earlier, step, data, field, phrase, support):
    camille = walker_for(CAMILLE)  # her setting is French
    claim_id = camille.new()
    camille.walk(claim_id, valid_steps(**earlier), upto=step)

    response = camille.post(claim_id, step, data)

    assert response.status_code == 422
    assert lang(response) == "fr"
    tag, attributes = element(response, field)
    assert f"{field}-error" in attributes["aria-describedby"].split()
    message = slot_text(response, field)
    assert message
    if translated(phrase):
        assert phrase not in message
    assert (f'href="{demo.config["SUPPORT_URL"]}"' in error_slot(response, field)) is support
    inline = camille.check(claim_id, step, data, field)
    assert slot_text(inline, field) == message


#: The seed's advice after its subscription errors, and the words before the support link.
ADVICE = {
    "en": "Work with your customer to make sure the subscription is correct and that you're using the correct Tenant ID.",
    "fr": "Contactez votre client pour vous assurer que l'abonnement est correct et que vous utilisez l'ID de locataire correct.",
}
BEFORE_SUPPORT = {"en": "If that doesn't resolve it,", "fr": "Si cela ne résout pas votre problème,"}
SUPPORT_LINK_TEXT = {"en": "contact support", "fr": "contactez le support"}
SUBSCRIPTION_ERRORS = [
    c for c in ERROR_CASES
    if c[0] in {"product_csp", "product_suspended", "subscription_not_dynamics", "subscription_csp", "subscription_expired",
                "subscription_suspended", "not_a_subscription_id", "tenant_id_as_subscription", "subscription_not_on_tenant",
                "already_claimed_subscription", "already_claimed_product"}
]


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("earlier, step, data, field", [c[1:5] for c in SUBSCRIPTION_ERRORS], ids=[c[0] for c in SUBSCRIPTION_ERRORS])
def test_subscription_errors_end_with_the_seeds_advice_then_contact_support(demo, walker_for, locale, earlier, step, data, field):
    walker = walker_for({"en": GINA, "fr": CAMILLE}[locale])
    claim_id = walker.new()
    walker.walk(claim_id, valid_steps(**earlier), upto=step)

    for response in (walker.post(claim_id, step, data), walker.check(claim_id, step, data, field)):
        message = slot_text(response, field)
        assert ADVICE[locale] in message, message
        assert message.index(ADVICE[locale]) < message.index(BEFORE_SUPPORT[locale])
        assert f'<a href="{demo.config["SUPPORT_URL"]}">{SUPPORT_LINK_TEXT[locale]}</a>' in error_slot(response, field)


def test_the_support_link_follows_the_configured_url(demo, gina):
    demo.config["SUPPORT_URL"] = "https://support.example/cpor?topic=association"
    claim_id = gina.new()

    response = gina.post(claim_id, "customer", {"tenant_id": str(uuid.uuid4()), "domain": "contoso.com"})

    assert '<a href="https://support.example/cpor?topic=association">contact support</a>' in error_slot(response, "tenant_id")


def test_subscription_of_another_tenant_reads_like_an_unknown_one(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=CONTOSO), upto="product")

    elsewhere = gina.post(claim_id, "product", {"solution_area": BA, "subscription_id": SUB_WINGTIP_SALES})
    unknown = gina.post(claim_id, "product", {"solution_area": BA, "subscription_id": str(uuid.uuid4())})

    assert slot_text(elsewhere, "subscription_id") == slot_text(unknown, "subscription_id")
    assert "Wingtip" not in text(elsewhere)


@pytest.mark.parametrize("email", [GINA, CAMILLE], ids=["en", "fr"])
def test_another_customers_tenant_id_as_subscription_reads_like_an_unknown_guid(walker_for, email):
    """Only the customer's own Tenant ID (typed at step 1) is called a Tenant ID: another
    customer's gets the answer a random GUID gets, so it confirms no tenant."""
    walker = walker_for(email)
    claim_id = walker.new()
    walker.walk(claim_id, valid_steps(tenant=CONTOSO), upto="product")

    def answer(raw):
        data = {"solution_area": BA, "subscription_id": raw}
        posted, inline = walker.post(claim_id, "product", data), walker.check(claim_id, "product", data, "subscription_id")
        assert posted.status_code == 422
        assert slot_text(inline, "subscription_id") == slot_text(posted, "subscription_id")
        return error_slot(posted, "subscription_id")

    unknown = answer(str(uuid.uuid4()))
    for other_tenant in (NORTHWIND, WINGTIP.upper(), "{" + ADVENTURE + "}"):
        assert answer(other_tenant) == unknown, other_tenant
    assert answer(CONTOSO) != unknown  # the customer's own Tenant ID is named as such


def test_domain_of_another_tenant_reads_like_an_unknown_domain(gina):
    claim_id = gina.new()

    other_tenants = gina.post(claim_id, "customer", {"tenant_id": CONTOSO, "domain": "northwindtraders.com"})
    unknown = gina.post(claim_id, "customer", {"tenant_id": CONTOSO, "domain": "no-such-domain.example"})

    assert slot_text(other_tenants, "domain") == slot_text(unknown, "domain")
    assert "Northwind" not in text(other_tenants)


def test_second_claim_for_the_same_customer_product_and_activity_links_to_the_first(demo, gina):
    with demo.app_context():
        existing = db.session.scalar(select(Claim).where(Claim.tenant_id == ADVENTURE, Claim.product_id == "d365-customer-service"))
        existing_id, number = existing.id, existing.number
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=ADVENTURE, subscription_id=SUB_ADVENTURE_CS), upto="activity")

    response = gina.post(claim_id, "activity", {"activity": "usage"})

    assert response.status_code == 422
    assert_error_on_field(response, "activity", "The subscription has already been claimed by your organization for this activity")
    assert f'<a href="/claims/{existing_id}">See claim {number}</a>' in error_slot(response, "activity")
    slot = error_slot(response, "activity")
    assert ADVICE["en"] in slot_text(response, "activity")
    assert "If that doesn't resolve it," in slot
    assert f'<a href="{demo.config["SUPPORT_URL"]}">contact support</a>' in slot
    assert gina.post(claim_id, "activity", {"activity": "presales"}).status_code == 302


@pytest.mark.parametrize("answers, french", [
    ({"subscription_id": SUB_ADVENTURE_CS}, "Cet abonnement a déjà été revendiqué par votre organisation pour cette activité."),
    ({"product": "d365-customer-service"}, "Votre organisation a déjà une revendication ouverte pour ce client, ce produit et cette activité."),
], ids=["by-subscription", "by-product"])
def test_second_claim_links_to_the_first_in_french(demo, walker_for, answers, french):
    with demo.app_context():
        existing = db.session.scalar(select(Claim).where(Claim.tenant_id == ADVENTURE, Claim.product_id == "d365-customer-service"))
        existing_id, number = existing.id, existing.number
    camille = walker_for(CAMILLE)
    claim_id = camille.new()
    camille.walk(claim_id, valid_steps(tenant=ADVENTURE, **answers), upto="activity")

    response = camille.post(claim_id, "activity", {"activity": "usage"})
    inline = camille.check(claim_id, "activity", {"activity": "usage"}, "activity")

    assert response.status_code == 422
    assert lang(response) == "fr"
    message = slot_text(response, "activity")
    assert f"{french} {ADVICE['fr']} Voir la revendication {number}" in message
    assert "already" not in message and "See claim" not in message
    slot = error_slot(response, "activity")
    assert f'<a href="/claims/{existing_id}">Voir la revendication {number}</a>' in slot
    assert f'Si cela ne résout pas votre problème, <a href="{demo.config["SUPPORT_URL"]}">contactez le support</a>' in " ".join(slot.split())
    assert slot_text(inline, "activity") == message
    assert camille.post(claim_id, "activity", {"activity": "presales"}).status_code == 302


def test_tenant_lookups_typed_in_the_wizard_are_rate_limited(demo, gina):
    demo.config["TENANT_LOOKUP_LIMIT"] = "3 per minute"
    claim_id = gina.new()
    for _ in range(2):
        assert slot_text(gina.check(claim_id, "customer", {"tenant_id": WINGTIP, "domain": ""}, "tenant_id"), "tenant_id") == ""
    assert gina.post(claim_id, "customer", valid_steps()["customer"]).status_code == 302  # the third

    inline = gina.check(claim_id, "customer", {"tenant_id": CONTOSO, "domain": ""}, "tenant_id")
    refused = gina.post(claim_id, "customer", valid_steps()["customer"])

    assert "You have looked up many tenants in a short time" in slot_text(inline, "tenant_id")
    assert refused.status_code == 422
    assert "You have looked up many tenants in a short time" in slot_text(refused, "tenant_id")
    # Moving through the later steps revalidates the stored tenant without counting.
    gina.client.post(f"/claims/{claim_id}/wizard/customer", data={**valid_steps()["customer"], "action": "back"})
    assert gina.client.get(f"/claims/{claim_id}/wizard/product").status_code == 200


def test_tenant_lookups_typed_in_the_wizard_are_rate_limited_in_french(demo, walker_for):
    demo.config["TENANT_LOOKUP_LIMIT"] = "3 per minute"
    camille = walker_for(CAMILLE)
    claim_id = camille.new()
    for _ in range(3):
        assert slot_text(camille.check(claim_id, "customer", {"tenant_id": WINGTIP, "domain": ""}, "tenant_id"), "tenant_id") == ""

    inline = camille.check(claim_id, "customer", {"tenant_id": CONTOSO, "domain": ""}, "tenant_id")
    refused = camille.post(claim_id, "customer", valid_steps()["customer"])

    french = "Vous avez recherché de nombreux locataires en peu de temps. Patientez une minute, puis réessayez."
    assert refused.status_code == 422
    assert lang(refused) == "fr"
    for response in (inline, refused):
        assert slot_text(response, "tenant_id") == f"Erreur : {french}"
        assert "You have looked up many tenants" not in slot_text(response, "tenant_id")
    _tag, attributes = element(refused, "tenant_id")
    assert "tenant_id-error" in attributes["aria-describedby"].split()


# --- choices that depend on earlier answers ------------------------------------------------------


def test_products_offered_are_those_on_the_tenant_for_the_chosen_area(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=CONTOSO), upto="product")
    gina.post(claim_id, "product", {"solution_area": BA}, action="back")

    page = gina.client.get(f"/claims/{claim_id}/wizard/product")

    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', page.get_data(as_text=True))
    assert options == [
        ("", "Choose…"),
        ("d365-customer-service", "Dynamics 365 Customer Service"),
        ("d365-field-service", "Dynamics 365 Field Service"),
        ("d365-sales", "Dynamics 365 Sales"),
    ]
    assert '<label for="subscription_id">Subscription ID</label>' in page.get_data(as_text=True)


def test_activities_offered_depend_on_the_solution_area(gina):
    ba = gina.new()
    gina.walk(ba, valid_steps(), upto="activity")
    m365 = gina.new()
    gina.walk(m365, valid_steps(tenant=CONTOSO, area=M365, product="m365-teams"), upto="activity")

    ba_page = text(gina.client.get(f"/claims/{ba}/wizard/activity"))
    m365_page = text(gina.client.get(f"/claims/{m365}/wizard/activity"))

    assert re.findall(r'name="activity" value="([^"]+)"', ba_page) == ["presales", "usage", "revenue_association"]
    for label in ("Presales", "Usage", "Revenue association"):
        assert label in ba_page
    assert "This option is for revenue association only, not for incentive payments." in ba_page
    assert re.findall(r'name="activity" value="([^"]+)"', m365_page) == ["usage"]
    assert gina.post(m365, "activity", {"activity": "presales"}).status_code == 422


def test_mpn_step_lists_the_organizations_mpn_ids_with_location_type_and_enrollment(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="mpn")

    page = text(gina.client.get(f"/claims/{claim_id}/wizard/mpn"))

    assert re.findall(r'name="mpn" value="([^"]+)"', page) == ["1234567", "1234568", "2345671", "765432"]
    assert "3456789" not in page and "London" not in page  # Proseware's
    for words in (
        "Paris, France · Solutions Partner for Business Applications · Enrolled in incentives",
        "Lyon, France · Indirect Reseller · Not enrolled in incentives",
        "Montréal, Canada · FastTrack Ready Partner · Enrolled in incentives",
        "Seattle, United States · Solutions Partner for Modern Work · Not enrolled in incentives",
    ):
        assert words in " ".join(page.split())


@pytest.mark.parametrize("activity", ["presales", "usage"])
def test_an_mpn_not_enrolled_for_an_incentive_activity_gets_a_warning_with_a_link(gina, activity):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(activity=activity), upto="mpn")

    inline = gina.check(claim_id, "mpn", {"mpn": MPN_NOT_ENROLLED}, "mpn")
    assert '<div id="mpn-warning" aria-live="polite" hx-swap-oob="true">' in inline.get_data(as_text=True)
    assert f"MPN ID {MPN_NOT_ENROLLED} isn't enrolled in incentives" in text(inline)
    assert '<a href="/incentives">Enroll it in the incentives overview</a>' in inline.get_data(as_text=True)

    response = gina.post(claim_id, "mpn", {"mpn": MPN_NOT_ENROLLED})
    assert response.status_code == 302  # a warning, not an error
    page = gina.client.get(f"/claims/{claim_id}/wizard/mpn")
    assert '<a href="/incentives">Enroll it in the incentives overview</a>' in page.get_data(as_text=True)


def test_no_warning_for_an_enrolled_mpn_or_for_revenue_association(gina):
    enrolled = gina.new()
    gina.walk(enrolled, valid_steps(), upto="mpn")
    revenue = gina.new()
    gina.walk(revenue, valid_steps(activity="revenue_association"), upto="mpn")

    assert "isn't enrolled in incentives" not in text(gina.check(enrolled, "mpn", {"mpn": MPN_ENROLLED}, "mpn"))
    assert "isn't enrolled in incentives" not in text(gina.check(revenue, "mpn", {"mpn": MPN_NOT_ENROLLED}, "mpn"))
    gina.post(revenue, "mpn", {"mpn": MPN_NOT_ENROLLED})
    assert "/incentives" not in gina.client.get(f"/claims/{revenue}/wizard/mpn").get_data(as_text=True).split("<main", 1)[1]


def test_a_billing_admin_is_told_who_can_enroll_the_mpn(walker_for):
    bea = walker_for(BEA)
    claim_id = bea.new()
    bea.walk(claim_id, valid_steps(), upto="mpn")

    inline = text(bea.check(claim_id, "mpn", {"mpn": MPN_NOT_ENROLLED}, "mpn"))

    assert "A global admin or incentives admin can enroll it in the incentives overview." in inline


def test_review_warns_of_arbitration_without_naming_the_other_partner(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=CONTOSO, product="d365-sales"))

    page = gina.client.get(f"/claims/{claim_id}/wizard/review")

    body = text(page)
    assert "Another partner is associated with this product: your claim will go to arbitration." in body
    assert "Proseware" not in body and "proseware" not in body
    assert "3456789" not in body


def test_review_says_nothing_of_arbitration_without_a_competing_claim(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())

    assert "arbitration" not in text(gina.client.get(f"/claims/{claim_id}/wizard/review"))


def test_review_shows_every_answer_with_an_edit_link(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(activity="revenue_association", mpn=MPN_NOT_ENROLLED))

    page = text(gina.client.get(f"/claims/{claim_id}/wizard/review"))

    for shown in ("Wingtip Toys", WINGTIP, "wingtiptoys.com", "Dynamics 365 Sales", "Revenue association",
                  "Litware Sales", "Litware CRM Connector", "1234568 · Lyon, France", "Dana Customer, CIO, dana@wingtiptoys.com",
                  "proof.pdf", "Workshops and a pilot"):
        assert shown in page, shown
    for step in STEPS[:-1]:
        assert f'href="/claims/{claim_id}/wizard/{step}?return_to=review">Edit' in page  # and back to review


# --- French ---------------------------------------------------------------------------------


def test_step_page_is_in_french_for_a_french_browser(demo):
    with demo.app_context():
        db.session.execute(update(User).where(User.email == GINA).values(locale=None))
        db.session.commit()
    client = demo.test_client()
    client.post("/login", data={"email": GINA, "password": "demo-password"}, headers={"Accept-Language": "fr"})
    walker = Walker(client)
    claim_id = walker.new()

    response = client.get(f"/claims/{claim_id}/wizard/customer", headers={"Accept-Language": "fr-FR,fr;q=0.9"})

    assert response.status_code == 200
    assert lang(response) == "fr"


def test_step_page_is_in_french_for_a_user_whose_setting_is_french(walker_for):
    camille = walker_for(CAMILLE)
    claim_id = camille.new()

    response = camille.client.get(f"/claims/{claim_id}/wizard/customer", headers={"Accept-Language": "en"})

    assert lang(response) == "fr"


@pytest.mark.parametrize("phrase, field, data", [
    ("Enter the Tenant ID as a GUID", "tenant_id", {"tenant_id": "x", "domain": "contoso.com"}),
    ("We can't find a customer tenant with this ID", "tenant_id", {"tenant_id": str(uuid.UUID(int=7)), "domain": "contoso.com"}),
    ("domain-tenant mismatch", "domain", {"tenant_id": CONTOSO, "domain": "wingtiptoys.com"}),
])
def test_error_messages_are_in_french(walker_for, phrase, field, data):
    if not translated(phrase):
        pytest.skip(f"the compiled French catalog does not translate {phrase!r} yet (make compile-translations)")
    camille = walker_for(CAMILLE)
    claim_id = camille.new()

    response = camille.post(claim_id, "customer", data)

    assert response.status_code == 422
    assert phrase not in text(response)
    assert slot_text(response, field)
    if translated("There is a problem"):
        assert "There is a problem" not in text(response)
    if translated("Step %(n)s of %(total)s"):
        assert "Step 1 of 7" not in text(response)
        assert "Étape 1 sur 7" in text(response)


# --- drafts ---------------------------------------------------------------------------------


def test_two_tabs_hold_two_independent_drafts(gina):
    first, second = gina.new(), gina.new()

    gina.post(first, "customer", {"tenant_id": CONTOSO, "domain": "contoso.com"})
    gina.post(second, "customer", {"tenant_id": WINGTIP, "domain": "wingtiptoys.com"})
    gina.post(first, "product", {"solution_area": M365, "product": "m365-teams"})

    assert f'value="{CONTOSO}"' in gina.client.get(f"/claims/{first}/wizard/customer").get_data(as_text=True)
    assert f'value="{WINGTIP}"' in gina.client.get(f"/claims/{second}/wizard/customer").get_data(as_text=True)
    assert gina.client.get(f"/claims/{first}/wizard/activity").status_code == 200
    assert gina.client.get(f"/claims/{second}/wizard/activity").status_code == 302


def test_a_draft_survives_signing_out_and_resumes_with_what_was_typed(demo, gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=CONTOSO), upto="product")
    gina.post(claim_id, "product", {"solution_area": BA, "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE}, action="back")
    assert gina.client.post("/logout").status_code == 302
    assert gina.client.get(f"/claims/{claim_id}/wizard/product").status_code == 302  # signed out

    again = sign_in(demo, GINA)
    home = text(again.get("/"))
    page = again.get(f"/claims/{claim_id}/wizard/product")

    assert f"Resume draft CPOR-{claim_id:06d}" in home
    assert page.status_code == 200
    assert f'value="{SUB_CONTOSO_SALES_VL_ACTIVE}"' in page.get_data(as_text=True)
    assert 'value="business_applications" checked' in page.get_data(as_text=True)


def test_home_lists_the_users_drafts_with_resume_and_delete(demo, gina):
    claim_id = gina.new()
    gina.post(claim_id, "customer", {"tenant_id": CONTOSO, "domain": "contoso.com"})
    other = Walker(sign_in(demo, IAN)).new()

    home = gina.client.get("/")

    body = text(home)
    resume = re.search(rf'<a href="([^"]+)">Resume draft CPOR-{claim_id:06d}</a>', body)
    assert resume
    landing = gina.client.get(resume.group(1), follow_redirects=True)
    assert landing.request.path == f"/claims/{claim_id}/wizard/product"  # where the user left off
    # Delete asks first, on a page of its own that holds the form and goes back home on Cancel.
    confirm = re.search(rf'<a href="(/claims/{claim_id}/confirm-delete[^"]*)" class="destructive">Delete', body)
    assert confirm
    asked = text(gina.client.get(confirm.group(1).replace("&amp;", "&")))
    assert f'action="/claims/{claim_id}/delete"' in asked and "This cannot be undone." in asked
    assert re.search(r'<a href="/">Cancel</a>', asked)
    assert "Contoso Ltd" in body
    assert f"CPOR-{other:06d}" not in body  # another user's draft


def test_another_user_of_the_organization_cannot_open_a_draft(demo, gina):
    claim_id = gina.new()
    gina.upload(claim_id, ("proof.pdf", PDF))
    file_id = _file_ids(demo, claim_id)[0]
    ian = sign_in(demo, IAN)

    for method, url in _claim_routes(claim_id, file_id):
        assert getattr(ian, method)(url).status_code == 404, (method, url)
    assert stored_draft(demo, claim_id) is not None


def test_another_organization_gets_404_on_every_claim_route(demo, gina):
    draft = gina.new()
    gina.upload(draft, ("proof.pdf", PDF))
    submitted = gina.file_claim()
    paul = sign_in(demo, PAUL)

    for claim_id in (draft, submitted):
        file_id = _file_ids(demo, claim_id)[0]
        for method, url in _claim_routes(claim_id, file_id):
            kwargs = {"headers": {"HX-Request": "true", "HX-Trigger-Name": "tenant_id"}} if url.endswith("/check") else {}
            response = getattr(paul, method)(url, **kwargs)
            assert response.status_code == 404, (claim_id, method, url, response.status_code)
            assert "Fabrikam" not in text(response)
    with demo.app_context():
        assert db.session.get(Claim, draft).status == "draft"
        assert len(db.session.get(Claim, draft).files) == 1


def _file_ids(app, claim_id):
    with app.app_context():
        return [f.id for f in db.session.get(Claim, claim_id).files]


def _claim_routes(claim_id, file_id):
    return [
        ("get", f"/claims/{claim_id}"),
        ("get", f"/claims/{claim_id}/wizard/customer"),
        ("post", f"/claims/{claim_id}/wizard/customer"),
        ("post", f"/claims/{claim_id}/wizard/customer/check"),
        ("post", f"/claims/{claim_id}/files"),
        ("post", f"/claims/{claim_id}/files/{file_id}/delete"),
        ("get", f"/claims/{claim_id}/files/{file_id}"),
        ("post", f"/claims/{claim_id}/delete"),
    ]


def test_a_billing_admin_can_file_a_claim(demo, walker_for):
    bea = walker_for(BEA)

    claim_id = bea.file_claim(activity="usage")

    with demo.app_context():
        claim = db.session.get(Claim, claim_id)
        assert claim.status == "submitted"
        assert claim.created_by.email == BEA


def test_a_user_without_association_access_gets_403_listing_the_admins(demo, gina):
    claim_id = gina.new()
    rafael = sign_in(demo, RAFAEL)

    for method, url in [("post", "/claims/new"), ("get", f"/claims/{claim_id}/wizard/customer"),
                        ("post", f"/claims/{claim_id}/wizard/customer/check"), ("get", f"/claims/{claim_id}"),
                        ("get", "/claims/poe-template.docx")]:
        response = getattr(rafael, method)(url)
        assert response.status_code == 403, url
    page = text(response)
    assert "Gina Martin" in page and "gina@fabrikam.example" in page


def test_a_reviewer_cannot_open_or_file_drafts(demo, gina):
    draft = gina.new()
    gina.upload(draft, ("proof.pdf", PDF))
    file_id = _file_ids(demo, draft)[0]
    submitted = gina.file_claim()
    rita = sign_in(demo, RITA)

    assert rita.post("/claims/new").status_code == 403
    assert rita.get(f"/claims/{draft}/wizard/customer").status_code == 403
    assert rita.post(f"/claims/{draft}/wizard/customer/check").status_code == 403
    assert rita.get(f"/claims/{draft}").status_code == 404
    assert rita.get(f"/claims/{draft}/files/{file_id}").status_code == 404
    assert rita.post(f"/claims/{draft}/delete").status_code == 403
    assert rita.get(f"/claims/{submitted}", follow_redirects=True).status_code == 200  # a submitted claim is hers to review


def test_deleting_a_draft_removes_it_and_its_files(demo, gina):
    claim_id = gina.new()
    gina.upload(claim_id, ("a.pdf", PDF), ("b.pdf", PDF))
    folder = Path(demo.config["UPLOAD_FOLDER"])
    stored = [p for p in folder.rglob("*") if p.is_file()]
    assert len(stored) == 2

    response = gina.client.post(f"/claims/{claim_id}/delete")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert [p for p in folder.rglob("*") if p.is_file()] == []
    assert stored_draft(demo, claim_id) is None
    assert gina.client.get(f"/claims/{claim_id}/wizard/customer").status_code == 404
    assert f"CPOR-{claim_id:06d}" not in text(gina.client.get("/"))


def test_a_submitted_claim_cannot_be_deleted_or_edited_in_the_wizard(demo, gina):
    claim_id = gina.file_claim()

    assert gina.client.post(f"/claims/{claim_id}/delete").headers["Location"].endswith(f"/claims/{claim_id}")
    assert gina.client.get(f"/claims/{claim_id}/wizard/customer").headers["Location"].endswith(f"/claims/{claim_id}")
    with demo.app_context():
        assert db.session.get(Claim, claim_id).status == "submitted"


def test_signed_out_visitors_are_sent_to_sign_in(demo, gina):
    claim_id = gina.new()
    anonymous = demo.test_client()

    response = anonymous.get(f"/claims/{claim_id}/wizard/customer")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    inline = anonymous.post(f"/claims/{claim_id}/wizard/customer/check", headers={"HX-Request": "true"})
    assert inline.status_code == 401
    assert "/login" in inline.headers["HX-Redirect"]


ALREADY_CLAIMED = [c for c in ERROR_CASES if c[0] in {"already_claimed_subscription", "already_claimed_product"}]
SEE_CLAIM = {"en": "See claim", "fr": "Voir la revendication"}


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("earlier, step, data, field", [c[1:5] for c in ALREADY_CLAIMED], ids=[c[0] for c in ALREADY_CLAIMED])
def test_already_claimed_link_ends_its_sentence_before_contact_support(demo, walker_for, locale, earlier, step, data, field):
    walker = walker_for({"en": GINA, "fr": CAMILLE}[locale])
    claim_id = walker.new()
    walker.walk(claim_id, valid_steps(**earlier), upto=step)

    for response in (walker.post(claim_id, step, data), walker.check(claim_id, step, data, field)):
        slot = error_slot(response, field)
        assert re.search(rf">{SEE_CLAIM[locale]} [^<]+</a>\.\s+{re.escape(BEFORE_SUPPORT[locale])}", slot), slot

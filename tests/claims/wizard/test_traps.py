"""Issue 12's traps over HTTP: files chosen but not uploaded, Edit from the review page, the
arbitration announced at step 2, and what a Tenant ID or subscription ID resolved to."""
from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from portal.claims.models import Claim
from portal.extensions import db
from tests.claims.conftest import (
    CAMILLE,
    CONTOSO,
    EXECUTABLE,
    GINA,
    NORTHWIND,
    PDF,
    PNG,
    SUB_CONTOSO_SALES_VL_ACTIVE,
    SUB_NORTHWIND_FINANCE_ACTIVE,
    SUB_NORTHWIND_FINANCE_EXPIRED,
    SUB_WINGTIP_FIELD_EXPIRED,
    SUB_WINGTIP_SALES,
    WINGTIP,
    element,
    error_slot,
    slot_text,
    valid_steps,
)
from tests.html import text

BA = "business_applications"
ARBITRATION = "your claim will go to arbitration"


@pytest.fixture
def gina(walker_for):
    return walker_for(GINA)


def region(response, region_id: str) -> str:
    """The words of a status region (``<div id=...>``, which holds no other div)."""
    match = re.search(rf'<div id="{re.escape(region_id)}"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S)
    assert match, f"no #{region_id} in the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def post_proof(walker, claim_id, files, action="next", **answers):
    data = MultiDict([
        ("description", answers.get("description", "Workshops and a pilot.")),
        ("acknowledged_on", answers.get("acknowledged_on", (date.today() - timedelta(days=7)).isoformat())),
        ("action", action),
        *[("files", (io.BytesIO(content), name)) for name, content in files],
    ])
    return walker.client.post(f"/claims/{claim_id}/wizard/proof", data=data, content_type="multipart/form-data")


def files_of(app, claim_id) -> list[str]:
    with app.app_context():
        return [f.filename for f in db.session.get(Claim, claim_id).files]


# --- trap 1: a chosen file is taken by Next --------------------------------------------------


def test_next_takes_the_files_chosen_without_a_separate_upload(demo, gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="proof")

    response = post_proof(gina, claim_id, [("proof.pdf", PDF), ("photo.png", PNG)])

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/review")
    assert sorted(files_of(demo, claim_id)) == ["photo.png", "proof.pdf"]
    review = text(gina.client.get(response.headers["Location"]))
    assert "proof.pdf" in review and "photo.png" in review


def test_a_file_refused_at_next_keeps_the_step_and_says_why(demo, gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="proof")

    response = post_proof(gina, claim_id, [("invoice.pdf", EXECUTABLE)])

    assert response.status_code == 422
    message = slot_text(response, "files")
    assert "invoice.pdf was not added: This file isn't a PDF, DOCX, XLSX, PNG, JPEG, MSG or EML file" in message
    assert "Add at least one proof of execution file." not in message  # the refusal says it
    assert 'href="#files"' in text(response)  # the summary links to the chooser
    assert files_of(demo, claim_id) == []
    assert "Workshops and a pilot." in text(response)  # what was typed stays


def test_next_with_files_keeps_the_count_limit(demo, gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="proof")
    limit = demo.config["UPLOAD_MAX_FILES"]

    response = post_proof(gina, claim_id, [(f"proof-{n}.pdf", PDF) for n in range(limit + 1)])

    assert response.status_code == 422
    assert f"proof-{limit}.pdf was not added: A claim can have at most {limit} files." in slot_text(response, "files")
    assert len(files_of(demo, claim_id)) == limit


def test_upload_without_javascript_adds_the_files_and_keeps_what_was_typed(demo, gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="proof")

    response = post_proof(gina, claim_id, [("proof.pdf", PDF)], action="upload", description="Typed before Upload.")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/proof")
    assert files_of(demo, claim_id) == ["proof.pdf"]
    page = text(gina.client.get(response.headers["Location"]))
    assert "1 file added." in page
    assert "Typed before Upload." in page

    empty = post_proof(gina, claim_id, [], action="upload")
    assert "Choose at least one file to upload." in text(gina.client.get(empty.headers["Location"]))


def test_the_step_form_carries_the_chooser_and_checks_leave_files_out(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="proof")

    body = text(gina.client.get(f"/claims/{claim_id}/wizard/proof"))

    assert re.search(r'<form[^>]*id="step-form"[^>]*enctype="multipart/form-data"[^>]*hx-params="not files"', body)
    assert re.search(r'<input type="file" id="files" name="files" form="step-form"', body)
    assert re.search(r'<button type="submit" form="step-form" name="action" value="upload"', body)


# --- trap 4: Edit from the review page comes back to it ---------------------------------------


def test_review_edit_links_come_back_to_review(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())

    review = text(gina.client.get(f"/claims/{claim_id}/wizard/review"))
    assert f'href="/claims/{claim_id}/wizard/mpn?return_to=review"' in review
    page = text(gina.client.get(f"/claims/{claim_id}/wizard/mpn?return_to=review"))
    assert '<input type="hidden" name="return_to" value="review">' in page

    response = gina.post(claim_id, "mpn", {"mpn": "1234568", "return_to": "review"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{claim_id}/wizard/review")
    assert "1234568" in text(gina.client.get(response.headers["Location"]))


def test_an_edit_that_breaks_a_later_step_goes_to_that_steps_message(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())  # Wingtip Toys, Dynamics 365 Sales

    # Northwind's Dynamics 365 Sales subscription is suspended: step 2 no longer holds.
    response = gina.post(claim_id, "customer", {"tenant_id": NORTHWIND, "domain": "northwindtraders.com", "return_to": "review"})

    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.search(rf"/claims/{claim_id}/wizard/product\?(?=.*show_errors=1)(?=.*return_to=review)", location)
    page = gina.client.get(location)
    assert "isn't active or in grace" in slot_text(page, "product")
    assert '<input type="hidden" name="return_to" value="review">' in text(page)


def test_back_from_an_edit_returns_to_review_and_an_unknown_return_is_ignored(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps())

    back = gina.post(claim_id, "contacts", {**valid_steps()["contacts"], "return_to": "review"}, action="back")
    assert back.headers["Location"].endswith(f"/claims/{claim_id}/wizard/review")

    other = gina.post(claim_id, "mpn", {"mpn": "1234567", "return_to": "https://evil.example/"})
    assert other.headers["Location"].endswith(f"/claims/{claim_id}/wizard/contacts")


# --- trap 6: arbitration announced at step 2 -------------------------------------------------


def test_arbitration_is_announced_when_step_2_resolves_the_product_without_naming_the_partner(gina):
    claim_id = gina.new()
    steps = valid_steps(tenant=CONTOSO)  # Proseware holds an approved claim on Contoso's Dynamics 365 Sales
    gina.walk(claim_id, steps, upto="product")

    inline = gina.check(claim_id, "product", steps["product"], "product")
    assert ARBITRATION in region(inline, "product-resolved")
    assert "Proseware" not in text(inline)

    gina.walk(claim_id, steps, upto="activity")
    page = gina.client.get(f"/claims/{claim_id}/wizard/product")
    assert ARBITRATION in region(page, "product-resolved")
    assert "Proseware" not in text(page)

    gina.walk(claim_id, steps)
    review = gina.client.get(f"/claims/{claim_id}/wizard/review")
    assert ARBITRATION in text(review)
    assert "Proseware" not in text(review)


def test_no_arbitration_notice_without_a_competing_claim(gina):
    claim_id = gina.new()
    steps = valid_steps()  # Wingtip Toys: nobody else holds a claim
    gina.walk(claim_id, steps, upto="product")

    inline = gina.check(claim_id, "product", steps["product"], "product")
    assert ARBITRATION not in text(inline)


# --- what an ID resolved to -------------------------------------------------------------------


def test_the_customers_name_shows_once_tenant_and_domain_check_out(gina):
    claim_id = gina.new()

    inline = gina.check(claim_id, "customer", {"tenant_id": WINGTIP, "domain": "wingtiptoys.com"}, "domain")
    assert region(inline, "customer-resolved") == "Customer: Wingtip Toys"
    assert 'id="customer-resolved" class="resolved" role="status" hx-swap-oob="innerHTML"' in text(inline)

    mismatch = gina.check(claim_id, "customer", {"tenant_id": WINGTIP, "domain": "contoso.com"}, "domain")
    assert region(mismatch, "customer-resolved") == ""

    gina.post(claim_id, "customer", {"tenant_id": WINGTIP, "domain": "wingtiptoys.com"})
    page = gina.client.get(f"/claims/{claim_id}/wizard/customer")
    assert region(page, "customer-resolved") == "Customer: Wingtip Toys"
    for field in ("tenant_id", "domain"):
        assert "customer-resolved" in element(page, field)[1]["aria-describedby"].split()


def test_a_subscription_id_shows_its_product_channel_status_and_end_date(gina):
    claim_id = gina.new()
    steps = valid_steps(subscription_id=SUB_WINGTIP_SALES)
    gina.walk(claim_id, steps, upto="product")

    inline = gina.check(claim_id, "product", steps["product"], "subscription_id")
    words = region(inline, "product-resolved")
    assert f"Subscription {SUB_WINGTIP_SALES}:" in words
    assert "Product Dynamics 365 Sales" in words
    assert "Channel Web-Direct" in words
    assert "Status Active" in words
    assert "End date Jun 30, 2027" in words

    gina.walk(claim_id, steps, upto="activity")
    page = gina.client.get(f"/claims/{claim_id}/wizard/product")
    assert "Channel Web-Direct" in region(page, "product-resolved")
    assert "product-resolved" in element(page, "subscription_id")[1]["aria-describedby"].split()


def test_the_subscription_shows_in_french(walker_for):
    camille = walker_for(CAMILLE)
    claim_id = camille.new()
    steps = valid_steps(subscription_id=SUB_CONTOSO_SALES_VL_ACTIVE, tenant=CONTOSO)
    camille.walk(claim_id, steps, upto="product")

    words = region(camille.check(claim_id, "product", steps["product"], "subscription_id"), "product-resolved")

    assert "Canal Licence en volume" in words
    assert "Statut Actif" in words
    assert "1 janv. 2027" in words
    assert "arbitrage" in words
    assert "Proseware" not in words


def test_an_expired_subscription_points_to_the_newer_one(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(tenant=NORTHWIND, product="d365-finance"), upto="product")

    response = gina.post(claim_id, "product", {"solution_area": BA, "product": "", "subscription_id": SUB_NORTHWIND_FINANCE_EXPIRED})

    assert response.status_code == 422
    message = slot_text(response, "subscription_id")
    assert "isn't active or in grace" in message
    assert f"newer subscription for Dynamics 365 Finance: {SUB_NORTHWIND_FINANCE_ACTIVE}" in message
    inline = gina.check(claim_id, "product", {"solution_area": BA, "product": "", "subscription_id": SUB_NORTHWIND_FINANCE_EXPIRED}, "subscription_id")
    assert SUB_NORTHWIND_FINANCE_ACTIVE in slot_text(inline, "subscription_id")


def test_an_expired_subscription_without_a_newer_one_says_only_why(gina):
    claim_id = gina.new()
    gina.walk(claim_id, valid_steps(), upto="product")

    response = gina.post(claim_id, "product", {"solution_area": BA, "product": "", "subscription_id": SUB_WINGTIP_FIELD_EXPIRED})

    assert "isn't active or in grace" in slot_text(response, "subscription_id")
    assert "newer subscription" not in slot_text(response, "subscription_id")
    assert error_slot(response, "subscription_id")


def test_the_step_after_says_what_the_step_before_resolved_to(gina):
    """Without JavaScript (or with Next pressed before the inline check answered) the page after
    the step says it."""
    claim_id = gina.new()
    steps = valid_steps(subscription_id=SUB_WINGTIP_SALES)

    gina.walk(claim_id, steps, upto="product")
    assert "Customer: Wingtip Toys" in text(gina.client.get(f"/claims/{claim_id}/wizard/product"))

    gina.walk(claim_id, steps, upto="activity")
    page = text(gina.client.get(f"/claims/{claim_id}/wizard/activity"))
    assert f"Subscription {SUB_WINGTIP_SALES}:" in page
    assert "<dd>Web-Direct</dd>" in page

"""The claim wizard in a real browser: keyboard only, inline checks, drafts, axe, uploads."""
from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from portal.extensions import db

from tests.e2e.conftest import assert_no_axe_violations, expect_settled, no_script_page, sign_in, watch

CONTOSO = "0f8fad5b-d9cb-469f-a165-70867728950e"
NORTHWIND = "8d840575-5419-4dfb-b6c0-f5bb679e0663"
CSP_SUBSCRIPTION = "269a4f88-a607-4ea9-976d-95e15b3542c0"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def same_day_and_month(step: int) -> date:
    """The nearest date before (step -1) or after (step 1) today whose day and month are the
    same number, so typing it into a date input gives one date in any locale's field order."""
    day = date.today() + timedelta(days=step)
    while day.day != day.month:
        day += timedelta(days=step)
    return day


def type_date(page, day: date) -> None:
    page.keyboard.type(f"{day.day:02d}{day.month:02d}{day.year}")


def tab_to(page, target, limit: int = 60) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    expect(target).to_be_attached()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail(f"{target} never got the focus after {limit} Tab presses")


def focused_id(page) -> str:
    return page.evaluate("document.activeElement.id")


def expect_step(page, number: int, title: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".wizard-progress label")).to_have_text(f"Step {number} of 7")


def new_draft(page) -> str:
    """Start a draft from home; returns its number (CPOR-…)."""
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("button", name="New claim").click()
    expect_step(page, 1, "Customer")
    return re.search(r"CPOR-\d+", page.locator("hgroup p").inner_text()).group(0)


def expect_submitted(page) -> None:
    expect(page.get_by_role("heading", level=2, name=re.compile(r"\bSubmitted\b"))).to_be_visible()


def press_next(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Next").click()


def proof_file(tmp_path, name: str = "proof.png", data: bytes = PNG):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def fill_customer(page, tenant: str = NORTHWIND, domain: str = "northwindtraders.com") -> None:
    page.get_by_label("Tenant ID").fill(tenant)
    page.get_by_label("Domain").fill(domain)
    press_next(page)
    expect_step(page, 2, "Product or subscription")


def fill_product(page, area: str = "Business Applications (Dynamics 365)", product: str = "Dynamics 365 Finance") -> None:
    page.get_by_label(area).check()
    page.get_by_label("Product or workload").select_option(label=product)
    press_next(page)
    expect_step(page, 3, "Activity")


def fill_activity(page, activity: str = "Usage") -> None:
    page.get_by_label(activity, exact=True).check()
    press_next(page)
    expect_step(page, 4, "MPN ID")


def fill_mpn(page, mpn: str = "1234567") -> None:
    page.get_by_label(mpn).check()
    press_next(page)
    expect_step(page, 5, "Contacts")


def fill_contacts(page, email: str = "nora@northwindtraders.com") -> None:
    """The contacts step; the customer contact's address must be at the customer's domains."""
    page.get_by_label("Customer contact name").fill("Nora Lind")
    page.get_by_label("Customer contact title").fill("IT Director")
    page.get_by_label("Customer contact email").fill(email)
    press_next(page)
    expect_step(page, 6, "Proof of execution")


def upload(page, path) -> None:
    """Choose a file: choosing uploads it (issue 12, trap 1), with no Upload button to press."""
    page.get_by_label("Add files").set_input_files(path)
    expect(page.locator("#files-region .file-list")).to_contain_text(path.name)
    expect_settled(page)


def fill_proof(page, tmp_path) -> None:
    upload(page, proof_file(tmp_path))
    page.get_by_label("Description of the work").fill("Deployment workshops and adoption plan.")
    page.get_by_label("Date of the customer's acknowledgement").fill((date.today() - timedelta(days=7)).isoformat())
    press_next(page)
    expect_step(page, 7, "Review and submit")


# 1. Keyboard only ----------------------------------------------------------------------


def test_file_a_claim_from_scratch_with_the_keyboard_alone(page, demo, tmp_path):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    page.goto("/")

    tab_to(page, page.get_by_role("button", name="New claim"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect_step(page, 1, "Customer")

    tab_to(page, page.get_by_label("Tenant ID"))
    page.keyboard.type(NORTHWIND)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Domain")).to_be_focused()
    page.keyboard.type("northwindtraders.com")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect_step(page, 2, "Product or subscription")

    tab_to(page, page.get_by_label("Business Applications (Dynamics 365)"))
    page.keyboard.press("Space")
    product = page.get_by_label("Product or workload")
    expect(product.locator("option", has_text="Dynamics 365 Finance")).to_be_attached()
    tab_to(page, product)
    for _ in range(10):
        if product.evaluate("el => el.options[el.selectedIndex].text") == "Dynamics 365 Finance":
            break
        page.keyboard.press("ArrowDown")
    expect(product).to_have_value("d365-finance")
    tab_to(page, page.get_by_role("button", name="Next"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect_step(page, 3, "Activity")

    tab_to(page, page.get_by_label("Presales", exact=True))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Usage", exact=True)).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Next"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect_step(page, 4, "MPN ID")

    tab_to(page, page.get_by_label("1234567"))
    page.keyboard.press("Space")
    expect(page.get_by_label("1234567")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Next"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect_step(page, 5, "Contacts")

    tab_to(page, page.get_by_label("Customer contact name"))
    page.keyboard.type("Nora Lind")
    page.keyboard.press("Tab")
    page.keyboard.type("IT Director")
    page.keyboard.press("Tab")
    page.keyboard.type("nora@northwindtraders.com")
    expect(page.get_by_label("Customer contact email")).to_be_focused()
    expect(page.get_by_label("Partner contact name")).to_have_value(login.name)
    expect(page.get_by_label("Partner contact email")).to_have_value(login.email)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # in a text field: the form's default button is Next
    expect_step(page, 6, "Proof of execution")

    files = page.get_by_label("Add files")
    tab_to(page, files)
    files.set_input_files(proof_file(tmp_path, "workshop-report.png"))  # what the file chooser would do
    expect(page.locator("#files-region .file-list")).to_contain_text("workshop-report.png")  # chosen is uploaded
    expect(page.get_by_role("button", name="Upload")).to_be_hidden()  # nothing more to press
    expect(files).to_be_focused()  # not lost with the swapped region
    tab_to(page, page.get_by_label("Description of the work"))
    page.keyboard.type("Deployment workshops and an adoption plan for Finance.")
    page.keyboard.press("Tab")
    date_input = page.get_by_label("Date of the customer's acknowledgement")
    expect(date_input).to_be_focused()
    acknowledged = same_day_and_month(-1)
    type_date(page, acknowledged)
    expect(date_input).to_have_value(acknowledged.isoformat())
    tab_to(page, page.get_by_role("button", name="Next"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect_step(page, 7, "Review and submit")

    expect(page.locator(".check-answers")).to_contain_text("Northwind Traders")
    expect(page.locator(".check-answers")).to_contain_text("Dynamics 365 Finance")
    tab_to(page, page.locator("#attest"))
    page.keyboard.press("Space")
    expect(page.locator("#attest")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Submit claim"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/claims/\d+$"))
    expect_submitted(page)
    expect(page.get_by_role("status").filter(has_text="was submitted")).to_be_visible()


# 2. Inline checks ----------------------------------------------------------------------


def mark_page(page) -> None:
    """A flag that a full page load would wipe: checked with ``expect_same_page``."""
    page.evaluate("window.__sameDocument = true")


def expect_same_page(page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def retype(page, field, text: str) -> None:
    """Put the cursor in ``field`` and type ``text`` over what it holds, key by key."""
    field.focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")
    page.keyboard.type(text)


def expect_inline_error(page, field_id: str, message: str) -> None:
    slot = page.locator(f"#{field_id}-error")
    expect(slot).to_contain_text(message)
    field = page.locator(f"#{field_id}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(rf"(^|\s){field_id}-error(\s|$)"))
    assert focused_id(page) == field_id, f"focus moved to {focused_id(page)!r} while typing in {field_id!r}"


def expect_no_inline_error(page, field_id: str) -> None:
    expect(page.locator(f"#{field_id}-error")).to_have_text("")
    expect(page.locator(f"#{field_id}")).not_to_have_attribute("aria-invalid", "true")
    assert focused_id(page) == field_id


def test_customer_messages_appear_while_typing_and_go_when_corrected(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    mark_page(page)
    tenant, domain = page.get_by_label("Tenant ID"), page.get_by_label("Domain")

    retype(page, tenant, "0f8fad5b-d9cb")
    expect_inline_error(page, "tenant_id", "Enter the Tenant ID as a GUID")
    expect(page.locator("#domain-error")).to_have_text("")  # not typed in yet: no message

    retype(page, tenant, "11111111-2222-4333-8444-555555555555")
    expect_inline_error(page, "tenant_id", "We can't find a customer tenant with this ID")
    expect(page.locator("#tenant_id-error").get_by_role("link", name="contact support")).to_be_visible()

    retype(page, tenant, CONTOSO)
    expect_no_inline_error(page, "tenant_id")

    retype(page, domain, "northwindtraders.com")
    expect_inline_error(page, "domain", "domain-tenant mismatch")
    expect(page.locator("#domain-error")).to_contain_text("Contact your customer to make sure you have the correct details")

    retype(page, domain, "contoso.com")
    expect_no_inline_error(page, "domain")
    expect_same_page(page)
    expect(page.locator(".error-summary")).to_have_count(0)


def test_subscription_id_messages_appear_while_typing(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page, CONTOSO, "contoso.com")
    page.get_by_label("Business Applications (Dynamics 365)").check()
    subscription = page.get_by_label("Subscription ID")
    expect(subscription).to_be_visible()
    mark_page(page)

    retype(page, subscription, "not a subscription ID")
    expect_inline_error(page, "subscription_id", "The identifier provided isn't a subscription ID. A subscription ID is a GUID")

    retype(page, subscription, CSP_SUBSCRIPTION)
    expect_inline_error(page, "subscription_id", "The subscription provided is for CSP")

    retype(page, subscription, CONTOSO)
    expect_inline_error(page, "subscription_id", "it is a Tenant ID")
    expect(page.locator("#subscription_id-error").get_by_role("link", name="contact support")).to_be_visible()

    retype(page, subscription, "7c9e6679-7425-40de-944b-e07fc1f90ae7")
    expect_no_inline_error(page, "subscription_id")
    expect_same_page(page)


def test_contact_email_and_acknowledgement_date_messages_appear_while_typing(page, demo, tmp_path):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page)
    fill_product(page)
    fill_activity(page, "Presales")
    fill_mpn(page)
    mark_page(page)

    email = page.get_by_label("Customer contact email")
    retype(page, email, "nora@")
    expect_inline_error(page, "customer_email", "Enter an email address in the right format")
    retype(page, email, "nora@northwindtraders.com")
    expect_no_inline_error(page, "customer_email")
    expect_same_page(page)

    page.get_by_label("Customer contact name").fill("Nora Lind")
    page.get_by_label("Customer contact title").fill("IT Director")
    press_next(page)
    expect_step(page, 6, "Proof of execution")
    mark_page(page)

    acknowledged = page.get_by_label("Date of the customer's acknowledgement")
    acknowledged.focus()
    type_date(page, same_day_and_month(1))
    expect_inline_error(page, "acknowledged_on", "can't be in the future")
    page.keyboard.press("Shift+Tab")  # from the year back to the first part of the date
    page.keyboard.press("Shift+Tab")
    type_date(page, same_day_and_month(-1))
    expect_no_inline_error(page, "acknowledged_on")
    expect_same_page(page)


def test_next_with_errors_focuses_the_summary_and_its_links_focus_the_fields(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    page.get_by_label("Tenant ID").fill("not-a-guid")
    press_next(page)

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page.locator("#tenant_id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#tenant_id-error")).to_contain_text("Enter the Tenant ID as a GUID")
    expect(page.locator("#domain-error")).to_contain_text("Enter one of the customer's domains.")

    summary.get_by_role("link", name="Enter one of the customer's domains.").click()
    expect(page.get_by_label("Domain")).to_be_focused()
    summary.get_by_role("link", name=re.compile("Enter the Tenant ID as a GUID")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Tenant ID")).to_be_focused()


def test_choosing_the_solution_area_updates_the_product_list_without_a_reload(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page)
    mark_page(page)
    expect(page.get_by_label("Product or workload")).to_have_count(0)

    page.get_by_label("Microsoft 365").check()
    product = page.get_by_label("Product or workload")
    expect(product.locator("option")).to_have_text(["Choose…", "Microsoft Teams", "SharePoint Online"])
    expect(page.get_by_label("Subscription ID")).to_have_count(0)

    page.get_by_label("Business Applications (Dynamics 365)").check()
    expect(product.locator("option")).to_have_text(["Choose…", "Dynamics 365 Finance", "Dynamics 365 Sales"])
    expect(page.get_by_label("Subscription ID")).to_be_visible()
    expect(page.get_by_label("Business Applications (Dynamics 365)")).to_be_focused()
    expect_same_page(page)


def test_choosing_revenue_association_reveals_the_seller_and_isv_fields(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page)
    fill_product(page)
    mark_page(page)
    seller, isv = page.get_by_label("Solution seller's name"), page.get_by_label("ISV product name")
    expect(seller).to_have_count(0)

    page.get_by_label("Revenue association").check()
    expect(seller).to_be_visible()
    expect(isv).to_be_visible()
    expect(page.get_by_label("Revenue association")).to_be_focused()

    page.get_by_label("Usage", exact=True).check()
    expect(seller).to_have_count(0)
    page.get_by_label("Revenue association").check()
    retype(page, seller, "Litware")
    expect(page.locator("#solution_seller-error")).to_have_text("")
    expect_same_page(page)


@pytest.fixture
def server_log(portal_app):
    """What the live server did, in order: ("start" | "end", method, path) for each request.
    "end" is written once the view has returned, its transaction committed."""
    entries: list[tuple[str, str, str]] = []
    lock = threading.Lock()
    inner = portal_app.wsgi_app

    def recording(environ, start_response):
        request = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
        with lock:
            entries.append(("start", *request))
        try:
            return inner(environ, start_response)
        finally:
            with lock:
                entries.append(("end", *request))

    portal_app.wsgi_app = recording
    yield entries
    portal_app.wsgi_app = inner


def test_inline_checks_never_race_each_other_or_the_step_submission(page, demo, tmp_path, server_log):
    """The server saves what each check sends: checks processed together (an aborted request
    still reaches the server) or after Next can land in any order and put an older value back."""
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page, NORTHWIND, "northwind.de")
    fill_product(page, "Microsoft 365", "Microsoft Teams")
    fill_activity(page, "Usage")
    fill_mpn(page, "2345671")
    fill_contacts(page)
    upload(page, proof_file(tmp_path))
    proof_url = page.url
    server_log.clear()

    page.get_by_label("Description of the work").focus()
    page.keyboard.type("Teams adoption programme.")
    page.keyboard.press("Tab")  # a change: its check leaves at once
    acknowledged = same_day_and_month(-1)
    type_date(page, acknowledged)  # each part typed is a change, with a check of its own
    with page.expect_navigation():
        page.get_by_role("button", name="Next").click()
    expect_step(page, 7, "Review and submit")
    expect(page.locator(".check-answers")).to_contain_text("Teams adoption programme.")

    step_path = urlsplit(proof_url).path
    posts = [(event, path) for event, method, path in server_log if method == "POST" and path.startswith(step_path)]
    under_way, next_sent = 0, False
    for event, path in posts:
        if path.endswith("/check"):
            assert not next_sent, f"a check reached the server after Next: {posts}"
            under_way += 1 if event == "start" else -1
            assert under_way <= 1, f"two checks were processed at once: {posts}"
        elif event == "start":
            assert under_way == 0, f"Next was processed while a check was: {posts}"
            next_sent = True
    assert any(path.endswith("/check") for _, path in posts) and next_sent, posts

    page.get_by_label(re.compile("I confirm that the information")).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit claim").click()
    expect_submitted(page)


# 3. Two tabs, 4. resuming a draft ------------------------------------------------------


def test_two_tabs_hold_two_drafts(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    other = page.context.new_page()
    problems = watch(other)

    first = new_draft(page)
    second = new_draft(other)
    assert first != second
    page.get_by_label("Tenant ID").fill(CONTOSO)
    other.get_by_label("Tenant ID").fill(NORTHWIND)
    page.get_by_label("Domain").fill("contoso.fr")
    other.get_by_label("Domain").fill("northwind.de")
    press_next(page)
    press_next(other)
    expect_step(page, 2, "Product or subscription")
    expect_step(other, 2, "Product or subscription")

    for tab, tenant, domain in ((page, CONTOSO, "contoso.fr"), (other, NORTHWIND, "northwind.de")):
        tab.go_back()
        tab.reload()
        expect_step(tab, 1, "Customer")
        expect(tab.get_by_label("Tenant ID")).to_have_value(tenant)
        expect(tab.get_by_label("Domain")).to_have_value(domain)

    page.goto("/")
    drafts = page.locator(".draft-list > li")
    expect(drafts.filter(has_text=f"Resume draft {first}")).to_contain_text("Contoso Ltd")
    expect(drafts.filter(has_text=f"Resume draft {second}")).to_contain_text("Northwind Traders")
    other.close()
    assert not problems, "\n".join(problems)


def test_a_draft_resumes_with_what_was_typed_before_next(page, demo):
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    number = new_draft(page)
    page.get_by_label("Tenant ID").fill(CONTOSO)
    with page.expect_response(lambda r: r.url.endswith("/wizard/customer/check") and "onmicrosoft" in (r.request.post_data or "")):
        page.get_by_label("Domain").fill("contoso.onmicrosoft.com")

    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer associations")
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name=f"Resume draft {number}").click()
    expect_step(page, 2, "Product or subscription")  # step 1 as typed is complete and valid
    with page.expect_navigation():
        page.locator(".wizard-steps").get_by_role("link", name="Customer").click()
    expect_step(page, 1, "Customer")
    expect(page.get_by_label("Tenant ID")).to_have_value(CONTOSO)
    expect(page.get_by_label("Domain")).to_have_value("contoso.onmicrosoft.com")
    expect(page.locator(".error-summary")).to_have_count(0)


def wait_for_saved_domain(portal_app, number: str, domain: str) -> None:
    """The beacon a page sends as it goes is the browser's to deliver, after the page is gone
    (Playwright doesn't report it): wait until the server has saved what it carried."""
    import time

    from portal.claims.models import Claim

    claim_id = int(number.removeprefix("CPOR-"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with portal_app.app_context():
            db.session.expire_all()
            claim = db.session.get(Claim, claim_id)
            if (claim.draft or {}).get("customer", {}).get("domain") == [domain]:
                return
        time.sleep(0.1)
    pytest.fail(f"{number}'s draft never got the domain {domain!r} typed before leaving")


BEACON_RECORDER = """
(() => {
  const send = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    const sent = JSON.parse(sessionStorage.getItem("e2e-beacons") || "[]");
    sent.push(new URL(url, location.href).pathname);
    sessionStorage.setItem("e2e-beacons", JSON.stringify(sent));
    return send(url, data);
  };
})();
"""


def record_beacons(page) -> None:
    """From the next page loaded on: each beacon the page sends is noted in the tab's session
    storage, which outlives the page (Playwright doesn't see a beacon sent as a page goes)."""
    page.add_init_script(BEACON_RECORDER)


def beacons_sent(page) -> list[str]:
    return page.evaluate("JSON.parse(sessionStorage.getItem('e2e-beacons') || '[]')")


def resume_at_customer(page, number: str) -> None:
    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name=f"Resume draft {number}").click()
    with page.expect_navigation():
        page.locator(".wizard-steps").get_by_role("link", name="Customer").click()
    expect_step(page, 1, "Customer")


def test_what_was_typed_just_before_the_back_button_is_kept(page, demo, portal_app):
    """Typed, then gone with the browser's Back before the inline check's delay ran out (no
    field lost the focus, so no check left): the page hands the answers to a beacon as it
    goes, and the draft resumes with them."""
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    record_beacons(page)
    number = new_draft(page)
    checks = []
    page.on("request", lambda r: checks.append(r.post_data or "") if r.url.endswith("/wizard/customer/check") else None)
    page.get_by_label("Tenant ID").fill(CONTOSO)
    page.get_by_label("Domain").focus()
    page.keyboard.type("contoso.fr")
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer associations")

    assert not [c for c in checks if "contoso.fr" in c], "an inline check went before the page did: nothing to prove"
    assert beacons_sent(page) == [f"/claims/{int(number.removeprefix('CPOR-'))}/wizard/customer/check"]
    wait_for_saved_domain(portal_app, number, "contoso.fr")
    resume_at_customer(page, number)
    expect(page.get_by_label("Tenant ID")).to_have_value(CONTOSO)
    expect(page.get_by_label("Domain")).to_have_value("contoso.fr")


def test_what_was_typed_just_before_following_a_link_is_kept(page, demo):
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    number = new_draft(page)
    page.get_by_label("Tenant ID").fill(CONTOSO)
    page.get_by_label("Domain").fill("contoso.com")
    with page.expect_navigation():
        page.get_by_role("link", name="CPOR claims portal").click()
    resume_at_customer(page, number)
    expect(page.get_by_label("Domain")).to_have_value("contoso.com")


def test_next_and_back_send_nothing_more_as_the_page_goes(page, demo):
    """Next and Back save the step themselves: no beacon follows them (it would save the
    step again after the page moved on)."""
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    record_beacons(page)
    new_draft(page)
    page.get_by_label("Tenant ID").fill(CONTOSO)
    page.get_by_label("Domain").fill("contoso.fr")
    press_next(page)
    expect_step(page, 2, "Product or subscription")
    page.get_by_label("Microsoft 365").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Back").click()
    expect_step(page, 1, "Customer")
    assert beacons_sent(page) == []


# 5. Accessibility ----------------------------------------------------------------------


def test_axe_finds_no_violation_on_any_step_with_or_without_errors(page, demo, tmp_path):
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)

    def errors_then(number, title, fill):
        assert_no_axe_violations(page)
        press_next(page)
        expect_step(page, number, title)
        expect(page.locator(".error-summary")).to_be_focused()
        assert_no_axe_violations(page)
        fill()

    errors_then(1, "Customer", lambda: fill_customer(page))
    errors_then(2, "Product or subscription", lambda: None)
    page.get_by_label("Microsoft 365").check()
    expect(page.get_by_label("Product or workload")).to_be_visible()
    assert_no_axe_violations(page)
    press_next(page)
    expect(page.locator("#product-error")).to_contain_text("Choose a workload.")
    assert_no_axe_violations(page)
    fill_product(page, "Microsoft 365", "SharePoint Online")
    errors_then(3, "Activity", lambda: fill_activity(page, "Usage"))
    errors_then(4, "MPN ID", lambda: None)
    page.get_by_label("765432").check()
    expect(page.locator("#mpn-warning")).to_contain_text("isn't enrolled in incentives")
    assert_no_axe_violations(page)
    press_next(page)
    expect_step(page, 5, "Contacts")
    assert_no_axe_violations(page)
    page.get_by_label("Customer contact email").fill("nora@")
    press_next(page)
    expect(page.locator(".error-summary")).to_be_focused()
    assert_no_axe_violations(page)
    fill_contacts(page)
    errors_then(6, "Proof of execution", lambda: None)
    bad = proof_file(tmp_path, "setup.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    page.get_by_label("Add files").set_input_files(bad)
    expect(page.locator("#files-region .error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    fill_proof(page, tmp_path)

    assert_no_axe_violations(page)
    expect(page.get_by_role("note").filter(has_text="your claim will go to arbitration")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit claim").click()
    expect(page.locator("#attest-error")).to_contain_text("Confirm the attestation")
    expect(page.locator(".error-summary")).to_be_focused()
    assert_no_axe_violations(page)
    page.get_by_label(re.compile("I confirm that the information")).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit claim").click()
    expect_submitted(page)
    assert_no_axe_violations(page)

    new_draft(page)
    page.goto("/")
    expect(page.locator(".draft-list > li").first).to_be_visible()
    assert_no_axe_violations(page)


# 6. Uploads ----------------------------------------------------------------------------


def test_upload_refusals_show_in_the_files_region_without_a_reload(page, demo, tmp_path):
    login = demo.login("incentives_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page, CONTOSO, "contoso.com")
    fill_product(page, "Business Applications (Dynamics 365)", "Dynamics 365 Sales")
    fill_activity(page, "Presales")
    fill_mpn(page)
    fill_contacts(page, "nora@contoso.com")
    mark_page(page)

    region = page.locator("#files-region")
    progress = region.locator("progress.upload-progress")
    expect(progress).to_have_count(1)
    expect(progress).to_have_attribute("max", "100")
    expect(progress).to_have_attribute("aria-label", "Upload progress")

    renamed = proof_file(tmp_path, "invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500)
    page.get_by_label("Add files").set_input_files(renamed)
    refusal = region.locator(".error-summary")
    expect(refusal).to_contain_text("invoice.pdf: This file isn't a PDF, DOCX, XLSX, PNG, JPEG, MSG or EML file")
    expect(refusal).to_be_focused()
    expect(region).to_contain_text("No file added yet.")
    expect_same_page(page)

    big = tmp_path / "scan.pdf"
    with big.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        out.truncate(10 * 1024 * 1024 + 1)
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    page.get_by_label("Add files").set_input_files(big)
    status = region.locator(".upload-status")
    expect(status).to_have_text("scan.pdf is larger than 10 MB.")
    expect(status).to_be_visible()
    expect(page.get_by_label("Add files")).to_be_focused()
    expect(page.locator(".htmx-request")).to_have_count(0)
    expect(progress).to_be_hidden()
    assert not [url for url in sent if url.endswith("/files")], "the oversized file was sent to the server"

    expect(page.get_by_label("Add files")).to_have_js_property("value", "")  # refused: out of the chooser, so Next won't send it
    upload(page, proof_file(tmp_path, "minutes.png"))
    expect(page.get_by_label("Add files")).to_be_focused()
    page.get_by_role("button", name="Remove minutes.png").focus()
    page.keyboard.press("Enter")
    expect(region).to_contain_text("No file added yet.")
    expect(page.get_by_label("Add files")).to_be_focused()
    expect_same_page(page)


# Traps: a message that outlives its cause, a hidden field that blocks the step ---------


def test_a_successful_upload_takes_away_the_missing_file_message(page, demo, tmp_path):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page, CONTOSO, "contoso.com")
    fill_product(page, "Business Applications (Dynamics 365)", "Dynamics 365 Sales")
    fill_activity(page, "Presales")
    fill_mpn(page)
    fill_contacts(page, "nora@contoso.com")
    press_next(page)  # no file, no description

    summary = page.locator(".error-summary").first
    expect(summary).to_contain_text("Add at least one proof of execution file.")
    expect(page.locator("#files-error")).to_contain_text("Add at least one proof of execution file.")
    mark_page(page)

    upload(page, proof_file(tmp_path))

    expect(page.locator("#files-region")).to_contain_text("1 file added.")
    expect(page.locator("#files-error")).to_have_text("")
    expect(page.locator(".has-error:has(#files-error)")).to_have_count(0)
    expect(summary).not_to_contain_text("Add at least one proof of execution file.")
    expect(summary).to_contain_text("Describe the work you did for the customer.")  # what is still missing stays
    expect_same_page(page)

    page.get_by_label("Description of the work").fill("Deployment workshops and adoption plan.")
    page.get_by_label("Date of the customer's acknowledgement").fill((date.today() - timedelta(days=7)).isoformat())
    press_next(page)
    expect_step(page, 7, "Review and submit")


def test_the_error_summary_goes_when_the_upload_answered_its_only_message(page, demo, tmp_path):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page, CONTOSO, "contoso.com")
    fill_product(page, "Business Applications (Dynamics 365)", "Dynamics 365 Sales")
    fill_activity(page, "Presales")
    fill_mpn(page)
    fill_contacts(page, "nora@contoso.com")
    page.get_by_label("Description of the work").fill("Deployment workshops and adoption plan.")
    page.get_by_label("Date of the customer's acknowledgement").fill((date.today() - timedelta(days=7)).isoformat())
    press_next(page)
    expect(page.locator(".error-summary")).to_contain_text("Add at least one proof of execution file.")

    upload(page, proof_file(tmp_path))

    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator("#files-error")).to_have_text("")
    assert_no_axe_violations(page)


def test_a_subscription_id_left_from_business_applications_does_not_block_microsoft_365(page, demo):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page, CONTOSO, "contoso.com")
    page.get_by_label("Business Applications (Dynamics 365)").check()
    retype(page, page.get_by_label("Subscription ID"), "7c9e6679-7425-40de-944b-e07fc1f90ae7")
    expect_settled(page)

    page.get_by_label("Microsoft 365").check()
    expect(page.get_by_label("Subscription ID")).to_have_count(0)  # does not apply: hidden
    page.get_by_label("Product or workload").select_option(label="Microsoft Teams")
    expect_settled(page)
    press_next(page)

    expect_step(page, 3, "Activity")
    press_back = page.get_by_role("button", name="Back")
    with page.expect_navigation():
        press_back.click()
    expect_step(page, 2, "Product or subscription")
    expect(page.get_by_label("Microsoft 365")).to_be_checked()
    expect(page.get_by_label("Subscription ID")).to_have_count(0)
    expect(page.locator(".error-summary")).to_have_count(0)


# Traps: a chosen file dropped, Edit that doesn't come back, arbitration said too late -----

NORTHWIND_FINANCE_EXPIRED = "6658520f-aac5-43e4-aa1b-9fd1703c818a"
NORTHWIND_FINANCE_ACTIVE = "b29d1294-ecd2-4d18-b497-89c7ac715ecc"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def to_proof_step(page) -> str:
    """A draft on Contoso's Dynamics 365 Sales, filled up to step 6; returns its number."""
    number = new_draft(page)
    fill_customer(page, CONTOSO, "contoso.com")
    fill_product(page, "Business Applications (Dynamics 365)", "Dynamics 365 Sales")
    fill_activity(page, "Presales")
    fill_mpn(page)
    fill_contacts(page, "nora@contoso.com")
    return number


def fill_description_and_date(page) -> None:
    page.get_by_label("Description of the work").fill("Deployment workshops and adoption plan.")
    page.get_by_label("Date of the customer's acknowledgement").fill((date.today() - timedelta(days=7)).isoformat())


def review_row(page, label: str):
    return page.locator(".check-answers .answer-row").filter(has=page.get_by_text(label, exact=True)).locator("dd").first


def test_a_chosen_file_goes_with_the_claim_even_when_next_comes_at_once(page, demo, tmp_path):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    to_proof_step(page)

    fill_description_and_date(page)
    page.get_by_label("Add files").set_input_files(proof_file(tmp_path, "signed-acknowledgement.pdf", PDF))
    press_next(page)  # no Upload pressed, no wait for the upload under way

    expect_step(page, 7, "Review and submit")
    expect(review_row(page, "Proof of execution files")).to_have_text("signed-acknowledgement.pdf")  # once, not twice


def test_without_javascript_next_and_upload_take_the_chosen_files(page, new_context, demo, tmp_path):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    number = to_proof_step(page)
    plain, problems = no_script_page(new_context, login)
    proof_url = f"/claims/{int(number.removeprefix('CPOR-'))}/wizard/proof"
    plain.goto(proof_url)

    upload_button = plain.get_by_role("button", name="Upload")
    expect(upload_button).to_be_visible()  # without JavaScript, choosing doesn't upload
    plain.get_by_label("Description of the work").fill("Typed before Upload.")
    plain.get_by_label("Add files").set_input_files(proof_file(tmp_path, "invoice.pdf", b"MZ\x90\x00" + b"\x00" * 200))
    press_next(plain)
    expect(plain.locator(".error-summary")).to_contain_text("invoice.pdf was not added: This file isn't a PDF")
    expect(plain.locator("#files-error")).to_contain_text("invoice.pdf was not added")
    expect(plain.get_by_label("Description of the work")).to_have_value("Typed before Upload.")

    plain.get_by_label("Add files").set_input_files(proof_file(tmp_path, "minutes.png"))
    with plain.expect_navigation():
        upload_button.click()
    expect(plain.locator("#files-region .file-list")).to_contain_text("minutes.png")
    expect(plain.get_by_role("status").filter(has_text="1 file added.")).to_be_visible()
    expect(plain.get_by_label("Description of the work")).to_have_value("Typed before Upload.")

    fill_description_and_date(plain)
    plain.get_by_label("Add files").set_input_files(proof_file(tmp_path, "signed-acknowledgement.pdf", PDF))
    press_next(plain)
    expect_step(plain, 7, "Review and submit")
    expect(review_row(plain, "Proof of execution files")).to_have_text("minutes.png, signed-acknowledgement.pdf")

    with plain.expect_navigation():
        plain.get_by_role("link", name="Edit Customer").first.click()
    expect(plain.locator("#customer-resolved")).to_have_text("Customer: Contoso Ltd")  # on the full page too
    plain.close()
    assert not problems, "\n".join(problems)


def test_edit_from_review_comes_back_to_review_or_to_what_the_change_broke(page, demo, tmp_path):
    login = demo.login("global_admin")
    sign_in(page, login.email, login.password)
    to_proof_step(page)
    upload(page, proof_file(tmp_path))
    fill_description_and_date(page)
    press_next(page)
    expect_step(page, 7, "Review and submit")

    with page.expect_navigation():
        page.get_by_role("link", name="Edit MPN ID").click()
    expect_step(page, 4, "MPN ID")
    page.get_by_label("1234568").check()
    press_next(page)
    expect_step(page, 7, "Review and submit")  # not step 5
    expect(review_row(page, "MPN ID")).to_contain_text("1234568")

    with page.expect_navigation():
        page.get_by_role("link", name="Edit Tenant ID").click()
    expect_step(page, 1, "Customer")
    retype(page, page.get_by_label("Tenant ID"), NORTHWIND)
    retype(page, page.get_by_label("Domain"), "northwindtraders.com")
    press_next(page)
    # Northwind's Dynamics 365 Sales subscription is suspended: step 2 no longer holds.
    expect_step(page, 2, "Product or subscription")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#product-error")).to_contain_text("isn't active or in grace")
    page.get_by_label("Product or workload").select_option(label="Dynamics 365 Finance")
    expect_settled(page)
    press_next(page)
    # Nora's address is at Contoso, not at Northwind: the contacts step no longer holds.
    expect_step(page, 5, "Contacts")
    expect(page.locator("#customer_email-error")).to_contain_text("must be at one of the customer's domains")
    retype(page, page.get_by_label("Customer contact email"), "nora@northwindtraders.com")
    expect_settled(page)
    press_next(page)
    expect_step(page, 7, "Review and submit")
    expect(review_row(page, "Customer")).to_have_text("Northwind Traders")
    expect(review_row(page, "Product or workload")).to_have_text("Dynamics 365 Finance")

    with page.expect_navigation():
        page.get_by_role("link", name="Edit Partner contact").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Back").click()
    expect_step(page, 7, "Review and submit")


def test_arbitration_is_announced_at_step_2_without_naming_the_other_partner(page, make_login):
    login = make_login()  # an organization of its own; Proseware holds an approved claim on Contoso's Sales
    sign_in(page, login.email, login.password)
    new_draft(page)
    fill_customer(page, CONTOSO, "contoso.com")
    mark_page(page)

    notice = page.locator("#product-resolved")
    expect(notice).to_have_attribute("role", "status")
    page.get_by_label("Business Applications (Dynamics 365)").check()
    # The area's product list arrives by htmx and replaces the select: choose once it is there.
    expect(page.get_by_label("Product or workload").locator("option")).to_have_text(
        ["Choose…", "Dynamics 365 Customer Service", "Dynamics 365 Field Service", "Dynamics 365 Sales"])
    expect_settled(page)
    page.get_by_label("Product or workload").select_option(label="Dynamics 365 Sales")
    expect(notice).to_contain_text("Another partner is associated with this product: your claim will go to arbitration.")
    expect(notice).to_contain_text("Channel Volume Licensing")
    expect_same_page(page)
    assert "Proseware" not in page.content()
    assert_no_axe_violations(page)

    page.get_by_label("Product or workload").select_option(label="Dynamics 365 Customer Service")  # CSP: not claimable
    expect(notice).not_to_contain_text("arbitration")

    page.get_by_label("Product or workload").select_option(label="Dynamics 365 Sales")
    expect_settled(page)
    press_next(page)
    expect_step(page, 3, "Activity")
    with page.expect_navigation():
        page.get_by_role("button", name="Back").click()
    expect(page.locator("#product-resolved")).to_contain_text("your claim will go to arbitration")  # on the full page too
    assert "Proseware" not in page.content()


def test_what_the_ids_resolved_to_is_said_beside_them_in_english_and_french(page, make_login):
    for locale, customer, newer, details in (
        ("en", "Customer: Northwind Traders", "newer subscription for Dynamics 365 Finance",
         ("Product Dynamics 365 Finance", "Channel Volume Licensing", "Status Active", re.compile(r"End date\s+May 31, 2027"))),
        ("fr", "Client : Northwind Traders", "abonnement plus récent pour Dynamics 365 Finance",
         ("Produit Dynamics 365 Finance", "Canal Licence en volume", "Statut Actif", "Date de fin 31 mai 2027")),
    ):
        login = make_login(locale=locale)
        sign_in(page, login.email, login.password)
        page.goto("/")
        with page.expect_navigation():
            page.locator("button", has_text=re.compile("New claim|Nouvelle")).first.click()
        mark_page(page)
        resolved = page.locator("#customer-resolved")
        expect(page.locator("#tenant_id")).to_have_attribute("aria-describedby", re.compile(r"\bcustomer-resolved\b"))
        retype(page, page.locator("#tenant_id"), NORTHWIND)
        retype(page, page.locator("#domain"), "contoso.com")  # not Northwind's
        expect(page.locator("#domain-error")).not_to_have_text("")
        expect(resolved).to_have_text("")
        retype(page, page.locator("#domain"), "northwindtraders.com")
        expect(resolved).to_have_text(customer)
        assert_no_axe_violations(page)
        with page.expect_navigation():
            page.locator("#step-form button[value=next]").click()

        mark_page(page)
        page.locator("#solution_area-0").check()
        subscription = page.locator("#subscription_id")
        expect(subscription).to_be_visible()
        expect_settled(page)  # the area's product list arrives by htmx: type once it is in
        retype(page, subscription, NORTHWIND_FINANCE_EXPIRED)
        expect(page.locator("#subscription_id-error")).to_contain_text(newer)
        expect(page.locator("#subscription_id-error")).to_contain_text(NORTHWIND_FINANCE_ACTIVE)
        expect(page.locator("#product-resolved")).to_have_text("")
        retype(page, subscription, NORTHWIND_FINANCE_ACTIVE)
        region = page.locator("#product-resolved")
        expect(region).to_contain_text(NORTHWIND_FINANCE_ACTIVE)
        for detail in details:
            expect(region).to_contain_text(detail)
        expect(subscription).to_have_attribute("aria-describedby", re.compile(r"\bproduct-resolved\b"))
        expect_same_page(page)
        assert_no_axe_violations(page)
        page.context.clear_cookies()

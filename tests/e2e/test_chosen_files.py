"""Issue 12, trap 1 outside the wizard: on the edit page of a returned claim and on the dispute
form, a chosen file is never dropped. With JavaScript choosing uploads it (progress bar, no
Upload button); without, the form's submit (or Upload) takes it; a refused file is said under
the chooser and in the summary, and what was typed stays."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import (
    assert_no_axe_violations,
    click_and_wait,
    fabrikam_admin,
    no_script_page,
    sign_in,
    status_heading,
)

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXECUTABLE = b"MZ\x90\x00" + b"\x00" * 200


def returned(portal_app, claim_id, to: str) -> None:
    """The reviewer asks for more (``to="partner_action_required"``) or rejects (``"rejected"``)."""
    from sqlalchemy import select

    from portal.accounts.models import User
    from portal.claims import actions
    from portal.extensions import db

    with portal_app.test_request_context():
        rita = db.session.scalar(select(User).where(User.email == "rita@review.example"))
        actions.start_review(rita, claim_id)
        if to == "rejected":
            actions.reject(rita, claim_id, "insufficient_poe", "The PoE doesn't show the work.")
        else:
            actions.request_information(rita, claim_id, ["missing_poe"], "Please attach the signed PoE.")
        db.session.commit()


def claim_in(portal_app, submitted_claim, login, status: str) -> int:
    claim_id, _number = submitted_claim(login.email, f"Files Customer {uuid.uuid4().hex[:6]}")
    returned(portal_app, claim_id, status)
    return claim_id


def without_javascript(new_context, demo, portal_app, submitted_claim, status: str, path: str = ""):
    """A page with JavaScript off, signed in as a Fabrikam admin, on a claim of theirs in
    ``status`` (``path`` under its address); and the problems it sees."""
    login = fabrikam_admin(demo)
    claim_id = claim_in(portal_app, submitted_claim, login, status)
    plain, problems = no_script_page(new_context, login)
    plain.goto(f"/claims/{claim_id}{path}")
    return plain, problems


def a_file(tmp_path, name: str, data: bytes = PDF):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused_at_submit(page, chooser: str, field: str, typed: str, button: str, tmp_path) -> None:
    """Without JavaScript: type, choose a renamed executable, send; the reason is under the
    chooser and in the summary, and what was typed is still there."""
    page.get_by_label(field).fill(typed)
    page.get_by_label(chooser).set_input_files(a_file(tmp_path, "invoice.pdf", EXECUTABLE))
    click_and_wait(page, page.get_by_role("button", name=button))
    expect(page.locator(".error-summary")).to_contain_text("invoice.pdf was not added: This file isn't a PDF")
    expect(page.locator("#files-error")).to_contain_text("invoice.pdf was not added")
    expect(page.get_by_label(field)).to_have_value(typed)


def files_list(page):
    return page.locator("#files-region .file-list")


def test_on_the_edit_page_a_chosen_file_uploads_and_save_keeps_it(page, demo, portal_app, submitted_claim, tmp_path):
    login = fabrikam_admin(demo)
    sign_in(page, login.email, login.password)
    claim_id = claim_in(portal_app, submitted_claim, login, "partner_action_required")
    page.goto(f"/claims/{claim_id}/edit")

    expect(page.get_by_role("button", name="Upload")).to_be_hidden()  # choosing uploads
    page.get_by_label("Description of the work").fill("Workshops, a pilot, and the signed PoE attached.")
    page.get_by_label("Add files").set_input_files(a_file(tmp_path, "signed-poe.pdf"))
    click_and_wait(page, page.get_by_role("button", name="Save changes"))  # at once: Save waits for the upload

    expect(page.get_by_role("status").filter(has_text="Your changes were saved")).to_be_visible()
    expect(page.locator("#files-heading-show + .file-list")).to_contain_text("signed-poe.pdf")
    expect(page.locator("main")).to_contain_text("Workshops, a pilot, and the signed PoE attached.")


def test_on_the_edit_page_a_refused_file_is_said_under_the_chooser(page, demo, portal_app, submitted_claim, tmp_path):
    login = fabrikam_admin(demo)
    sign_in(page, login.email, login.password)
    claim_id = claim_in(portal_app, submitted_claim, login, "partner_action_required")
    page.goto(f"/claims/{claim_id}/edit")

    page.get_by_label("Description of the work").fill("Typed before choosing.")
    page.get_by_label("Add files").set_input_files(a_file(tmp_path, "invoice.pdf", EXECUTABLE))
    expect(page.locator("#files-region .error-summary")).to_contain_text("invoice.pdf: This file isn't a PDF")
    expect(page.get_by_label("Description of the work")).to_have_value("Typed before choosing.")
    assert_no_axe_violations(page)


def test_without_javascript_the_edit_pages_save_and_upload_take_the_chosen_files(new_context, demo, portal_app,
                                                                                submitted_claim, tmp_path):
    plain, problems = without_javascript(new_context, demo, portal_app, submitted_claim, "partner_action_required", "/edit")

    refused_at_submit(plain, "Add files", "Description of the work", "Typed before Save.", "Save changes", tmp_path)

    plain.get_by_label("Add files").set_input_files(a_file(tmp_path, "minutes.pdf"))
    click_and_wait(plain, plain.get_by_role("button", name="Upload"))
    expect(files_list(plain)).to_contain_text("minutes.pdf")
    expect(plain.get_by_label("Description of the work")).to_have_value("Typed before Save.")

    plain.get_by_label("Add files").set_input_files(a_file(tmp_path, "signed-poe.pdf"))
    click_and_wait(plain, plain.get_by_role("button", name="Save changes"))
    expect(plain.get_by_role("status").filter(has_text="Your changes were saved")).to_be_visible()
    expect(plain.locator("#files-heading-show + .file-list")).to_contain_text("minutes.pdf")
    expect(plain.locator("#files-heading-show + .file-list")).to_contain_text("signed-poe.pdf")
    plain.close()
    assert not problems, "\n".join(problems)


def test_on_the_dispute_form_a_chosen_file_uploads_and_is_the_new_proof(page, demo, portal_app, submitted_claim, tmp_path):
    login = fabrikam_admin(demo)
    sign_in(page, login.email, login.password)
    claim_id = claim_in(portal_app, submitted_claim, login, "rejected")
    page.goto(f"/claims/{claim_id}")

    expect(page.get_by_role("button", name="Upload")).to_be_hidden()
    page.get_by_label("New proof of execution (optional)").set_input_files(a_file(tmp_path, "invoice.pdf", EXECUTABLE))
    expect(page.locator("#files-region .error-summary")).to_contain_text("invoice.pdf: This file isn't a PDF")
    page.get_by_label("New proof of execution (optional)").set_input_files(a_file(tmp_path, "signed-poe.pdf"))
    expect(page.get_by_role("status").filter(has_text="1 file added.")).to_be_visible()
    expect(files_list(page)).to_contain_text("signed-poe.pdf")
    assert_no_axe_violations(page)

    click_and_wait(page, page.get_by_role("button", name="Send the dispute"))  # no justification: the file is the proof
    expect(page.get_by_role("status").filter(has_text="Your dispute was sent")).to_be_visible()
    expect(status_heading(page, "Disputed")).to_be_visible()
    expect(page.locator("#files-heading-show + .file-list")).to_contain_text("signed-poe.pdf")


def test_without_javascript_the_dispute_takes_the_chosen_file_or_says_why_not(new_context, demo, portal_app,
                                                                             submitted_claim, tmp_path):
    plain, problems = without_javascript(new_context, demo, portal_app, submitted_claim, "rejected")

    refused_at_submit(plain, "New proof of execution (optional)", "Justification", "The customer's CIO signed the PoE.",
                      "Send the dispute", tmp_path)
    expect(status_heading(plain, "Rejected")).to_be_visible()

    plain.get_by_label("New proof of execution (optional)").set_input_files(a_file(tmp_path, "signed-poe.pdf"))
    click_and_wait(plain, plain.get_by_role("button", name="Send the dispute"))
    expect(status_heading(plain, "Disputed")).to_be_visible()
    expect(plain.locator("#files-heading-show + .file-list")).to_contain_text("signed-poe.pdf")
    expect(plain.locator("#comment-list")).to_contain_text("The customer's CIO signed the PoE.")
    plain.close()
    assert not problems, "\n".join(problems)

"""Issue 12, trap 1 outside the wizard: files chosen on the edit page (a returned claim) and on
the dispute form go with the form's submit, through the same checks and limits as an upload;
a refused file is said under the chooser and in the summary, and what was typed stays."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.claims.models import Claim, ClaimFile, Comment
from portal.extensions import db
from tests.claims.conftest import element, slot_text
from tests.claims.lifecycle.conftest import EXECUTABLE, GINA, PDF, claim_row, make_claim, snapshot, upload_data, words
from tests.claims.lifecycle.test_partner_actions import edit_form
from tests.support import sign_in

REFUSED = "signed-poe.pdf was not added"
CONTENT = "checked by its content, not its name"


def files_of(app, claim_id) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(ClaimFile.filename).where(ClaimFile.claim_id == claim_id).order_by(ClaimFile.id)))


def post(client, url, *files, **fields):
    return client.post(url, data=upload_data(*files, **fields), content_type="multipart/form-data")


def summary(response) -> str:
    match = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S)
    assert match, "no error summary"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def textarea(response, element_id) -> str:
    match = re.search(rf'<textarea[^>]*id="{element_id}"[^>]*>([^<]*)</textarea>', response.get_data(as_text=True))
    assert match, f"no #{element_id}"
    return match.group(1).strip()


# --- the edit page -------------------------------------------------------------------------


def test_the_edit_pages_chooser_belongs_to_its_form(demo):
    claim_id = make_claim(demo, "partner_action_required")
    response = sign_in(demo, GINA).get(f"/claims/{claim_id}/edit")
    assert element(response, "files")[1]["form"] == "edit-form"
    _tag, form = element(response, "edit-form")
    assert form["enctype"] == "multipart/form-data"
    assert element(response, "upload-button")[1]["form"] == "edit-form"


def test_save_changes_takes_the_files_chosen(demo):
    claim_id = make_claim(demo, "partner_action_required")
    client = sign_in(demo, GINA)

    response = post(client, f"/claims/{claim_id}/edit", ("signed-poe.pdf", PDF), **edit_form(description="With the signed PoE."))

    assert response.status_code == 302
    assert files_of(demo, claim_id) == ["proof.pdf", "signed-poe.pdf"]
    assert claim_row(demo, claim_id).description == "With the signed PoE."
    page = words(client.get(response.headers["Location"]))
    assert "Your changes were saved" in page and "1 file added." in page


def test_a_file_refused_at_save_is_said_and_nothing_typed_is_lost(any_demo):
    demo = any_demo  # on SQLite and PostgreSQL
    claim_id = make_claim(demo, "partner_action_required")
    before = snapshot(demo, claim_id)

    response = post(sign_in(demo, GINA), f"/claims/{claim_id}/edit", ("good.pdf", PDF), ("signed-poe.pdf", EXECUTABLE),
                    **edit_form(description="Typed before choosing the file."))

    assert response.status_code == 422
    assert REFUSED in slot_text(response, "files") and CONTENT in slot_text(response, "files")
    assert REFUSED in summary(response)
    assert 'href="#files"' in response.get_data(as_text=True)
    assert textarea(response, "description") == "Typed before choosing the file."
    # The fields wait for a Save without the refused file; the good file is kept.
    after = snapshot(demo, claim_id)
    assert after["description"] == before["description"]
    assert files_of(demo, claim_id) == ["proof.pdf", "good.pdf"]


def test_save_with_files_keeps_the_count_limit(demo):
    demo.config["UPLOAD_MAX_FILES"] = 2
    claim_id = make_claim(demo, "partner_action_required")

    response = post(sign_in(demo, GINA), f"/claims/{claim_id}/edit", ("one.pdf", PDF), ("two.pdf", PDF), **edit_form())

    assert response.status_code == 422
    assert "two.pdf was not added: A claim can have at most 2 files." in slot_text(response, "files")
    assert files_of(demo, claim_id) == ["proof.pdf", "one.pdf"]


def test_upload_without_javascript_adds_the_files_and_keeps_what_was_typed(demo):
    claim_id = make_claim(demo, "partner_action_required")
    before = snapshot(demo, claim_id)
    client = sign_in(demo, GINA)

    response = post(client, f"/claims/{claim_id}/edit", ("signed-poe.pdf", PDF), action="upload",
                    **edit_form(description="Not saved yet."))

    assert response.status_code == 200
    assert "1 file added." in words(response)
    assert textarea(response, "description") == "Not saved yet."
    assert files_of(demo, claim_id) == ["proof.pdf", "signed-poe.pdf"]
    assert snapshot(demo, claim_id)["description"] == before["description"]  # Save changes saves it

    response = post(client, f"/claims/{claim_id}/edit", action="upload", **edit_form())
    assert "Choose at least one file to upload." in words(response)


# --- the dispute form ----------------------------------------------------------------------


def test_the_dispute_forms_chooser_belongs_to_it(demo):
    claim_id = make_claim(demo, "rejected")
    response = sign_in(demo, GINA).get(f"/claims/{claim_id}")
    assert element(response, "files")[1]["form"] == "dispute-form"
    assert element(response, "dispute-form")[1]["enctype"] == "multipart/form-data"
    assert element(response, "upload-button")[1]["form"] == "dispute-form"


def test_a_file_refused_at_send_keeps_the_justification_and_says_why(any_demo):
    demo = any_demo  # on SQLite and PostgreSQL
    claim_id = make_claim(demo, "rejected")
    before = snapshot(demo, claim_id)

    response = post(sign_in(demo, GINA), f"/claims/{claim_id}/dispute", ("signed-poe.pdf", EXECUTABLE),
                    justification="The customer's CIO signed the PoE.")

    assert response.status_code == 422
    assert REFUSED in slot_text(response, "files") and CONTENT in slot_text(response, "files")
    assert REFUSED in summary(response)
    assert textarea(response, "dispute-justification") == "The customer&#39;s CIO signed the PoE."
    assert snapshot(demo, claim_id) == before  # a refused file refuses the dispute


def test_upload_without_javascript_then_send_disputes_with_the_new_proof(any_demo):
    demo = any_demo  # on SQLite and PostgreSQL
    claim_id = make_claim(demo, "rejected")
    client = sign_in(demo, GINA)

    response = post(client, f"/claims/{claim_id}/dispute", ("signed-poe.pdf", PDF), action="upload", justification="Typed.")

    assert response.status_code == 200
    assert "1 file added." in words(response)
    assert textarea(response, "dispute-justification") == "Typed."
    assert files_of(demo, claim_id) == ["proof.pdf", "signed-poe.pdf"]
    assert claim_row(demo, claim_id).status == "rejected"  # Upload doesn't send the dispute

    # The file uploaded on the form (as choosing it does with JavaScript) is the new proof.
    response = post(client, f"/claims/{claim_id}/dispute", justification="")
    claim = claim_row(demo, claim_id)
    assert (claim.status, claim.dispute_used) == ("disputed", True)
    with demo.app_context():
        comment = db.session.scalars(select(Comment).where(Comment.claim_id == claim_id)).one()
        assert comment.body == "New proof of execution added."


def test_a_file_from_before_the_rejection_is_not_new_proof(demo):
    claim_id = make_claim(demo, "rejected")
    with demo.app_context():
        assert db.session.get(Claim, claim_id).files  # the claim's own proof
    response = post(sign_in(demo, GINA), f"/claims/{claim_id}/dispute", justification=" ")
    assert response.status_code == 302
    assert claim_row(demo, claim_id).status == "rejected"

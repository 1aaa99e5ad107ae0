"""Issue 11, files: what passed the upload and downloaded under its own name. Each file is
refused with its own reason wherever files are uploaded, or kept and served under its kind's
extension and content type, as an attachment, never sniffed."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import update

from portal.claims.models import Claim, ClaimFile
from portal.extensions import db
from tests.claims.conftest import GINA, RITA
from tests.claims.files import samples
from tests.claims.lifecycle.conftest import make_claim
from tests.html import text
from tests.support import sign_in


@pytest.fixture
def gina(walker_for):
    return walker_for(GINA)


@pytest.fixture
def draft(gina):
    return gina.new()


def files_of(app, claim_id):
    with app.app_context():
        return [(f.id, f.filename, f.kind) for f in db.session.get(Claim, claim_id).files]


def download(client, claim_id, file_id):
    response = client.get(f"/claims/{claim_id}/files/{file_id}")
    assert response.status_code == 200
    return response


def assert_served_as(response, filename, content_type):
    assert response.mimetype == content_type
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert f"filename={filename}" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


MESSAGES = {
    "unknown": "This file isn't a PDF, DOCX, XLSX, PNG, JPEG, MSG or EML file (checked by its content, not its name).",
    "old_office": "This is an older Office file (such as a DOC or XLS), which can't be accepted.",
    "macros": "This Office document contains macros or is set up to run them, which can't be accepted.",
    "bomb": "This document would unpack to far more than a real document does (more than 256 MB, or 100 times its own size).",
    "entries": "This document holds more than 5000 parts, far more than a real document does.",
}

REFUSED = [
    pytest.param("invoice.hta", lambda: samples.FAKE_EMAILS["sender-without-address"], "unknown", id="fake-eml.hta"),
    pytest.param("invoice.html", lambda: samples.FAKE_EMAILS["one-header-only"], "unknown", id="fake-eml.html"),
    pytest.param("invoice.js", lambda: samples.FAKE_EMAILS["recipient-without-address"], "unknown", id="fake-eml.js"),
    pytest.param("invoice.bat", lambda: samples.FAKE_EMAILS["unknown-charset"], "unknown", id="fake-eml.bat"),
    pytest.param("contract.doc", lambda: samples.word97_bytes(), "old_office", id="ole.doc"),
    pytest.param("report.docm", lambda: samples.docm_bytes(), "macros", id="docm-with-renamed-project"),
    pytest.param("report.docx", lambda: samples.docm_bytes(content_type=False), "macros", id="docx-related-to-a-vba-project"),
    pytest.param("report.docx", lambda: samples.zip_bomb(declared=64 << 20), "bomb", id="zip-bomb"),
    pytest.param("report.docx", lambda: samples.many_entries(5000), "entries", id="too-many-entries"),
]


@pytest.mark.parametrize("name, data, reason", REFUSED)
def test_hostile_files_are_refused_at_upload_with_their_reason(demo, gina, draft, name, data, reason):
    response = gina.upload(draft, (name, data()), htmx=True)

    assert response.status_code == 200
    assert f"{name}: {MESSAGES[reason]}" in text(response)
    assert files_of(demo, draft) == []


def test_a_one_gigabyte_zip_bomb_is_refused_in_the_wizard_with_its_reason(demo, gina, draft):
    gina.upload(draft, ("poe.docx", samples.zip_bomb()))

    page = text(gina.client.get(f"/claims/{draft}/wizard/customer"))

    assert f"poe.docx was not added: {MESSAGES['bomb']}" in page
    assert files_of(demo, draft) == []


def test_a_macro_document_is_refused_on_the_edit_page_of_a_returned_claim(demo):
    claim_id = make_claim(demo, "partner_action_required")
    client = sign_in(demo, GINA)
    before = files_of(demo, claim_id)

    response = client.post(f"/claims/{claim_id}/files", data={"files": (io.BytesIO(samples.docm_bytes()), "poe.docm")},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})

    assert f"poe.docm: {MESSAGES['macros']}" in text(response)
    assert files_of(demo, claim_id) == before


@pytest.mark.parametrize("name, data, kind, served_name, content_type", [
    pytest.param("invoice.hta", samples.eml_bytes(b"<script>alert(1)</script>"), "eml", "invoice.eml", "message/rfc822",
                 id="email.hta"),
    pytest.param("invoice.html", samples.pdf_html_polyglot(), "pdf", "invoice.pdf", "application/pdf", id="pdf-html.html"),
    pytest.param("logo.svg", samples.png_svg_polyglot(), "png", "logo.png", "image/png", id="png-svg.svg"),
    pytest.param("minutes.doc", samples.msg_bytes(), "msg", "minutes.msg", "application/vnd.ms-outlook", id="msg.doc"),
])
def test_an_accepted_file_is_kept_and_served_under_its_kinds_extension(demo, gina, draft, name, data, kind, served_name,
                                                                       content_type):
    response = gina.upload(draft, (name, data), htmx=True)

    assert f"{served_name}" in text(response)
    ((file_id, filename, stored_kind),) = files_of(demo, draft)
    assert (filename, stored_kind) == (served_name, kind)
    served = download(gina.client, draft, file_id)
    assert served.data == data
    assert_served_as(served, served_name, content_type)


def test_a_file_kept_under_its_uploaders_name_before_is_served_under_its_kinds(demo, gina, draft):
    gina.upload(draft, ("proof.pdf", samples.pdf_html_polyglot()))
    ((file_id, _name, _kind),) = files_of(demo, draft)
    with demo.app_context():  # as the portal stored names until now
        db.session.execute(update(ClaimFile).where(ClaimFile.id == file_id)
                           .values(filename="invoice.html", content_type="text/html"))
        db.session.commit()

    served = download(gina.client, draft, file_id)

    assert_served_as(served, "invoice.pdf", "application/pdf")


def test_a_reviewer_downloads_the_file_as_its_kind(demo, gina):
    claim_id = gina.file_claim()
    ((file_id, _name, _kind),) = files_of(demo, claim_id)
    with demo.app_context():
        db.session.execute(update(ClaimFile).where(ClaimFile.id == file_id).values(filename="proof.svg"))
        db.session.commit()

    served = download(sign_in(demo, RITA), claim_id, file_id)

    assert_served_as(served, "proof.pdf", "application/pdf")

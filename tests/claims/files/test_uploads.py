"""Proof-of-execution files over HTTP: what is accepted, each refusal with its reason, removal,
downloads for those allowed only, the PoE template, and names shown safely."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from portal.claims.files import kinds as filetypes
from portal.claims.models import Claim
from tests.factories import poe_template_docx
from portal.extensions import db
from tests.claims.conftest import CAMILLE, EXECUTABLE, GINA, IAN, PAUL, PDF, PNG, RITA, valid_steps
from tests.support import sign_in
from tests.html import text

CONTENT_REFUSAL = "isn't a PDF, DOCX, XLSX, PNG, JPEG, MSG or EML file (checked by its content, not its name)"


@pytest.fixture
def gina(walker_for):
    return walker_for(GINA)


@pytest.fixture
def draft(gina):
    return gina.new()


def files_of(app, claim_id):
    with app.app_context():
        return [(f.filename, f.kind, f.size) for f in db.session.get(Claim, claim_id).files]


def stored_files(app):
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def proof_page(walker, claim_id):
    return walker.client.get(f"/claims/{claim_id}/wizard/proof", follow_redirects=False)


def test_pdf_png_and_docx_are_accepted_by_content(demo, gina, draft):
    docx = poe_template_docx()

    response = gina.upload(draft, ("report.pdf", PDF), ("screenshot.png", PNG), ("poe.docx", docx))

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/claims/{draft}/wizard/proof")
    assert files_of(demo, draft) == [("report.pdf", "pdf", len(PDF)), ("screenshot.png", "png", len(PNG)), ("poe.docx", "docx", len(docx))]
    assert len(stored_files(demo)) == 3
    flashes = text(gina.client.get(f"/claims/{draft}/wizard/customer"))
    assert "3 files added." in flashes


def test_htmx_upload_answers_the_file_list_fragment(demo, gina, draft):
    response = gina.upload(draft, ("report.pdf", PDF), htmx=True)

    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="files-region">')
    assert "report.pdf" in body
    assert "1 file added." in body
    assert '<progress class="upload-progress"' in body


def test_a_renamed_executable_is_refused_for_its_content(demo, gina, draft):
    response = gina.upload(draft, ("invoice.pdf", EXECUTABLE), htmx=True)

    body = text(response)
    assert f"invoice.pdf: This file {CONTENT_REFUSAL}" in body
    assert files_of(demo, draft) == []
    assert stored_files(demo) == []


def test_refusals_are_flashed_without_htmx(demo, gina, draft):
    gina.upload(draft, ("invoice.pdf", EXECUTABLE))

    page = text(gina.client.get(f"/claims/{draft}/wizard/customer"))

    assert f"invoice.pdf was not added: This file {CONTENT_REFUSAL}" in page


def test_an_oversized_file_is_refused_with_the_size_message_and_nothing_kept(demo, gina, draft):
    demo.config["UPLOAD_MAX_BYTES"] = 1024
    big = PDF + b"0" * 2048

    response = gina.upload(draft, ("big.pdf", big), ("small.pdf", PDF), htmx=True)

    body = text(response)
    assert "big.pdf: The file is larger than 1 kB." in body
    assert files_of(demo, draft) == [("small.pdf", "pdf", len(PDF))]
    assert len(stored_files(demo)) == 1  # no partial file of the big one


def test_a_file_of_exactly_the_limit_is_accepted(demo, gina, draft):
    demo.config["UPLOAD_MAX_BYTES"] = 1024
    exact = PDF + b"0" * (1024 - len(PDF))

    gina.upload(draft, ("exact.pdf", exact))

    assert files_of(demo, draft) == [("exact.pdf", "pdf", 1024)]


def test_an_empty_file_is_refused(demo, gina, draft):
    response = gina.upload(draft, ("empty.pdf", b""), htmx=True)

    assert "empty.pdf: The file is empty." in text(response)
    assert files_of(demo, draft) == []


def test_a_sixth_file_is_refused(demo, gina, draft):
    gina.upload(draft, *[(f"p{n}.pdf", PDF) for n in range(1, 5)])

    response = gina.upload(draft, ("p5.pdf", PDF), ("p6.pdf", PDF), htmx=True)

    body = text(response)
    assert "p6.pdf: A claim can have at most 5 files. Remove one to add another." in body
    assert [name for name, _kind, _size in files_of(demo, draft)] == ["p1.pdf", "p2.pdf", "p3.pdf", "p4.pdf", "p5.pdf"]
    assert 'class="upload-form"' not in body  # no more upload form once full
    again = gina.upload(draft, ("p7.pdf", PDF), htmx=True)
    assert "p7.pdf: A claim can have at most 5 files." in text(again)
    assert len(stored_files(demo)) == 5


def test_a_request_larger_than_the_server_accepts_answers_a_readable_413(demo, gina, draft):
    demo.config["MAX_CONTENT_LENGTH"] = 4096

    for htmx in (False, True):
        response = gina.upload(draft, ("huge.pdf", PDF + b"0" * 8192), htmx=htmx)

        assert response.status_code == 413
        body = text(response)
        assert "<html" in body
        assert "The upload is too large" in body
        assert "The files sent together are larger than the server accepts. Send fewer or smaller files." in body
    assert files_of(demo, draft) == []


def test_the_upload_form_tells_the_browser_the_limits_and_the_413_message(gina, draft):
    page = proof_page(gina, draft)
    assert page.status_code == 302  # the proof step is not reachable yet
    gina.walk(draft, valid_steps(), upto="proof")

    body = text(proof_page(gina, draft))

    assert 'data-max-bytes="10485760"' in body
    assert 'data-max-files="5"' in body
    assert 'data-request-too-large="The files sent together are larger than the server accepts.' in body
    assert 'href="/claims/poe-template.docx"' in body


def test_a_file_can_be_removed(demo, gina, draft):
    gina.upload(draft, ("a.pdf", PDF), ("b.png", PNG))
    with demo.app_context():
        first = db.session.get(Claim, draft).files[0].id

    response = gina.client.post(f"/claims/{draft}/files/{first}/delete", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "a.pdf" not in text(response) and "b.png" in text(response)
    assert [name for name, _k, _s in files_of(demo, draft)] == ["b.png"]
    assert len(stored_files(demo)) == 1
    assert gina.client.post(f"/claims/{draft}/files/{first}/delete").status_code == 404  # already gone


def test_a_file_is_downloaded_as_an_attachment_with_its_name(demo, gina, draft):
    gina.upload(draft, ("report.pdf", PDF))
    with demo.app_context():
        file_id = db.session.get(Claim, draft).files[0].id

    response = gina.client.get(f"/claims/{draft}/files/{file_id}")

    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "report.pdf" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]


def test_downloads_are_served_only_to_those_allowed(demo, gina, draft):
    gina.upload(draft, ("report.pdf", PDF))
    with demo.app_context():
        file_id = db.session.get(Claim, draft).files[0].id
    url = f"/claims/{draft}/files/{file_id}"

    anonymous = demo.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert sign_in(demo, PAUL).get(url).status_code == 404  # another organization
    assert sign_in(demo, IAN).get(url).status_code == 404  # someone else's draft
    assert sign_in(demo, RITA).get(url).status_code == 404  # drafts are not for reviewers

    submitted = gina.file_claim()
    with demo.app_context():
        submitted_file = db.session.get(Claim, submitted).files[0].id
    url = f"/claims/{submitted}/files/{submitted_file}"
    assert sign_in(demo, IAN).get(url).status_code == 200  # the organization's claim
    assert sign_in(demo, RITA).get(url).status_code == 200
    assert sign_in(demo, PAUL).get(url).status_code == 404
    assert gina.client.get(f"/claims/{submitted}/files/{file_id}").status_code == 404  # a file of another claim


def test_files_cannot_be_added_or_removed_once_submitted(demo, gina):
    submitted = gina.file_claim()
    with demo.app_context():
        file_id = db.session.get(Claim, submitted).files[0].id

    added = gina.upload(submitted, ("late.pdf", PDF))
    removed = gina.client.post(f"/claims/{submitted}/files/{file_id}/delete")

    assert added.headers["Location"].endswith(f"/claims/{submitted}")
    assert removed.headers["Location"].endswith(f"/claims/{submitted}")
    assert [name for name, _k, _s in files_of(demo, submitted)] == ["proof.pdf"]


def test_the_poe_template_is_a_docx(gina):
    response = gina.client.get("/claims/poe-template.docx")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert "proof-of-execution-template.docx" in response.headers["Content-Disposition"]
    assert filetypes.detect(response.data) == filetypes.FileKind.DOCX
    assert response.data == poe_template_docx()
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "Proof of execution" in archive.read("word/document.xml").decode()


def test_the_filled_in_template_can_be_uploaded_back(demo, gina, draft):
    template = gina.client.get("/claims/poe-template.docx").data

    gina.upload(draft, ("proof-of-execution-template.docx", template))

    assert files_of(demo, draft)[0][1] == "docx"


@pytest.mark.parametrize("name, raw, shown", [
    ("<img src=x onerror=alert(1)>.pdf", "<img src=x", "&lt;img src=x onerror=alert(1)&gt;.pdf"),
    ("'><svg onload=alert(1)>.pdf", "<svg onload", "&#39;&gt;&lt;svg onload=alert(1)&gt;.pdf"),
    ("<script>x</script>.pdf", "<script>", "script&gt;.pdf"),  # only the last path component is kept
])
def test_file_names_are_escaped_wherever_they_are_shown(demo, gina, draft, name, raw, shown):
    gina.upload(draft, (name, PDF))
    gina.upload(draft, (name, EXECUTABLE))  # refused: the name shows in the flash message
    refused = gina.upload(draft, (name, EXECUTABLE), htmx=True)
    gina.walk(draft, valid_steps(), upto="review", files=())

    pages = [
        refused,
        gina.client.get(f"/claims/{draft}/wizard/proof"),
        gina.client.get(f"/claims/{draft}/wizard/review"),
    ]

    for page in pages:
        body = page.get_data(as_text=True)
        assert raw not in body
        assert shown in body
    submitted = gina.submit(draft)
    assert submitted.status_code == 302
    assert raw not in gina.client.get(f"/claims/{draft}").get_data(as_text=True)


@pytest.mark.parametrize(("who", "one", "many", "size", "limit"), [
    (GINA, "1 file added.", "2 files added.", "(PDF, 1.5 MB)", "up to 5 files of 10 MB each"),
    (CAMILLE, "1 fichier ajouté.", "2 fichiers ajoutés.", "(PDF, 1,5\u202fMo)", "jusqu'à 5 fichiers de 10\u202fMo chacun"),
])
def test_added_files_and_sizes_read_naturally_in_the_users_language(demo, walker_for, who, one, many, size, limit):
    walker = walker_for(who)
    claim_id = walker.new()
    big = PDF + b"0" * (3 * 512 * 1024 - len(PDF))  # 1.5 MiB, not "1536.0 KB"

    first = text(walker.upload(claim_id, ("big.pdf", big), htmx=True))
    second = text(walker.upload(claim_id, ("a.pdf", PDF), ("b.pdf", PDF), htmx=True))

    assert one in first and "(s)" not in first
    assert many in second
    assert size in second
    walker.walk(claim_id, valid_steps(), upto="proof")
    assert limit in text(proof_page(walker, claim_id))

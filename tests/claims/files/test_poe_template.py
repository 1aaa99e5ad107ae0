import io
import posixpath
import zipfile
from xml.etree import ElementTree

from portal.claims.files.kinds import FileKind, detect
from tests.factories import poe_template_docx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def archive():
    return zipfile.ZipFile(io.BytesIO(poe_template_docx()))


def document_text():
    root = ElementTree.fromstring(archive().read("word/document.xml"))
    return [
        "".join(t.text or "" for t in p.iter(f"{W}t")) for p in root.iter(f"{W}p")
    ]


def test_is_a_zip_with_the_office_parts():
    with archive() as docx:
        assert docx.testzip() is None
        names = set(docx.namelist())
    assert {
        "[Content_Types].xml",
        "_rels/.rels",
        "word/document.xml",
        "word/_rels/document.xml.rels",
    } <= names


def test_every_part_is_well_formed_xml():
    with archive() as docx:
        for name in docx.namelist():
            ElementTree.fromstring(docx.read(name))


def test_every_relationship_target_exists_and_has_a_content_type():
    with archive() as docx:
        names = set(docx.namelist())
        types = ElementTree.fromstring(docx.read("[Content_Types].xml"))
        defaults = {e.get("Extension") for e in types if e.tag.endswith("Default")}
        overrides = {e.get("PartName") for e in types if e.tag.endswith("Override")}
        for rels_name in ("_rels/.rels", "word/_rels/document.xml.rels"):
            base = posixpath.dirname(posixpath.dirname(rels_name))
            for rel in ElementTree.fromstring(docx.read(rels_name)):
                target = posixpath.normpath(posixpath.join(base, rel.get("Target")))
                assert target in names
                assert "/" + target in overrides or target.rsplit(".", 1)[-1] in defaults
    assert "/word/document.xml" in overrides


def test_detected_as_docx():
    assert detect(poe_template_docx()) is FileKind.DOCX


def test_its_parts_carry_no_date_of_their_own():
    with archive() as docx:
        assert {info.date_time for info in docx.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_asks_for_what_a_reviewer_checks():
    paragraphs = document_text()
    assert paragraphs[0] == "Proof of execution template"
    text = "\n".join(paragraphs)
    for expected in (
        "Customer",
        "Customer tenant ID",
        "Partner organization",
        "MPN ID",
        "Product or workload",
        "Activity",
        "Description of the work performed",
        "Start date",
        "Deliverables",
        "Customer acknowledgement",
        "Contact name",
        "Title",
        "Email",
        "Date of acknowledgement",
        "Signature",
    ):
        assert expected in text


def test_sections_are_headings():
    root = ElementTree.fromstring(archive().read("word/document.xml"))
    headings = [
        "".join(t.text or "" for t in p.iter(f"{W}t"))
        for p in root.iter(f"{W}p")
        if any(s.get(f"{W}val") == "Heading1" for s in p.iter(f"{W}pStyle"))
    ]
    assert headings == [
        "Customer",
        "Partner",
        "Product or workload",
        "Activity",
        "Description of the work performed",
        "Customer acknowledgement",
        "Signature",
    ]

import io
import struct
import zipfile
import zlib

import pytest
from werkzeug.datastructures import FileStorage

from portal.claims.files import kinds
from portal.claims.files.kinds import CONTENT_TYPES, EXTENSIONS, FileKind, Refusal, detect, download_name, identify
from tests.claims.files import samples
from tests.factories import poe_template_docx

OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def pdf_bytes():
    return (
        b"%PDF-1.4\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
        b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n"
        b"0000000058 00000 n \n0000000115 00000 n \n"
        b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n"
    )


def png_bytes():
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def jpeg_bytes():
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xdb\x00\x43\x00"
        + bytes(range(64))
        + b"\xff\xd9"
    )


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def xlsx_bytes(extra=None):
    members = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Usage</t></is></c></row>'
            "</sheetData></worksheet>"
        ),
    }
    members.update(extra or {})
    return zip_bytes(members)


def docx_with(extra):
    with zipfile.ZipFile(io.BytesIO(poe_template_docx())) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members.update(extra)
    return zip_bytes(members)


def ole_bytes(stream_name, sector_shift=9, directory_sector=0, padding=512 - 8):
    header = bytearray(OLE_HEADER + b"\x00" * padding)
    header[0x1E:0x20] = sector_shift.to_bytes(2, "little")
    header[0x30:0x34] = directory_sector.to_bytes(4, "little")
    return bytes(header) + "Root Entry".encode("utf-16-le").ljust(64, b"\x00") + (
        stream_name.encode("utf-16-le").ljust(64, b"\x00")
    )


def msg_bytes():
    return samples.msg_bytes()


def eml_bytes(newline="\r\n"):
    lines = [
        "Received: from mail.contoso.com by mx.fabrikam.com; Tue, 4 Mar 2025 10:00:00 +0000",
        "From: Jane Customer <jane@contoso.com>",
        "To: Partner <partner@fabrikam.com>",
        "Subject: Acknowledgement of the",
        "\tDynamics 365 deployment",
        "Date: Tue, 4 Mar 2025 10:00:00 +0000",
        "Message-ID: <1234@contoso.com>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "We confirm Fabrikam deployed Dynamics 365 Sales for us.",
        "",
    ]
    return newline.join(lines).encode("utf-8")


ACCEPTED = [
    pytest.param(pdf_bytes(), FileKind.PDF, id="pdf"),
    pytest.param(png_bytes(), FileKind.PNG, id="png"),
    pytest.param(jpeg_bytes(), FileKind.JPEG, id="jpeg"),
    pytest.param(poe_template_docx(), FileKind.DOCX, id="docx"),
    pytest.param(xlsx_bytes(), FileKind.XLSX, id="xlsx"),
    pytest.param(msg_bytes(), FileKind.MSG, id="msg"),
    pytest.param(eml_bytes(), FileKind.EML, id="eml-crlf"),
    pytest.param(eml_bytes("\n"), FileKind.EML, id="eml-lf"),
    pytest.param(
        "From: Zoë <zoe@contoso.fr>\nSubject: Reçu\n\nMerci".encode("utf-8"),
        FileKind.EML,
        id="eml-utf8",
    ),
    pytest.param(
        "From: Zoë <zoe@contoso.fr>\nDate: Tue, 4 Mar 2025\n\nMerci".encode("latin-1"),
        FileKind.EML,
        id="eml-latin1",
    ),
    pytest.param(b"From: a@contoso.com\nTo: b@fabrikam.com\n", FileKind.EML, id="eml-headers-only"),
    pytest.param(
        pdf_bytes() + zip_bytes({"x.txt": b"x"}), FileKind.PDF, id="pdf-with-trailing-zip"
    ),
]


@pytest.mark.parametrize("data, kind", ACCEPTED)
def test_accepted_kinds_are_detected_from_bytes(data, kind):
    assert detect(data) is kind


@pytest.mark.parametrize("data, kind", ACCEPTED)
def test_accepted_kinds_are_detected_from_a_file_object_left_at_its_start(data, kind):
    stream = io.BytesIO(data)
    stream.seek(5)
    assert detect(stream) is kind
    assert stream.tell() == 0
    assert stream.read() == data


def test_detects_an_upload_whatever_its_name_and_declared_type():
    upload = FileStorage(io.BytesIO(pdf_bytes()), filename="photo.png", content_type="image/png")
    assert detect(upload) is FileKind.PDF
    assert upload.stream.tell() == 0


def test_detects_from_a_path(tmp_path):
    path = tmp_path / "no-extension"
    path.write_bytes(png_bytes())
    assert detect(path) is FileKind.PNG
    assert detect(str(path)) is FileKind.PNG


def test_msg_whose_directory_lies_past_the_first_megabyte_is_detected():
    attachment = {"__attach_version1.0_#00000000/__substg1.0_37010102": b"%PDF-1.7" + bytes(1_200_000)}
    data = samples.msg_bytes(extra=attachment, directory_last=True)
    assert len(data) > 1024 * 1024 and "__substg1.0_".encode("utf-16-le") not in data[: 1024 * 1024]
    assert detect(data) is FileKind.MSG


REFUSED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200 + b"This program", id="exe"),
    pytest.param(b"MZ" + b"\x00" * 100 + zip_bytes({"setup.exe": b"MZ"}), id="self-extracting"),
    pytest.param(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100, id="elf"),
    pytest.param(zip_bytes({"readme.txt": b"hello", "data.csv": b"a,b"}), id="plain-zip"),
    pytest.param(zip_bytes({"invoice.exe": b"MZ\x90\x00"}), id="zip-with-exe"),
    pytest.param(xlsx_bytes({"xl/payload.exe": b"MZ"}), id="xlsx-with-exe"),
    pytest.param(docx_with({"word/vbaProject.bin": b"\x00"}), id="docx-with-macros"),
    pytest.param(
        zip_bytes({"word/document.xml": b"<w:document/>"}), id="docx-without-content-types"
    ),
    pytest.param(
        xlsx_bytes({"word/document.xml": b"<w:document/>"}), id="both-word-and-excel-parts"
    ),
    pytest.param(b"PK\x03\x04" + b"\x00" * 100, id="corrupt-zip"),
    pytest.param(ole_bytes("WordDocument"), id="ole-doc"),
    pytest.param(ole_bytes("__substg1.0_0037001F"), id="ole-naming-a-message-stream-without-being-one"),
    pytest.param(ole_bytes("Workbook"), id="ole-xls"),
    pytest.param(OLE_HEADER, id="ole-header-only"),
    pytest.param(b"<!DOCTYPE html><html><body>From: me</body></html>", id="html"),
    pytest.param(b"#!/bin/sh\nrm -rf /\n", id="script"),
    pytest.param(b"Hello,\n\nPlease find the proof attached.\n", id="plain-text"),
    pytest.param(b"From: a@contoso.com\n\nonly a sender", id="eml-without-other-headers"),
    pytest.param(b"Subject: hi\nDate: today\n\nno sender", id="eml-without-from"),
    pytest.param(b"From: a@contoso.com\nTo: b\x00\n\nbody", id="eml-with-nul"),
    pytest.param(b" From: a@contoso.com\nTo: b\n\nbody", id="eml-starting-with-continuation"),
    pytest.param(b"From: a@contoso.com\nTo: b\nnot a header\n\nbody", id="eml-broken-header"),
    pytest.param(b"From a@contoso.com Tue Mar  4\nFrom: a\nTo: b\n\n", id="mbox-separator"),
    pytest.param(
        b"X-Filler: " + b"a" * (70 * 1024) + b"\nFrom: a\nTo: b\n\n", id="eml-huge-header"
    ),
    pytest.param(b" %PDF-1.4\n%%EOF", id="pdf-magic-not-at-start"),
    pytest.param(b"junk\n" + pdf_bytes(), id="pdf-after-junk"),
    pytest.param(b"GIF89a\x01\x00\x01\x00", id="gif"),
    pytest.param(b"\x89PNG\r\n", id="truncated-png-signature"),
]


@pytest.mark.parametrize("data", REFUSED)
def test_anything_else_is_refused(data):
    assert detect(data) is None


def test_refused_file_object_is_left_at_its_start():
    stream = io.BytesIO(b"MZ" + b"\x00" * 100)
    assert detect(stream) is None
    assert stream.tell() == 0


def test_office_archive_is_judged_without_extracting_it(monkeypatch):
    """Only the package's manifests are read (to find macros); no other part is ever opened."""
    opened = []
    real_open = zipfile.ZipFile.open

    def recording_open(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    def no_reading(*args, **kwargs):
        raise AssertionError("an archive member was read whole")

    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)
    monkeypatch.setattr(zipfile.ZipFile, "read", no_reading)
    monkeypatch.setattr(zipfile.ZipFile, "extract", no_reading)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_reading)
    assert detect(poe_template_docx()) is FileKind.DOCX
    assert sorted(opened) == ["[Content_Types].xml", "_rels/.rels", "word/_rels/document.xml.rels"]


def test_every_kind_has_a_content_type_and_an_extension():
    assert set(CONTENT_TYPES) == set(FileKind) == set(EXTENSIONS)
    assert CONTENT_TYPES[FileKind.DOCX].endswith("wordprocessingml.document")
    assert CONTENT_TYPES[FileKind.XLSX].endswith("spreadsheetml.sheet")
    assert CONTENT_TYPES[FileKind.MSG] == "application/vnd.ms-outlook"
    assert CONTENT_TYPES[FileKind.EML] == "message/rfc822"
    assert all(ext.startswith(".") for ext in EXTENSIONS.values())


# Issue 11: files that passed and downloaded under their own names --------------------------


@pytest.mark.parametrize("name, data", [pytest.param(n, d, id=n) for n, d in samples.FAKE_EMAILS.items()])
def test_a_script_with_a_few_header_lines_in_front_is_not_an_email(name, data):
    with pytest.raises(kinds.Refused) as refused:
        identify(data)
    assert refused.value.reason is Refusal.UNKNOWN


def test_an_email_is_parsed_whole_with_its_parts():
    multipart = (
        b"From: Jane Customer <jane@wingtiptoys.com>\nDate: Tue, 4 Mar 2025 10:00:00 +0000\nSubject: PoE\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n"
        b"Content-Type: text/plain; charset=utf-8\n\nSee attached.\n--b1\n"
        b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b"Content-Disposition: attachment; filename=minutes.pdf\n\nJVBERi0xLjcK\n--b1--\n"
    )
    assert detect(multipart) is FileKind.EML
    assert detect(samples.eml_bytes()) is FileKind.EML
    assert detect(multipart.replace(b"--b1--\n", b"").replace(b"\n--b1\n", b"\n-- nothing\n")) is None


def test_an_ole_file_that_is_not_an_outlook_message_is_refused_as_an_old_office_file():
    with pytest.raises(kinds.Refused) as refused:
        identify(samples.word97_bytes())  # its text names every Outlook stream
    assert refused.value.reason is Refusal.OLD_OFFICE
    message_without_class = samples.msg_bytes(message_class="")
    assert detect(message_without_class) is None
    word_inside_a_message = samples.msg_bytes(extra={"WordDocument": b"\xec\xa5"})
    assert detect(word_inside_a_message) is None
    assert detect(samples.msg_bytes(message_class="IPM.Appointment")) is FileKind.MSG


@pytest.mark.parametrize("options", [
    pytest.param({"content_type": True, "relationship": True}, id="macro-enabled-with-renamed-project"),
    pytest.param({"content_type": True, "relationship": False}, id="declared-macro-enabled"),
    pytest.param({"content_type": False, "relationship": True}, id="relationship-to-a-renamed-project"),
    pytest.param({"content_type": False, "relationship": False, "vba_content_type": True, "part": "word/notes.dat"},
                 id="project-declared-by-content-type"),
])
def test_a_macro_enabled_document_is_refused_whatever_its_parts_are_named(options):
    with pytest.raises(kinds.Refused) as refused:
        identify(samples.docm_bytes(**options))
    assert refused.value.reason is Refusal.MACROS


def test_a_document_whose_main_part_is_not_a_plain_document_is_refused():
    members = samples.docx_members()
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(b"document.main+xml", b"template.main+xml")
    assert detect(samples.zip_bytes(members)) is None


def test_a_manifest_with_a_dtd_is_refused():
    members = samples.docx_members()
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"<Types", b'<!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">]><Types', 1)
    assert detect(samples.zip_bytes(members)) is None


def test_a_zip_bomb_is_refused_from_its_central_directory_alone(monkeypatch):
    bomb = samples.zip_bomb()  # 1 GB declared in about a megabyte
    plain_bomb = samples.zip_bomb(base="zip")
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert sum(i.file_size for i in archive.infolist()) > 1 << 30 and len(bomb) < 2 << 20
        with archive.open("word/media/zeros0.bin") as part:
            assert part.read(1 << 20) == bytes(1 << 20)  # a real archive, not a broken one

    def no_reading(*args, **kwargs):
        raise AssertionError("a member of the bomb was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_reading)
    for data in (bomb, plain_bomb):
        with pytest.raises(kinds.Refused) as refused:
            identify(data)
        assert refused.value.reason is Refusal.ARCHIVE_TOO_LARGE


def test_a_zip_bomb_of_high_ratio_under_the_size_limit_is_refused():
    small_bomb = samples.zip_bomb(declared=64 << 20)  # 64 MB in 70 KB
    assert len(small_bomb) * kinds.MAX_COMPRESSION_RATIO < 64 << 20 < kinds.MAX_UNCOMPRESSED_BYTES
    with pytest.raises(kinds.Refused) as refused:
        identify(small_bomb)
    assert refused.value.reason is Refusal.ARCHIVE_TOO_LARGE


def test_an_archive_of_too_many_entries_is_refused():
    with pytest.raises(kinds.Refused) as refused:
        identify(samples.many_entries(kinds.MAX_ZIP_ENTRIES))
    assert refused.value.reason is Refusal.ARCHIVE_TOO_MANY_ENTRIES
    assert detect(samples.many_entries(100)) is FileKind.DOCX


def test_polyglots_are_the_kind_their_first_bytes_say():
    assert detect(samples.pdf_html_polyglot()) is FileKind.PDF
    assert detect(samples.png_svg_polyglot()) is FileKind.PNG


@pytest.mark.parametrize("name, kind, expected", [
    ("invoice.hta", FileKind.EML, "invoice.eml"),
    ("invoice.html", FileKind.PDF, "invoice.pdf"),
    ("logo.svg", FileKind.PNG, "logo.png"),
    ("contract.doc", FileKind.MSG, "contract.msg"),
    ("report.docm", FileKind.DOCX, "report.docx"),
    ("photo.JPEG", FileKind.JPEG, "photo.JPEG"),
    ("photo.jpg", FileKind.JPEG, "photo.jpg"),
    ("Report.PDF", FileKind.PDF, "Report.PDF"),
    ("minutes", FileKind.EML, "minutes.eml"),
    ("v1.2 final", FileKind.PDF, "v1.2 final.pdf"),
    (".bashrc", FileKind.PDF, ".bashrc.pdf"),
])
def test_a_file_is_named_after_its_kind(name, kind, expected):
    assert download_name(name, kind) == expected

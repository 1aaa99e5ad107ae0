"""The downloadable proof-of-execution template (SPEC section 4, step 6).

Partners fill it in with their customer and upload it back, so it asks for exactly what a
reviewer checks. It is built with ``zipfile`` alone, to keep a document library out of the
dependencies, and byte-for-byte deterministic (fixed timestamps and member order) so the
response can be cached and given a stable ETag.
"""
from __future__ import annotations

import functools
import io
import zipfile
from xml.sax.saxutils import escape

TITLE = "Proof of execution template"
FILENAME = "proof-of-execution-template.docx"

INTRODUCTION = (
    "Complete every section, have your customer acknowledge the work, and upload this document "
    "as proof of execution with your CPOR claim."
)
BLANK = "______________________________"

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Customer", ("Customer name", "Customer tenant ID")),
    ("Partner", ("Partner organization", "MPN ID")),
    ("Product or workload", ("Product or workload",)),
    ("Activity", ("Activity (Presales, Usage or Revenue association)",)),
    (
        "Description of the work performed",
        ("Start date", "End date", "Deliverables", "Summary of the work performed"),
    ),
    (
        "Customer acknowledgement",
        ("Contact name", "Title", "Email", "Date of acknowledgement"),
    ),
    ("Signature", ("Customer signature", "Name", "Date")),
)

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = (
    _XML_DECLARATION
    + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/'
    'vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)

_PACKAGE_RELS = (
    _XML_DECLARATION
    + f'<Relationships xmlns="{_REL}">'
    f'<Relationship Id="rId1" Type="{_OFFICE_REL}/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)

_DOCUMENT_RELS = (
    _XML_DECLARATION
    + f'<Relationships xmlns="{_REL}">'
    f'<Relationship Id="rId1" Type="{_OFFICE_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)

_CORE_PROPERTIES = (
    _XML_DECLARATION
    + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    f"<dc:title>{escape(TITLE)}</dc:title>"
    "<dc:creator>CPOR claims portal</dc:creator>"
    "</cp:coreProperties>"
)


def _style(style_id: str, name: str, size_half_points: int, space_before: int) -> str:
    return (
        f'<w:style w:type="paragraph" w:styleId="{style_id}">'
        f'<w:name w:val="{name}"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/>'
        f'<w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="{space_before}" w:after="120"/>'
        f"</w:pPr><w:rPr><w:b/><w:sz w:val=\"{size_half_points}\"/></w:rPr></w:style>"
    )


_STYLES = (
    _XML_DECLARATION
    + f'<w:styles xmlns:w="{_W}">'
    '<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri"/>'
    '<w:sz w:val="22"/><w:lang w:val="en-US"/></w:rPr></w:rPrDefault>'
    '<w:pPrDefault><w:pPr><w:spacing w:after="160"/></w:pPr></w:pPrDefault></w:docDefaults>'
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
    "<w:qFormat/></w:style>"
    + _style("Title", "Title", 40, 0)
    + _style("Heading1", "heading 1", 28, 360)
    + "</w:styles>"
)


def _paragraph(text: str, style: str | None = None) -> str:
    properties = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{properties}<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def _document() -> str:
    body = [_paragraph(TITLE, "Title"), _paragraph(INTRODUCTION)]
    for heading, fields in SECTIONS:
        body.append(_paragraph(heading, "Heading1"))
        body.extend(_paragraph(f"{field}: {BLANK}") for field in fields)
    section = (
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" '
        'w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>'
    )
    return (
        _XML_DECLARATION
        + f'<w:document xmlns:w="{_W}" xmlns:r="{_OFFICE_REL}"><w:body>'
        + "".join(body)
        + section
        + "</w:body></w:document>"
    )


@functools.cache
def poe_template_docx() -> bytes:
    """The template as DOCX bytes, identical on every call."""
    parts = (
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _PACKAGE_RELS),
        ("docProps/core.xml", _CORE_PROPERTIES),
        ("word/document.xml", _document()),
        ("word/_rels/document.xml.rels", _DOCUMENT_RELS),
        ("word/styles.xml", _STYLES),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()

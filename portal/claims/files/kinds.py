"""What a proof-of-execution file really is, judged by its content (SPEC section 4, step 6).

A name or a browser-supplied content type is whatever the uploader wants it to be: a renamed
executable calls itself ``invoice.pdf``, a script calls itself ``invoice.hta``. Every upload is
therefore identified from its bytes, anything that is not clearly one of the accepted kinds is
refused with the reason (``Refused``), and a file is always served back under its kind's
extension and content type (``download_name``), never under the name it came with.

- Office documents (DOCX, XLSX) are zip archives. Their size is judged from the central
  directory alone, before anything is read: an archive that declares an absurd uncompressed
  size, ratio or number of entries (a zip bomb) is refused without extracting. Then only the
  package's small manifests (``[Content_Types].xml`` and the ``.rels`` parts, each read with a
  bound) are parsed, to refuse macro-enabled documents by their declared content types and by
  any relationship to a VBA project, whatever the part is named.
- Outlook messages (MSG) are OLE2 compound files, opened with olefile: the file must hold the
  property streams and the ``IPM.*`` message class every Outlook message has, and none of the
  Word, Excel, PowerPoint or VBA streams (a ``.doc`` is the same container).
- Emails (EML) are parsed with the standard library's ``email`` parser: a header block of real
  fields, a sender with an address, one more field every real message carries, and a body
  that parses.
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from email import policy
from email.errors import (
    MissingHeaderBodySeparatorDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.parser import BytesParser
from enum import StrEnum
from typing import BinaryIO
from xml.etree import ElementTree

import olefile


class FileKind(StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PNG = "png"
    JPEG = "jpeg"
    MSG = "msg"
    EML = "eml"


class Refusal(StrEnum):
    """Why a file was refused; the upload service words each one for the user."""

    EMPTY = "empty"
    UNKNOWN = "unknown"  # none of the accepted kinds
    OLD_OFFICE = "old_office"  # an OLE2 file that is not an Outlook message (DOC, XLS, PPT)
    MACROS = "macros"  # an Office document with macros, or declared to run them
    ARCHIVE_TOO_LARGE = "archive_too_large"  # declared uncompressed size or ratio absurd
    ARCHIVE_TOO_MANY_ENTRIES = "archive_too_many_entries"


class Refused(Exception):
    def __init__(self, reason: Refusal):
        super().__init__(reason.value)
        self.reason = reason


CONTENT_TYPES: dict[FileKind, str] = {
    FileKind.PDF: "application/pdf",
    FileKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileKind.PNG: "image/png",
    FileKind.JPEG: "image/jpeg",
    FileKind.MSG: "application/vnd.ms-outlook",
    FileKind.EML: "message/rfc822",
}

EXTENSIONS: dict[FileKind, str] = {
    FileKind.PDF: ".pdf",
    FileKind.DOCX: ".docx",
    FileKind.XLSX: ".xlsx",
    FileKind.PNG: ".png",
    FileKind.JPEG: ".jpg",
    FileKind.MSG: ".msg",
    FileKind.EML: ".eml",
}

#: Other spellings of a kind's extension that a name may keep.
_SAME_EXTENSIONS: dict[FileKind, frozenset[str]] = {FileKind.JPEG: frozenset({".jpg", ".jpeg"})}

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ZIP_LOCAL_HEADER = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

HEAD_BYTES = 1024 * 1024
EML_SCAN_BYTES = 64 * 1024
#: An email larger than this is not parsed (nor accepted): uploads stop at 10 MB anyway.
EML_MAX_BYTES = 32 * 1024 * 1024

# Zip archives: limits judged from the central directory alone. A real DOCX or XLSX holds tens
# to a few hundred parts and unpacks to some ten times its size; a zip bomb declares a
# gigabyte in a megabyte (a ratio of a thousand) or thousands of entries.
MAX_ZIP_ENTRIES = 5_000
MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
#: Below this declared size, any ratio is harmless (a few kilobytes of XML compress 200-fold).
RATIO_FLOOR_BYTES = 16 * 1024 * 1024
#: The manifests read: each at most this size, and this much in all.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_MANIFESTS_BYTES = 8 * 1024 * 1024

_OFFICE_MAIN_PARTS = {
    "word/document.xml": FileKind.DOCX,
    "xl/workbook.xml": FileKind.XLSX,
}
#: The content type each kind's main part must declare (a template or a macro-enabled
#: document declares another).
_OFFICE_MAIN_TYPES = {
    FileKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    FileKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
}
_FORBIDDEN_ZIP_MEMBERS = re.compile(
    r"(?:\.(?:exe|dll|com|scr|pif|bat|cmd|ps1|vbs|vbe|js|jse|wsf|hta|msi|jar|lnk|sh)"
    r"|(?:^|/)vbaproject\.bin)$",
    re.IGNORECASE,
)
#: Content types (``[Content_Types].xml``) and relationship types (``.rels``) that carry or
#: enable macros: ``application/vnd.ms-word.document.macroEnabled.main+xml``,
#: ``application/vnd.ms-office.vbaProject``, ``.../relationships/vbaProject``,
#: ``.../relationships/wordVbaData``, ``application/vnd.ms-word.vbaData+xml``...
_MACRO_TYPES = re.compile(r"macroenabled|vbaproject|vbadata|keymapcustomizations", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"

#: Streams at the root of every Outlook message, and of the formats sharing its container.
_MSG_PROPERTIES = "__properties_version1.0"
_MSG_CLASS_STREAMS = ("__substg1.0_001A001F", "__substg1.0_001A001E")  # PR_MESSAGE_CLASS, Unicode or 8-bit
_MSG_CLASSES = ("ipm", "report")
_NOT_MSG_STREAMS = frozenset({"worddocument", "workbook", "book", "powerpoint document", "macros",
                              "_vba_project_cur", "vba"})

_HEADER_NAME = re.compile(r"[!-9;-~]+")
_EML_SECOND_FIELDS = ("date", "to", "cc", "subject", "message-id", "received")
_EML_BROKEN = (MissingHeaderBodySeparatorDefect, MultipartInvariantViolationDefect, NoBoundaryInMultipartDefect,
               StartBoundaryNotFoundDefect)

Source = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


def detect(path_or_file: Source) -> FileKind | None:
    """The kind of the file, or None when it is none of the accepted kinds (or empty)."""
    try:
        return identify(path_or_file)
    except Refused:
        return None


def identify(path_or_file: Source) -> FileKind:
    """The kind of the file, or ``Refused`` with the reason.

    Accepts bytes, a path, or a seekable binary file object (such as a Werkzeug ``FileStorage``);
    a file object is read from its start and left at position 0, ready to be saved.
    """
    if isinstance(path_or_file, (bytes, bytearray, memoryview)):
        return _identify_stream(io.BytesIO(bytes(path_or_file)))
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "rb") as stream:
            return _identify_stream(stream)
    try:
        return _identify_stream(path_or_file)
    finally:
        path_or_file.seek(0)


def download_name(name: str, kind: FileKind | str) -> str:
    """``name`` with the extension of what the file is: ``invoice.hta`` holding an email is
    ``invoice.eml``, a PDF called ``scan.html`` is ``scan.pdf``; ``photo.jpeg`` stays."""
    kind = FileKind(kind)
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and re.fullmatch(r"[A-Za-z0-9]{1,10}", suffix):
        if "." + suffix.lower() in _SAME_EXTENSIONS.get(kind, {EXTENSIONS[kind]}):
            return name
        name = stem
    return (name or "file") + EXTENSIONS[kind]


def _identify_stream(stream: BinaryIO) -> FileKind:
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    if not head:
        raise Refused(Refusal.EMPTY)
    if head.startswith(PDF_MAGIC):
        return FileKind.PDF
    if head.startswith(PNG_MAGIC):
        return FileKind.PNG
    if head.startswith(JPEG_MAGIC):
        return FileKind.JPEG
    if head.startswith(ZIP_LOCAL_HEADER):
        return _office_kind(stream)
    if head.startswith(OLE_MAGIC):
        if _is_outlook_message(stream):
            return FileKind.MSG
        raise Refused(Refusal.OLD_OFFICE)
    if _looks_like_eml(head[:EML_SCAN_BYTES], complete=len(head) <= EML_SCAN_BYTES) and _parses_as_email(stream):
        return FileKind.EML
    raise Refused(Refusal.UNKNOWN)


# Office documents -------------------------------------------------------------------------


def _office_kind(stream: BinaryIO) -> FileKind:
    """DOCX or XLSX: sizes from the central directory, then the package's manifests.

    The archive must start with a local file header: an executable with a zip appended (a
    self-extracting archive) passes ``zipfile.is_zipfile`` but is not an Office document.
    """
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    try:
        if not zipfile.is_zipfile(stream):
            raise Refused(Refusal.UNKNOWN)
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
            _check_archive_size(infos, size)
            kind = _office_kind_from_names(infos)
            _check_manifests(archive, infos, kind)
            return kind
    except Refused:
        raise
    except Exception:  # zipfile and the XML parser on hostile bytes: anything unreadable is refused
        raise Refused(Refusal.UNKNOWN) from None


def _check_archive_size(infos: list[zipfile.ZipInfo], archive_bytes: int) -> None:
    """Refuse a zip bomb from what the central directory declares, before reading anything."""
    if len(infos) > MAX_ZIP_ENTRIES:
        raise Refused(Refusal.ARCHIVE_TOO_MANY_ENTRIES)
    declared = sum(info.file_size for info in infos)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise Refused(Refusal.ARCHIVE_TOO_LARGE)
    if declared > RATIO_FLOOR_BYTES and declared > MAX_COMPRESSION_RATIO * max(archive_bytes, 1):
        raise Refused(Refusal.ARCHIVE_TOO_LARGE)
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise Refused(Refusal.ARCHIVE_TOO_LARGE)


def _office_kind_from_names(infos: list[zipfile.ZipInfo]) -> FileKind:
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):  # two parts of one name: readers disagree on which counts
        raise Refused(Refusal.UNKNOWN)
    if "[Content_Types].xml" not in names:
        raise Refused(Refusal.UNKNOWN)
    if any(_FORBIDDEN_ZIP_MEMBERS.search(name) for name in names):
        raise Refused(Refusal.MACROS if any(n.lower().endswith("vbaproject.bin") for n in names) else Refusal.UNKNOWN)
    kinds = {kind for part, kind in _OFFICE_MAIN_PARTS.items() if part in names}
    if len(kinds) != 1:
        raise Refused(Refusal.UNKNOWN)
    return kinds.pop()


def _check_manifests(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], kind: FileKind) -> None:
    """Macros by declaration, whatever the parts are named: a macro-enabled or VBA content type
    in ``[Content_Types].xml``, or a relationship of a VBA type in any ``.rels`` part. The main
    part must also declare the plain document's content type."""
    budget = [MAX_MANIFESTS_BYTES]
    types = _read_xml(archive, archive.getinfo("[Content_Types].xml"), budget)
    overrides: dict[str, str] = {}
    for element in types.iter():
        content_type = element.get("ContentType", "")
        if _MACRO_TYPES.search(content_type):
            raise Refused(Refusal.MACROS)
        if element.tag == _CT_NS + "Override":
            overrides[element.get("PartName", "").lstrip("/").lower()] = content_type.strip().lower()
    for info in infos:
        if info.filename.lower().endswith(".rels"):
            for element in _read_xml(archive, info, budget).iter(_REL_NS + "Relationship"):
                if _MACRO_TYPES.search(element.get("Type", "")):
                    raise Refused(Refusal.MACROS)
    main_part = next(part for part, k in _OFFICE_MAIN_PARTS.items() if k == kind)
    if overrides.get(main_part) != _OFFICE_MAIN_TYPES[kind]:
        raise Refused(Refusal.UNKNOWN)


def _read_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> ElementTree.Element:
    """One small XML part, read with a bound whatever its entry declares; no DTDs (Office
    never writes one, and entities are how XML bombs work)."""
    limit = min(MAX_MANIFEST_BYTES, budget[0])
    if info.file_size > limit:
        raise Refused(Refusal.UNKNOWN)
    with archive.open(info) as part:
        data = part.read(limit + 1)
    budget[0] -= len(data)
    if len(data) > limit or _DOCTYPE.search(data):
        raise Refused(Refusal.UNKNOWN)
    return ElementTree.fromstring(data)


# Outlook messages -------------------------------------------------------------------------


def _is_outlook_message(stream: BinaryIO) -> bool:
    """An OLE2 compound file with the streams of an Outlook message: the property stream, and
    a message class (``IPM.Note``, ``IPM.Appointment``, ``REPORT.IPM...``); and none of the
    streams of Word, Excel, PowerPoint or a VBA project."""
    stream.seek(0)
    try:
        ole = olefile.OleFileIO(stream)
    except Exception:  # olefile on hostile bytes: whatever it cannot read is not a message
        return False
    try:
        roots = {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
        if roots & _NOT_MSG_STREAMS or _MSG_PROPERTIES not in roots:
            return False
        for name in _MSG_CLASS_STREAMS:
            if name.lower() in roots and ole.get_type(name) == olefile.STGTY_STREAM:
                raw = ole.openstream(name).read(256)
                text = raw.decode("utf-16-le" if name.endswith("1F") else "latin-1", errors="replace")
                return text.strip("\x00").lower().startswith(_MSG_CLASSES)
        return False
    except Exception:
        return False
    finally:
        ole.close()


# Emails -----------------------------------------------------------------------------------


def _looks_like_eml(head: bytes, complete: bool) -> bool:
    """A quick look before parsing: text whose first lines are all header fields (plain text,
    HTML, scripts and mbox separators fail on their first line), the header block within the
    first 64 KB."""
    if b"\x00" in head:
        return False
    text = _decode(head)
    if text is None:
        return False
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    block, blank, _ = text.partition("\n\n")
    if not blank and not complete:
        return False
    lines = block.split("\n")
    if not blank and lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines):
        if line[:1] in (" ", "\t"):
            if number == 0:
                return False
            continue
        name, colon, _ = line.partition(":")
        if not colon or not _HEADER_NAME.fullmatch(name):
            return False
    return bool(lines)


def _parses_as_email(stream: BinaryIO) -> bool:
    """Parsed with ``email.parser`` (the ``default`` policy): a ``From`` holding an address
    (someone at a domain), one more field every real message carries (a date, a recipient with
    an address, a subject, a message ID or a ``Received`` trace), and a body whose parts parse
    and decode."""
    stream.seek(0)
    data = stream.read(EML_MAX_BYTES + 1)
    if len(data) > EML_MAX_BYTES:
        return False
    try:
        message = BytesParser(policy=policy.default).parsebytes(data.removeprefix(b"\xef\xbb\xbf"))
        if not _has_address(message.get("From")):
            return False
        if not any(_real_field(message, name) for name in _EML_SECOND_FIELDS):
            return False
        for part in message.walk():
            if any(isinstance(defect, _EML_BROKEN) for defect in part.defects):
                return False
            if not part.is_multipart():
                part.get_content()
        return True
    except Exception:  # the parser, a header or a part's decoding on hostile bytes
        return False


def _has_address(header) -> bool:
    addresses = getattr(header, "addresses", None) or ()
    return any(a.username and "." in a.domain for a in addresses)


def _real_field(message, name: str) -> bool:
    header = message.get(name)
    if header is None or not str(header).strip():
        return False
    if name in ("to", "cc"):
        return _has_address(header)
    return True


def _decode(data: bytes) -> str | None:
    for encoding in ("ascii", "utf-8", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None

"""What a proof-of-execution file really is, judged by its content (SPEC section 4, step 6).

A name or a browser-supplied content type is whatever the uploader wants it to be: a renamed
executable calls itself ``invoice.pdf``. Every upload is therefore identified from its bytes, and
anything that is not clearly one of the accepted kinds is refused. Office archives are judged
from their name list only, never by extracting, so a zip bomb costs nothing to refuse.
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from enum import StrEnum
from typing import BinaryIO


class FileKind(StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PNG = "png"
    JPEG = "jpeg"
    MSG = "msg"
    EML = "eml"


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

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ZIP_LOCAL_HEADER = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MSG_STREAM_MARKER = "__substg1.0_".encode("utf-16-le")

HEAD_BYTES = 1024 * 1024
EML_SCAN_BYTES = 64 * 1024
DIRECTORY_SCAN_BYTES = 64 * 1024
MAX_ZIP_ENTRIES = 10_000

_OFFICE_MAIN_PARTS = {
    "word/document.xml": FileKind.DOCX,
    "xl/workbook.xml": FileKind.XLSX,
}
_FORBIDDEN_ZIP_MEMBERS = re.compile(
    r"(?:\.(?:exe|dll|com|scr|pif|bat|cmd|ps1|vbs|vbe|js|jse|wsf|hta|msi|jar|lnk|sh)"
    r"|(?:^|/)vbaproject\.bin)$",
    re.IGNORECASE,
)
_HEADER_NAME = re.compile(r"[!-9;-~]+")
_EML_REQUIRED = "from"
_EML_ANY_OF = frozenset({"date", "subject", "to", "message-id", "received"})

Source = bytes | bytearray | memoryview | str | os.PathLike | BinaryIO


def detect(path_or_file: Source) -> FileKind | None:
    """The kind of the file, or None when it is none of the accepted kinds (or empty).

    Accepts bytes, a path, or a seekable binary file object (such as a Werkzeug ``FileStorage``);
    a file object is read from its start and left at position 0, ready to be saved.
    """
    if isinstance(path_or_file, (bytes, bytearray, memoryview)):
        return _detect_stream(io.BytesIO(bytes(path_or_file)))
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "rb") as stream:
            return _detect_stream(stream)
    try:
        return _detect_stream(path_or_file)
    finally:
        path_or_file.seek(0)


def _detect_stream(stream: BinaryIO) -> FileKind | None:
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    if not head:
        return None
    if head.startswith(PDF_MAGIC):
        return FileKind.PDF
    if head.startswith(PNG_MAGIC):
        return FileKind.PNG
    if head.startswith(JPEG_MAGIC):
        return FileKind.JPEG
    if head.startswith(ZIP_LOCAL_HEADER):
        return _office_kind(stream)
    if head.startswith(OLE_MAGIC):
        return FileKind.MSG if _is_outlook_message(stream, head) else None
    if _looks_like_eml(head[:EML_SCAN_BYTES], complete=len(head) <= EML_SCAN_BYTES):
        return FileKind.EML
    return None


def _office_kind(stream: BinaryIO) -> FileKind | None:
    """DOCX or XLSX from the archive's name list alone.

    The archive must start with a local file header: an executable with a zip appended (a
    self-extracting archive) passes ``zipfile.is_zipfile`` but is not an Office document. Macro
    projects and executable members are refused, as no real DOCX or XLSX carries them.
    """
    stream.seek(0)
    try:
        if not zipfile.is_zipfile(stream):
            return None
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            NotImplementedError, UnicodeDecodeError):
        return None
    if len(infos) > MAX_ZIP_ENTRIES:
        return None
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names:
        return None
    if any(_FORBIDDEN_ZIP_MEMBERS.search(name) for name in names):
        return None
    kinds = {kind for part, kind in _OFFICE_MAIN_PARTS.items() if part in names}
    return kinds.pop() if len(kinds) == 1 else None


def _is_outlook_message(stream: BinaryIO, head: bytes) -> bool:
    """An OLE2 compound file whose directory names Outlook's ``__substg1.0_`` property streams.

    Word and Excel 97 files share the container but not these stream names. The directory is
    looked for in the first megabyte and, for a large message whose directory was written after
    its attachments, also at the first directory sector the header points to.
    """
    if MSG_STREAM_MARKER in head:
        return True
    if len(head) < 0x34:
        return False
    sector_shift = int.from_bytes(head[0x1E:0x20], "little")
    first_directory_sector = int.from_bytes(head[0x30:0x34], "little")
    if sector_shift not in (9, 12) or first_directory_sector >= 0xFFFFFFFA:
        return False
    stream.seek((first_directory_sector + 1) << sector_shift)
    return MSG_STREAM_MARKER in stream.read(DIRECTORY_SCAN_BYTES)


def _looks_like_eml(head: bytes, complete: bool) -> bool:
    """An RFC 5322 message: text whose header block names a sender and at least one other
    field every real message carries. Plain text, HTML and scripts fail on their first line."""
    if b"\x00" in head:
        return False
    text = _decode(head)
    if text is None:
        return False
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    block, blank, _ = text.partition("\n\n")
    if not blank and not complete:
        return False
    names: set[str] = set()
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
        names.add(name.lower())
    return _EML_REQUIRED in names and bool(names & _EML_ANY_OF)


def _decode(data: bytes) -> str | None:
    for encoding in ("ascii", "utf-8", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None

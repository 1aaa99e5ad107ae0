"""Real files of the kinds an attacker or a partner uploads, built here byte by byte: Outlook
messages and Word 97 documents (OLE2 compound files, written by ``compound_file`` as olefile
cannot create one), macro-enabled documents, zip bombs, polyglots and emails."""
from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

from tests.factories import poe_template_docx

# OLE2 compound files (MS-CFB, version 3: 512-byte sectors) --------------------------------

_FREE, _END, _FAT, _NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_SECTOR = 512
_MINI_CUTOFF = 4096


def compound_file(streams: dict[str, bytes], *, directory_last: bool = False) -> bytes:
    """A compound file holding ``streams`` (``"name"`` at the root or ``"storage/name"`` one
    level down). Each stream is padded to the mini-stream cutoff so every one lives in the
    main FAT (a reader follows the same chains either way); ``directory_last`` writes the
    directory after the streams, as Outlook does for a message with large attachments."""
    storages: dict[str, list[str]] = {"": []}
    for path in streams:
        parent, _, name = path.rpartition("/")
        if parent and parent not in storages:
            storages[parent] = []
            storages[""].append(parent)
        storages[parent].append(path)
    # Directory entries: the root, then every storage and stream.
    entries = [("Root Entry", 5, "")]
    for path in storages[""]:
        entries.append((path, 1 if path in storages and path not in streams else 2, path))
    for storage, children in storages.items():
        if storage:
            entries.extend((child.rpartition("/")[2], 2, child) for child in children)
    index = {path: i for i, (_n, _t, path) in enumerate(entries)}
    children_of = {storage: [index[c] for c in kids] for storage, kids in storages.items()}

    padded = {path: data.ljust(_MINI_CUTOFF, b"\x00") for path, data in streams.items()}
    directory_sectors = -(-len(entries) * 128 // _SECTOR)
    stream_sectors = {path: -(-len(data) // _SECTOR) for path, data in padded.items()}
    body_sectors = directory_sectors + sum(stream_sectors.values())
    fat_sectors = 1
    while fat_sectors * 128 < body_sectors + fat_sectors:
        fat_sectors += 1
    fat = [_FAT] * fat_sectors
    order = [*padded, "<directory>"] if directory_last else ["<directory>", *padded]
    starts = {}
    for item in order:
        count = directory_sectors if item == "<directory>" else stream_sectors[item]
        starts[item] = len(fat)
        fat.extend(range(len(fat) + 1, len(fat) + count))
        fat.append(_END)
    fat.extend([_FREE] * (fat_sectors * 128 - len(fat)))

    def entry(name, kind, child=_NONE, right=_NONE, start=_END, size=0):
        encoded = (name + "\x00").encode("utf-16-le")
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", _NONE, right, child) + b"\x00" * 36 + struct.pack("<IQ", start, size))

    directory = b""
    for i, (name, kind, path) in enumerate(entries):
        siblings = children_of[path.rpartition("/")[0]] if i else [0]
        right = siblings[siblings.index(i) + 1] if i and siblings.index(i) + 1 < len(siblings) else _NONE
        child = children_of[path][0] if (kind in (1, 5) and children_of.get(path)) else _NONE
        if kind == 2:
            directory += entry(name, kind, right=right, start=starts[path], size=len(padded[path]))
        else:
            directory += entry(name, kind, child=child, right=right)
    directory = directory.ljust(directory_sectors * _SECTOR, b"\x00")

    header = bytearray(_SECTOR)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, fat_sectors, starts["<directory>"], 0, _MINI_CUTOFF, _END, 0, _END, 0)
    difat = list(range(fat_sectors)) + [_FREE] * (109 - fat_sectors)
    struct.pack_into("<109I", header, 0x4C, *difat)
    out = bytes(header) + struct.pack(f"<{len(fat)}I", *fat)
    for item in order:
        out += directory if item == "<directory>" else padded[item].ljust(stream_sectors[item] * _SECTOR, b"\x00")
    return out


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def msg_bytes(message_class: str = "IPM.Note", extra: dict[str, bytes] | None = None, **options) -> bytes:
    """An Outlook message: its property stream, message class, subject and body, and an
    attachment storage."""
    streams = {
        "__properties_version1.0": b"\x00" * 32,
        "__substg1.0_001A001F": _utf16(message_class),
        "__substg1.0_0037001F": _utf16("Acknowledgement of the Dynamics 365 deployment"),
        "__substg1.0_1000001F": _utf16("We confirm Fabrikam deployed Dynamics 365 Sales for us."),
        "__nameid_version1.0/__substg1.0_00020102": b"\x00" * 16,
        "__attach_version1.0_#00000000/__substg1.0_3707001F": _utf16("minutes.pdf"),
    }
    streams.update(extra or {})
    return compound_file(streams, **options)


def word97_bytes() -> bytes:
    """A Word 97 document whose text names Outlook's property streams (Word stores its text as
    UTF-16, so a document can carry any stream name as text)."""
    text = _utf16("Notes: __substg1.0_0037001F __properties_version1.0 IPM.Note")
    return compound_file({"WordDocument": b"\xec\xa5" + b"\x00" * 30 + text, "1Table": b"\x00" * 64,
                          "Macros/dir": b"Attribute VB_Name"})


# Office documents -------------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_members() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(poe_template_docx())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


_DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_DOCM_MAIN = b"application/vnd.ms-word.document.macroEnabled.main+xml"
_VBA_RELATIONSHIP = (b'<Relationship Id="rId99" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
                     b'Target="%s"/></Relationships>')
VBA_PROJECT = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Attribute VB_Name = \"ThisDocument\"\x00" * 20


def docm_bytes(*, content_type: bool = True, relationship: bool = True, part: str = "word/media/image9.png",
               vba_content_type: bool = False) -> bytes:
    """A macro-enabled Word document whose VBA project is stored under another name (``part``),
    declared by its main part's content type (``content_type``), by a relationship to the
    project (``relationship``), or by the project's own content type (``vba_content_type``)."""
    members = docx_members()
    types = members["[Content_Types].xml"]
    assert _DOCX_MAIN in types
    if content_type:
        types = types.replace(_DOCX_MAIN, _DOCM_MAIN)
    if vba_content_type:
        types = types.replace(b"</Types>", b'<Override PartName="/%s" ContentType="application/vnd.ms-office.vbaProject"/>'
                              b"</Types>" % part.encode())
    members["[Content_Types].xml"] = types
    if relationship:
        target = part.removeprefix("word/").encode()
        members["word/_rels/document.xml.rels"] = members["word/_rels/document.xml.rels"].replace(
            b"</Relationships>", _VBA_RELATIONSHIP % target)
    members[part] = VBA_PROJECT
    return zip_bytes(members)


#: CRC-32 of a gigabyte of zeros, as ``_zeros_crc`` computes it (a second of CPU saved per run).
_ZEROS_CRC = {1 << 30: 0x5B64C2B0}


@functools.cache
def _zeros_crc(size: int) -> int:
    if size in _ZEROS_CRC:
        return _ZEROS_CRC[size]
    crc, chunk = 0, bytes(1 << 24)
    for offset in range(0, size, len(chunk)):
        crc = zlib.crc32(chunk[: min(len(chunk), size - offset)], crc)
    return crc


@functools.cache
def zip_bomb(declared: int = 1 << 30, entries: int = 1, base: str = "docx") -> bytes:
    """A DOCX (or a plain zip) with ``entries`` extra parts of ``declared`` zero bytes each,
    deflated: 1 GB takes about a megabyte. The deflate stream is one fully flushed block of a
    megabyte of zeros, repeated (each such block stands alone), so it costs nothing to build;
    zipfile writes the rest of the archive, its central directory listing those parts too."""
    block_size = 1 << 20
    assert declared % block_size == 0 and declared < zipfile.ZIP64_LIMIT
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(block_size)) + compressor.flush(zlib.Z_FULL_FLUSH)
    deflated = block * (declared // block_size) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = _zeros_crc(declared)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (docx_members() if base == "docx" else {"readme.txt": b"hello"}).items():
            archive.writestr(name, data)
        for number in range(entries):
            info = zipfile.ZipInfo(f"word/media/zeros{number}.bin", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.CRC, info.compress_size, info.file_size = crc, len(deflated), declared
            info.header_offset = buffer.tell()
            buffer.write(info.FileHeader() + deflated)
            archive.filelist.append(info)
            archive.NameToInfo[info.filename] = info
            archive.start_dir = buffer.tell()  # where zipfile writes the central directory on close
    return buffer.getvalue()


def many_entries(count: int) -> bytes:
    members = docx_members()
    members.update({f"word/media/part{n}.xml": b"" for n in range(count)})
    return zip_bytes(members)


# Polyglots and emails ---------------------------------------------------------------------

HTML_PAYLOAD = b"<html><body><script>alert(document.cookie)</script></body></html>"


def pdf_html_polyglot() -> bytes:
    """A valid-looking PDF that a browser sniffing HTML would also run."""
    return b"%PDF-1.7\n" + HTML_PAYLOAD + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png_svg_polyglot() -> bytes:
    return (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
            + b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')


def eml_bytes(body: bytes = b"We confirm Fabrikam deployed Dynamics 365 Sales for us.\r\n") -> bytes:
    return (b"From: Jane Customer <jane@wingtiptoys.com>\r\nTo: Gina <gina@fabrikam.example>\r\n"
            b"Subject: Acknowledgement\r\nDate: Tue, 4 Mar 2025 10:00:00 +0000\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)


#: "Emails" that are a script with two header lines in front.
FAKE_EMAILS = {
    "sender-without-address": b"From: invoice\nSubject: Invoice\n\n<script>alert(1)</script>",
    "one-header-only": b"From: billing@wingtiptoys.com\nX-Mailer: x\n\n<html><script>alert(1)</script></html>",
    "recipient-without-address": b"From: billing@wingtiptoys.com\nTo: you\n\nmshta vbscript:Execute()",
    "multipart-without-parts": (b"From: billing@wingtiptoys.com\nSubject: Invoice\n"
                                b"Content-Type: multipart/mixed; boundary=zz\n\n<script>alert(1)</script>"),
    "unknown-charset": (b"From: billing@wingtiptoys.com\nSubject: Invoice\n"
                        b"Content-Type: text/html; charset=x-klingon\n\n<script>alert(1)</script>"),
}

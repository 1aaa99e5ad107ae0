"""The one place uploaded files are written, read and removed.

Files live in a local folder (``UPLOAD_FOLDER``, by default ``instance/uploads``) under a random
key, never under anything the user supplied, so an upload can neither overwrite another nor
escape the folder. What the user called the file is kept only as a display name, made safe by
:func:`display_name`. Keeping every path computation here means a move to object storage later
changes this module and nothing else.

Files follow the database transaction that records them: a file stored for a transaction that
does not commit is deleted again, and a file whose row a transaction removes is deleted only
once that transaction has committed. Views never clean up after a failure.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

CHUNK_BYTES = 64 * 1024
MAX_DISPLAY_NAME = 200
_KEY = re.compile(r"[0-9a-f]{32}")
_STRIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class FileTooLarge(Exception):
    """The upload went past the size limit; nothing of it was kept."""

    def __init__(self, max_bytes: int):
        super().__init__(f"file larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


def upload_folder() -> Path:
    configured = current_app.config.get("UPLOAD_FOLDER")
    return Path(configured or os.path.join(current_app.instance_path, "uploads"))


def path_for(key: str) -> Path:
    """The file's path, for a well-formed key only: a key is 32 lowercase hex digits, so no
    key can name a path outside the folder."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError("invalid storage key")
    return upload_folder() / key[:2] / key


def save(fileobj: BinaryIO, max_bytes: int) -> StoredFile:
    """Store the whole file (from its start when it can seek) under a new random key.

    The content is streamed to a temporary file beside its destination, so the size limit is
    enforced while reading rather than after buffering, and a partial upload never appears
    under a key. Raises :class:`FileTooLarge` as soon as ``max_bytes`` is passed.
    """
    if _seekable(fileobj):
        fileobj.seek(0)
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, partial = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := fileobj.read(min(CHUNK_BYTES, max_bytes - size + 1)):
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        key = secrets.token_hex(16)
        destination = path_for(key)
        destination.parent.mkdir(exist_ok=True)
        os.replace(partial, destination)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return StoredFile(key=key, size=size, sha256=digest.hexdigest())


def open_file(key: str) -> BinaryIO:
    return open(path_for(key), "rb")


def delete(key: str) -> None:
    """Remove the file; a file already gone is not an error, so retries and cleanups are safe."""
    path_for(key).unlink(missing_ok=True)


def display_name(filename: str) -> str:
    """A name fit to show and to offer as a download name for what the user called the file.

    Only the last path component is kept (browsers on Windows may send ``C:\\...\\x.pdf``);
    control and format characters go, including the right-to-left override used to disguise
    ``exe`` as ``pdf``; whitespace runs become one space; long names are cut to
    ``MAX_DISPLAY_NAME`` characters keeping the extension.
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if ch.isspace() or unicodedata.category(ch) not in _STRIPPED_CATEGORIES
    )
    name = " ".join(name.split())
    if name in ("", ".", ".."):
        return "file"
    if len(name) > MAX_DISPLAY_NAME:
        stem, ext = os.path.splitext(name)
        if not ext or len(ext) > MAX_DISPLAY_NAME // 10:
            stem, ext = name, ""
        name = stem[: MAX_DISPLAY_NAME - len(ext)].rstrip() + ext
    return name


def _seekable(fileobj) -> bool:
    try:
        return bool(fileobj.seekable())
    except (AttributeError, OSError, ValueError):
        return False


# Files follow the transaction -----------------------------------------------------------------

_STORED = "cpor_files_stored"
_REMOVED = "cpor_files_removed"


def stored_for(session: Session, key: str) -> None:
    """``key`` was saved for the session's transaction: deleted again unless it commits."""
    session.info.setdefault(_STORED, []).append(key)


def delete_on_commit(session: Session, key: str) -> None:
    """The file's row goes in the session's transaction: delete the file once that commits."""
    session.info.setdefault(_REMOVED, []).append(key)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_STORED, None)
    for key in session.info.pop(_REMOVED, ()):
        delete(key)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    session.info.pop(_REMOVED, None)
    for key in session.info.pop(_STORED, ()):
        delete(key)


"""The one place uploaded files are written, read and removed.

Files live in a storage backend chosen by ``STORAGE_BACKEND``: ``local`` (the default, embedded:
a folder, ``UPLOAD_FOLDER``, by default ``instance/uploads``) or ``s3`` (any S3-API object store,
``S3_BUCKET``, for several app servers that must all reach every file). Either way a file is kept
under a random key, never under anything the user supplied, so an upload can neither overwrite
another nor escape its place. What the user called the file is kept only as a display name, made
safe by :func:`display_name`. Callers use the module's functions (``save``, ``open_file``,
``delete``) and never learn which backend answered.

Both directions stream: an upload is read in chunks with the size limit enforced while reading
(to a temporary file beside its destination, or to a temporary file that goes to S3, as a
multipart upload when it is large), and a download is a file object read in chunks by the response.

Files follow the database transaction that records them: a file stored for a transaction that
does not commit is deleted again, and a file whose row a transaction removes is deleted only
once that transaction has committed. Views never clean up after a failure.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

CHUNK_BYTES = 64 * 1024
#: Parts of an S3 multipart upload (S3's minimum part is 5 MB); smaller files go in one request.
MULTIPART_BYTES = 8 * 1024 * 1024
MAX_DISPLAY_NAME = 200
_KEY = re.compile(r"[0-9a-f]{32}")
_STRIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_S3_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})

log = logging.getLogger(__name__)


class FileTooLarge(Exception):
    """The upload went past the size limit; nothing of it was kept."""

    def __init__(self, max_bytes: int):
        super().__init__(f"file larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class StoredFileMissing(FileNotFoundError):
    """No content under this key in this app's storage (answered as a 404, logged)."""

    def __init__(self, key: str):
        super().__init__(f"no stored file {key}")
        self.key = key


class StorageUnavailable(RuntimeError):
    """The storage did not answer (object store unreachable, refused credentials): nothing was
    stored or read; answered as a 503 that says to try again."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class Storage(Protocol):
    """What a backend does. Keys are made here (:func:`new_key`) and checked by the backend."""

    def save(self, fileobj: BinaryIO, max_bytes: int) -> StoredFile: ...

    def open(self, key: str) -> BinaryIO:
        """The file's content as a binary file object, read in chunks; StoredFileMissing if gone."""

    def delete(self, key: str) -> None:
        """Remove the file; a file already gone is not an error."""

    def exists(self, key: str) -> bool: ...


def new_key() -> str:
    return secrets.token_hex(16)


def check_key(key: str) -> str:
    """A key is 32 lowercase hex digits, so no key can name a place outside the storage."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError("invalid storage key")
    return key


def _copy_limited(fileobj: BinaryIO, out, max_bytes: int) -> tuple[int, str]:
    """Copy ``fileobj`` (from its start when it can seek) to ``out`` in chunks; raise
    :class:`FileTooLarge` as soon as more than ``max_bytes`` have been read."""
    if _seekable(fileobj):
        fileobj.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := fileobj.read(min(CHUNK_BYTES, max_bytes - size + 1)):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(max_bytes)
        digest.update(chunk)
        out.write(chunk)
    return size, digest.hexdigest()


class LocalStorage:
    """A folder on this server's disk: the embedded default, for one app server."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path_for(self, key: str) -> Path:
        key = check_key(key)
        return self.folder / key[:2] / key

    def save(self, fileobj: BinaryIO, max_bytes: int) -> StoredFile:
        """Streamed to a temporary file beside its destination, so a partial upload never
        appears under a key."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=self.folder, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                size, sha256 = _copy_limited(fileobj, out, max_bytes)
                out.flush()
                os.fsync(out.fileno())
            key = new_key()
            destination = self.path_for(key)
            destination.parent.mkdir(exist_ok=True)
            os.replace(partial, destination)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return StoredFile(key=key, size=size, sha256=sha256)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path_for(key), "rb")
        except FileNotFoundError as error:
            raise StoredFileMissing(key) from error

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()


class S3Storage:
    """An S3-API bucket (AWS S3, or any compatible store through ``S3_ENDPOINT_URL``): every
    app server reaches every file. Credentials come the usual boto3 ways (``AWS_ACCESS_KEY_ID``
    and ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role), never from the portal's settings."""

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.transfer = TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES,
                                       max_concurrency=2)

    @classmethod
    def from_config(cls, config) -> "S3Storage":
        if not config.get("S3_BUCKET"):
            raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET.")
        endpoint = config.get("S3_ENDPOINT_URL") or None
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=config.get("S3_REGION") or None,
            config=BotoConfig(
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                # Compatible stores on a plain host name (MinIO, moto, Ceph) want path-style URLs.
                s3={"addressing_style": "path" if endpoint else "auto"},
            ),
        )
        return cls(client, config["S3_BUCKET"], config.get("S3_PREFIX") or "")

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def save(self, fileobj: BinaryIO, max_bytes: int) -> StoredFile:
        """Read in chunks into a temporary file on disk with the limit enforced while reading,
        then sent from that file in one request, or as a multipart upload whose parts are read
        from disk as they go (s3transfer aborts it if it fails part-way): nothing appears under
        the key unless the whole file arrived, and no more than a chunk is in memory at a time."""
        key = new_key()
        with tempfile.NamedTemporaryFile(prefix="cpor-upload-", suffix=".part") as spool:
            size, sha256 = _copy_limited(fileobj, spool, max_bytes)
            spool.flush()
            try:
                self.client.upload_file(spool.name, self.bucket, self._name(key), Config=self.transfer)
            except (BotoCoreError, ClientError, boto3.exceptions.S3UploadFailedError) as error:
                raise StorageUnavailable(f"could not store {key}: {error}") from error
        return StoredFile(key=key, size=size, sha256=sha256)

    def open(self, key: str) -> BinaryIO:
        """The object's body, a stream read from the network as the response is sent."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _S3_MISSING:
                raise StoredFileMissing(key) from error
            raise StorageUnavailable(f"could not read {key}: {error}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"could not read {key}: {error}") from error

    def delete(self, key: str) -> None:
        """S3 answers a delete of a missing object with success, so this is idempotent too."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._name(key))
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"could not delete {key}: {error}") from error

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _S3_MISSING:
                return False
            raise StorageUnavailable(f"could not look up {key}: {error}") from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"could not look up {key}: {error}") from error
        return True


def upload_folder() -> Path:
    configured = current_app.config.get("UPLOAD_FOLDER")
    return Path(configured or os.path.join(current_app.instance_path, "uploads"))


def backend() -> Storage:
    """This app's backend, from its settings: ``STORAGE_BACKEND`` is ``local`` or ``s3``. The
    S3 client is made once per app (it holds a connection pool); the folder is read each time."""
    if current_app.config.get("STORAGE_BACKEND", "local") == "s3":
        found = current_app.extensions.get("cpor_s3_storage")
        if found is None:
            found = current_app.extensions["cpor_s3_storage"] = S3Storage.from_config(current_app.config)
        return found
    return LocalStorage(upload_folder())


def path_for(key: str) -> Path:
    """The file's path in the local folder, for a well-formed key only."""
    return LocalStorage(upload_folder()).path_for(key)


def save(fileobj: BinaryIO, max_bytes: int) -> StoredFile:
    """Store the whole file (from its start when it can seek) under a new random key. Raises
    :class:`FileTooLarge` as soon as ``max_bytes`` is passed, leaving nothing behind."""
    return backend().save(fileobj, max_bytes)


def open_file(key: str) -> BinaryIO:
    return backend().open(key)


def delete(key: str) -> None:
    """Remove the file; a file already gone is not an error, so retries and cleanups are safe."""
    backend().delete(key)


def exists(key: str) -> bool:
    return backend().exists(key)


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


def _delete_quietly(key: str) -> None:
    """Clean-up after a transaction ended: a failure here (the object store unreachable) must
    not turn a committed change into an error page. The file is left over and logged."""
    try:
        delete(key)
    except Exception:  # noqa: BLE001  (any backend's failure, logged with the key)
        log.exception("could not delete stored file %s; it is left over", key)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_STORED, None)
    for key in session.info.pop(_REMOVED, ()):
        _delete_quietly(key)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    session.info.pop(_REMOVED, None)
    for key in session.info.pop(_STORED, ()):
        _delete_quietly(key)


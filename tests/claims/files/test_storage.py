"""The storage of uploaded files: the same behaviour on the local folder and on S3 (moto's
standalone server on loopback), streaming both ways; the local folder's own layout."""
import hashlib
import io
import os
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import text
from werkzeug.datastructures import FileStorage

from portal.claims.files import storage
from portal.claims.files.storage import FileTooLarge, StoredFile, StoredFileMissing, display_name
from portal.extensions import db
from tests import services


@pytest.fixture
def folder(app, tmp_path):
    uploads = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(uploads)
    with app.app_context():
        yield uploads


def files_in(folder):
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
    )


@dataclass
class Store:
    backend: str
    #: Everything the backend holds now, by name (partial uploads included).
    names: Callable[[], list[str]]


@pytest.fixture(params=["local", "s3"])
def store(request, app, tmp_path):
    """The app's storage on each backend, inside an app context, with a way to list what it holds."""
    uploads = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(uploads)
    if request.param == "s3":
        settings = request.getfixturevalue("s3_settings")
        app.config.update(settings)
        names = lambda: services.bucket_keys(settings)  # noqa: E731
    else:
        names = lambda: sorted(p.name for p in uploads.rglob("*") if p.is_file())  # noqa: E731
    with app.app_context():
        yield Store(request.param, names)


def test_the_backend_is_the_one_the_settings_name(store):
    expected = storage.S3Storage if store.backend == "s3" else storage.LocalStorage
    assert isinstance(storage.backend(), expected)


def test_save_open_delete_round_trip(store):
    data = os.urandom(200_000)
    stored = storage.save(io.BytesIO(data), max_bytes=len(data))
    assert stored == StoredFile(
        key=stored.key, size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    assert store.names() == [stored.key]
    assert storage.exists(stored.key)
    with storage.open_file(stored.key) as f:
        assert f.read() == data
    storage.delete(stored.key)
    assert store.names() == []
    assert not storage.exists(stored.key)
    with pytest.raises(FileNotFoundError):
        storage.open_file(stored.key)
    with pytest.raises(StoredFileMissing):
        storage.open_file(stored.key)


def test_local_files_are_laid_out_by_key(folder):
    stored = storage.save(io.BytesIO(b"%PDF-1.7"), max_bytes=100)
    assert files_in(folder) == [os.path.join(stored.key[:2], stored.key)]


def test_delete_of_a_missing_file_is_fine(store):
    storage.delete("0" * 32)
    stored = storage.save(io.BytesIO(b"twice"), max_bytes=10)
    storage.delete(stored.key)
    storage.delete(stored.key)
    assert store.names() == []


def test_save_stores_the_whole_upload_even_after_it_was_read(store):
    upload = FileStorage(io.BytesIO(b"%PDF-1.7 content"), filename="../../etc/passwd")
    upload.read(4)
    stored = storage.save(upload, max_bytes=100)
    with storage.open_file(stored.key) as f:
        assert f.read() == b"%PDF-1.7 content"
    assert "passwd" not in stored.key


def test_empty_file_is_stored_with_size_zero(store):
    stored = storage.save(io.BytesIO(b""), max_bytes=10)
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    with storage.open_file(stored.key) as f:
        assert f.read() == b""


def test_file_of_exactly_the_limit_is_accepted(store):
    assert storage.save(io.BytesIO(b"x" * 1000), max_bytes=1000).size == 1000


@pytest.mark.parametrize("size", [1001, 10 * 64 * 1024])
def test_too_large_file_is_refused_and_nothing_is_left_behind(store, size):
    with pytest.raises(FileTooLarge) as raised:
        storage.save(io.BytesIO(b"x" * size), max_bytes=1000)
    assert raised.value.max_bytes == 1000
    assert store.names() == []


class EndlessStream:
    def __init__(self):
        self.read_bytes = 0

    def read(self, size=-1):
        size = 64 * 1024 if size is None or size < 0 else size
        self.read_bytes += size
        return b"x" * size


def test_too_large_is_raised_as_soon_as_the_limit_is_passed(store):
    stream = EndlessStream()
    with pytest.raises(FileTooLarge):
        storage.save(stream, max_bytes=100_000)
    assert stream.read_bytes <= 100_000 + 64 * 1024
    assert store.names() == []


def test_a_failing_stream_leaves_nothing_behind(store):
    class Broken:
        def read(self, size=-1):
            raise OSError("connection reset")

    with pytest.raises(OSError):
        storage.save(Broken(), max_bytes=100)
    assert store.names() == []


def test_keys_are_random(store):
    keys = {storage.save(io.BytesIO(b"same"), max_bytes=10).key for _ in range(20)}
    assert len(keys) == 20
    assert all(len(key) == 32 for key in keys)


def test_a_large_file_streams_both_ways_without_being_held_in_memory(store, tmp_path):
    """24 MB (three parts of an S3 multipart upload) from a file on disk: saved and read back in
    chunks, with never more than a few chunks of it in Python's memory at once (on S3, the
    checksums and the request signature read 1 MB at a time in each of two upload threads)."""
    size = 24 * 1024 * 1024
    source = tmp_path / "large.bin"
    with open(source, "wb") as out:
        for _ in range(size // (1024 * 1024)):
            out.write(os.urandom(1024 * 1024))
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    storage.exists("0" * 32)  # the S3 client, its service model and a connection: made once per app

    tracemalloc.start()
    try:
        with open(source, "rb") as upload:
            stored = storage.save(upload, max_bytes=size)
        _, saving_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        with storage.open_file(stored.key) as f:
            while chunk := f.read(64 * 1024):
                digest.update(chunk)
        _, reading_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.size == size and stored.sha256 == expected
    assert digest.hexdigest() == expected
    assert saving_peak < size / 4, f"saving held {saving_peak} bytes"
    assert reading_peak < size / 4, f"reading held {reading_peak} bytes"


def test_a_stored_file_is_removed_again_when_its_transaction_rolls_back(store):
    db.session.execute(text("SELECT 1"))
    stored = storage.save(io.BytesIO(b"%PDF-1.7"), max_bytes=100)
    storage.stored_for(db.session, stored.key)
    db.session.rollback()
    assert store.names() == []


def test_a_removed_file_goes_only_once_its_transaction_commits(store):
    db.session.execute(text("SELECT 1"))
    kept = storage.save(io.BytesIO(b"%PDF-1.7 kept"), max_bytes=100)
    storage.stored_for(db.session, kept.key)
    db.session.commit()
    assert store.names() == [kept.key]

    db.session.execute(text("SELECT 1"))
    storage.delete_on_commit(db.session, kept.key)
    db.session.rollback()
    assert store.names() == [kept.key]

    db.session.execute(text("SELECT 1"))
    storage.delete_on_commit(db.session, kept.key)
    db.session.commit()
    assert store.names() == []


def test_path_for_stays_inside_the_folder(folder):
    key = "0123456789abcdef" * 2
    assert storage.path_for(key) == folder / "01" / key


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "abc",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef\n",
        "0123456789abcdef0123456789abcde/",
        "../../0123456789abcdef0123456789",
        "",
        None,
    ],
)
def test_path_for_refuses_anything_but_a_key(folder, key):
    with pytest.raises(ValueError):
        storage.path_for(key)


def test_default_folder_is_in_the_instance_folder(app):
    app.config.pop("UPLOAD_FOLDER", None)
    with app.app_context():
        key = "ab" * 16
        assert storage.path_for(key) == (
            Path(app.instance_path) / "uploads" / "ab" / key
        )


@pytest.mark.parametrize(
    "given, shown",
    [
        ("proof.pdf", "proof.pdf"),
        ("C:\\Users\\x\\evil.pdf", "evil.pdf"),
        ("../../a.pdf", "a.pdf"),
        ("/etc/passwd", "passwd"),
        ("dir/sub\\mixed.docx", "mixed.docx"),
        ("bad\x00na\x07me\x1b.pdf", "badname.pdf"),
        ("line\nbreak\r\tand  spaces .pdf", "line break and spaces .pdf"),
        ("  padded.png  ", "padded.png"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("Rapport d’exécution.pdf", "Rapport d’exécution.pdf"),
        ("", "file"),
        ("   ", "file"),
        ("../", "file"),
        ("..", "file"),
        ("\x00\x01", "file"),
    ],
)
def test_display_name(given, shown):
    assert display_name(given) == shown


def test_display_name_cuts_long_names_keeping_the_extension():
    shown = display_name("a" * 500 + ".pdf")
    assert len(shown) == 200
    assert shown == "a" * 196 + ".pdf"


def test_display_name_cuts_long_names_without_a_usable_extension():
    assert display_name("b" * 500) == "b" * 200
    assert display_name("c" * 100 + "." + "d" * 300) == ("c" * 100 + "." + "d" * 300)[:200]


@pytest.fixture
def unreachable_s3(app, s3_endpoint):
    """The app's files in a bucket on a port where nothing listens."""
    app.config.update({"STORAGE_BACKEND": "s3", "S3_BUCKET": "nowhere", "S3_ENDPOINT_URL": "http://127.0.0.1:1",
                       "S3_REGION": services.REGION})
    with app.app_context():
        yield


def test_an_unreachable_object_store_is_reported_as_unavailable(unreachable_s3):
    with pytest.raises(storage.StorageUnavailable):
        storage.save(io.BytesIO(b"%PDF-1.7"), max_bytes=100)
    with pytest.raises(storage.StorageUnavailable):
        storage.open_file("0" * 32)
    with pytest.raises(storage.StorageUnavailable):
        storage.delete("0" * 32)
    with pytest.raises(storage.StorageUnavailable):
        storage.exists("0" * 32)

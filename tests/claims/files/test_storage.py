import hashlib
import io
import os
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from portal.claims.files import storage
from portal.claims.files.storage import FileTooLarge, StoredFile, display_name


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


def test_save_open_delete_round_trip(folder):
    data = os.urandom(200_000)
    stored = storage.save(io.BytesIO(data), max_bytes=len(data))
    assert stored == StoredFile(
        key=stored.key, size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    assert files_in(folder) == [os.path.join(stored.key[:2], stored.key)]
    with storage.open_file(stored.key) as f:
        assert f.read() == data
    storage.delete(stored.key)
    assert files_in(folder) == []
    with pytest.raises(FileNotFoundError):
        storage.open_file(stored.key)


def test_delete_of_a_missing_file_is_fine(folder):
    storage.delete("0" * 32)


def test_save_stores_the_whole_upload_even_after_it_was_read(folder):
    upload = FileStorage(io.BytesIO(b"%PDF-1.7 content"), filename="../../etc/passwd")
    upload.read(4)
    stored = storage.save(upload, max_bytes=100)
    with storage.open_file(stored.key) as f:
        assert f.read() == b"%PDF-1.7 content"
    assert "passwd" not in stored.key


def test_empty_file_is_stored_with_size_zero(folder):
    stored = storage.save(io.BytesIO(b""), max_bytes=10)
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()


def test_file_of_exactly_the_limit_is_accepted(folder):
    assert storage.save(io.BytesIO(b"x" * 1000), max_bytes=1000).size == 1000


@pytest.mark.parametrize("size", [1001, 10 * 64 * 1024])
def test_too_large_file_is_refused_and_nothing_is_left_behind(folder, size):
    with pytest.raises(FileTooLarge) as raised:
        storage.save(io.BytesIO(b"x" * size), max_bytes=1000)
    assert raised.value.max_bytes == 1000
    assert files_in(folder) == []


class EndlessStream:
    def __init__(self):
        self.read_bytes = 0

    def read(self, size=-1):
        size = 64 * 1024 if size is None or size < 0 else size
        self.read_bytes += size
        return b"x" * size


def test_too_large_is_raised_as_soon_as_the_limit_is_passed(folder):
    stream = EndlessStream()
    with pytest.raises(FileTooLarge):
        storage.save(stream, max_bytes=100_000)
    assert stream.read_bytes <= 100_000 + 64 * 1024
    assert files_in(folder) == []


def test_a_failing_stream_leaves_nothing_behind(folder):
    class Broken:
        def read(self, size=-1):
            raise OSError("connection reset")

    with pytest.raises(OSError):
        storage.save(Broken(), max_bytes=100)
    assert files_in(folder) == []


def test_keys_are_random(folder):
    keys = {storage.save(io.BytesIO(b"same"), max_bytes=10).key for _ in range(20)}
    assert len(keys) == 20
    assert all(len(key) == 32 for key in keys)


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

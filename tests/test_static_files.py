"""Static files under content-hashed names, cached for a year; the plain names still work."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal import static_files
from tests.html import csp_violations
from tests.support import sign_in
from tests.test_app import EMAIL, admin  # noqa: F401  (admin: a global admin to sign in as)

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
PAGE_ASSETS = ("vendor/pico.min.css", "css/app.css", "vendor/htmx.min.js", "js/app.js")
IMMUTABLE = "public, max-age=31536000, immutable"


def static_urls(response) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', response.get_data(as_text=True))


def test_the_hashed_name_keeps_the_type_and_changes_with_the_content(tmp_path):
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "app.css"
    sheet.write_text("body { color: black; }")
    first = static_files.build_manifest(tmp_path).hashed["css/app.css"]

    sheet.write_text("body { color: navy; }")
    second = static_files.build_manifest(tmp_path).hashed["css/app.css"]

    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", first)
    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", second)
    assert first != second
    sheet.write_text("body { color: black; }")
    assert static_files.build_manifest(tmp_path).hashed["css/app.css"] == first


def test_only_page_assets_get_hashed_names_and_hidden_files_are_left_out(tmp_path):
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "htmx.min.js").write_text("htmx")
    (tmp_path / "vendor" / ".stamp").write_text("")
    (tmp_path / "template.docx").write_bytes(b"PK")

    manifest = static_files.build_manifest(tmp_path)

    assert list(manifest.hashed) == ["vendor/htmx.min.js"]
    hashed = manifest.hashed["vendor/htmx.min.js"]
    assert hashed.startswith("vendor/htmx.min.") and hashed.endswith(".js")
    assert manifest.original == {hashed: "vendor/htmx.min.js"}


def test_a_missing_static_folder_gives_an_empty_manifest(tmp_path):
    assert static_files.build_manifest(tmp_path / "nowhere") == static_files.Manifest()


@pytest.mark.parametrize("path", ["/login", "/no-such-page"])
def test_pages_link_every_asset_by_its_hashed_name(client, path):
    page = client.get(path)

    manifest = client.application.extensions["static_manifest"]
    assert static_urls(page) == [f"/static/{manifest.hashed[name]}" for name in PAGE_ASSETS]
    assert not csp_violations(page)


@pytest.mark.parametrize("name", PAGE_ASSETS)
def test_a_hashed_name_serves_the_file_for_a_year(client, name):
    if not (STATIC / name).exists():
        pytest.fail(f"static/{name} is missing: run `make install`")
    hashed = client.application.extensions["static_manifest"].hashed[name]

    response = client.get(f"/static/{hashed}")

    assert response.status_code == 200
    assert response.get_data() == (STATIC / name).read_bytes()
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["ETag"]
    assert response.mimetype in ("text/css", "text/javascript", "application/javascript")
    assert response.headers["Content-Security-Policy"]


def test_a_static_file_is_the_same_for_everyone_signed_in_or_not(client, admin):
    sign_in(client.application, EMAIL, client=client)
    url = static_urls(client.get("/"))[0]

    response = client.get(url)

    assert response.status_code == 200
    assert "Cookie" not in response.vary
    assert "Set-Cookie" not in response.headers
    assert client.get("/").status_code == 200, "the session survived"


def test_the_plain_name_still_works_with_a_short_cache(client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert response.get_data() == (STATIC / "css" / "app.css").read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_a_hash_that_is_not_the_files_is_not_found(client):
    assert client.get("/static/css/app.000000000000.css").status_code == 404
    assert client.get("/static/css/../../portal/config.py").status_code == 404


def test_a_hashed_file_is_revalidated_by_its_etag(client):
    url = static_urls(client.get("/login"))[1]
    first = client.get(url)

    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    assert not again.get_data()

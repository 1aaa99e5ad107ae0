"""Responses are compressed for clients that accept it; the streamed CSV export is covered in
tests/claims/listing/test_export.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal import config
from tests.encoding import BROWSER, ENCODINGS, decoded
from tests.html import csp_violations

STATIC = Path(__file__).resolve().parent.parent / "static"


def asset_urls(client) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', client.get("/login").get_data(as_text=True))


def test_a_page_is_compressed_for_a_browser(client):
    response = client.get("/login", headers=BROWSER)

    assert response.headers["Content-Encoding"] == "zstd"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    body = decoded(response).decode()
    assert body.startswith("<!doctype html>") and body.rstrip().endswith("</html>")
    assert {"Accept-Encoding", "HX-Request"} <= set(response.vary)
    assert response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("headers", [{}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "compress"}])
def test_a_page_is_not_compressed_for_a_client_that_does_not_ask(client, headers):
    response = client.get("/login", headers=headers)

    assert "Content-Encoding" not in response.headers
    assert response.get_data(as_text=True).startswith("<!doctype html>")
    assert not csp_violations(response)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_page_asset_is_compressed_and_still_the_file(client, encoding):
    manifest = client.application.extensions["static_manifest"]
    for url in asset_urls(client):
        response = client.get(url, headers={"Accept-Encoding": encoding})

        assert response.headers["Content-Encoding"] == encoding, url
        original = manifest.original[url.removeprefix("/static/")]
        assert decoded(response) == (STATIC / original).read_bytes()
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert len(response.get_data()) < len(decoded(response)) / 2


def test_a_compressed_asset_is_revalidated_by_its_own_etag(client):
    url = asset_urls(client)[0]
    first = client.get(url, headers=BROWSER)
    assert first.headers["ETag"].endswith(':zstd"')

    again = client.get(url, headers={**BROWSER, "If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    assert not again.get_data()


def test_a_tiny_response_is_not_compressed(client):
    response = client.get("/healthz", headers=BROWSER)

    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(("value", "on"), [(None, True), ("1", True), ("0", False), ("off", False)])
def test_compress_enabled_switches_compression(monkeypatch, tmp_path, value, on):
    if value is None:
        monkeypatch.delenv("COMPRESS_ENABLED", raising=False)
    else:
        monkeypatch.setenv("COMPRESS_ENABLED", value)

    assert config.load(str(tmp_path))["COMPRESS_REGISTER"] is on


@pytest.mark.parametrize("app_overrides", [{"COMPRESS_REGISTER": False}])
def test_with_compression_off_a_server_in_front_gets_everything_plain(client):
    page = client.get("/login", headers=BROWSER)
    asset = client.get(asset_urls(client)[0], headers=BROWSER)

    for response in (page, asset):
        assert "Content-Encoding" not in response.headers
        assert "Accept-Encoding" not in response.vary
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"

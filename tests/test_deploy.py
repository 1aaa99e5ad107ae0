"""The production topology's files (deploy/): nginx's generated configuration is valid and says
what the deployment relies on; its copy of static/ holds the names the pages link to."""
from __future__ import annotations

import re
import subprocess

import pytest

from deploy import nginx
from portal.config import MAX_CONTENT_LENGTH
from portal.static_files import build_manifest
from tests.services import nginx_binary

UPSTREAMS = ["127.0.0.1:8001", "127.0.0.1:8002"]


@pytest.fixture
def generated(tmp_path):
    path = nginx.write(tmp_path / "run", "127.0.0.1:8080", UPSTREAMS)
    return path, path.read_text()


def test_the_generated_nginx_config_is_valid(generated):
    path, _ = generated
    result = subprocess.run([nginx_binary(), "-t", "-e", "stderr", "-p", str(path.parent), "-c", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_buffers_both_ways_and_limits_bodies_as_the_app_does(generated):
    _, config = generated
    assert "proxy_request_buffering on;" in config
    assert "proxy_buffering on;" in config
    assert f"client_max_body_size {MAX_CONTENT_LENGTH};" in config
    for directive in ("client_body_timeout", "client_header_timeout", "send_timeout", "limit_conn portal_conn",
                      "limit_req zone=portal_req"):
        assert re.search(rf"^\s*{directive}\b", config, re.M), directive


def test_nginx_forwards_the_client_and_the_request_id_to_both_servers(generated):
    _, config = generated
    for header in ("X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme",
                   "X-Forwarded-Host $host", "X-Request-ID $portal_request_id"):
        assert f"proxy_set_header {header};" in config
    assert re.findall(r"^\s*server (\S+) ", config, re.M) == UPSTREAMS
    assert "@" not in re.sub(r"#.*", "", config), "a marker was left unfilled"


def test_nginx_runs_in_its_own_run_folder(generated, tmp_path):
    path, config = generated
    run = str(tmp_path / "run")
    assert f"pid {run}/nginx.pid;" in config
    for name in nginx.TEMP_FOLDERS:
        assert f"{name}_temp_path {run}/tmp/{name};" in config
        assert (tmp_path / "run" / "tmp" / name).is_dir()


def test_the_static_copy_holds_plain_and_hashed_names_with_the_same_content(generated, tmp_path):
    static = nginx.ROOT / "static"
    copy = tmp_path / "run" / "www" / "static"
    manifest = build_manifest(static)
    assert manifest.hashed
    for original, hashed in manifest.hashed.items():
        assert (copy / hashed).read_bytes() == (static / original).read_bytes()
        assert (copy / original).read_bytes() == (static / original).read_bytes()
    assert not list(copy.rglob(".*"))
    assert (tmp_path / "run" / "www" / "unavailable.html").exists()

"""nginx's configuration for the portal, from ``deploy/nginx.conf.in``: the run folder it keeps
its pid, logs and temporary files in, the address it listens on, the gunicorn servers behind it,
and a copy of ``static/`` under both plain and content-hashed names for it to serve.

``python -m deploy.nginx RUN_DIR [--listen 127.0.0.1:8080] [--upstream 127.0.0.1:8001 ...]`` writes
``RUN_DIR/nginx.conf`` and prints its path (``make prod`` does this itself).
"""
from __future__ import annotations

import argparse
import getpass
import os
import shutil
from pathlib import Path

from portal.config import MAX_CONTENT_LENGTH
from portal.static_files import build_manifest

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
TEMPLATE = DEPLOY / "nginx.conf.in"
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def prepare_static(static_dir: Path, www_dir: Path) -> None:
    """``www_dir/static``: every file of ``static_dir`` under its own name, and each page asset
    also under the hashed name the app's pages link to, so nginx finds what the app would
    serve. Built anew at each start, as the app's manifest is."""
    target = www_dir / "static"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(static_dir, target, ignore=shutil.ignore_patterns(".*"))
    for original, hashed in build_manifest(static_dir).hashed.items():
        shutil.copy2(static_dir / original, target / hashed)
    shutil.copy2(DEPLOY / "unavailable.html", www_dir / "unavailable.html")


def render(run_dir: Path, listen: str, upstreams: list[str], www_dir: Path, user: str | None = None) -> str:
    servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=5s;" for address in upstreams)
    # As root, nginx would hand its workers to "nobody", who may not read the run folder: keep
    # the current user. Any other user runs nginx as itself and needs no directive.
    user = user if user is not None else (getpass.getuser() if os.geteuid() == 0 else None)
    values = {
        "@USER@": f"user {user};" if user else "",
        "@RUN_DIR@": str(run_dir),
        "@WWW_DIR@": str(www_dir),
        "@LISTEN@": listen,
        "@UPSTREAMS@": servers,
        "@MAX_BODY@": str(MAX_CONTENT_LENGTH),
    }
    text = TEMPLATE.read_text()
    for marker, value in values.items():
        text = text.replace(marker, value)
    return text


def write(run_dir: Path, listen: str, upstreams: list[str], static_dir: Path = ROOT / "static") -> Path:
    """The run folder laid out (logs, temporary folders, static copy) and its nginx.conf written."""
    run_dir = Path(run_dir).resolve()
    for folder in ("logs", *(f"tmp/{name}" for name in TEMP_FOLDERS)):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    www_dir = run_dir / "www"
    www_dir.mkdir(exist_ok=True)
    prepare_static(static_dir, www_dir)
    path = run_dir / "nginx.conf"
    path.write_text(render(run_dir, listen, upstreams, www_dir))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Write nginx.conf for the portal into a run folder.")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument("--upstream", action="append", default=None)
    args = parser.parse_args()
    print(write(args.run_dir, args.listen, args.upstream or ["127.0.0.1:8001", "127.0.0.1:8002"]))


if __name__ == "__main__":
    main()

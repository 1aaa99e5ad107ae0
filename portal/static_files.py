"""Static files under names that carry a hash of their content.

``url_for('static', filename='css/app.css')`` gives ``/static/css/app.<hash>.css``; that name is
served with a one-year ``immutable`` cache, because a changed file gets a new name. The plain
name still works, with a short cache. Hashes are computed once when the app starts, after
``make install`` has copied the vendor files, never per request: a static file changed while the
app runs is seen after a restart.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, request, send_from_directory
from flask.sessions import SessionInterface

#: What pages load. Downloads (the PoE template) keep their own name: it is the saved file's name.
HASHED_SUFFIXES = frozenset({".css", ".js"})
DIGEST_LENGTH = 12
ONE_YEAR = 365 * 24 * 60 * 60
#: For the plain names, which no page of ours links to: a browser or proxy may keep them a while.
PLAIN_MAX_AGE = 5 * 60


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LENGTH]


def hashed_name(filename: str, digest: str) -> str:
    """``vendor/htmx.min.js`` -> ``vendor/htmx.min.<digest>.js``: the type stays recognisable."""
    stem, _, suffix = filename.rpartition(".")
    return f"{stem}.{digest}.{suffix}"


@dataclass(frozen=True)
class Manifest:
    """Both directions between a static file's name and its hashed name."""

    hashed: dict[str, str] = field(default_factory=dict)
    original: dict[str, str] = field(default_factory=dict)


def build_manifest(folder: str | Path) -> Manifest:
    """Every page asset under ``folder`` (hidden files such as install stamps left out)."""
    folder = Path(folder)
    manifest = Manifest()
    if not folder.is_dir():
        return manifest
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or path.suffix not in HASHED_SUFFIXES:
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        name = relative.as_posix()
        hashed = hashed_name(name, file_digest(path))
        manifest.hashed[name] = hashed
        manifest.original[hashed] = name
    return manifest


def _static_saves_no_session(interface: SessionInterface) -> SessionInterface:
    """The app's session interface, except that a static response never saves the session.

    Flask marks the session as read whenever anything touches it (Flask-Login does on every
    response), and saving then adds ``Vary: Cookie``: browsers and proxies would keep a file,
    the same for everyone, once per session cookie, and fetch it again when the cookie changes.
    A static request changes nothing in the session, so nothing is lost."""

    class StaticSavesNoSession(type(interface)):
        def save_session(self, app, session, response):
            if request.endpoint == "static":
                return
            super().save_session(app, session, response)

    return StaticSavesNoSession()


def init_app(app: Flask) -> None:
    app.session_interface = _static_saves_no_session(app.session_interface)
    manifest = build_manifest(app.static_folder)
    app.extensions["static_manifest"] = manifest

    @app.url_defaults
    def hashed_static_names(endpoint, values):
        if endpoint == "static" and "filename" in values:
            values["filename"] = manifest.hashed.get(values["filename"], values["filename"])

    def static(filename):
        original = manifest.original.get(filename)
        if original is None:
            response = send_from_directory(app.static_folder, filename, max_age=PLAIN_MAX_AGE)
            response.cache_control.public = True
            return response
        response = send_from_directory(app.static_folder, original, max_age=ONE_YEAR)
        response.cache_control.public = True
        response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static

"""What the portal accepts of a request before any view reads it.

Some input can never be meaningful and used to reach the database (and fail there, as a 500):
ids beyond the INTEGER columns, NUL characters (PostgreSQL refuses them in text), lone
surrogates (not encodable as UTF-8), multipart parts without a name (Flask-WTF's CSRF check
fails on them). They are refused here, once for every route and form, with a 400 page in the
layout that says what to do; nothing is read or written before.

Query strings are left to the views: a list ignores a filter it can't use (a NUL, say) and
shows the list, as a hand-edited URL deserves.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

#: The largest id the portal's tables hold: their keys are INTEGER columns (PostgreSQL's int4).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a non-negative integer up to ``MAX_ID``; anything larger
    matches no route (404) instead of overflowing the database's integer."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002  (Werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class BadInput(BadRequest):
    """A request carrying what no field may hold: answered with a 400 page in the layout."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def unreadable(text: str) -> bool:
    """True for text no field may hold: a NUL character, or a lone surrogate (which no UTF-8
    encoder accepts: the database driver would fail on it)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def id_arg(name: str) -> int | None:
    """A query-string id (``?after=12``): None when absent, not a number, negative or beyond
    ``MAX_ID``, so a view treats it as not given."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 <= value <= MAX_ID else None


def check_request() -> None:
    """Refuse a request whose path or posted form holds what no field may hold."""
    if unreadable(request.path):
        raise BadInput("path")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    for key, value in request.form.items(multi=True):
        if key is None or not key:
            raise BadInput("nameless")
        if unreadable(key) or unreadable(value):
            raise BadInput("characters")
    for key in request.files.keys():
        if key is None or not key:
            raise BadInput("nameless")


def init_app(app: Flask) -> None:
    """Install the bounded id converter (before any route is added: a rule takes its converter
    when it is added) and the check, ahead of every other ``before_request`` (CSRFProtect's
    reads the form)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)

"""Pieces of a page that never change once written (a comment, a history entry), rendered once
per process and kept under a key made of everything the piece shows plus the locale and time
zone it is shown in. A changed name, another language or another time zone is another key, so
a kept piece is never stale: there is nothing to invalidate. A claim page shows twenty comments
and thirty history entries; rendering them again on every view was a third of its time."""
from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from portal.i18n import locale_key

#: Pieces kept per application (a process); emptied when full rather than tracked, which costs
#: one render of each piece shown afterwards.
MAX_PIECES = 20_000


def _piece(template: str, key: tuple, **context) -> Markup:
    cache = current_app.extensions.setdefault("cpor_fragments", {})
    full = (template, locale_key(), key)
    html = cache.get(full)
    if html is None:
        if len(cache) >= MAX_PIECES:
            cache.clear()
        html = Markup(current_app.jinja_env.get_template(template).render(**context))
        cache[full] = html
    return html


def _person(user) -> tuple | None:
    return None if user is None else (user.id, user.name, user.kind)


def comment_html(comment) -> Markup:
    """``claims/_comment.html`` for ``comment``: its id, kind, body, date and author are the key."""
    return _piece("claims/_comment.html",
                  (comment.id, comment.kind, comment.body, comment.created_at, _person(comment.author)),
                  comment=comment)


def _event_key(event) -> tuple:
    return (event.id, event.kind, event.action, event.from_status, event.to_status, event.reason_code, event.note,
            event.created_at, _person(event.actor))


def history_entry_html(event) -> Markup:
    """One entry of a claim page's history (``claims/_history_entry.html``)."""
    return _piece("claims/_history_entry.html", _event_key(event), event=event)


def review_history_row_html(event) -> Markup:
    """One row of the reviewer's history table (``review/_history_row.html``)."""
    return _piece("review/_history_row.html", _event_key(event), event=event)

"""Keyset pagination, the one pager of every claims list and the review queue.

A page continues from the last row's sort key, never from an offset: it costs the same however
deep it is, and a row that leaves the list between two pages shifts nothing. Rows are ordered
by one sort column, then by id; rows whose sort value is NULL (no due date, say) come after all
the others, ordered by id, in a second range read only when the first runs out, so every page
is an index range scan. The cursor is opaque to the user (base64 of JSON) and anything this
pager did not write reads as the first page.

Pages go both ways: ``after`` a row (Next) reads the ranges forwards from it, ``before`` a row
(Previous) reads them backwards from it, in the reverse order of the same indexes, and shows
what it read the right way round. A cursor is a row's position, the same for both directions:
a page's Next continues after its last row, its Previous before its first. Going back to the
start gives the first page as it is now (a full page, without a Previous), so Next then
Previous shows the same rows.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import tuple_

from portal.claims.models import Claim
from portal.extensions import db
from portal.request_guard import MAX_ID, unreadable

#: A cursor carries a sort value (up to a 200-character customer name, escaped).
CURSOR_MAX = 4096


@dataclass(frozen=True)
class Order:
    """How a list is sorted: by ``column`` (whose Python type is ``kind``), then by id."""

    column: Any
    kind: type
    descending: bool = False


@dataclass
class Page:
    rows: list  # claims, or plain rows
    next_cursor: str | None
    #: None on the first page.
    previous_cursor: str | None = None


def encode(value, claim_id: int) -> str:
    raw = json.dumps([value.isoformat() if isinstance(value, (date, datetime)) else value, claim_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str | None, order: Order) -> tuple[Any, int] | None:
    """(sort value, id) from a cursor, or None for the first page. The sort value is None once
    the list has reached the rows without one."""
    if not cursor or len(cursor) > CURSOR_MAX:
        return None
    try:
        first, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        last_id = int(last_id)
        if not 0 <= last_id <= MAX_ID:
            return None
        if first is None:
            return None, last_id
        if order.kind is datetime:
            first = datetime.fromisoformat(first)
        elif order.kind is date:
            first = date.fromisoformat(first)
        elif not isinstance(first, str) or unreadable(first):
            return None
        return first, last_id
    except (ValueError, TypeError, OverflowError, RecursionError, json.JSONDecodeError, binascii.Error):
        return None


def cursor(row, order: Order) -> str:
    """The position of ``row`` (a claim, or a plain row with the sort column and the id)."""
    return encode(getattr(row, order.column.key), row.id)


def page(query, order: Order, after: str | None, size: int, options=(), rows: bool = False,
         before: str | None = None) -> Page:
    """The ``size`` claims of ``query`` after the cursor ``after`` (or before the cursor
    ``before``, when it is one), and the cursors of the next and previous pages; plain rows of
    the query's columns with ``rows`` (which must include the sort column and the claim's id)."""
    fetch = db.session.execute if rows else db.session.scalars
    backwards = decode(before, order) if before else None
    if backwards is not None:
        found, more = _before(fetch, query, order, backwards, size, options)
        if not more and len(found) < size:
            # Fewer rows before this one than a page: the first page, whole.
            return page(query, order, None, size, options, rows)
        return Page(found, cursor(found[-1], order) if found else None,
                    cursor(found[0], order) if more else None)
    column = order.column
    position = decode(after, order)
    found = []
    if position is None or position[0] is not None:
        dated = query.where(column.is_not(None))
        if position is not None:
            key = tuple_(column, Claim.id)
            dated = dated.where(key < position if order.descending else key > position)
        sort = (column.desc(), Claim.id.desc()) if order.descending else (column.asc(), Claim.id.asc())
        found = fetch(dated.order_by(*sort).options(*options).limit(size + 1)).all()
    if len(found) <= size:
        after_id = position[1] if position is not None and position[0] is None else 0
        undated = query.where(column.is_(None), Claim.id > after_id).order_by(Claim.id)
        found += fetch(undated.options(*options).limit(size + 1 - len(found))).all()
    more = len(found) > size
    found = list(found[:size])
    return Page(found, cursor(found[-1], order) if more and found else None,
                cursor(found[0], order) if position is not None and found else None)


def _before(fetch, query, order: Order, position: tuple[Any, int], size: int, options) -> tuple[list, bool]:
    """Up to ``size`` rows before ``position`` in the list's order (read backwards: the rows
    without a sort value from ``position`` down, then the others from the last up), and
    whether there are more before them."""
    column = order.column
    reverse = (column.asc(), Claim.id.asc()) if order.descending else (column.desc(), Claim.id.desc())
    value, last_id = position
    dated = query.where(column.is_not(None))
    if value is None:
        undated = query.where(column.is_(None), Claim.id < last_id).order_by(Claim.id.desc())
        found = fetch(undated.options(*options).limit(size + 1)).all()
    else:
        key = tuple_(column, Claim.id)
        dated = dated.where(key > position if order.descending else key < position)
        found = []
    if len(found) <= size:
        found += fetch(dated.order_by(*reverse).options(*options).limit(size + 1 - len(found))).all()
    return list(reversed(found[:size])), len(found) > size

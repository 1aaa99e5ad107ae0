"""What a row of the claims list, the home page and the review queue shows, worked out in Python
once per row from plain database rows (no ORM objects): the claim number, its link (a URL built
once per request), its labels (tables translated once per process and locale) and its due
date (formatted once per value and locale). The templates then only print values: a row costs
no translation, no ``url_for`` and no Babel call of its own."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import get_locale

from portal.claims.base import SETTLED_STATUSES, claim_number
from portal.claims.labels import ACTIVITY_LABELS, STATUS_LABELS
from portal.i18n import format_day
from portal.templating import claim_url_maker

_TRANSLATED: dict[tuple[int, str], dict] = {}


def translated(table: dict) -> dict:
    """``table``'s labels as strings in the current locale, translated once per process and
    locale (the catalogs are compiled: they do not change while the process runs)."""
    key = (id(table), str(get_locale()))
    found = _TRANSLATED.get(key)
    if found is None:
        found = _TRANSLATED[key] = {k: str(v) for k, v in table.items()}
    return found


@dataclass(slots=True)
class Shown:
    """A claim as a row shows it. ``None`` where the claim has no such value."""

    id: int
    number: str
    url: str
    status: str
    status_label: str
    activity_label: str
    in_arbitration: bool
    customer: str | None = None
    product: str | None = None
    mpn_id: str | None = None
    partner: str | None = None
    due_on: date | None = None
    due: str = ""
    reviewer_id: int | None = None
    reviewer: str | None = None


def shown(rows, endpoint: str, settled_due: bool = True) -> list[Shown]:
    """``rows`` (plain rows with the claim's ``id``, ``status``, ``activity``,
    ``in_arbitration`` and any of ``customer``, ``product``, ``mpn_id``, ``partner``,
    ``due_on``, ``reviewer_id``, ``reviewer``) as their rows show them, linked to ``endpoint``.
    Without ``settled_due`` a settled claim (approved, closed) shows no due date, as on the
    claims list."""
    url = claim_url_maker(endpoint)
    statuses, activities = translated(STATUS_LABELS), translated(ACTIVITY_LABELS)
    result = []
    for row in rows:
        values = row._mapping
        status, activity = values["status"], values["activity"]
        due_on = values.get("due_on")
        if due_on is not None and not settled_due and status in SETTLED_STATUSES:
            due_on = None
        result.append(Shown(
            id=values["id"],
            number=claim_number(values["id"]),
            url=url(values["id"]),
            status=status,
            status_label=statuses.get(status, status or "—"),
            activity_label=activities.get(activity, activity or "—"),
            in_arbitration=bool(values["in_arbitration"]),
            customer=values.get("customer"),
            product=values.get("product"),
            mpn_id=values.get("mpn_id"),
            partner=values.get("partner"),
            due_on=due_on,
            due=format_day(due_on) if due_on is not None else "",
            reviewer_id=values.get("reviewer_id"),
            reviewer=values.get("reviewer"),
        ))
    return result

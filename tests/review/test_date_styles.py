"""One date style and one date-and-time style on every page, in English and in French
(portal/i18n.py): "Dec 8, 2026" / "8 déc. 2026", and "Dec 8, 2026, 11:39 PM" / "8 déc. 2026,
23:39". Never "December 8, 2026", "12/8/26" or a time with seconds, which pages used to mix."""
from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

import pytest

from portal.claims.models import Claim
from portal.extensions import db
from tests.review.conftest import move, product, start_review, submitted, tenant
from tests.support import sign_in

ROOT = Path(__file__).resolve().parent.parent.parent

_ENGLISH_MONTHS = "January|February|March|April|June|July|August|September|October|November|December"
_FRENCH_MONTHS = "janvier|février|avril|juillet|septembre|octobre|novembre|décembre"
FORBIDDEN = {
    "a numeric date": re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\b"),
    "a time with seconds": re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b"),
    "a month in full": re.compile(rf"\b(?:(?:{_ENGLISH_MONTHS}) \d{{1,2}}, \d{{4}}|\d{{1,2}} (?:{_FRENCH_MONTHS}) \d{{4}})"),
}
#: The portal's style, as each language writes it.
DATE = {
    "en": re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}\b"),
    "fr": re.compile(r"\b\d{1,2} (?:janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\.) \d{4}"),
}
DATE_TIME = {
    "en": re.compile(DATE["en"].pattern + r", \d{1,2}:\d{2}\s(?:AM|PM)"),
    "fr": re.compile(DATE["fr"].pattern + r", \d{2}:\d{2}\b"),
}
_TAG = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", re.S)


def visible(response) -> str:
    """What a person reads: the text outside tags (``<time datetime>`` attributes are ISO, for
    machines)."""
    assert response.status_code == 200, response.status_code
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(_TAG.sub(" ", response.get_data(as_text=True))))


def _claims(app, world) -> dict[str, int]:
    """A claim with a deadline, an information request (a comment and a notification) and its
    history; an approved one; and two partners' claims on one customer and product (arbitration)."""
    when = datetime(2026, 11, 30, 23, 39, 9)
    with app.app_context():
        asked = submitted(world.fabrikam, tenant("Contoso Ltd"), product(name="Dynamics 365 Sales"), when=when)
        start_review(asked, world.reviewer_id)
        move(asked, "request_information", world.reviewer_id, reason_code="missing_poe", message="Add the PoE.")
        approved = submitted(world.fabrikam, tenant("Northwind Traders"), product(), when=when)
        start_review(approved, world.reviewer_id)
        move(approved, "approve", world.reviewer_id)
        customer, item = tenant("Tailspin Toys"), product()
        contested = submitted(world.fabrikam, customer, item, when=when)
        submitted(world.proseware, customer, item, when=when)
        db.session.commit()
        assert db.session.get(Claim, contested.id).in_arbitration
        return {"asked": asked.id, "approved": approved.id, "contested": contested.id}


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_every_page_writes_dates_in_the_one_style(app, world, locale):
    claims = _claims(app, world)
    headers = {"Accept-Language": locale}
    partner = sign_in(app, world.fabrikam.email)
    reviewer = sign_in(app, world.reviewer_email)
    pages = {
        "home": (partner, "/", DATE),
        "claims list": (partner, "/claims/", DATE),
        "claim page (deadline, history, comment)": (partner, f"/claims/{claims['asked']}", DATE_TIME),
        "approved claim": (partner, f"/claims/{claims['approved']}", DATE),
        "notifications": (partner, "/notifications/", DATE_TIME),
        "review queue": (reviewer, "/review/", DATE),
        "reviewer's claim page": (reviewer, f"/review/claims/{claims['asked']}", DATE_TIME),
        "arbitration": (reviewer, f"/review/claims/{claims['contested']}/arbitration", DATE_TIME),
    }
    for name, (client, url, expected) in pages.items():
        page = visible(client.get(url, headers=headers))
        assert expected[locale].search(page), f"{name}: no date in the portal's style"
        for style, pattern in FORBIDDEN.items():
            found = pattern.search(page)
            assert found is None, f"{name} ({locale}) shows {style}: {found.group(0)!r}"
    # The submission time, as the claim page writes it (UTC, no seconds).
    page = visible(partner.get(f"/claims/{claims['asked']}", headers=headers))
    assert ("Nov 30, 2026, 11:39\u202fPM" if locale == "en" else "30 nov. 2026, 23:39") in page


def test_dates_are_formatted_in_one_place():
    """Pages, emails and notifications format dates through the ``dateformat`` and
    ``datetimeformat`` filters or ``portal.i18n``, never with another style of their own."""
    offenders = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        if path.name == "i18n.py":
            continue
        source = path.read_text()
        for needle in ("format_date(", "format_datetime(", "format_time(", "format_skeleton("):
            if needle in source:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.is_file():
            source = path.read_text()
            for found in re.finditer(r"(?:dateformat|datetimeformat|strftime)\s*\(", source):
                offenders.append(f"{path.relative_to(ROOT)}: {found.group(0)}")
    assert offenders == []

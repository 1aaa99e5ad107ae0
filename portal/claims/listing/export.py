"""The claims list as CSV: exactly what the filters select, in the list's order, every label in
the user's language, and no cell a spreadsheet would run as a formula."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask_babel import gettext as _

from portal.claims.labels import activity_label, area_label, consent_label, status_label
from portal.claims.listing import claims as listing

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows written between two chunks of the streamed file.
CHUNK_ROWS = 200


def neutralise(value) -> str:
    """A cell a spreadsheet would read as a formula is prefixed with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def header(reviewer: bool) -> list[str]:
    columns = [_("Claim"), _("Status"), _("In arbitration"), _("Customer"), _("Tenant ID"), _("Solution area"),
               _("Product or workload"), _("Activity"), _("MPN ID"), _("Submitted"), _("Due"), _("Customer consent")]
    if reviewer:
        columns.insert(1, _("Partner"))
    return columns


def row(claim, reviewer: bool) -> list[str]:
    cells = [claim.number, status_label(claim.status), _("yes") if claim.in_arbitration else _("no"),
             claim.tenant.name if claim.tenant else "", claim.tenant_id or "", area_label(claim.solution_area),
             claim.product.name if claim.product else "", activity_label(claim.activity),
             claim.mpn.mpn_id if claim.mpn else "", claim.submitted_at.date().isoformat() if claim.submitted_at else "",
             claim.due_on.isoformat() if claim.due_on else "", consent_label(claim.consent_state)]
    if reviewer:
        cells.insert(1, claim.organization.name)
    return [neutralise(value) for value in cells]


def csv_chunks(user, lq: listing.ListQuery) -> Iterator[str]:
    """The file in chunks of ``CHUNK_ROWS`` rows, for a streamed response. Who the user is, is
    read now: the chunks are written after the request's own work is done."""
    return _chunks(user, user.is_reviewer, lq)


def _chunks(user, reviewer: bool, lq: listing.ListQuery) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(reviewer))
    for n, claim in enumerate(listing.all_rows(user, lq), 1):
        writer.writerow(row(claim, reviewer))
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

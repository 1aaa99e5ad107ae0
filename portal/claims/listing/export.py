"""The claims list as CSV: exactly what the filters select, in the list's order, every label in
the user's language, and no cell a spreadsheet would run as a formula.

Written for Excel in the user's language, which opens a CSV file by double click: UTF-8 with a
byte order mark (without one, Excel reads the file in the system's legacy code page and
"Société" comes out as "SociÃ©tÃ©"), and cells separated by the list separator of the user's
regional settings, which Excel expects: ";" where numbers are written with a decimal comma
(French), "," elsewhere. Dates stay ISO 8601 (2026-12-08), for programs and sorting."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from babel.numbers import get_decimal_symbol
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.claims.base import Activity, ClaimStatus, claim_number
from portal.claims.labels import AREA_LABELS, CONSENT_LABELS, activity_label, area_label, consent_label, status_label
from portal.claims.listing import claims as listing

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Opens the file: tells Excel (and any other reader) that it is UTF-8.
BOM = "\ufeff"
#: Rows written between two chunks of the streamed file.
CHUNK_ROWS = 1000


def neutralise(value) -> str:
    """A cell a spreadsheet would read as a formula is prefixed with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def separator(locale=None) -> str:
    """The cell separator Excel expects in ``locale`` (the current one by default): ";" where
    the decimal separator is a comma, since "," then belongs to numbers."""
    return ";" if get_decimal_symbol(locale or get_locale()) == "," else ","


def header(reviewer: bool) -> list[str]:
    columns = [_("Claim"), _("Status"), _("In arbitration"), _("Customer"), _("Tenant ID"), _("Solution area"),
               _("Product or workload"), _("Activity"), _("MPN ID"), _("Submitted"), _("Due"), _("Customer consent")]
    if reviewer:
        columns.insert(1, _("Partner"))
    return columns


class RowWriter:
    """Turns export rows into cells. Every label is translated once per file, not once a row."""

    def __init__(self, reviewer: bool):
        self.reviewer = reviewer
        self.statuses = {status: status_label(status) for status in ClaimStatus}
        self.activities = {activity: activity_label(activity) for activity in Activity}
        self.areas = {area: area_label(area) for area in AREA_LABELS}
        self.consent = {state: consent_label(state) for state in CONSENT_LABELS}
        self.closed_consent = {state: consent_label(state, ClaimStatus.CLOSED) for state in CONSENT_LABELS}
        self.yes_no = {True: _("yes"), False: _("no")}

    def cells(self, row) -> list[str]:
        """One row (of ``listing.EXPORT_COLUMNS``, unpacked by position: a hundred thousand rows
        make attribute look-ups count). Only the names that come from people or the directory
        (customer, product, partner) can start like a formula; the rest are the portal's own
        words, IDs and dates."""
        (id_, status, in_arbitration, customer, tenant_id, solution_area, product, activity, mpn_id,
         submitted_at, due_on, consent_state, partner, _customer_name) = row
        cells = [claim_number(id_), self.statuses.get(status) or status_label(status), self.yes_no[bool(in_arbitration)],
                 neutralise(customer), tenant_id or "", self.areas.get(solution_area) or area_label(solution_area),
                 neutralise(product), self.activities.get(activity) or activity_label(activity), mpn_id or "",
                 submitted_at.date().isoformat() if submitted_at else "", due_on.isoformat() if due_on else "",
                 (self.closed_consent if status == ClaimStatus.CLOSED else self.consent).get(consent_state)
                 or consent_label(consent_state, status)]
        if self.reviewer:
            cells.insert(1, neutralise(partner))
        return cells


def csv_chunks(user, lq: listing.ListQuery) -> Iterator[str]:
    """The file in chunks of ``CHUNK_ROWS`` rows, for a streamed response. Who the user is, is
    read now, and the separator of the user's language: the chunks are written after the
    request's own work is done."""
    return _chunks(user, user.is_reviewer, lq, separator())


def _chunks(user, reviewer: bool, lq: listing.ListQuery, delimiter: str) -> Iterator[str]:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header(reviewer))
    cells = RowWriter(reviewer).cells
    for batch in listing.batches(user, lq, CHUNK_ROWS):
        writer.writerows(map(cells, batch))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()

"""The CSV export: exactly the filtered claims in the list's order, fetched in batches and
streamed, with cells a spreadsheet would read as formulas neutralised; never another
organization's claims."""
from __future__ import annotations

import codecs
import csv
import io
from datetime import timedelta

import pytest

from portal.claims.listing import claims as listing
from portal.claims.listing import export
from portal.claims.models import Claim
from portal.directory.models import Tenant
from portal.extensions import db
from tests.encoding import decoded
from tests.claims.listing.conftest import PRODUCTS, TAILSPIN, TODAY, WINGTIP, expected_order, fill, insert_claim
from tests.support import sign_in

HEADER = ["Claim", "Status", "In arbitration", "Customer", "Tenant ID", "Solution area", "Product or workload",
          "Activity", "MPN ID", "Submitted", "Due", "Customer consent"]


def rows_of(response, delimiter: str = ",") -> list[list[str]]:
    return rows_of_bytes(response.get_data(), delimiter)


def rows_of_bytes(data: bytes, delimiter: str = ",") -> list[list[str]]:
    """The file as Excel opens it: UTF-8 only when it starts with a byte order mark (else the
    system's code page), cells split at the list separator of the regional settings."""
    assert data.startswith(codecs.BOM_UTF8), "no byte order mark: Excel would not read the file as UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def numbers(ids) -> list[str]:
    return [f"CPOR-{i:06d}" for i in ids]


@pytest.fixture
def small_batches(monkeypatch):
    """Export in batches of 7 and count the batches it fetched."""
    calls = []
    export_page = listing.export_page

    def counted(user, lq, size):
        calls.append(size)
        return export_page(user, lq, size)

    monkeypatch.setattr(listing, "export_page", counted)
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    return calls


def test_the_export_is_the_filtered_list_across_batches(any_app, any_world, small_batches):
    fill(any_app, any_world)
    fill(any_app, any_world, count=30, organization_id=any_world.proseware_id)
    client = sign_in(any_app, any_world.fabrikam_email)
    mine = any_world.of(any_world.fabrikam_id)

    response = client.get("/claims/export.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=claims.csv"
    assert "no-store" in response.headers["Cache-Control"]
    rows = rows_of(response)
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == numbers(expected_order(mine, "newest"))
    assert len(small_batches) >= 120 // 7 and set(small_batches) == {7}

    small_batches.clear()
    toys = client.get("/claims/export.csv?q=toys&sort=due&arbitration=no")
    expected = expected_order([r for r in mine if r.tenant_id in (TAILSPIN[0], WINGTIP[0]) and not r.in_arbitration], "due")
    assert [r[0] for r in rows_of(toys)[1:]] == numbers(expected)
    assert len(expected) > 7 and len(small_batches) > 1

    # A page of the list and the export agree: the export ignores where the page started.
    cursor_ignored = client.get("/claims/export.csv?q=toys&sort=due&arbitration=no&after=WyIyMDI2LTAxLTAxIiwgMV0")
    assert rows_of(cursor_ignored) == rows_of(toys)


def test_each_row_says_what_the_list_says(app, world):
    with app.app_context():
        mpn = world.mpns[world.fabrikam_id][0]
        row = insert_claim(world.fabrikam_id, mpn, status="partner_action_required", tenant=TAILSPIN, product=PRODUCTS[3],
                           activity="usage", in_arbitration=True)
        claim = db.session.get(Claim, row.id)
        claim.consent_state = "confirmed"
        # Still open to the partner's answer: a date already past would be applied on read
        # (rejected, then closed), as test_deadlines_on_read shows.
        due = claim.due_on = TODAY + timedelta(days=4)
        db.session.commit()
    rows = rows_of(sign_in(app, world.fabrikam_email).get("/claims/export.csv"))
    assert rows[1] == [f"CPOR-{row.id:06d}", "Partner action required", "yes", "Tailspin Toys", TAILSPIN[0], "Microsoft 365",
                       "Microsoft Teams", "Usage", mpn[1], "2026-03-02", due.isoformat(), "Confirmed by the customer"]


def test_a_partners_export_never_holds_another_organizations_claims(app, world):
    fill(app, world, count=20)
    fill(app, world, count=20, organization_id=world.proseware_id)
    fabrikam = sign_in(app, world.fabrikam_email)
    theirs = set(numbers(r.id for r in world.of(world.proseware_id)))
    mine = numbers(expected_order(world.of(world.fabrikam_id), "newest"))
    for query in ("", "?q=contoso", f"?mpn={world.proseware_mpns[0]}", f"?q={world.of(world.proseware_id)[0].id}",
                  "?sort=customer", "?sort=due&status=submitted"):
        exported = [r[0] for r in rows_of(fabrikam.get("/claims/export.csv" + query))[1:]]
        assert not set(exported) & theirs, query
    assert [r[0] for r in rows_of(fabrikam.get("/claims/export.csv"))[1:]] == mine

    reviewer = rows_of(sign_in(app, world.reviewer_email).get("/claims/export.csv?sort=oldest"))
    assert reviewer[0] == HEADER[:1] + ["Partner"] + HEADER[1:]
    assert [r[0] for r in reviewer[1:]] == numbers(expected_order(world.rows, "oldest"))
    assert {r[1] for r in reviewer[1:]} == {"Fabrikam Consulting", "Proseware, Inc."}


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"),
    ("+33 1 23 45", "'+33 1 23 45"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Contoso Ltd", "Contoso Ltd"),
    ("a=b", "a=b"),
    ("Tailspin - Toys", "Tailspin - Toys"),
    ("", ""),
    (None, ""),
    (42, "42"),
])
def test_neutralise(value, expected):
    assert export.neutralise(value) == expected


def claims_of_customers(world, names, **columns) -> dict[int, str]:
    """A Fabrikam claim on a new tenant of each name (in an app context): their names by id."""
    mpn = world.mpns[world.fabrikam_id][0]
    ids = {}
    for n, name in enumerate(names):
        tenant = (f"00000000-0000-4000-8000-{n + 1:012d}", name, [])
        db.session.add(Tenant(tenant_id=tenant[0], name=name))
        db.session.flush()
        ids[insert_claim(world.fabrikam_id, mpn, tenant=tenant, customer_name=name, **columns).id] = name
    return ids


def test_formulas_in_names_are_neutralised_in_the_file(app, world):
    names = ["=1+2", "+cmd|' /C calc'!A0", "-10", "@SUM(1,2)", "Plain Customer Ltd"]
    with app.app_context():
        ids = claims_of_customers(world, names)
        organization = db.session.get(Claim, next(iter(ids))).organization
        organization.name = "=Evil Partner"
        db.session.commit()
    for email, column in ((world.fabrikam_email, 3), (world.reviewer_email, 4)):
        rows = rows_of(sign_in(app, email).get("/claims/export.csv"))
        by_number = {r[0]: r for r in rows[1:]}
        for claim_id, name in ids.items():
            cell = by_number[f"CPOR-{claim_id:06d}"][column]
            assert cell == (name if name == "Plain Customer Ltd" else "'" + name), (email, cell)
        if email == world.reviewer_email:
            assert {r[1] for r in rows[1:]} == {"'=Evil Partner"}


def test_an_empty_export_has_its_header(app, world):
    rows = rows_of(sign_in(app, world.fabrikam_email).get("/claims/export.csv?q=nothing"))
    assert rows == [HEADER]


@pytest.mark.parametrize("encoding", ["zstd", "br", "gzip", "deflate"])
def test_the_compressed_export_is_complete_and_still_streamed(app, world, small_batches, encoding):
    fill(app, world)
    client = sign_in(app, world.fabrikam_email)
    plain = client.get("/claims/export.csv").get_data()
    small_batches.clear()

    response = client.get("/claims/export.csv", headers={"Accept-Encoding": encoding})

    assert response.headers["Content-Encoding"] == encoding
    # Not gathered into one body first (that would have a Content-Length), and every batch read.
    assert response.is_streamed and "Content-Length" not in response.headers
    assert decoded(response) == plain
    assert len(small_batches) >= 120 // 7 and set(small_batches) == {7}
    assert len(rows_of_bytes(plain)) == 121


def test_the_export_is_not_compressed_for_a_client_that_does_not_ask(app, world):
    fill(app, world, count=20)
    client = sign_in(app, world.fabrikam_email)

    for headers in ({}, {"Accept-Encoding": "identity"}):
        response = client.get("/claims/export.csv", headers=headers)
        assert "Content-Encoding" not in response.headers
        assert len(rows_of(response)) == 21


FRENCH_HEADER = ["Revendication", "Statut", "En arbitrage", "Client", "ID de locataire", "Domaine fonctionnel",
                 "Produit ou charge de travail", "Activité", "ID MPN", "Soumise", "Échéance", "Validation du client"]


@pytest.mark.parametrize("locale, delimiter", [("en", ","), ("fr", ";")])
def test_excel_opens_the_export_in_the_users_language(app, world, locale, delimiter):
    """UTF-8 with a byte order mark; cells separated as Excel expects in the language (";" in
    French, where "," is the decimal separator); labels translated; names in any script, and
    names holding either separator, intact; formulas still neutralised."""
    names = ["Société Générale; Élan, Ltée", "株式会社ノースウィンド", "Ωμέγα Πληροφορική", "=1+2"]
    with app.app_context():
        ids = {f"CPOR-{claim_id:06d}": name for claim_id, name in claims_of_customers(world, names, status="approved").items()}
        db.session.commit()
    client = sign_in(app, world.fabrikam_email)

    response = client.get("/claims/export.csv", headers={"Accept-Language": locale})

    rows = rows_of(response, delimiter)
    assert rows[0] == (HEADER if locale == "en" else FRENCH_HEADER)
    assert all(len(row) == len(rows[0]) for row in rows), "a row split at the wrong separator"
    by_number = {row[0]: row for row in rows[1:]}
    for number, name in ids.items():
        assert by_number[number][3] == ("'" + name if name.startswith("=") else name)
        assert by_number[number][1] == ("Approved" if locale == "en" else "Approuvée")
        assert by_number[number][9] == "2026-03-02"  # dates stay ISO 8601, for programs
    # The other separator is ordinary text: the file is not split by it.
    other = ";" if delimiter == "," else ","
    assert list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=other))[0] != rows[0]


def test_the_separator_follows_the_decimal_separator():
    assert [export.separator(locale) for locale in ("en", "fr", "de", "en_GB", "fr_CA")] == [",", ";", ";", ",", ";"]

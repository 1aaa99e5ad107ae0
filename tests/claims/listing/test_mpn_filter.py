"""The MPN ID filter (issue 5 item 1): a reviewer types any organization's MPN ID (exact match),
labelled and described, reflected in the URL and honoured by the export; what is not an MPN ID
is said beside the field and not applied. A partner keeps the select of its own MPN IDs and
reaches no other organization's claims by typing another MPN ID in the URL."""
from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.html import text
from tests.claims.listing.conftest import claim_ids, expected_order, fill, next_link, walk
from tests.support import Statements, sign_in

MESSAGE = "An MPN ID is 6 or 7 digits: this filter is not applied."


@pytest.fixture
def filled(any_app, any_world):
    fill(any_app, any_world, count=60)
    fill(any_app, any_world, count=30, organization_id=any_world.proseware_id)
    return any_app, any_world


def listed(client, **params) -> list[int]:
    return walk(client, "/claims/?" + urlencode(params))[0]


def exported(client, **params) -> list[int]:
    response = client.get("/claims/export.csv?" + urlencode(params))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    return [int(row[0].removeprefix("CPOR-")) for row in rows[1:]]


def mpn_field(body: str) -> str:
    """The MPN ID filter's markup, from its label to the end of its error slot."""
    return body.split('<label for="filter-mpn">')[1].split('<label for="filter-arbitration">')[0]


def error_slot(body: str) -> str:
    match = re.search(r'<div id="filter-mpn-error"[^>]*>(.*?)</div>', body, re.S)
    assert match, "no error slot for the MPN ID"
    return match.group(1)


def test_a_reviewer_types_an_mpn_id_in_a_labelled_described_field(filled):
    app, world = filled
    body = sign_in(app, world.reviewer_email).get("/claims/").get_data(as_text=True)

    field = mpn_field(body)
    assert "MPN ID</label>" in field
    tag = re.search(r'<input [^>]*id="filter-mpn"[^>]*>', field).group(0)
    assert 'type="text"' in tag and 'name="mpn"' in tag and 'value=""' in tag and 'inputmode="numeric"' in tag
    assert 'aria-describedby="filter-mpn-hint filter-mpn-error"' in tag and "aria-invalid" not in tag
    assert 'id="filter-mpn-hint"' in field and "The exact MPN ID, 6 or 7 digits." in field
    assert 'aria-live="polite"' in field and error_slot(body).strip() == ""
    assert "<select" not in field
    # Typing in it filters like the search box does, and the page says which MPN ID it shows.
    form = re.search(r'<form method="get" action="/claims/"[^>]*>', body).group(0)
    assert "from:#filter-mpn" in form
    mpn = world.proseware_mpns[0]
    assert f'value="{mpn}"' in mpn_field(sign_in(app, world.reviewer_email).get(f"/claims/?mpn={mpn}").get_data(as_text=True))


def test_a_reviewer_filters_every_organizations_claims_by_mpn_id_in_the_list_and_the_export(filled):
    app, world = filled
    reviewer = sign_in(app, world.reviewer_email)
    for organization_id, mpns in ((world.fabrikam_id, world.fabrikam_mpns), (world.proseware_id, world.proseware_mpns)):
        for mpn in mpns:
            expected = expected_order([r for r in world.of(organization_id) if r.mpn_id == mpn], "newest")
            assert expected
            assert listed(reviewer, mpn=mpn) == expected, mpn
            assert exported(reviewer, mpn=mpn) == expected, mpn
            # Spaces around a pasted MPN ID do not matter.
            assert listed(reviewer, mpn=f"  {mpn} ") == expected, mpn

    # Combined with the other filters, in the list as in the export.
    mpn = world.fabrikam_mpns[1]
    params = {"mpn": mpn, "status": "submitted", "sort": "due"}
    expected = expected_order([r for r in world.rows if r.mpn_id == mpn and r.status == "submitted"], "due")
    assert listed(reviewer, **params) == expected == exported(reviewer, **params)

    # A well-formed MPN ID nobody has selects nothing.
    assert listed(reviewer, mpn="7654321") == [] == exported(reviewer, mpn="7654321")
    assert "No claim matches these filters." in text(reviewer.get("/claims/?mpn=7654321"))


def test_the_url_says_the_mpn_id_and_loads_the_same_page_without_htmx(filled):
    app, world = filled
    reviewer = sign_in(app, world.reviewer_email)
    mpn = world.fabrikam_mpns[0]

    fragment = reviewer.get(f"/claims/?q=&status=&mpn={mpn}&arbitration=", headers={"HX-Request": "true"})

    pushed = fragment.headers["HX-Push-Url"]
    assert parse_qs(urlsplit(pushed).query) == {"mpn": [mpn]}
    page = reviewer.get(pushed)
    assert claim_ids(page) == claim_ids(fragment) != []
    assert f'value="{mpn}"' in mpn_field(page.get_data(as_text=True))
    # The next page and the export keep the MPN ID.
    assert parse_qs(urlsplit(next_link(page)).query)["mpn"] == [mpn]
    export = re.search(r'<a href="(/claims/export\.csv[^"]*)"', fragment.get_data(as_text=True)).group(1)
    assert parse_qs(urlsplit(export.replace("&amp;", "&")).query) == {"mpn": [mpn]}


@pytest.mark.parametrize("typed", ["12345", "12345678", "abc1234", "1234 567", "１２３４５６７", "-1234567"])
def test_what_is_not_an_mpn_id_is_said_beside_the_field_and_not_applied(filled, typed):
    app, world = filled
    reviewer = sign_in(app, world.reviewer_email)
    everything = expected_order(world.rows, "newest")

    response = reviewer.get("/claims/?" + urlencode({"mpn": typed}))

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert MESSAGE in text(response).replace("\n", " ") and MESSAGE in error_slot(text(response))
    tag = re.search(r'<input [^>]*id="filter-mpn"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in tag
    # What was typed stays in the field, and in the URL, so that it can be corrected.
    assert f'value="{html.escape(typed)}"' in tag
    assert parse_qs(urlsplit(next_link(response)).query)["mpn"] == [typed]
    assert listed(reviewer, mpn=typed) == everything
    # The export is what the list shows.
    assert exported(reviewer, mpn=typed) == everything


def test_the_htmx_results_bring_the_fields_message_along(filled):
    app, world = filled
    reviewer = sign_in(app, world.reviewer_email)

    wrong = reviewer.get("/claims/?mpn=12345", headers={"HX-Request": "true"}).get_data(as_text=True)
    right = reviewer.get(f"/claims/?mpn={world.fabrikam_mpns[0]}", headers={"HX-Request": "true"}).get_data(as_text=True)

    for body in (wrong, right):
        assert body.lstrip().startswith('<section id="results"') and body.rstrip().endswith("</section>")
        assert re.search(r'<div id="filter-mpn-error" hx-swap-oob="innerHTML">', body)
    assert MESSAGE in text_of(error_slot(wrong))
    assert error_slot(right).strip() == ""  # a corrected MPN ID clears the message


def text_of(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_a_partner_keeps_the_select_of_its_own_mpn_ids(filled):
    app, world = filled
    partner = sign_in(app, world.fabrikam_email)
    body = partner.get("/claims/").get_data(as_text=True)
    field = mpn_field(body)
    assert '<select id="filter-mpn" name="mpn">' in field
    assert re.findall(r'<option value="(\d+)"', field) == world.fabrikam_mpns
    assert world.proseware_mpns[0] not in body
    assert 'type="text"' not in field and "from:#filter-mpn" not in body
    fragment = partner.get("/claims/?status=submitted", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "filter-mpn-error" not in fragment  # (the search field's slot comes along, its own)
    mpn = world.fabrikam_mpns[1]
    expected = expected_order([r for r in world.of(world.fabrikam_id) if r.mpn_id == mpn], "newest")
    assert listed(partner, mpn=mpn) == expected == exported(partner, mpn=mpn)


def test_a_partner_cannot_filter_into_another_organizations_claims_by_mpn_id(filled):
    app, world = filled
    theirs = world.proseware_mpns[0]
    fabrikam = sign_in(app, world.fabrikam_email)

    for htmx in (False, True):
        response = fabrikam.get(f"/claims/?mpn={theirs}", headers={"HX-Request": "true"} if htmx else {})
        assert response.status_code == 200
        assert claim_ids(response) == []
        assert "Proseware" not in text(response)
    assert listed(fabrikam, mpn=theirs) == []
    assert exported(fabrikam, mpn=theirs) == []
    for sort in ("oldest", "due", "customer"):
        assert listed(fabrikam, mpn=theirs, sort=sort) == [] == exported(fabrikam, mpn=theirs, sort=sort)
    # Proseware's own MPN ID in Proseware's hands shows Proseware's claims: the scope, not the
    # MPN ID, is what keeps Fabrikam out.
    assert listed(sign_in(app, world.proseware_email), mpn=theirs) == expected_order(world.of(world.proseware_id), "newest")


def test_an_mpn_id_filter_costs_as_many_statements_for_100_claims_as_for_5(any_app, any_world):
    """Resolving the MPN ID is one statement, whatever the number of claims or pages."""
    clients = {"reviewer": sign_in(any_app, any_world.reviewer_email), "partner": sign_in(any_app, any_world.fabrikam_email)}
    mpn = any_world.fabrikam_mpns[0]

    def statements(who, url):
        clients[who].get(url)  # the same request once before, so nothing is counted for a first time
        with Statements(any_app) as counter:
            response = clients[who].get(url)
            response.get_data()
        assert response.status_code == 200
        return len(counter.statements)

    urls = [(who, f"{path}?mpn={mpn}{extra}") for who in clients for path in ("/claims/", "/claims/export.csv")
            for extra in ("", "&sort=due")]
    fill(any_app, any_world, count=10)
    few = {case: statements(*case) for case in urls}
    fill(any_app, any_world, count=100, start=10)
    many = {case: statements(*case) for case in urls}
    assert len(claim_ids(clients["reviewer"].get(f"/claims/?mpn={mpn}"))) == 25
    for case in urls:
        assert many[case] <= few[case], case

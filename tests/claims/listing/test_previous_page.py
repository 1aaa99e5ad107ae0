"""The claims list's Previous page, on SQLite and on PostgreSQL: keyset pages read backwards
(never an OFFSET), the same rows going back as coming forward, in every sort and with filters,
with htmx or without; the first page has no Previous."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.claims.listing import claims as listing
from tests.claims.listing.conftest import claim_ids, expected_order, fill, next_link, walk
from tests.support import Statements, sign_in

_PREVIOUS = re.compile(r'<a href="([^"]+)"[^>]*>Previous page</a>')
_FIRST = re.compile(r'<a href="([^"]+)"[^>]*>First page</a>')


def previous_link(response) -> str | None:
    match = _PREVIOUS.search(response.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else None


def pages_forward(client, url, headers):
    """Each page's claims and the response, following Next from ``url``."""
    pages = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        pages.append((claim_ids(response), response))
        url = next_link(response)
    return pages


@pytest.mark.parametrize("sort", listing.SORTS)
@pytest.mark.parametrize("htmx", [False, True], ids=["links", "htmx"])
def test_previous_links_walk_back_through_the_same_pages(any_app, any_world, sort, htmx):
    fill(any_app, any_world)
    fill(any_app, any_world, count=30, organization_id=any_world.proseware_id)
    headers = {"HX-Request": "true"} if htmx else {}
    partner = sign_in(any_app, any_world.fabrikam_email)
    reviewer = sign_in(any_app, any_world.reviewer_email)
    mpn = any_world.fabrikam_mpns[0]
    for client, url in ((partner, f"/claims/?sort={sort}"), (reviewer, f"/claims/?sort={sort}"),
                        (partner, f"/claims/?sort={sort}&mpn={mpn}&arbitration=no"),
                        (reviewer, f"/claims/?sort={sort}&q=Contoso&activity=presales")):
        forward = pages_forward(client, url, headers)
        assert previous_link(forward[0][1]) is None and not _FIRST.search(forward[0][1].get_data(as_text=True)), url
        with Statements(any_app) as counter:
            backward, response = [forward[-1][0]], forward[-1][1]
            while previous_link(response):
                link = previous_link(response)
                assert "after=" not in link and "before=" in link
                response = client.get(link, headers=headers)
                assert response.status_code == 200, link
                if htmx:
                    # The address bar follows, as it does for Next.
                    assert response.headers["HX-Push-Url"] == link
                backward.append(claim_ids(response))
        assert not counter.offsets()
        assert backward[::-1] == [ids for ids, _ in forward], url
        # Back at the start: no Previous, and Next goes on as from the first page.
        assert next_link(response) == next_link(forward[0][1])


def test_previous_keeps_every_filter_and_the_sort(app, world):
    fill(app, world)
    mpn = world.fabrikam_mpns[1]
    client = sign_in(app, world.fabrikam_email)
    second = client.get(next_link(client.get(f"/claims/?sort=customer&mpn={mpn}&arbitration=no")))
    query = parse_qs(urlsplit(previous_link(second)).query)
    assert query["sort"] == ["customer"] and query["mpn"] == [mpn] and query["arbitration"] == ["no"]
    assert "after" not in query and len(query["before"]) == 1
    assert claim_ids(client.get(previous_link(second))) == expected_order(
        [r for r in world.rows if r.mpn_id == mpn and not r.in_arbitration], "customer")[:25]


def test_a_previous_page_costs_what_a_next_page_costs(any_app, any_world):
    """Reading backwards is the same index range scan: one statement for the claims (two where
    the rows without the sort value meet the others), as a Next page."""
    fill(any_app, any_world)
    client = sign_in(any_app, any_world.fabrikam_email)
    for sort in listing.SORTS:
        _, urls = walk(client, f"/claims/?sort={sort}")
        nexts, previouses = [], []
        for url in urls[1:]:
            client.get(url)
            with Statements(any_app) as counter:
                response = client.get(url)
            nexts.append(len(counter.statements))
            back = previous_link(response)
            client.get(back)
            with Statements(any_app) as counter:
                client.get(back)
            previouses.append(len(counter.statements))
        # Going back from page n reads the rows page n-1 read going forward.
        assert previouses[1:] == nexts[:-1], sort
        assert previouses[0] <= nexts[0] + 1, sort


def test_a_short_way_back_shows_the_whole_first_page(app, world):
    """Claims that left the list meanwhile leave fewer than a page before: Previous shows the
    first page, full and without a Previous of its own."""
    rows = fill(app, world, count=40)
    client = sign_in(app, world.fabrikam_email)
    first = client.get("/claims/?sort=oldest")
    second = client.get(next_link(first))
    from portal.claims.models import Claim
    from portal.extensions import db

    with app.app_context():
        for claim_id in claim_ids(first)[:5]:
            db.session.get(Claim, claim_id).status = "draft"  # drafts are not listed
        db.session.commit()
    back = client.get(previous_link(second))
    assert claim_ids(back) == expected_order([r for r in rows if r.id not in claim_ids(first)[:5]], "oldest")[:25]
    assert previous_link(back) is None


@pytest.mark.parametrize("bad", ["not-a-cursor", "", "A" * 5000])
def test_a_bad_previous_cursor_shows_the_first_page(app, world, bad):
    fill(app, world, count=40)
    client = sign_in(app, world.fabrikam_email)
    first = claim_ids(client.get("/claims/"))
    response = client.get("/claims/", query_string={"before": bad})
    assert response.status_code == 200 and claim_ids(response) == first

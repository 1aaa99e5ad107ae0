"""Sorting and keyset pagination of the claims list, on SQLite and on PostgreSQL: every page of
every sort, each claim exactly once and in order, never an OFFSET, and a page costs the same
number of SQL statements whatever the number of claims."""
from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.claims.listing import claims as listing
from portal.claims.models import Claim
from portal.extensions import db
from tests.claims.listing.conftest import (
    BASE,
    TODAY,
    PRODUCTS,
    TENANTS,
    claim_ids,
    expected_order,
    fill,
    insert_claim,
    next_link,
    walk,
)
from tests.support import Statements, sign_in


def _user(email) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _walk_service(user, sort, size) -> list[int]:
    seen, after = [], ""
    for _ in range(1000):
        result = listing.page(user, listing.ListQuery(sort=sort, after=after), size=size)
        assert len(result.claims) <= size
        seen += [c.id for c in result.claims]
        if not result.next_cursor:
            return seen
        after = result.next_cursor
    raise AssertionError("the pages never end")


def test_every_page_of_every_sort_has_each_claim_once_in_order(any_app, any_world):
    fill(any_app, any_world)
    fill(any_app, any_world, count=30, organization_id=any_world.proseware_id)
    with any_app.app_context():
        draft = Claim(organization_id=any_world.fabrikam_id, status="draft", draft={})
        db.session.add(draft)
        db.session.commit()
        partner, reviewer = _user(any_world.fabrikam_email), _user(any_world.reviewer_email)
        with Statements(any_app) as counter:
            for sort in listing.SORTS:
                for size in (1, 7, 25, 500):
                    assert _walk_service(partner, sort, size) == expected_order(any_world.of(any_world.fabrikam_id), sort), (sort, size)
                for size in (7, 500):
                    assert _walk_service(reviewer, sort, size) == expected_order(any_world.rows, sort), (sort, size)
    assert counter.statements
    assert not counter.offsets()


@pytest.mark.parametrize("sort", listing.SORTS)
def test_next_links_walk_every_claim_once_in_order(any_app, any_world, sort):
    fill(any_app, any_world)
    fill(any_app, any_world, count=30, organization_id=any_world.proseware_id)
    partner = sign_in(any_app, any_world.fabrikam_email)
    reviewer = sign_in(any_app, any_world.reviewer_email)
    with Statements(any_app) as counter:
        seen, urls = walk(partner, f"/claims/?sort={sort}")
        assert seen == expected_order(any_world.of(any_world.fabrikam_id), sort)
        assert len(urls) == 5  # 120 claims, 25 a page
        by_htmx, _ = walk(partner, f"/claims/?sort={sort}", htmx=True)
        assert by_htmx == seen
        everything, _ = walk(reviewer, f"/claims/?sort={sort}")
        assert everything == expected_order(any_world.rows, sort)
    assert not counter.offsets()


def _claims(app, world, numbers):
    """Claims with every sort key, except the first, which has none of them (so the last page
    of every sort holds claims with and without the key)."""
    with app.app_context():
        mpns = world.mpns[world.fabrikam_id]
        for n in numbers:
            insert_claim(world.fabrikam_id, mpns[n % 2], tenant=TENANTS[n % 5], product=PRODUCTS[(n // 5) % 8],
                         activity=("presales", "usage", "revenue_association")[n // 40], status="under_review",
                         submitted_at=None if n == 0 else BASE + timedelta(hours=n),
                         due_on=None if n == 0 else TODAY + timedelta(days=n % 9),
                         customer_name=None if n == 0 else f"Customer {n:03d}")
        db.session.commit()


def test_a_list_page_makes_as_many_statements_for_100_claims_as_for_5(any_app, any_world):
    """A page costs a fixed number of statements, never one per row: the claims (one query, and
    one for the claims without the sort value once the others run out) and one per related
    table for each."""
    clients = {"partner": sign_in(any_app, any_world.fabrikam_email), "reviewer": sign_in(any_app, any_world.reviewer_email)}

    def statements(who, url, htmx=False):
        client = clients[who]
        client.get(url)  # the same request once before, so nothing is counted for a first time
        with Statements(any_app) as counter:
            response = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        assert response.status_code == 200
        return len(counter.statements), len(claim_ids(response))

    urls = ("/claims/", "/claims/?sort=due", "/claims/?sort=customer&q=dynamics", "/claims/?sort=oldest&activity=presales")
    cases = [(who, url, htmx) for who in clients for url in urls for htmx in (False, True)]
    _claims(any_app, any_world, range(5))
    few = {case: statements(*case) for case in cases}
    assert {shown for _, shown in few.values()} == {5}
    _claims(any_app, any_world, range(5, 100))
    first = {case: statements(*case) for case in cases}
    last = {case: statements(case[0], walk(clients[case[0]], case[1])[1][-1], case[2]) for case in cases}
    assert first[("partner", "/claims/", False)][1] == 25
    for case in cases:
        assert last[case][0] == few[case][0], case
        assert first[case][0] <= few[case][0], case


def test_customer_names_in_any_script_page_through(any_app, any_world):
    """A cursor carries the last customer name: a long name in a non-Latin script still leads
    to the next page, not back to the first."""
    names = ("株式会社ノースウィンド・トレーダーズ・ホールディングス" * 2, "Ωμέγα Συμβουλευτική Ανώνυμη Εταιρεία Πληροφορικής")
    with any_app.app_context():
        mpn = any_world.mpns[any_world.fabrikam_id][0]
        for n in range(60):
            insert_claim(any_world.fabrikam_id, mpn, tenant=TENANTS[n % 5], product=PRODUCTS[(n // 5) % 8],
                         activity=("presales", "usage")[n // 40], customer_name=names[n % 2], status="closed")
        db.session.commit()
        expected = [c.id for c in db.session.scalars(select(Claim).order_by(Claim.customer_name, Claim.id))]
    seen, urls = walk(sign_in(any_app, any_world.fabrikam_email), "/claims/?sort=customer")
    assert seen == expected
    assert len(urls) == 3


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "not-a-cursor",
    "%%%",
    "",
    "é",
    _cursor("[]"),
    _cursor("{}"),
    _cursor('"ab"'),
    _cursor("[1, 2, 3]"),
    _cursor('[{"a": 1}, 2]'),
    _cursor('["2026-13-45", 3]'),
    _cursor('["2026-01-01", "x"]'),
    _cursor('["2026-01-01", 1e400]'),
    _cursor("[null, 99999999999999999999999]"),
    _cursor('["2026-01-01T00:00:00", 99999999999999999999999]'),
    _cursor('["2026-01-01T00:00:00", -99999999999999999999999]'),
    _cursor('["a\\u0000", 1]'),
    _cursor("[true, false]"),
    _cursor("[" * 140 + "]" * 140),
    "A" * 5000,
]


@pytest.mark.parametrize("sort", listing.SORTS)
def test_bad_cursors_show_the_first_page(any_app, any_world, sort):
    fill(any_app, any_world, count=40)
    client = sign_in(any_app, any_world.fabrikam_email)
    first = claim_ids(client.get(f"/claims/?sort={sort}"))
    assert len(first) == 25
    for bad in BAD_CURSORS:
        response = client.get("/claims/", query_string={"sort": sort, "after": bad})
        assert response.status_code == 200, bad
        assert claim_ids(response) == first, bad
    response = client.get(f"/claims/?sort={sort}&q=%00&status=%00submitted&after=%00")
    assert response.status_code == 200


def test_a_cursor_from_another_sort_never_fails(any_app, any_world):
    fill(any_app, any_world, count=40)
    client = sign_in(any_app, any_world.fabrikam_email)
    cursors = {sort: parse_qs(urlsplit(next_link(client.get(f"/claims/?sort={sort}"))).query)["after"][0]
               for sort in listing.SORTS}
    for sort in listing.SORTS:
        for other, cursor in cursors.items():
            response = client.get("/claims/", query_string={"sort": sort, "after": cursor})
            assert response.status_code == 200, (sort, other)


def test_cursor_is_opaque_json_of_sort_value_and_id(app, world):
    """The Next link continues after the last row shown (what makes it a keyset, not a page
    number)."""
    fill(app, world, count=30)
    response = sign_in(app, world.fabrikam_email).get("/claims/?sort=oldest")
    after = parse_qs(urlsplit(next_link(response)).query)["after"][0]
    value, last_id = json.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))
    assert last_id == claim_ids(response)[-1]
    assert value.startswith("2026-")

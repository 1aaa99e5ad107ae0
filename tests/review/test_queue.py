"""The reviewer queue: order, filters, keyset pages, htmx fragments, taking a claim, access."""
from __future__ import annotations

import re
from datetime import date

import pytest

from portal.claims.models import Claim
from portal.extensions import db
from portal.review import services
from portal.review.services import QueueFilters
from tests.html import csp_violations, form_token, text
from tests.review.conftest import (
    PARTNER_ROLES,
    claim_state,
    days_ago,
    move,
    product,
    start_review,
    submitted,
    tenant,
)
from tests.support import Statements, sign_in
from tests import factories

_ROW = re.compile(r'<tr id="queue-claim-(\d+)">(.*?)</tr>', re.S)


def rows(response) -> list[int]:
    return [int(m.group(1)) for m in _ROW.finditer(response.get_data(as_text=True))]


def row_html(response, claim_id) -> str:
    return next(m.group(2) for m in _ROW.finditer(response.get_data(as_text=True)) if int(m.group(1)) == claim_id)


def next_link(response) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="next"', response.get_data(as_text=True))
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.fixture
def reviewer(app, world):
    return sign_in(app, world.reviewer_email)


def _claims_due_on_different_days(app, world):
    """Three claims submitted 20, 10 and 0 days ago (the first two overdue), filed newest first."""
    with app.app_context():
        customer, item = tenant(), product()
        fresh = submitted(world.fabrikam, customer, item, activity="presales", when=days_ago(0))
        older = submitted(world.fabrikam, customer, item, activity="usage", when=days_ago(10))
        oldest = submitted(world.proseware, customer, item, activity="usage", when=days_ago(20))
        db.session.commit()
        return oldest.id, older.id, fresh.id


def test_queue_lists_claims_by_due_date_with_overdue_first(app, world, reviewer):
    oldest, older, fresh = _claims_due_on_different_days(app, world)

    response = reviewer.get("/review/")

    assert response.status_code == 200
    assert rows(response) == [oldest, older, fresh]
    assert "Overdue" in row_html(response, oldest)
    assert "Overdue" in row_html(response, older)
    assert "Overdue" not in row_html(response, fresh)
    assert not csp_violations(response)


def test_queue_row_shows_organization_customer_product_activity_status_and_reviewer(app, world, reviewer):
    with app.app_context():
        customer, item = tenant("Contoso Ltd"), product(name="Dynamics 365 Sales")
        claim = submitted(world.fabrikam, customer, item, activity="usage")
        submitted(world.proseware, customer, item)  # a competing claim: the arbitration
        start_review(claim, world.other_reviewer_id)
        db.session.commit()
        claim_id, number = claim.id, claim.number

    row = row_html(reviewer.get("/review/"), claim_id)

    assert f'href="/review/claims/{claim_id}"' in row and number in row
    for expected in ("Fabrikam Consulting", "Contoso Ltd", "Dynamics 365 Sales", "Usage", "Under review",
                     "In arbitration", "Rémy Dubois", "Take"):
        assert expected in row, expected


def test_undated_claims_come_last(app, world):
    with app.app_context():
        dated = submitted(world.fabrikam, tenant(), product())
        undated = submitted(world.proseware, tenant(), product())
        undated.due_on = None
        db.session.commit()
        assert [c.id for c in services.queue(QueueFilters()).claims] == [dated.id, undated.id]


def test_queue_leaves_out_drafts_and_decided_claims_unless_a_status_asks(app, world, reviewer):
    with app.app_context():
        customer = tenant()
        waiting = submitted(world.fabrikam, customer, product())
        approved = submitted(world.fabrikam, customer, product())
        move(approved, "start_review", world.reviewer_id)
        move(approved, "approve", world.reviewer_id)
        rejected = submitted(world.fabrikam, customer, product())
        move(rejected, "start_review", world.reviewer_id)
        move(rejected, "reject", world.reviewer_id, reason_code="duplicate", message="Filed twice.")
        closed = submitted(world.fabrikam, customer, product())
        move(closed, "withdraw", world.fabrikam.user_id)
        draft = Claim(organization_id=world.fabrikam.org_id, created_by_id=world.fabrikam.user_id, status="draft", draft={})
        db.session.add(draft)
        db.session.commit()
        ids = {"waiting": waiting.id, "approved": approved.id, "rejected": rejected.id, "closed": closed.id}

    assert rows(reviewer.get("/review/")) == [ids["waiting"]]
    for status in ("approved", "rejected", "closed"):
        assert rows(reviewer.get(f"/review/?status={status}")) == [ids[status]]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=submitted", {"submitted", "m365", "m365_rival"}),
        ("status=under_review", {"under_review", "mine"}),
        ("status=partner_action_required", {"information"}),
        ("status=disputed", {"disputed"}),
        ("solution_area=microsoft_365", {"m365", "m365_rival"}),
        ("solution_area=business_applications", {"submitted", "under_review", "information", "disputed", "mine"}),
        ("arbitration=yes", {"m365", "m365_rival"}),
        ("arbitration=no", {"submitted", "under_review", "information", "disputed", "mine"}),
        ("assigned=mine", {"mine"}),
        ("assigned=unassigned", {"submitted", "m365", "m365_rival"}),
        ("status=under_review&assigned=mine", {"mine"}),
        ("", {"submitted", "under_review", "information", "disputed", "mine", "m365", "m365_rival"}),
    ],
)
def test_each_filter(app, world, reviewer, query, expected):
    with app.app_context():
        # Each organization's Dynamics claims on a customer of its own (no arbitration among them);
        # the Microsoft 365 claims compete.
        customer, theirs, dynamics = tenant(), tenant(), product()
        claims = {"submitted": submitted(world.fabrikam, customer, dynamics, activity="presales")}
        claims["under_review"] = submitted(world.fabrikam, customer, dynamics, activity="usage")
        start_review(claims["under_review"], world.other_reviewer_id)
        claims["information"] = submitted(world.proseware, theirs, dynamics, activity="presales")
        start_review(claims["information"], world.other_reviewer_id)
        move(claims["information"], "request_information", world.other_reviewer_id, reason_code="missing_poe",
             message="Add the proof.")
        claims["disputed"] = submitted(world.proseware, theirs, dynamics, activity="usage")
        start_review(claims["disputed"], world.other_reviewer_id)
        move(claims["disputed"], "reject", world.other_reviewer_id, reason_code="other", message="No.")
        move(claims["disputed"], "dispute", world.proseware.user_id, message="We did the work.")
        claims["mine"] = submitted(world.proseware, theirs, dynamics, activity="revenue_association")
        start_review(claims["mine"], world.reviewer_id)
        m365_customer, workload = tenant(), product("microsoft_365")
        claims["m365"] = submitted(world.fabrikam, m365_customer, workload)
        claims["m365_rival"] = submitted(world.proseware, m365_customer, workload)
        db.session.commit()
        names = {claim.id: name for name, claim in claims.items()}

    response = reviewer.get(f"/review/?{query}")

    assert response.status_code == 200
    assert {names[i] for i in rows(response)} == expected


def test_the_filter_form_shows_the_filters_in_force(app, world, reviewer):
    page = text(reviewer.get("/review/?status=disputed&arbitration=yes"))
    assert re.search(r'<option selected value="disputed">|<option value="disputed" selected>', page)
    assert re.search(r'<option selected value="yes">|<option value="yes" selected>', page)


def test_unknown_filter_values_and_cursors_are_ignored(app, world, reviewer):
    oldest, older, fresh = _claims_due_on_different_days(app, world)
    response = reviewer.get("/review/?status=nonsense&solution_area=x&arbitration=maybe&assigned=all&after=yesterday")
    assert response.status_code == 200
    assert rows(response) == [oldest, older, fresh]


def _many_claims(app, world, count):
    """``count`` open claims, several due on each day, some overdue, filed in no useful order."""
    with app.app_context():
        item = product()
        ids = []
        for n in range(count):
            who = world.fabrikam if n % 2 else world.proseware
            claim = submitted(who, tenant(), item, when=days_ago((n * 7) % 13))
            ids.append(claim.id)
        # A few without a due date (rows from before deadlines existed) come last.
        for claim_id in ids[:3]:
            db.session.get(Claim, claim_id).due_on = None
        db.session.commit()
        return ids


def test_keyset_pages_give_every_claim_exactly_once_in_order(app, world):
    ids = _many_claims(app, world, 60)
    with app.app_context():
        seen, cursor, pages = [], None, 0
        while True:
            page = services.queue(QueueFilters(), after=cursor, limit=25)
            seen.extend(page.claims)
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert pages == 3
        assert sorted(c.id for c in seen) == sorted(ids)
        keys = [(c.due_on or date.max, c.id) for c in seen]  # undated claims come last
        assert keys == sorted(keys)


def test_walking_the_pages_by_their_links_shows_each_claim_once(any_app, any_world):
    ids = _many_claims(any_app, any_world, 60)
    reviewer = sign_in(any_app, any_world.reviewer_email)
    url, shown, queries = "/review/", [], []
    statements = Statements(any_app)
    while url:
        with statements:
            response = reviewer.get(url)
        assert response.status_code == 200
        queries.append(len(statements.statements))
        assert not statements.offsets()
        shown.extend(rows(response))
        url = next_link(response)
    assert len(shown) == len(ids) and set(shown) == set(ids)
    assert len(queries) == 3
    # A page deeper in the queue costs no more than the first (the last also reads the undated).
    assert queries[1] == queries[0] and queries[2] <= queries[0] + 1


def test_a_page_makes_the_same_number_of_queries_whatever_its_size(any_app, any_world):
    _many_claims(any_app, any_world, 60)
    counts = {}
    statements = Statements(any_app)
    with any_app.app_context():
        for size in (5, 50):
            db.session.expunge_all()
            with statements:
                page = services.queue(QueueFilters(), limit=size)
                # Everything a row shows is read in the page's statement, as plain values:
                # reading it runs no query.
                for claim in page.claims:
                    assert claim.partner and claim.customer and claim.product
                    (claim.status, claim.activity, claim.due_on, claim.in_arbitration, claim.reviewer_id,
                     claim.reviewer)
            counts[size] = len(statements.statements)
            assert len(page.claims) == size
            assert not statements.offsets()
    assert counts[5] == counts[50] == 1


def test_filters_reach_the_next_page_link(app, world, reviewer):
    _many_claims(app, world, 30)
    response = reviewer.get("/review/?solution_area=business_applications&assigned=unassigned")
    link = next_link(response)
    assert "solution_area=business_applications" in link and "assigned=unassigned" in link and "after=" in link
    assert "status=" not in link  # empty filters stay out of the address


def test_htmx_filter_gets_the_results_fragment_and_the_address_to_show(app, world, reviewer):
    oldest, older, fresh = _claims_due_on_different_days(app, world)
    response = reviewer.get("/review/?status=&solution_area=business_applications&arbitration=&assigned=",
                            headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="queue-results"') and "<html" not in body
    assert rows(response) == [oldest, older, fresh]
    assert response.headers["HX-Push-Url"] == "/review/?solution_area=business_applications"
    assert "HX-Request" in response.headers.get("Vary", "")


def test_history_restore_and_boosted_requests_get_the_whole_page(app, world, reviewer):
    for header in ("HX-History-Restore-Request", "HX-Boosted"):
        response = reviewer.get("/review/", headers={"HX-Request": "true", header: "true"})
        assert "<html" in response.get_data(as_text=True)


def test_the_filter_form_and_page_links_are_wired_for_htmx(app, world, reviewer):
    _many_claims(app, world, 30)
    page = reviewer.get("/review/").get_data(as_text=True)
    form = re.search(r'<form method="get"[^>]*>', page).group(0)
    assert 'hx-get="/review/"' in form and 'hx-target="#queue-results"' in form and 'hx-push-url="true"' in form
    link = re.search(r'<a href="[^"]+" rel="next"[^>]*>', page, re.S).group(0)
    assert "hx-get=" in link and 'hx-target="#queue-results"' in link


def test_take_from_the_queue_assigns_the_claim_and_returns_to_the_same_queue(app, world, reviewer):
    with app.app_context():
        claim = submitted(world.fabrikam, tenant(), product())
        db.session.commit()
        claim_id = claim.id

    response = reviewer.post(f"/review/claims/{claim_id}/take", data={"next": "/review/?assigned=unassigned"})

    assert response.status_code == 302 and response.headers["Location"] == "/review/?assigned=unassigned"
    assert claim_state(app, claim_id).reviewer_id == world.reviewer_id
    assert rows(reviewer.get("/review/?assigned=mine")) == [claim_id]
    assert rows(reviewer.get("/review/?assigned=unassigned")) == []


def test_take_refuses_to_go_back_anywhere_but_the_portal(app, world, reviewer):
    with app.app_context():
        claim = submitted(world.fabrikam, tenant(), product())
        db.session.commit()
        claim_id = claim.id
    response = reviewer.post(f"/review/claims/{claim_id}/take", data={"next": "https://evil.example/"})
    assert response.headers["Location"] == f"/review/claims/{claim_id}"


# Access -------------------------------------------------------------------------------------

GETS = ("/review/", "/review/claims/{id}", "/review/claims/{id}/arbitration")
POSTS = ("take", "start-review", "approve", "reject", "request-information", "approve-dispute", "reject-dispute",
         "arbitration")


def _one_claim(app, world):
    with app.app_context():
        claim = submitted(world.fabrikam, tenant(), product())
        db.session.commit()
        return claim.id


@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_every_reviewer_route_is_forbidden_to_partners_of_every_role(app, world, role):
    claim_id = _one_claim(app, world)
    with app.app_context():
        from portal.accounts.models import Organization

        person = factories.user(db.session.get(Organization, world.fabrikam.org_id), role=role)
        db.session.commit()
        email = person.email
    client = sign_in(app, email)
    for path in GETS:
        assert client.get(path.format(id=claim_id)).status_code == 403, path
    for action in POSTS:
        response = client.post(f"/review/claims/{claim_id}/{action}", data={"reject-reason_code": "other",
                                                                             "reject-message": "x", "winner": claim_id})
        assert response.status_code == 403, action
    state = claim_state(app, claim_id)
    assert (state.status, state.reviewer_id) == ("submitted", None)


def test_every_reviewer_route_sends_anonymous_visitors_to_sign_in(app, world):
    claim_id = _one_claim(app, world)
    client = app.test_client()
    for path in GETS:
        response = client.get(path.format(id=claim_id))
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for action in POSTS:
        response = client.post(f"/review/claims/{claim_id}/{action}")
        assert response.status_code == 302 and "/login" in response.headers["Location"], action
    response = client.get("/review/", headers={"HX-Request": "true"})
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_posts_without_the_csrf_token_are_refused(app, world):
    claim_id = _one_claim(app, world)
    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"email": world.reviewer_email, "password": factories.PASSWORD,
                                "csrf_token": form_token(page)})

    for action in POSTS:
        response = client.post(f"/review/claims/{claim_id}/{action}", data={"next": "/review/"})
        assert response.status_code == 400, action
    state = claim_state(app, claim_id)
    assert (state.status, state.reviewer_id) == ("submitted", None)

    queue = client.get("/review/")
    response = client.post(f"/review/claims/{claim_id}/take", data={"csrf_token": form_token(queue)})
    assert response.status_code == 302
    assert claim_state(app, claim_id).reviewer_id == world.reviewer_id



def previous_link(response) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="prev"', response.get_data(as_text=True))
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.mark.parametrize("htmx", [False, True], ids=["links", "htmx"])
def test_previous_links_walk_back_through_the_same_pages(any_app, any_world, htmx):
    """Next to the end, then Previous back to the start: the same pages, the same number of
    statements each (read backwards from the same indexes, never an OFFSET); the first page
    has neither Previous nor First page."""
    _many_claims(any_app, any_world, 60)
    reviewer = sign_in(any_app, any_world.reviewer_email)
    headers = {"HX-Request": "true"} if htmx else {}
    statements = Statements(any_app)
    for start in ("/review/", "/review/?solution_area=business_applications&assigned=unassigned"):
        url, forward = start, []
        while url:
            with statements:
                response = reviewer.get(url, headers=headers)
            forward.append((rows(response), len(statements.statements)))
            url = next_link(response)
        assert len(forward) == 3
        backward = [forward[-1]]
        while previous_link(response):
            link = previous_link(response)
            assert "solution_area" not in start or "solution_area=business_applications&assigned=unassigned" in link
            with statements:
                response = reviewer.get(link, headers=headers)
            assert not statements.offsets()
            if htmx:
                assert response.headers["HX-Push-Url"] == link
            backward.append((rows(response), len(statements.statements)))
        assert [ids for ids, _ in backward[::-1]] == [ids for ids, _ in forward]
        assert [count for _, count in backward[1:]] == [count for _, count in forward[:-1]][::-1]
        assert "First page" not in response.get_data(as_text=True)
        assert next_link(response) is not None


def test_a_previous_cursor_that_is_not_one_shows_the_first_page(app, world, reviewer):
    _many_claims(app, world, 30)
    first = rows(reviewer.get("/review/"))
    for bad in ("yesterday", "", "A" * 5000):
        response = reviewer.get("/review/", query_string={"before": bad})
        assert response.status_code == 200 and rows(response) == first


def test_taking_a_claim_from_a_previous_page_returns_to_it(app, world, reviewer):
    _many_claims(app, world, 60)
    second = reviewer.get(next_link(reviewer.get("/review/")))
    back = reviewer.get(previous_link(reviewer.get(next_link(second))))
    assert rows(back) == rows(second)
    here = re.search(r'name="next" value="([^"]+)"', back.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert here == previous_link(reviewer.get(next_link(second)))


def test_the_filters_and_rows_follow_the_reviewers_language(app, world, reviewer):
    """The filter choices' HTML and the rows' labels are remembered per process, by locale: a
    reviewer who switches to French gets them in French, not the English ones seen first."""
    english = reviewer.get("/review/?status=submitted")
    assert re.search(r'<option selected value="submitted">Submitted</option>', english.get_data(as_text=True))
    switched = reviewer.post("/language", data={"locale": "fr", "next": "/review/", "csrf_token": form_token(english)})
    assert switched.status_code == 302
    french = reviewer.get("/review/?status=submitted").get_data(as_text=True)
    assert re.search(r'<option selected value="submitted">Soumise</option>', french)
    assert "Submitted" not in french

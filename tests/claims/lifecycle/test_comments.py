"""The comment thread of a claim: posted with htmx, refreshed by a poller that brings only what is
new, plain text safely escaped with its line breaks and safe links, and nobody else's."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.claims import actions, comments
from portal.claims.models import Comment
from portal.extensions import db
from tests.claims.lifecycle.conftest import BEA, GINA, IAN, PAUL, RITA, make_claim, person, words
from tests.support import Statements, sign_in

HTMX = {"HX-Request": "true"}
ROOT = Path(__file__).resolve().parents[3]


def post(client, claim_id, body, htmx=True):
    return client.post(f"/claims/{claim_id}/comments", data={"body": body}, headers=HTMX if htmx else {})


def poll(client, claim_id, after):
    return client.get(f"/claims/{claim_id}/comments?after={after}", headers=HTMX)


def comment_ids(app, claim_id):
    with app.app_context():
        return list(db.session.scalars(select(Comment.id).where(Comment.claim_id == claim_id).order_by(Comment.id)))


def comments_in(body: str) -> list[str]:
    return re.findall(r'<li id="comment-(\d+)"', body)


def poller_cursor(body: str) -> int:
    match = re.search(r'<div id="comment-poller" hx-get="[^"]*\?after=(\d+)["&]', body)
    assert match, "no poller in the response"
    return int(match.group(1))


def comment_body(body: str, comment_id) -> str:
    """The raw HTML inside the comment's ``comment-body`` element."""
    item = body.split(f'<li id="comment-{comment_id}"')[1].split("</li>")[0]
    match = re.search(r'<div class="comment-body">(.*?)</div>', item, re.S)
    assert match, "the comment's text is not in a comment-body element"
    return match.group(1)


@pytest.fixture
def claim_id(demo):
    return make_claim(demo, "under_review")


def test_posting_with_htmx_answers_200_and_triggers_the_poller(demo, claim_id):
    response = post(sign_in(demo, GINA), claim_id, "Is anything missing?")

    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "comments-changed"
    body = response.get_data(as_text=True)
    assert 'id="comment-body-error"' in body and 'hx-swap-oob="innerHTML"' in body
    assert "error-message" not in body
    with demo.app_context():
        comment = db.session.scalars(select(Comment).where(Comment.claim_id == claim_id)).one()
        assert (comment.body, comment.kind, comment.author_id) == ("Is anything missing?", "comment", person(GINA).id)


def test_posting_without_htmx_redirects_to_the_thread(demo, claim_id):
    client = sign_in(demo, BEA)
    response = post(client, claim_id, "Plain form post.", htmx=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/claims/{claim_id}#thread-heading"
    assert "Plain form post." in words(client.get(f"/claims/{claim_id}"))


def test_the_claim_page_polls_from_its_last_comment(demo, claim_id):
    client = sign_in(demo, GINA)
    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert poller_cursor(page) == 0
    assert 'hx-trigger="every 5000ms, comments-changed from:body"' in page  # new comments within 10 seconds

    post(client, claim_id, "First.")
    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert poller_cursor(page) == comment_ids(demo, claim_id)[-1]


def test_the_poll_brings_only_newer_comments_appended_out_of_band(demo, claim_id):
    gina, rita = sign_in(demo, GINA), sign_in(demo, RITA)
    post(gina, claim_id, "One.")
    post(rita, claim_id, "Two, from the reviewer.")
    first, second = comment_ids(demo, claim_id)

    response = poll(gina, claim_id, first)

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert comments_in(body) == [str(second)]
    assert '<ol hx-swap-oob="beforeend:#comment-list">' in body
    assert '<p id="no-comments" hx-swap-oob="delete">' in body
    assert poller_cursor(body) == second
    assert "Reviewer · Rita Ortiz" in words(response)

    everything = poll(gina, claim_id, 0).get_data(as_text=True)
    assert comments_in(everything) == [str(first), str(second)]


def test_a_poll_with_nothing_new_answers_no_content_and_the_poller_keeps_polling(demo, claim_id):
    client = sign_in(demo, GINA)
    post(client, claim_id, "Only one.")
    (last,) = comment_ids(demo, claim_id)

    response = poll(client, claim_id, last)

    # htmx swaps nothing on 204: the poller on the page stays as it is and polls again.
    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get(f"/claims/{claim_id}/comments?after={last}&status=under_review", headers=HTMX).status_code == 204


def test_a_poll_on_a_closed_claim_with_nothing_new_stops_the_polling(demo):
    claim_id = make_claim(demo, "closed")
    client = sign_in(demo, GINA)

    response = client.get(f"/claims/{claim_id}/comments?after=0&status=closed", headers=HTMX)

    assert response.status_code == 286  # htmx's "stop polling"
    assert response.get_data() == b""


def test_a_poll_with_nothing_new_makes_one_query_besides_the_signed_in_user(demo, claim_id):
    client = sign_in(demo, GINA)
    post(client, claim_id, "Only one.")
    (last,) = comment_ids(demo, claim_id)
    for n in range(30):
        post(client, claim_id, f"More {n}.")
    last = comment_ids(demo, claim_id)[-1]

    with Statements(demo) as recorder:
        assert poll(client, claim_id, last).status_code == 204

    statements = recorder.statements
    claim_queries = [s for s in statements if "FROM claims" in s]
    assert len(claim_queries) == 1 and len(statements) == 2, "\n".join(statements)


def test_a_poll_for_another_organizations_claim_is_404_even_with_nothing_new(demo, claim_id):
    assert poll(sign_in(demo, PAUL), claim_id, 10**6).status_code == 404


def test_the_claim_page_shows_the_latest_comments_and_brings_earlier_ones_on_demand(demo, claim_id):
    client = sign_in(demo, GINA)
    for n in range(comments.PAGE_SIZE + 5):
        post(client, claim_id, f"Comment {n}.")
    ids = comment_ids(demo, claim_id)

    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert comments_in(page) == [str(i) for i in ids[-comments.PAGE_SIZE:]]
    assert poller_cursor(page) == ids[-1]
    link = re.search(r'<p id="earlier-comments"><a href="([^"]+)"\s+hx-get="([^"]+)"', page)
    assert link, "no Show earlier comments link"
    assert html.unescape(link.group(2)).endswith(f"/comments/earlier?before={ids[-comments.PAGE_SIZE]}")

    earlier = client.get(html.unescape(link.group(2)), headers=HTMX)
    body = earlier.get_data(as_text=True)
    assert comments_in(body) == [str(i) for i in ids[:5]]
    assert '<ol hx-swap-oob="afterbegin:#comment-list">' in body
    assert "earlier-comments" not in body  # nothing before these: the link goes

    # Without JavaScript the link opens the page with the whole thread.
    whole = client.get(html.unescape(link.group(1)).split("#")[0]).get_data(as_text=True)
    assert comments_in(whole) == [str(i) for i in ids]
    assert "Show earlier comments" not in whole


def test_the_reviewers_page_shows_the_latest_comments_too(demo, claim_id):
    rita = sign_in(demo, RITA)
    for n in range(comments.PAGE_SIZE + 1):
        post(rita, claim_id, f"Comment {n}.")
    page = rita.get(f"/review/claims/{claim_id}").get_data(as_text=True)
    assert len(comments_in(page)) == comments.PAGE_SIZE
    assert "Show earlier comments" in page


def test_the_poll_brings_the_new_status_when_it_changed(demo, claim_id):
    client = sign_in(demo, GINA)
    with demo.test_request_context():
        actions.request_information(person(RITA), claim_id, ["missing_poe"], "Please attach the signed PoE.")
        db.session.commit()

    changed = client.get(f"/claims/{claim_id}/comments?after=0&status=under_review", headers=HTMX)
    same = client.get(f"/claims/{claim_id}/comments?after=0&status=partner_action_required", headers=HTMX)

    assert '<div id="claim-status" hx-swap-oob="true">' in changed.get_data(as_text=True)
    assert "Status: Partner action required" in words(changed)
    assert "claim-status" not in same.get_data(as_text=True)
    assert "status=partner_action_required" in re.search(r'<div id="comment-poller"[^>]*>', same.get_data(as_text=True)).group(0)


def test_a_reviewers_open_page_is_told_when_the_partner_moved_the_claim(demo):
    """The reviewer may be filling in a decision: the poll says the status changed and offers a
    reload, rather than swapping the forms away or leaving decisions that no longer apply."""
    claim_id = make_claim(demo, "submitted")
    reviewer = sign_in(demo, RITA)
    page = reviewer.get(f"/review/claims/{claim_id}").get_data(as_text=True)
    assert '<div id="status-changed" role="status"></div>' in page
    assert "status=submitted" in re.search(r'<div id="comment-poller"[^>]*>', page).group(0)

    unchanged = reviewer.get(f"/claims/{claim_id}/comments?after=0&status=submitted", headers=HTMX)
    assert "status-changed" not in unchanged.get_data(as_text=True)

    with demo.test_request_context():
        actions.withdraw(person(GINA), claim_id)
        db.session.commit()
    changed = reviewer.get(f"/claims/{claim_id}/comments?after=0&status=submitted", headers=HTMX)
    body = changed.get_data(as_text=True)

    assert '<div id="status-changed" hx-swap-oob="innerHTML">' in body
    assert "Since this page was loaded, the claim's status changed to Closed." in words(changed)
    assert f'href="/review/claims/{claim_id}"' in body
    assert "claim-status" not in body, "the partner's status panel was sent to a reviewer"
    assert "status=closed" in re.search(r'<div id="comment-poller"[^>]*>', body).group(0)


def test_a_partners_poll_never_brings_the_reviewer_notice(demo):
    claim_id = make_claim(demo, "submitted")
    with demo.test_request_context():
        actions.withdraw(person(GINA), claim_id)
        db.session.commit()
    body = sign_in(demo, GINA).get(f"/claims/{claim_id}/comments?after=0&status=submitted", headers=HTMX)
    assert "status-changed" not in body.get_data(as_text=True)
    assert '<div id="claim-status" hx-swap-oob="true">' in body.get_data(as_text=True)


def test_a_reviewers_information_request_shows_as_such(demo, claim_id):
    with demo.test_request_context():
        actions.request_information(person(RITA), claim_id, ["missing_poe"], "Please attach the signed PoE.")
        db.session.commit()
    page = words(sign_in(demo, GINA).get(f"/claims/{claim_id}"))
    assert "Reviewer · Rita Ortiz Information request" in page
    assert "Please attach the signed PoE." in page


# Plain text, escaped ---------------------------------------------------------------------------


def test_markup_is_escaped_in_the_page_and_the_poll(demo, claim_id):
    client = sign_in(demo, GINA)
    nasty = '<script>alert("x")</script> <img src=x onerror=alert(1)> <a href="http://evil.example">click</a>'
    post(client, claim_id, nasty)
    (comment_id,) = comment_ids(demo, claim_id)

    for response in (client.get(f"/claims/{claim_id}"), poll(client, claim_id, 0)):
        body = response.get_data(as_text=True)
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert '<a href="http://evil.example">' not in body
        inner = comment_body(body, comment_id)
        assert inner.startswith("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;")


def test_line_breaks_are_kept(demo, claim_id):
    client = sign_in(demo, GINA)
    post(client, claim_id, "First line\r\nsecond line\n\n  indented third")
    (comment_id,) = comment_ids(demo, claim_id)

    for response in (client.get(f"/claims/{claim_id}"), poll(client, claim_id, 0)):
        assert comment_body(response.get_data(as_text=True), comment_id) == "First line\nsecond line\n\n  indented third"
    css = (ROOT / "static" / "css" / "app.css").read_text()
    rule = re.search(r"\.comment-body\s*\{([^}]*)\}", css)
    assert rule and re.search(r"white-space:\s*pre-(wrap|line)", rule.group(1)), "comment line breaks are not shown"


def test_http_links_are_clickable_and_safe(demo, claim_id):
    client = sign_in(demo, GINA)
    post(client, claim_id, "See https://learn.example.com/cpor?x=1&y=2. Or (http://example.org/a).")
    (comment_id,) = comment_ids(demo, claim_id)

    inner = comment_body(client.get(f"/claims/{claim_id}").get_data(as_text=True), comment_id)

    assert inner == (
        'See <a href="https://learn.example.com/cpor?x=1&amp;y=2" rel="nofollow noopener noreferrer ugc" target="_blank">'
        "https://learn.example.com/cpor?x=1&amp;y=2</a>. "
        'Or (<a href="http://example.org/a" rel="nofollow noopener noreferrer ugc" target="_blank">http://example.org/a</a>).'
    )


@pytest.mark.parametrize(
    "body",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)//http://x",
        "data:text/html;base64,PHNjcmlwdD4=",
        "ftp://files.example.com/poe.pdf",
        'http://x.example/"onmouseover="alert(1)',
    ],
)
def test_only_http_links_become_anchors(demo, claim_id, body):
    client = sign_in(demo, GINA)
    post(client, claim_id, body)
    (comment_id,) = comment_ids(demo, claim_id)

    inner = comment_body(client.get(f"/claims/{claim_id}").get_data(as_text=True), comment_id)

    anchors = re.findall(r"<a [^>]*>", inner)
    safe = re.compile(r'<a href="https?://[^"<>\s]+" rel="nofollow noopener noreferrer ugc" target="_blank">')
    assert all(safe.fullmatch(anchor) for anchor in anchors), anchors
    assert all(tag in ("a", "/a") for tag in re.findall(r"<(/?\w+)", inner))
    if "http" not in body:
        assert anchors == []


def test_linkify_escapes_everything_it_does_not_turn_into_a_link():
    assert str(comments.linkify("<b>x</b> http://a.example/<b>")) == (
        '&lt;b&gt;x&lt;/b&gt; <a href="http://a.example/" rel="nofollow noopener noreferrer ugc" target="_blank">'
        "http://a.example/</a>&lt;b&gt;"
    )


# Refused ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [("", "Write a comment first."), ("  \n\t ", "Write a comment first."), ("x" * 5001, "A comment can have at most 5000 characters.")],
    ids=["empty", "blank", "too long"],
)
def test_empty_and_too_long_comments_are_refused_with_a_message(demo, claim_id, body, message):
    client = sign_in(demo, GINA)

    response = post(client, claim_id, body)

    assert response.status_code == 422
    assert "HX-Trigger" not in response.headers
    fragment = response.get_data(as_text=True)
    assert re.search(r'<div id="comment-body-error"[^>]*hx-swap-oob="innerHTML"><p class="error-message">' + re.escape(message), fragment)
    assert comment_ids(demo, claim_id) == []

    plain = post(client, claim_id, body, htmx=False)
    assert plain.status_code == 302
    assert message in words(client.get(plain.headers["Location"]))
    assert comment_ids(demo, claim_id) == []


def test_a_comment_of_exactly_the_maximum_length_is_accepted(demo, claim_id):
    assert post(sign_in(demo, GINA), claim_id, "x" * 5000).status_code == 200
    assert len(comment_ids(demo, claim_id)) == 1


def test_htmx_allows_422_to_be_swapped(demo, claim_id):
    page = sign_in(demo, GINA).get(f"/claims/{claim_id}").get_data(as_text=True)
    meta = re.search(r"""<meta name="htmx-config" content='([^']*)'""", page)
    assert meta, "no htmx-config"
    handling = json.loads(html.unescape(meta.group(1)))["responseHandling"]
    first_match = next(rule for rule in handling if re.fullmatch(rule["code"], "422"))
    assert first_match["swap"] is True, "htmx 2 drops 422 responses unless configured"


@pytest.mark.parametrize("email, status", [(PAUL, 404), ("rafael@fabrikam.example", 403)])
def test_nobody_else_reads_or_writes_the_thread(demo, claim_id, email, status):
    post(sign_in(demo, GINA), claim_id, "Between us and the reviewer.")
    client = sign_in(demo, email)

    assert poll(client, claim_id, 0).status_code == status
    assert post(client, claim_id, "Let me in.").status_code == status
    assert post(client, claim_id, "Let me in.", htmx=False).status_code == status
    assert len(comment_ids(demo, claim_id)) == 1


def test_a_signed_out_htmx_poll_is_told_to_sign_in(demo, claim_id):
    response = poll(demo.test_client(), claim_id, 0)
    assert response.status_code == 401
    assert "/login" in response.headers["HX-Redirect"]


# The poll's cost -------------------------------------------------------------------------------


def test_the_poll_costs_the_same_number_of_queries_however_many_comments(demo, claim_id):
    authors = [sign_in(demo, email) for email in (GINA, BEA, IAN, RITA)]
    reader = sign_in(demo, GINA)
    post(authors[0], claim_id, "The first.")
    with Statements(demo) as few:
        assert poll(reader, claim_id, 0).status_code == 200
    for n in range(24):
        post(authors[n % len(authors)], claim_id, f"Comment {n}.")
    with Statements(demo) as many:
        response = poll(reader, claim_id, 0)

    assert len(comments_in(response.get_data(as_text=True))) == 25
    assert len(many.statements) == len(few.statements), "\n".join(many.statements)

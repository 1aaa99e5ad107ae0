"""Comments and history entries are rendered once per process and kept (portal/fragments.py)
under a key of everything they show: the kept piece follows a change of language or of name,
and a second view of the page renders none of them again."""
from __future__ import annotations

import re

import pytest

from portal.extensions import db
from tests.claims.lifecycle.conftest import GINA, RITA, make_claim, person
from tests.support import sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def claim_id(demo):
    return make_claim(demo, "under_review")


def _comment(page: str) -> str:
    items = re.findall(r'<li id="comment-\d+".*?</li>', page, re.S)
    assert len(items) == 1, page
    return items[0]


def _thread(page: str) -> str:
    match = re.search(r'<ol id="comment-list".*?</ol>', page, re.S)
    assert match, page
    return match.group(0)


def _history(page: str) -> str:
    match = re.search(r'<ol class="history">(.*?)</ol>', page, re.S)
    assert match, page
    return match.group(1)


def _review_history(page: str) -> str:
    match = re.search(r'<table class="history-table[^"]*">(.*?)</table>', page, re.S)
    assert match, page
    return match.group(1)


def test_a_kept_comment_and_history_entry_follow_the_language_and_a_new_name(demo, claim_id):
    rita = sign_in(demo, RITA)
    assert rita.post(f"/claims/{claim_id}/comments", data={"body": "Kept piece."}, headers=HTMX).status_code == 200
    with demo.app_context():
        name = person(RITA).name
    gina = sign_in(demo, GINA)

    english = gina.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert f"Reviewer · {name}" in _comment(english)
    assert f"{name} (reviewer)" in _history(english)

    gina.post("/language", data={"locale": "fr", "next": "/"})
    french = gina.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert f"Réviseur · {name}" in _comment(french)
    assert f"{name} (réviseur)" in _history(french)

    with demo.app_context():
        person(RITA).name = "Rita Renamed"
        db.session.commit()
    renamed = gina.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "Réviseur · Rita Renamed" in _comment(renamed) and name not in _comment(renamed)
    assert "Rita Renamed (réviseur)" in _history(renamed) and name not in _history(renamed)
    assert "Rita Renamed (reviewer)" in _review_history(rita.get(f"/review/claims/{claim_id}").get_data(as_text=True))


def test_a_second_view_renders_no_comment_or_history_entry_again(demo, claim_id):
    gina = sign_in(demo, GINA)
    for n in range(3):
        gina.post(f"/claims/{claim_id}/comments", data={"body": f"Comment {n}."}, headers=HTMX)
    first = gina.get(f"/claims/{claim_id}").get_data(as_text=True)
    kept = dict(demo.extensions["cpor_fragments"])
    assert sum(template == "claims/_comment.html" for template, _locale, _key in kept) == 3
    assert sum(template == "claims/_history_entry.html" for template, _locale, _key in kept) == first.count(
        "<time", first.index('<ol class="history">'))

    second = gina.get(f"/claims/{claim_id}").get_data(as_text=True)

    assert _thread(second) == _thread(first) and _history(second) == _history(first)
    assert demo.extensions["cpor_fragments"] == kept

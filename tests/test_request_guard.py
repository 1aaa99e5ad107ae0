"""Input no field may hold never reaches a view or the database: NUL characters and lone
surrogates in a form, multipart parts without a name, ids beyond the INTEGER columns, cursors
that are not the pager's. Each gets a clear page in the layout (or is ignored, in a query
string), never a 500, and changes nothing. On SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.claims.models import Claim, ClaimEvent, Comment
from portal.consent.services import token_for
from portal.extensions import db
from tests.claims.conftest import ADVENTURE, GINA, NORTHWIND, WINGTIP, any_demo, app_overrides, sign_in  # noqa: F401  (fixtures)
from tests.claims.lifecycle.conftest import PAUL, RITA, make_claim, words

NUL_MESSAGE = "What you sent contains a character that can't be saved"
NUL = "typed\x00text"


def _everything(app) -> dict:
    """Counts of what a refused request must not change, and every claim's state."""
    with app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        claims = db.session.execute(select(Claim.id, Claim.status, Claim.draft, Claim.description,
                                           Claim.customer_contact_name, Claim.consent_state)).all()
        return {"users": count(User), "comments": count(Comment), "events": count(ClaimEvent),
                "claims": sorted(map(tuple, claims), key=lambda row: row[0])}


MADE = {
    "under_review": {"tenant": WINGTIP, "activity": "presales"},
    "partner_action_required": {"tenant": WINGTIP, "activity": "usage"},
    "rejected": {"tenant": WINGTIP, "activity": "revenue_association"},
    "approved": {"tenant": ADVENTURE, "activity": "presales"},
    "submitted": {"tenant": ADVENTURE, "activity": "usage"},
    "disputed": {"tenant": NORTHWIND, "product": "d365-finance", "activity": "usage"},
}


class Claims(dict):
    """A claim of Fabrikam (Gina's) in each status a form acts on, a draft, a competing claim of
    Proseware and a consent link, each made when first asked for."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def __missing__(self, key):
        if key in MADE:
            value = make_claim(self.app, key, **MADE[key])
        elif key == "arbitration":
            self["under_review"]
            value = make_claim(self.app, "under_review", email=PAUL, mpn="3456789", tenant=WINGTIP)
        elif key == "draft":
            value = int(sign_in(self.app, GINA).post("/claims/new").location.split("/")[2])
        else:
            claim_id = self["submitted"]
            with self.app.app_context():
                value = token_for(db.session.get(Claim, claim_id))
        self[key] = value
        return value


@pytest.fixture
def claims(any_demo):
    return Claims(any_demo)


# (who posts, the path from the claims above, the form's fields)
FREE_TEXT = {
    "comment": (GINA, "/claims/{under_review}/comments", {"body": NUL}),
    "comment, reviewer": (RITA, "/claims/{under_review}/comments", {"body": NUL}),
    "wizard customer": (GINA, "/claims/{draft}/wizard/customer", {"tenant_id": NUL, "domain": NUL, "action": "next"}),
    "wizard customer, inline": (GINA, "/claims/{draft}/wizard/customer/check", {"tenant_id": NUL}),
    "wizard product look-up": (GINA, "/claims/{draft}/wizard/product",
                               {"solution_area": "business_applications", "product": NUL, "action": "next"}),
    "wizard product area": (GINA, "/claims/{draft}/wizard/product/check", {"solution_area": NUL, "product": "x"}),
    "wizard subscription": (GINA, "/claims/{draft}/wizard/product/check",
                            {"solution_area": "business_applications", "subscription_id": NUL}),
    "wizard contacts": (GINA, "/claims/{draft}/wizard/contacts",
                        {"customer_name": NUL, "customer_title": "CIO", "customer_email": "a@b.example", "action": "next"}),
    "wizard description": (GINA, "/claims/{draft}/wizard/proof", {"description": NUL, "action": "next"}),
    "claim edit": (GINA, "/claims/{partner_action_required}/edit",
                   {"customer_name": NUL, "description": NUL, "mpn": "1234567"}),
    "resubmit reply": (GINA, "/claims/{partner_action_required}/resubmit", {"reply": NUL}),
    "dispute": (GINA, "/claims/{rejected}/dispute", {"justification": NUL}),
    "disassociate": (GINA, "/claims/{approved}/disassociate", {"reason": NUL}),
    "approve message": (RITA, "/review/claims/{under_review}/approve", {"approve-message": NUL}),
    "reject message": (RITA, "/review/claims/{under_review}/reject",
                       {"reject-reason_code": "insufficient_poe", "reject-message": NUL}),
    "information request": (RITA, "/review/claims/{under_review}/request-information",
                            {"info-reasons": "missing_poe", "info-message": NUL}),
    "dispute decision": (RITA, "/review/claims/{disputed}/reject-dispute", {"dispute-message": NUL}),
    "arbitration message": (RITA, "/review/claims/{arbitration}/arbitration",
                            {"winner": "{arbitration}", "message": NUL}),
    "add user name": (GINA, "/users", {"name": NUL, "email": "nora@fabrikam.example", "role": "billing_admin",
                                       "password": "a-long-temporary-password", "locale": "en"}),
    "add user, NUL in a field's name": (GINA, "/users", {"na\x00me": "Nora"}),
    "consent message": (None, "/consent/{token}", {"answer": "confirm", "message": NUL}),
    "sign-in": (None, "/login", {"email": NUL, "password": NUL}),
}


@pytest.mark.parametrize("case", FREE_TEXT, ids=list(FREE_TEXT))
def test_a_nul_character_in_a_form_is_refused_with_a_clear_page_and_changes_nothing(any_demo, claims, case):
    who, path, data = FREE_TEXT[case]
    client = sign_in(any_demo, who) if who else any_demo.test_client()
    path = path.format_map(claims)
    data = {key: value.format_map(claims) if "{" in value else value for key, value in data.items()}
    before = _everything(any_demo)

    response = client.post(path, data=data)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert NUL_MESSAGE in words(response)
    assert '<main id="main"' in page  # in the layout
    assert _everything(any_demo) == before


@pytest.mark.parametrize("case", ["comment", "wizard customer, inline", "wizard description"])
def test_an_htmx_form_with_a_nul_gets_the_message_at_the_top_of_the_page_and_keeps_the_form(any_demo, claims, case):
    who, path, data = FREE_TEXT[case]
    client = sign_in(any_demo, who)
    path = path.format_map(claims)
    before = _everything(any_demo)

    response = client.post(path, data=data, headers={"HX-Request": "true", "HX-Trigger-Name": "body"})

    assert response.status_code == 422  # swapped by htmx (base.html's htmx-config)
    assert response.headers["HX-Reswap"] == "none"  # the form stays as typed
    page = response.get_data(as_text=True)
    assert '<div id="page-alert" hx-swap-oob="true">' in page and 'role="alert"' in page
    assert NUL_MESSAGE in words(response)
    assert _everything(any_demo) == before


def test_every_page_has_the_slot_for_that_message(any_demo):
    assert '<div id="page-alert"></div>' in sign_in(any_demo, GINA).get("/").get_data(as_text=True)


def test_a_lone_surrogate_is_refused_like_a_nul(any_demo, claims):
    """A browser can't send one (Werkzeug reads invalid UTF-8 as replacement characters), but
    any text that reaches the form is checked the same way."""
    from portal.request_guard import unreadable

    assert unreadable("a\udc80b") and unreadable("\x00") and not unreadable("Réunion 🎉 ok")


def _multipart(*parts: bytes) -> bytes:
    return b"".join(b"--b\r\n" + part + b"\r\n" for part in parts) + b"--b--\r\n"


NAMELESS = b'Content-Disposition: form-data\r\n\r\nvalue'
NAMELESS_FILE = b'Content-Disposition: form-data; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7'


@pytest.mark.parametrize("part", [NAMELESS, NAMELESS_FILE], ids=["field", "file"])
@pytest.mark.parametrize("path", ["/login", "/claims/new", "/users", "/language"])
def test_a_multipart_part_without_a_name_is_refused_with_a_clear_page(any_demo, part, path):
    client = any_demo.test_client()
    if path != "/login":
        sign_in(any_demo, GINA, client=client)
    any_demo.config["WTF_CSRF_ENABLED"] = True  # the 500 was inside Flask-WTF's CSRF check
    before = _everything(any_demo)

    response = client.post(path, data=_multipart(b'Content-Disposition: form-data; name="email"\r\n\r\nx', part),
                           content_type="multipart/form-data; boundary=b")

    assert response.status_code == 400
    assert "The form sent a part without a name" in words(response)
    assert _everything(any_demo) == before


@pytest.mark.parametrize("number", [2**31, 2**31 + 1, 2**63, 2**64, 10**30])
def test_an_id_beyond_the_database_integers_is_not_found(any_demo, claims, number):
    gina, rita = sign_in(any_demo, GINA), sign_in(any_demo, RITA)
    for client, path in [(gina, f"/claims/{number}"), (gina, f"/claims/{number}/comments"),
                         (gina, f"/claims/{claims['approved']}/files/{number}"), (rita, f"/review/claims/{number}"),
                         (gina, f"/claims/{number}/wizard/customer")]:
        assert client.get(path).status_code == 404, path
        assert client.get(path).status_code == 404, path
    assert gina.post(f"/users/{number}/deactivate").status_code == 404
    assert gina.post(f"/claims/{number}/withdraw").status_code == 404


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_query_string_ids_beyond_the_database_integers_are_ignored(any_demo, claims, number):
    gina, rita = sign_in(any_demo, GINA), sign_in(any_demo, RITA)
    claim = claims["under_review"]
    assert gina.get(f"/claims/{claim}/comments?after={number}", headers={"HX-Request": "true"}).status_code in (200, 204)
    # "Earlier than anything": the whole thread.
    assert gina.get(f"/claims/{claim}/comments/earlier?before={number}", headers={"HX-Request": "true"}).status_code == 302
    for client in (gina, rita):
        listed = client.get("/claims/", query_string={"q": f"CPOR-{number}"})
        assert listed.status_code == 200
        assert "CPOR-" + str(number) not in words(listed).replace(f"q=CPOR-{number}", "")


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS = {
    # Within the cursor's length limit, deeper than the JSON parser recurses.
    "deeply nested": base64.urlsafe_b64encode(b"[" * 1400 + b"]" * 1400).decode().rstrip("="),
    "nested within the limit": _cursor([[[[["a"]]]], 1]),
    "lone surrogate": _cursor(["\udc80", 5]),
    "lone surrogate date": _cursor(["2026-01-0\udc80", 5]),
    "huge id": _cursor(["a", 2**63]),
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=list(BAD_CURSORS))
def test_a_cursor_that_is_not_the_pagers_shows_the_first_page(any_demo, cursor):
    gina, rita = sign_in(any_demo, GINA), sign_in(any_demo, RITA)
    for sort in ("customer", "due", "newest"):
        assert gina.get("/claims/", query_string={"sort": sort, "after": cursor}).status_code == 200
        assert gina.get("/claims/export.csv", query_string={"sort": sort, "after": cursor}).status_code == 200
    assert rita.get("/review/", query_string={"after": cursor}).status_code == 200

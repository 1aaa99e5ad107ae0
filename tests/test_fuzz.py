"""No input gives a 5xx: Hypothesis over every route of the URL map and every form's fields, as a
partner, a reviewer and an anonymous visitor, on SQLite and PostgreSQL.

Each example is one request: a route with generated path values (real ids, huge and negative
numbers, NUL, lone surrogates, long strings), a generated query string, and for a POST a form
of the portal's field names (missing, duplicated, with NUL, lone surrogates, huge numbers, long
text), URL-encoded or multipart (with files, and parts without a name). The body is encoded by
hand, so what no browser would send still reaches the server as bytes. Derandomized, so CI runs
the same examples every time, and bounded to stay quick.
"""
from __future__ import annotations

import os
import re
from urllib.parse import quote

import pytest
import wtforms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from wtforms.fields.core import UnboundField

from portal.accounts.models import Mpn, User
from portal.claims.models import Claim, ClaimFile, Comment
from portal.claims.wizard.flow import STEPS
from portal.extensions import db
from portal.notifications.models import Notification
from tests.claims.conftest import GINA, PDF, RITA, WINGTIP, any_demo, app_overrides, sign_in  # noqa: F401  (fixtures)
from tests.claims.lifecycle.conftest import make_claim

#: Examples per user and database: enough to meet every route several times in CI, in a few seconds.
#: ``FUZZ_EXAMPLES=2000`` for a deeper run by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))


def _form_classes(cls=wtforms.Form):
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("portal."):
            yield sub
        yield from _form_classes(sub)


#: Every field name of the portal's forms, as posted (the reviewer's page prefixes its forms).
FIELDS = sorted(
    {name for form in _form_classes() for name in dir(form) if isinstance(getattr(form, name, None), UnboundField)}
    | {"action", "csrf_token", "after", "before", "q", "sort", "comments"}
)
PREFIXES = ("", "", "", "approve-", "reject-", "info-", "dispute-")

AWKWARD = [
    "", " ", "\x00", "a\x00b", "\udc80", "x\ud800y", "\ufeff", "\u202e", "0", "-1", "1", str(2**31 - 1), str(2**31),
    str(2**63), str(10**40), "1e309", "NaN", "x" * 6000, "<script>alert(1)</script>", "' OR 1=1 --", "%00",
    "../../etc/passwd", "next", "back", "submit", "y", "on", "confirm", "decline", "presales", "usage",
    "business_applications", "microsoft_365", "d365-sales", "m365-teams", "1234567", WINGTIP, "wingtiptoys.com",
    "2026-01-01", "9999-12-31", "CPOR-1", "CPOR-2147483648", "global_admin", "billing_admin", "fr", "en",
    "insufficient_poe", "missing_poe", "a@b.example", "//evil.example", "https://evil.example/",
]
values = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=20), st.integers(-2**70, 2**70).map(str))


def _wire(text: str) -> bytes:
    """Text as a client would put it on the wire: lone surrogates as the bytes they would be."""
    return text.encode("utf-8", "surrogatepass")


def _percent(text: str) -> str:
    return quote(_wire(text), safe="")


@st.composite
def form_bodies(draw, csrf_token: str):
    pairs = draw(st.lists(st.tuples(st.sampled_from(PREFIXES), st.sampled_from(FIELDS), values), max_size=8))
    fields = [(prefix + name, value) for prefix, name, value in pairs]
    if draw(st.integers(0, 9)):  # mostly with the session's real token, so the views are reached too
        fields.insert(0, ("csrf_token", csrf_token))
    if draw(st.booleans()):
        body = "&".join(f"{_percent(name)}={_percent(value)}" for name, value in fields).encode()
        return body, "application/x-www-form-urlencoded"
    parts = [b'Content-Disposition: form-data; name="' + _wire(name).replace(b'"', b"") + b'"\r\n\r\n' + _wire(value)
             for name, value in fields]
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from([b"files", b"files", b"", b"upload"]))
        filename = _wire(draw(st.sampled_from(["proof.pdf", "", "a\x00.pdf", "..", "x" * 300 + ".pdf"])))
        content = draw(st.sampled_from([PDF, b"", b"MZ\x90\x00", b"\x00" * 64]))
        disposition = b"form-data" + (b'; name="' + name + b'"' if name else b"") + b'; filename="' + filename + b'"'
        parts.append(b"Content-Disposition: " + disposition + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + content)
    if draw(st.booleans()):
        parts.append(b"Content-Disposition: form-data\r\n\r\n" + _wire(draw(values)))  # a part without a name
    body = b"".join(b"--fuzz\r\n" + part + b"\r\n" for part in parts) + b"--fuzz--\r\n"
    return body, "multipart/form-data; boundary=fuzz"


_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<options>[^)]*)\))?:)?(?P<name>\w+)>")


def _path_value(draw, converter: str | None, options: str | None, known: dict[str, list[int]], name: str) -> str:
    if converter == "int":
        number = draw(st.one_of(st.sampled_from(known.get(name) or [1]), st.integers(-5, 2**70),
                                st.sampled_from([0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64])))
        return str(number)
    if converter == "any":
        words = [w.strip() for w in (options or "").split(",")]
        return draw(st.one_of(st.sampled_from(words), values.map(_percent)))
    if name == "step":
        return draw(st.one_of(st.sampled_from(STEPS), values.map(_percent)))
    if converter == "path":
        return draw(st.sampled_from(["css/app.css", "js/app.js", "..%2f..%2fetc%2fpasswd", "%00", "x" * 300]))
    return draw(values.filter(bool).map(_percent))


@st.composite
def requests(draw, rules, known, csrf_token):
    rule = draw(st.sampled_from(rules))
    path = _ARGUMENT.sub(lambda m: _path_value(draw, m["converter"], m["options"], known, m["name"]), rule.rule)
    query = draw(st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=3))
    if query:
        path += "?" + "&".join(f"{_percent(k)}={_percent(v)}" for k, v in query)
    method = draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    headers = {"HX-Request": "true"} if draw(st.booleans()) else {}
    if headers and draw(st.booleans()):
        headers["HX-Trigger-Name"] = draw(st.sampled_from(FIELDS))
    body, content_type = draw(form_bodies(csrf_token)) if method == "POST" else (b"", None)
    return method, path, headers, body, content_type


def _known_ids(app) -> dict[str, list[int]]:
    """Ids of rows that exist, so that generated paths reach real claims, files and users too."""
    with app.app_context():
        ids = lambda column: list(db.session.scalars(select(column).order_by(column).limit(20)))  # noqa: E731
        return {"claim_id": ids(Claim.id), "file_id": ids(ClaimFile.id) or [1], "user_id": ids(User.id),
                "mpn_pk": ids(Mpn.id), "notification_id": ids(Notification.id) or [1], "comment_id": ids(Comment.id)}


def _client(app, who):
    """A client signed in as ``who`` (anonymous for None) and its session's CSRF token."""
    app.config["WTF_CSRF_ENABLED"] = False
    client = sign_in(app, who) if who else app.test_client()
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login" if who is None else "/notifications/").get_data(as_text=True)
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("who", [GINA, RITA, None], ids=["partner", "reviewer", "anonymous"])
def test_no_request_gives_a_server_error(any_demo, who):
    app = any_demo
    for status in ("under_review", "rejected", "partner_action_required"):
        make_claim(app, status, tenant=WINGTIP, activity={"under_review": "presales", "rejected": "usage"}
                   .get(status, "revenue_association"))
    sign_in(app, GINA).post("/claims/new")
    known = _known_ids(app)
    # Signing out would leave the rest of the run to an anonymous visitor (which has a run of its own).
    rules = [rule for rule in app.url_map.iter_rules() if who is None or rule.endpoint != "accounts.logout"]
    # CSRF checked as in production: the audit's nameless part failed inside that check.
    client, token = _client(app, who)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(request=requests(rules, known, token))
    def answers_without_a_server_error(request):
        method, path, headers, body, content_type = request
        response = client.open(path, method=method, headers=headers, data=body, content_type=content_type)
        assert response.status_code < 500, (method, path, body[:300], response.status_code)

    answers_without_a_server_error()

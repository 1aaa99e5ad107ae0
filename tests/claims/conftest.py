"""The demo directory (portal/directory/demo.json) in the test database, signing in as its people,
and walking a draft through the wizard with real form posts.

Rows are written in an app context that is closed before any request is made; client tests
never hold an app context around a request.
"""
from __future__ import annotations

import functools
import html
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict

from portal.accounts.models import User
from portal.claims.files import service as files
from portal.claims.wizard import drafts
from portal.claims.models import Claim
from portal.extensions import db
from tests.support import PASSWORD, sign_in  # noqa: F401  (PASSWORD: the demo's, for this package)


# People of the demo directory.
GINA = "gina@fabrikam.example"  # Fabrikam, global_admin
IAN = "ian@fabrikam.example"  # Fabrikam, incentives_admin
BEA = "bea@fabrikam.example"  # Fabrikam, billing_admin
RAFAEL = "rafael@fabrikam.example"  # Fabrikam, referrals_admin: no access
CAMILLE = "camille@fabrikam.example"  # Fabrikam, incentives_admin, locale fr
PAUL = "paul@proseware.example"  # Proseware, global_admin
RITA = "rita@review.example"  # reviewer

# Tenants and their domains.
CONTOSO = "0f8fad5b-d9cb-469f-a165-70867728950e"
NORTHWIND = "8d840575-5419-4dfb-b6c0-f5bb679e0663"
ADVENTURE = "8d9479c8-c585-4bcd-8f4c-ed893b922391"
TAILSPIN = "e5c45229-6456-430d-b658-241c76fc9061"
WINGTIP = "a0507f91-b345-46a0-97c0-ffe38cf19cb2"
DOMAINS = {
    CONTOSO: "contoso.com",
    NORTHWIND: "northwindtraders.com",
    ADVENTURE: "adventure-works.com",
    TAILSPIN: "tailspintoys.com",
    WINGTIP: "wingtiptoys.com",
}

# Subscriptions, named by what makes them interesting.
SUB_CONTOSO_SALES_VL_ACTIVE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"  # Proseware holds an approved claim
SUB_CONTOSO_CS_CSP = "269a4f88-a607-4ea9-976d-95e15b3542c0"
SUB_CONTOSO_FIELD_PENDING = "1bcba016-0658-4cc4-bcb2-def2ba4850c4"
SUB_CONTOSO_TEAMS = "f7adda8c-3428-4e74-b893-340cec60d399"
SUB_NORTHWIND_FINANCE_EXPIRED = "6658520f-aac5-43e4-aa1b-9fd1703c818a"
SUB_NORTHWIND_FINANCE_ACTIVE = "b29d1294-ecd2-4d18-b497-89c7ac715ecc"
SUB_NORTHWIND_SALES_SUSPENDED = "7744fa63-3441-4f79-99b6-af3e1839c43a"
SUB_ADVENTURE_SALES_IN_GRACE = "e3fcea63-1e81-4ee2-a0ee-c8eeea72bd14"
SUB_ADVENTURE_CS = "950811c9-4521-4328-99c1-74be92dfa413"  # Fabrikam's approved usage claim
SUB_TAILSPIN_BC_CSP = "f5482414-d5f3-4e55-9ad0-d61037ec571e"
SUB_TAILSPIN_SUPPLY = "84cbb67b-c5e6-4a13-9205-acf99ec719ef"  # Fabrikam's presales claim under review
SUB_WINGTIP_SALES = "b65fcee1-21ee-4e54-b384-823e30f968cd"
SUB_WINGTIP_FIELD_EXPIRED = "c4d64ef3-5476-4d5b-864b-974720d8f3c1"

# Fabrikam's MPN IDs.
MPN_ENROLLED = "1234567"
MPN_NOT_ENROLLED = "1234568"

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture
def app_overrides(tmp_path):
    return {"UPLOAD_FOLDER": str(tmp_path / "uploads")}


@pytest.fixture
def demo(demo_directory, app):
    """The app (SQLite) with the demo directory loaded (once per session: see tests/conftest.py)."""
    return app


@pytest.fixture
def any_demo(demo_directory, any_app):
    """The app on SQLite and on PostgreSQL, with the demo directory loaded."""
    return any_app


def user_id(app, email) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


@pytest.fixture
def as_user(demo):
    return functools.partial(sign_in, demo)


# --- walking the wizard --------------------------------------------------------------------


def valid_steps(
    tenant=WINGTIP,
    domain=None,
    area="business_applications",
    product="d365-sales",
    subscription_id="",
    activity="presales",
    mpn=MPN_ENROLLED,
    acknowledged_on=None,
    today=None,
    solution_seller="Litware Sales",
    isv_product="Litware CRM Connector",
) -> dict[str, dict]:
    """A valid answer for each step (a Wingtip Toys claim for Dynamics 365 Sales by default)."""
    today = today or date.today()
    activity_data = {"activity": activity}
    if activity == "revenue_association":
        activity_data |= {"solution_seller": solution_seller, "isv_product": isv_product}
    product_data = {"solution_area": area, "product": product}
    if subscription_id:
        product_data = {"solution_area": area, "product": "", "subscription_id": subscription_id}
    return {
        "customer": {"tenant_id": tenant, "domain": domain or DOMAINS[tenant]},
        "product": product_data,
        "activity": activity_data,
        "mpn": {"mpn": mpn},
        "contacts": {
            "customer_name": "Dana Customer",
            "customer_title": "CIO",
            "customer_email": f"dana@{DOMAINS.get(tenant, DOMAINS[WINGTIP])}",  # the customer's own address
            "partner_name": "Gina Martin",
            "partner_email": "gina@fabrikam.example",
        },
        "proof": {
            "description": "Workshops and a pilot of the product for the sales team.",
            "acknowledged_on": (acknowledged_on or today - timedelta(days=30)).isoformat(),
        },
    }


STEP_ORDER = ("customer", "product", "activity", "mpn", "contacts", "proof")


def claim_id_from(response) -> int:
    match = re.search(r"/claims/(\d+)/wizard/", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


@dataclass
class Walker:
    """Drives the wizard of one signed-in client with real form posts."""

    client: object

    def new(self) -> int:
        response = self.client.post("/claims/new")
        assert response.status_code == 302
        return claim_id_from(response)

    def post(self, claim_id, step, data, action="next"):
        return self.client.post(f"/claims/{claim_id}/wizard/{step}", data={**data, "action": action})

    def check(self, claim_id, step, data, trigger):
        return self.client.post(
            f"/claims/{claim_id}/wizard/{step}/check",
            data=data,
            headers={"HX-Request": "true", "HX-Trigger-Name": trigger},
        )

    def upload(self, claim_id, *files, htmx=False):
        """``files``: (name, bytes) pairs."""
        data = MultiDict([("files", (io.BytesIO(content), name)) for name, content in files])
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.post(f"/claims/{claim_id}/files", data=data, content_type="multipart/form-data", headers=headers)

    def walk(self, claim_id, steps: dict[str, dict], upto="review", files=(("proof.pdf", PDF),)):
        """Post each step before ``upto`` with its answer and check it moves on."""
        for step in STEP_ORDER:
            if step == upto:
                return
            if step == "proof" and files:
                self.upload(claim_id, *files)
            response = self.post(claim_id, step, steps[step])
            assert response.status_code == 302, f"step {step} refused: {response.get_data(as_text=True)[:3000]}"

    def submit(self, claim_id, attest=True):
        return self.post(claim_id, "review", {"attest": "y"} if attest else {}, action="submit")

    def file_claim(self, **answers) -> int:
        claim_id = self.new()
        self.walk(claim_id, valid_steps(**answers))
        response = self.submit(claim_id)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/claims/{claim_id}")
        return claim_id


@pytest.fixture
def walker_for(demo):
    return lambda email: Walker(sign_in(demo, email))


# --- the same without HTTP, for service tests ------------------------------------------------


def store_steps(claim: Claim, steps: dict[str, dict]) -> None:
    """Keep each step's answers on the draft exactly as the wizard's Next stores them."""
    claim.draft = {step: {key: [value] for key, value in data.items()} for step, data in steps.items()}


def add_pdf(user, claim_id, name="proof.pdf", content=PDF):
    return files.add_files(user, claim_id, [FileStorage(io.BytesIO(content), filename=name)])


def complete_draft(user, steps: dict[str, dict], files=True) -> Claim:
    """A draft of ``user`` with every step answered (and a PoE file), flushed, not committed."""
    claim = drafts.create_draft(user)
    if files:
        add_pdf(user, claim.id)
    store_steps(claim, steps)
    db.session.flush()
    return claim


# --- messages in English and French ----------------------------------------------------------

_TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations" / "fr" / "LC_MESSAGES"


@functools.cache
def _french_msgids() -> frozenset[str]:
    """Msgids the compiled French catalog translates (none while it is missing or stale)."""
    from babel.messages.pofile import read_po

    po, mo = _TRANSLATIONS / "messages.po", _TRANSLATIONS / "messages.mo"
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        return frozenset()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    return frozenset(m.id for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy)


def translated(phrase: str) -> bool:
    """Whether the French catalog translates a message containing ``phrase``."""
    return any(phrase in msgid for msgid in _french_msgids())


def says(message: str, locale: str, *phrases: str) -> None:
    """In English the message contains every phrase; in French it renders, and where the catalog
    translates a phrase's message, that English phrase is gone."""
    message = str(message)
    assert message.strip()
    for phrase in phrases:
        if locale == "en":
            assert phrase in message, f"{phrase!r} not in {message!r}"
        elif translated(phrase):
            assert phrase not in message, f"{phrase!r} untranslated in {message!r}"


# --- reading wizard pages -------------------------------------------------------------------


class _ById(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: dict[str, tuple[str, dict]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.elements.setdefault(attributes["id"], (tag, attributes))

    handle_startendtag = handle_starttag


def element(response, element_id) -> tuple[str, dict] | None:
    """(tag, attributes) of the element with ``id``, or None."""
    parser = _ById()
    parser.feed(response.get_data(as_text=True))
    return parser.elements.get(element_id)


def error_slot(response, field) -> str | None:
    """The HTML of a field's error slot (``<div id="FIELD-error">``), entities decoded."""
    match = re.search(rf'<div id="{re.escape(field)}-error"[^>]*>.*?</div>', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(0)) if match else None


def slot_text(response, field) -> str:
    """The words of a field's error messages, one space between each."""
    slot = error_slot(response, field) or ""
    return " ".join(re.sub(r"<[^>]+>", " ", slot).split())

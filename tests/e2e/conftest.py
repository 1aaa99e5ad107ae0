"""Browser tests: Chromium driven by Playwright against a real server on a free port.

One server and one SQLite database (loaded with the demo directory) serve the whole session;
each test gets a fresh browser context from pytest-playwright's ``page`` fixture. Forms are
real: CSRF is on. Without Chromium the tests are skipped with the reason, unless
``PORTAL_REQUIRE_BROWSER=1`` (set by CI), where they fail instead.
"""
from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests.conftest import TEST_PASSWORD_HASH

CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("PORTAL_REQUIRE_BROWSER") == "1"
E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parent.parent
DEMO_FILE = ROOT / "portal" / "directory" / "demo.json"
NO_BROWSER = f"Chromium not installed: apt-get install chromium (looked for {CHROMIUM})"


def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e is an ``e2e`` test (this hook sees the whole session's
    items, hence the path check)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture starts a browser: skip without Chromium, or fail when CI requires it."""
    if os.access(CHROMIUM, os.X_OK):
        return
    if REQUIRE_BROWSER:
        pytest.fail(NO_BROWSER + " (PORTAL_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(NO_BROWSER)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """English unless a test picks another language, whatever the machine's locale."""
    return {**browser_context_args, "locale": "en-GB"}


@pytest.fixture(scope="session")
def demo_data() -> dict:
    from portal.directory_import import load_file

    return load_file(DEMO_FILE)


@pytest.fixture(scope="session")
def portal_app(tmp_path_factory, demo_data):
    from portal.directory_import import import_directory

    tmp = tmp_path_factory.mktemp("e2e")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'e2e.db'}",
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            # One demo person starts many drafts a minute here, faster now that sign-in is
            # reused: the limit (tests/claims/wizard/test_draft_limits.py) counts, never stops it.
            "DRAFT_RATE_LIMIT": "1000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            "SECRET_KEY": "e2e-secret",
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
            "UPLOAD_FOLDER": str(tmp / "uploads"),
            "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH,
            # A claim's page asks for new comments every 500 ms (5 s for people). The inline
            # check's delay (CHECK_DELAY_MS) stays 600 ms: two tests type and leave the page
            # before it runs out, which a shorter one doesn't leave time for on a loaded machine.
            "COMMENT_POLL_MS": 500,
        }
    )
    with app.app_context():
        db.create_all()
        import_directory(demo_data)
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(portal_app):
    server = make_server("127.0.0.1", 0, portal_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright gives every context this base URL, so tests ``page.goto("/login")``."""
    return live_server


def watch(page) -> list[str]:
    """Record, for as long as the page lives, what must never happen on any page: a Content
    Security Policy violation (Chromium reports each on the console), a JavaScript error, a
    server error."""
    problems: list[str] = []

    def on_console(message):
        if "Content Security Policy" in message.text:
            problems.append(f"CSP violation on {page.url}: {message.text}")

    def on_response(response):
        if response.status >= 500:
            problems.append(f"HTTP {response.status} for {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"JavaScript error on {page.url}: {error}"))
    return problems


@pytest.fixture
def page(page):
    """pytest-playwright's page, watched: the test fails after its last step if anything
    ``watch`` records happened during any step."""
    problems = watch(page)
    yield page
    assert not problems, "\n".join(problems)


#: The cookies (the session's) the sign-in form gave each person in this worker, by (email,
#: password): a later test that isn't about signing in starts from them, like a browser
#: reopened with its stored state, instead of filling the form again.
_SESSIONS: dict[tuple[str, str], list[dict]] = {}


def sign_in(page, email: str, password: str, *, through_form: bool = False) -> None:
    """Signs ``page``'s browser context in; returns once the home page (the form's answer) has
    loaded, so the session cookie is set before the test goes anywhere else.

    Through the real form, as a person would, the first time for each person (and always with
    ``through_form``, for the tests about signing in); after that with the session cookie the
    form gave, unless that session has ended since (a sign-out ends every session of the
    person): then the home page sends the browser to the form, and it is filled again."""
    from urllib.parse import urlsplit

    cookies = None if through_form else _SESSIONS.get((email, password))
    if cookies:
        page.context.add_cookies(cookies)
        page.goto("/")
        if urlsplit(page.url).path != "/login":
            return
        _SESSIONS.pop((email, password), None)
    page.goto("/login")
    before = {(c["name"], c["value"]) for c in page.context.cookies()}
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if urlsplit(page.url).path != "/login":
        _SESSIONS[(email, password)] = [c for c in page.context.cookies() if (c["name"], c["value"]) not in before]


def no_script_page(new_context, login):
    """A page of its own with JavaScript off, signed in as ``login``, watched."""
    page = new_context(java_script_enabled=False).new_page()
    problems = watch(page)
    sign_in(page, login.email, login.password)
    return page, problems


def expect_settled(page) -> None:
    """Wait until htmx has finished with what it last swapped in. New content is wired up
    (hx-post and friends) only when htmx settles it, some milliseconds after it appears; a
    person can't act that fast, a test can, and would then send a plain form instead."""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-added, .htmx-settling, .htmx-swapping")).to_have_count(0)


def sign_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out", exact=True).click()


_AXE = None


def assert_no_axe_violations(page) -> None:
    """axe-core's rules (all of them, none disabled) on the page as it is now."""
    global _AXE
    from axe_playwright_python.sync_playwright import Axe

    _AXE = _AXE or Axe()
    violations = _AXE.run(page).response["violations"]
    if not violations:
        return
    lines = [f"axe-core found {len(violations)} violation(s) on {page.url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    {target}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
    pytest.fail("\n".join(lines), pytrace=False)


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    name: str
    role: str | None  # None for a reviewer
    partner: str | None  # the partner's id (organization slug) for a partner user
    locale: str | None


class Demo:
    """The demo directory's people, from the same document the server was loaded with."""

    def __init__(self, data: dict):
        self.partners = {p["id"]: p for p in data.get("partners") or []}
        self.logins = [
            Login(u["email"].lower(), u["password"], u["name"], u["role"], p["id"], u.get("locale"))
            for p in self.partners.values()
            for u in p.get("users") or []
        ] + [
            Login(r["email"].lower(), r["password"], r["name"], None, None, r.get("locale"))
            for r in data.get("reviewers") or []
        ]

    def login(self, role: str | None = None, *, reviewer: bool = False) -> Login:
        """A person with this role (a reviewer with ``reviewer=True``), preferring one who has
        not chosen French, so labels can be checked in English."""
        matches = [
            login for login in self.logins if (login.partner is None if reviewer else login.role == role)
        ]
        if not matches:
            pytest.fail(f"{DEMO_FILE.name} has no {'reviewer' if reviewer else role!r} login")
        return sorted(matches, key=lambda login: login.locale == "fr")[0]

    def no_access(self) -> Login:
        """A partner user whose role gives no access to customer associations."""
        from portal.accounts.permissions import ROLE_PERMISSIONS

        for login in self.logins:
            if login.partner and login.role not in ROLE_PERMISSIONS:
                return login
        pytest.fail(f"{DEMO_FILE.name} has no partner user without access to associations")

    def global_admins(self, partner: str) -> list[Login]:
        return [login for login in self.logins if login.partner == partner and login.role == "global_admin"]


@pytest.fixture(scope="session")
def demo(demo_data) -> Demo:
    return Demo(demo_data)


@pytest.fixture
def make_login(portal_app):
    """A partner user in an organization of their own, for tests that change what they
    sign in with or where: the demo organizations and logins stay as the other tests expect."""

    def make(role: str = "global_admin", locale: str | None = None) -> Login:
        from portal.accounts.auth import hash_password
        from portal.accounts.models import AccountKind, Organization, User

        key = uuid.uuid4().hex[:12]
        email = f"e2e-{key}@e2e.example"
        password = f"e2e-password-{key}"
        name = f"E2E User {key[:6]}"
        with portal_app.app_context():
            organization = Organization(slug=f"e2e-{key}", name=f"E2E Organization {key[:6]}")
            db.session.add(organization)
            db.session.flush()
            db.session.add(
                User(
                    email=email,
                    name=name,
                    password_hash=hash_password(password),
                    kind=AccountKind.PARTNER,
                    organization_id=organization.id,
                    role=role,
                    locale=locale,
                )
            )
            db.session.commit()
        return Login(email, password, name, role, f"e2e-{key}", locale)

    return make


@pytest.fixture
def submitted_claim(portal_app):
    """A claim submitted straight into the live server's database, on a customer tenant of its
    own (so no other test's claim competes with it or duplicates it; pass the same ``tenant_id``
    to make two organizations' claims compete: the lifecycle marks the arbitration), with one
    PoE file, then
    moved on by ``reviewer_actions`` (functions of ``portal.claims.actions`` taking only the
    reviewer and the claim, e.g. ``("start_review", "approve")``). Statuses change through
    ``lifecycle.transition`` only, as in the app. Returns (id, number)."""

    def make(
        email: str,
        customer: str,
        *,
        product: str = "d365-sales",
        activity: str = "presales",
        submitted_at=None,
        reviewer_actions: tuple[str, ...] = (),
        reviewer: str = "rita@review.example",
        tenant_id: str | None = None,
    ) -> tuple[int, str]:
        import io
        from datetime import timedelta

        from sqlalchemy import select

        from portal.accounts.models import Mpn, User
        from portal.claims import actions, lifecycle
        from portal.claims.base import ClaimStatus
        from portal.claims.files import storage
        from portal.claims.models import Claim, ClaimFile
        from portal.directory.models import Product, Tenant, TenantDomain
        from portal.timeutil import utcnow

        with portal_app.test_request_context():
            user = db.session.scalar(select(User).where(User.email == email))
            mpn = db.session.scalars(
                select(Mpn).where(Mpn.organization_id == user.organization_id).order_by(Mpn.incentives_enrolled.desc(), Mpn.id)
            ).first()
            assert mpn is not None, f"{email}'s organization has no MPN ID"
            tenant = db.session.get(Tenant, tenant_id) if tenant_id else None
            if tenant is None:
                tenant = Tenant(tenant_id=tenant_id or str(uuid.uuid4()), name=customer)
                db.session.add(tenant)
                # The customer contact's address must be at one of the tenant's domains.
                db.session.add(TenantDomain(domain=f"customer-{tenant.tenant_id[:8]}.example", tenant=tenant))
                db.session.flush()
            item = db.session.get(Product, product)
            claim = Claim(
                organization_id=user.organization_id,
                created_by_id=user.id,
                status=ClaimStatus.DRAFT,
                solution_area=item.solution_area,
                tenant_id=tenant.tenant_id,
                customer_name=customer,
                product_id=item.id,
                activity=activity,
                mpn_pk=mpn.id,
                customer_contact_name="Dana Customer",
                customer_contact_title="CIO",
                customer_contact_email=f"dana@{tenant.domains[0].domain}",
                partner_contact_name=user.name,
                partner_contact_email=user.email,
                description="Workshops and a pilot of the product for the sales team.",
                acknowledged_on=utcnow().date() - timedelta(days=30),
                draft={},
            )
            db.session.add(claim)
            db.session.flush()
            stored = storage.save(io.BytesIO(b"%PDF-1.7\n%%EOF\n"), 10_000_000)
            db.session.add(ClaimFile(claim_id=claim.id, storage_key=stored.key, filename="proof.pdf", kind="pdf",
                                     content_type="application/pdf", size=stored.size, sha256=stored.sha256,
                                     uploaded_by_id=user.id))
            lifecycle.transition(claim, "submit", user, now=submitted_at or utcnow())
            checker = db.session.scalar(select(User).where(User.email == reviewer))
            for action in reviewer_actions:
                getattr(actions, action)(checker, claim.id)
            db.session.commit()
            return claim.id, claim.number

    return make


@pytest.fixture
def signed_in(new_context):
    """A page in a browser context of its own (pytest-playwright's ``new_context``), signed in
    as ``login`` and watched like the ``page`` fixture's: the test fails if any of the pages
    saw a CSP violation, a JavaScript error or a server error."""
    recorded: list[list[str]] = []

    def open_as(login):
        page = new_context().new_page()
        recorded.append(watch(page))
        sign_in(page, login.email, login.password)
        return page

    yield open_as
    problems = [problem for seen in recorded for problem in seen]
    assert not problems, "\n".join(problems)


def fabrikam_admin(demo):
    admins = [login for login in demo.global_admins("fabrikam") if login.locale != "fr"]
    if not admins:
        pytest.fail("the demo directory has no English-speaking Fabrikam global admin")
    return admins[0]


def status_heading(page, status: str):
    return page.get_by_role("heading", level=2, name=f"Status: {status}", exact=True)


def click_and_wait(page, button) -> None:
    with page.expect_navigation():
        button.click()

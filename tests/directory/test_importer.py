"""The directory import (SPEC section 3): validation first, then an idempotent upsert."""
from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.accounts.auth import verify_password
from portal.accounts.models import Mpn, Organization, User
from portal.claims import lifecycle
from portal.claims.base import ClaimStatus
from portal.claims.models import Claim, ClaimEvent
from portal.directory_import import DirectoryImportError, import_directory, load_file
from portal.directory.models import Channel, Product, Subscription, SubscriptionStatus, Tenant, TenantDomain
from portal.extensions import db
from portal.timeutil import utcnow
from tests.support import sign_in

DEMO_FILE = Path(__file__).resolve().parents[2] / "portal" / "directory" / "demo.json"
TODAY = date(2026, 11, 24)
CONTOSO = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(scope="module")
def demo_file_data():
    return load_file(DEMO_FILE)


@pytest.fixture
def demo(demo_file_data):
    """A fresh copy of the demo document for each test to change."""
    return copy.deepcopy(demo_file_data)


def snapshot() -> dict:
    """Every row of every table, in primary-key order: two equal snapshots mean nothing changed."""
    rows = {}
    for table in db.metadata.sorted_tables:
        query = select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(query)]
    return rows


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def imported(data):
    report = import_directory(data)
    db.session.commit()
    return report


def errors_of(data) -> list[str]:
    with pytest.raises(DirectoryImportError) as info:
        import_directory(data)
    assert str(info.value).count("\n") == len(info.value.errors)  # the message lists every error
    for error in info.value.errors:
        assert error in str(info.value)
    return info.value.errors


# ---------------------------------------------------------------------------------- the demo file


def test_demo_file_imports_everything(app, demo):
    with app.app_context():
        report = imported(demo)

        users = sum(len(p["users"]) for p in demo["partners"])
        mpns = sum(len(p["mpns"]) for p in demo["partners"])
        assert report.created == {
            "products": len(demo["products"]),
            "tenants": len(demo["tenants"]),
            "subscriptions": len(demo["subscriptions"]),
            "partners": len(demo["partners"]),
            "mpns": mpns,
            "users": users,
            "reviewers": len(demo["reviewers"]),
            "associations": len(demo["associations"]),
        }
        assert report.total_updated == 0
        assert count(Product) == len(demo["products"])
        assert count(Tenant) == len(demo["tenants"])
        assert count(TenantDomain) == sum(len(t["domains"]) for t in demo["tenants"])
        assert count(Subscription) == len(demo["subscriptions"])
        assert count(Organization) == len(demo["partners"])
        assert count(Mpn) == mpns
        assert count(User) == users + len(demo["reviewers"])
        assert count(Claim) == count(ClaimEvent) == len(demo["associations"])

        contoso = db.session.get(Tenant, CONTOSO)
        assert contoso.name == "Contoso Ltd"
        assert {d.domain for d in contoso.domains} == set(demo["tenants"][0]["domains"])


def test_demo_people_are_imported_with_their_kind_organization_role_and_locale(app, demo):
    with app.app_context():
        imported(demo)
        for partner in demo["partners"]:
            organization = db.session.scalar(select(Organization).where(Organization.slug == partner["id"]))
            assert organization.name == partner["name"]
            assert [m.mpn_id for m in organization.mpns] == sorted(m["mpn_id"] for m in partner["mpns"])
            for given in partner["users"]:
                user = db.session.scalar(select(User).where(User.email == given["email"]))
                assert (user.kind, user.organization_id, user.role, user.name, user.locale) == (
                    "partner", organization.id, given["role"], given["name"], given.get("locale"),
                )
                assert user.is_partner and user.active
        for given in demo["reviewers"]:
            reviewer = db.session.scalar(select(User).where(User.email == given["email"]))
            assert reviewer.is_reviewer
            assert reviewer.organization_id is None and reviewer.role is None


def test_demo_file_covers_what_the_demo_needs_to_show(demo):
    """Every channel and status, every role, realistic dates, and a competing association."""
    subscriptions = demo["subscriptions"]
    assert {s["channel"] for s in subscriptions} == {c.value for c in Channel}
    assert {s["status"] for s in subscriptions} == {s.value for s in SubscriptionStatus}
    for subscription in subscriptions:
        if subscription["status"] == "active":
            assert subscription["end_date"].startswith("2027")
        if subscription["status"] == "expired":
            assert date.fromisoformat(subscription["end_date"]) < TODAY

    areas = {p["id"]: p["solution_area"] for p in demo["products"]}
    on_tenants = {s["product_id"] for s in subscriptions}
    workloads = {p for p, area in areas.items() if area == "microsoft_365"}
    assert len(workloads) >= 3 and len(workloads & on_tenants) >= 3
    assert len({p for p, area in areas.items() if area == "business_applications"}) >= 4
    assert len(demo["tenants"]) >= 4 and all(len(t["domains"]) >= 2 for t in demo["tenants"])

    first, second = demo["partners"][:2]
    assert {u["role"] for u in first["users"]} >= {"global_admin", "incentives_admin", "billing_admin", "referrals_admin"}
    assert {u["role"] for u in second["users"]} >= {"global_admin", "billing_admin"}
    assert {m["incentives_enrolled"] for m in first["mpns"]} == {True, False}
    people = [u for p in demo["partners"] for u in p["users"]] + demo["reviewers"]
    assert any(person.get("locale") == "fr" for person in people)
    assert len(demo["reviewers"]) >= 2
    assert all(len(person["password"]) >= 12 for person in people)

    # The second organization holds an approved association the first could also claim.
    competing = [
        a for a in demo["associations"]
        if a["partner_id"] == second["id"] and a["status"] == "approved"
        and any(s["tenant_id"] == a["tenant_id"] and s["product_id"] == a["product_id"] and s["status"] == "active"
                for s in subscriptions)
    ]
    assert competing
    assert not any(
        a["partner_id"] == first["id"] and (a["tenant_id"], a["product_id"]) == (competing[0]["tenant_id"], competing[0]["product_id"])
        for a in demo["associations"]
    )


def test_associations_become_claims_with_their_history_starting_at_import(app, demo):
    with app.app_context():
        imported(demo)
        given = demo["associations"][0]
        claim = db.session.scalar(
            select(Claim).join(Organization).where(
                Organization.slug == given["partner_id"], Claim.product_id == given["product_id"]
            )
        )
        assert claim.status == ClaimStatus.APPROVED
        assert claim.tenant_id == given["tenant_id"]
        assert claim.subscription_id == given["subscription_id"]
        assert claim.activity == given["activity"]
        assert claim.mpn.mpn_id == given["mpn_id"]
        assert claim.solution_area == "business_applications"
        assert claim.approved_on == date.fromisoformat(given["approved_on"])
        assert claim.created_by_id is None and claim.submitted_at is not None
        events = db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id)).all()
        assert [(e.kind, e.from_status, e.to_status, e.note, e.actor_id) for e in events] == [
            ("imported", None, "approved", "Imported from the directory", None)
        ]
        under_review = db.session.scalar(select(Claim).where(Claim.status == ClaimStatus.UNDER_REVIEW))
        assert under_review is not None and under_review.approved_on is None



def test_an_imported_approved_claim_was_submitted_before_its_approval(app, demo):
    """Its claim page used to say it was submitted at the import, months after its approval.
    Created, submitted and in its status by the approval's day; one approved in the future
    (a file written ahead) by the import; one under review at the import, where its deadline
    starts."""
    ahead = date.today() + timedelta(days=30)
    demo["associations"][2]["approved_on"] = ahead.isoformat()
    started = utcnow()
    with app.app_context():
        imported(demo)
        claims = db.session.scalars(select(Claim).order_by(Claim.id)).all()
        finished = utcnow()
        assert [c.status for c in claims] == ["approved", "under_review", "approved", "under_review"]
        for claim in claims:
            assert claim.created_at <= claim.submitted_at <= claim.status_changed_at <= finished, claim.id
            if claim.approved_on is not None:
                assert claim.submitted_at <= datetime.combine(claim.approved_on, time.min), claim.id
            else:
                assert started <= claim.submitted_at, claim.id
            event = db.session.scalar(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id))
            assert started <= event.created_at <= finished  # the history records the import
        assert claims[0].submitted_at == datetime(2026, 3, 2)
        assert claims[2].approved_on == ahead and started <= claims[2].submitted_at <= finished
        claim_id = claims[0].id
    page = sign_in(app, "paul@proseware.example").get(f"/claims/{claim_id}").get_data(as_text=True)
    assert re.search(r"<dt>Submitted</dt><dd>Mar 2, 2026, ", page) and "<dt>Approved on</dt><dd>Mar 2, 2026</dd>" in page


@pytest.mark.parametrize("when", ["in the same file", "in a later file"])
def test_competing_associations_are_imported_in_arbitration(any_app, demo, when):
    """Proseware's approved Sales claim on Contoso, and Fabrikam's imported beside it: the lifecycle
    marks both, as it does when two partners file claims in the portal."""
    fabrikam = {
        "partner_id": "fabrikam", "mpn_id": "1234567", "tenant_id": CONTOSO, "product_id": "d365-sales",
        "activity": "presales", "status": "under_review",
    }
    with any_app.app_context():
        if when == "in the same file":
            demo["associations"].append(fabrikam)
            imported(demo)
        else:
            imported(demo)
            imported({"associations": [fabrikam]})

        claims = db.session.scalars(
            select(Claim).where(Claim.tenant_id == CONTOSO, Claim.product_id == "d365-sales").order_by(Claim.id)
        ).all()
        assert [(c.organization.slug, c.status, c.in_arbitration) for c in claims] == [
            ("proseware", "approved", True), ("fabrikam", "under_review", True),
        ]
        new = claims[1]
        assert new.due_on == lifecycle.due_on_for("under_review", new.status_changed_at, lifecycle.holidays())
        assert new.due_on is not None and claims[0].due_on is None
        assert db.session.scalar(
            select(func.count()).select_from(Claim).where(Claim.in_arbitration, Claim.product_id != "d365-sales")
        ) == 0

# ---------------------------------------------------------------------------------- idempotency


def test_second_import_of_the_same_file_changes_nothing(any_app, demo):
    with any_app.app_context():
        imported(demo)
        before = snapshot()

        report = import_directory(copy.deepcopy(demo))
        assert not (db.session.new or db.session.dirty or db.session.deleted)
        db.session.commit()

        assert report.total_created == 0 and report.total_updated == 0 and not report.changed
        assert report.notes == []
        assert "nothing changed" in report.summary()
        assert snapshot() == before  # password hashes included: nothing re-hashed


def test_a_changed_field_is_updated_and_only_it_is_counted(app, demo):
    with app.app_context():
        imported(demo)
        demo["products"][0]["name"] = "Dynamics 365 Sales Enterprise"
        demo["subscriptions"][1]["status"] = "suspended"
        demo["partners"][0]["mpns"][1]["incentives_enrolled"] = True
        demo["partners"][0]["users"][2]["role"] = "incentives_admin"
        demo["partners"][0]["name"] = "Fabrikam Consulting Group"
        before = snapshot()

        report = imported(demo)

        assert report.total_created == 0
        assert {kind: n for kind, n in report.updated.items() if n} == {
            "products": 1, "subscriptions": 1, "mpns": 1, "users": 1, "partners": 1,
        }
        assert db.session.get(Product, demo["products"][0]["id"]).name == "Dynamics 365 Sales Enterprise"
        assert db.session.get(Subscription, demo["subscriptions"][1]["subscription_id"]).status == "suspended"
        assert db.session.scalar(select(Mpn).where(Mpn.mpn_id == demo["partners"][0]["mpns"][1]["mpn_id"])).incentives_enrolled
        user = db.session.scalar(select(User).where(User.email == demo["partners"][0]["users"][2]["email"]))
        assert user.role == "incentives_admin"
        after = snapshot()
        assert after["tenants"] == before["tenants"] and after["users"] != before["users"]


def test_tenant_domains_are_replaced_by_the_files_list(app, demo):
    with app.app_context():
        imported(demo)
        demo["tenants"][0]["domains"] = ["contoso.onmicrosoft.com", "Contoso.CO.UK."]

        report = imported(demo)

        assert report.updated["tenants"] == 1 and report.total_updated == 1
        domains = db.session.scalars(select(TenantDomain.domain).where(TenantDomain.tenant_id == CONTOSO)).all()
        assert sorted(domains) == ["contoso.co.uk", "contoso.onmicrosoft.com"]
        assert db.session.get(TenantDomain, "contoso.com") is None


def test_a_domain_can_move_between_two_tenants_of_the_file(any_app, demo):
    with any_app.app_context():
        imported(demo)
        demo["tenants"][0]["domains"].remove("contoso.fr")
        demo["tenants"][1]["domains"].append("contoso.fr")

        report = imported(demo)

        assert report.updated["tenants"] == 2
        assert db.session.get(TenantDomain, "contoso.fr").tenant_id == demo["tenants"][1]["tenant_id"]


def test_a_domain_held_by_a_tenant_outside_the_file_is_refused(app, demo):
    with app.app_context():
        imported(demo)
        errors = errors_of({"tenants": [
            {"tenant_id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "name": "Litware", "domains": ["CONTOSO.com"]}
        ]})
        assert errors == [
            'tenants[0] (3f2504e0-4f89-41d3-9a0c-0305e82c3301): field "domains": '
            f"contoso.com already belongs to tenant {CONTOSO} in the database"
        ]


def test_passwords_are_stored_hashed_and_rehashed_only_when_changed(app, demo):
    with app.app_context():
        imported(demo)
        gina, ian = demo["partners"][0]["users"][:2]
        stored = {u.email: u.password_hash for u in db.session.scalars(select(User))}
        assert stored[gina["email"]] != gina["password"]
        assert verify_password(stored[gina["email"]], gina["password"])
        assert not verify_password(stored[gina["email"]], "not the password")

        gina["password"] = " a brand new password "  # kept exactly as given, spaces included
        report = imported(demo)

        assert report.updated == {**dict.fromkeys(report.updated, 0), "users": 1}
        now = {u.email: u.password_hash for u in db.session.scalars(select(User))}
        assert verify_password(now[gina["email"]], " a brand new password ")
        assert not verify_password(now[gina["email"]], "a brand new password")
        assert now[ian["email"]] == stored[ian["email"]]


def test_guids_with_braces_and_upper_case_are_accepted_and_stored_normalized(app, demo):
    def shout(guid):
        return "{" + guid.upper() + "}"

    for tenant in demo["tenants"]:
        tenant["tenant_id"] = shout(tenant["tenant_id"])
    for subscription in demo["subscriptions"]:
        subscription["tenant_id"] = shout(subscription["tenant_id"])
        subscription["subscription_id"] = subscription["subscription_id"].upper()
    for association in demo["associations"]:
        association["tenant_id"] = association["tenant_id"].upper()
        if "subscription_id" in association:
            association["subscription_id"] = shout(association["subscription_id"])
    with app.app_context():
        imported(demo)
        assert db.session.get(Tenant, CONTOSO) is not None
        assert db.session.get(Subscription, "7c9e6679-7425-40de-944b-e07fc1f90ae7").tenant_id == CONTOSO
        stored = db.session.scalars(select(Subscription.subscription_id)).all() + db.session.scalars(select(Tenant.tenant_id)).all()
        assert all(guid == guid.lower() and "{" not in guid for guid in stored)
        assert db.session.scalar(select(Claim.subscription_id).where(Claim.tenant_id == CONTOSO)) == (
            "7c9e6679-7425-40de-944b-e07fc1f90ae7"
        )


def test_mpn_ids_given_as_numbers_and_emails_in_capitals_are_normalized(app, demo):
    demo["partners"][0]["mpns"][0]["mpn_id"] = 1234567
    demo["partners"][0]["users"][0]["email"] = "Gina@Fabrikam.EXAMPLE"
    with app.app_context():
        imported(demo)
        assert db.session.scalar(select(Mpn).where(Mpn.mpn_id == "1234567")) is not None
        assert db.session.scalar(select(User).where(User.email == "gina@fabrikam.example")) is not None


def test_references_may_resolve_to_what_the_database_already_holds(app, demo):
    with app.app_context():
        imported(demo)
        report = imported({
            "subscriptions": [{
                "subscription_id": "5b6f1c1e-51c4-4d36-8f1a-3a3e2a4f9b10", "tenant_id": CONTOSO,
                "product_id": "d365-finance", "channel": "web_direct", "status": "active",
                "start_date": "2026-10-01", "end_date": "2027-09-30",
            }],
            "associations": [{
                "partner_id": "fabrikam", "mpn_id": "1234568", "tenant_id": CONTOSO, "product_id": "d365-finance",
                "subscription_id": "5b6f1c1e-51c4-4d36-8f1a-3a3e2a4f9b10", "activity": "presales",
                "status": "under_review",
            }],
        })
        assert report.created["subscriptions"] == 1 and report.created["associations"] == 1
        assert report.total_created == 2 and report.total_updated == 0


def test_an_existing_claim_is_never_imported_twice_nor_overwritten(app, demo):
    with app.app_context():
        imported(demo)
        claim = db.session.scalar(select(Claim).where(Claim.status == ClaimStatus.APPROVED).order_by(Claim.id))
        claim.status = ClaimStatus.CLOSED
        db.session.commit()
        claims, events = count(Claim), count(ClaimEvent)

        report = imported(demo)

        assert report.created["associations"] == 0
        assert (count(Claim), count(ClaimEvent)) == (claims, events)
        assert db.session.get(Claim, claim.id).status == ClaimStatus.CLOSED
        assert len(report.notes) == 1 and claim.number in report.notes[0]


def test_optional_fields_left_out_keep_what_the_portal_changed(app, demo):
    with app.app_context():
        imported(demo)
        mpn = db.session.scalar(select(Mpn).where(Mpn.mpn_id == "1234568"))
        mpn.incentives_enrolled = True  # enrolled in the portal's incentives overview
        db.session.commit()
        del demo["partners"][0]["mpns"][1]["incentives_enrolled"]

        report = imported(demo)

        assert not report.changed
        assert db.session.scalar(select(Mpn).where(Mpn.mpn_id == "1234568")).incentives_enrolled


# ---------------------------------------------------------------------------------- all or nothing


@pytest.mark.parametrize("where", ["after good records", "in an empty database"])
def test_a_bad_file_leaves_the_database_exactly_as_it_was(any_app, demo, where):
    with any_app.app_context():
        if where == "after good records":
            imported(copy.deepcopy(demo))
            # Good changes first, then one bad record at the very end of the file.
            demo["products"][0]["name"] = "Renamed"
            demo["tenants"][0]["domains"] = ["contoso.onmicrosoft.com"]
            demo["partners"][0]["users"][0]["password"] = "another-password"
            demo["products"].append({"id": "d365-commerce", "name": "Dynamics 365 Commerce", "solution_area": "business_applications"})
        demo["associations"].append({
            "partner_id": "fabrikam", "mpn_id": "1234567", "tenant_id": CONTOSO, "product_id": "d365-sales",
            "activity": "usage", "status": "approved",
        })
        before = snapshot()

        errors = errors_of(demo)

        assert errors == [f'associations[4] (fabrikam, {CONTOSO}, d365-sales, usage): field "approved_on": is required']
        assert not (db.session.new or db.session.dirty or db.session.deleted)
        db.session.commit()
        assert snapshot() == before


def test_every_error_is_collected_into_one_refusal(app, demo):
    demo["products"][1]["solution_area"] = "dynamics"
    demo["tenants"][2]["tenant_id"] = "adventure-works"
    demo["partners"][1]["mpns"][0]["mpn_id"] = "12"
    demo["reviewers"][0]["email"] = "rita-at-review"
    demo["extra"] = True
    with app.app_context():
        errors = errors_of(demo)
        fields = ['"solution_area"', '"tenant_id"', '"mpn_id"', '"email"', 'unknown key "extra"']
        for field in fields:
            assert any(field in error for error in errors), field
        assert count(Product) == 0


def _set(path, value):
    """A change to the demo document: ``path`` is a list of keys and indexes."""
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return change


_DELETE = object()
SUB2 = "1bcba016-0658-4cc4-bcb2-def2ba4850c4"  # subscriptions[2] of the demo file
ADVENTURE = "8d9479c8-c585-4bcd-8f4c-ed893b922391"
TAILSPIN = "e5c45229-6456-430d-b658-241c76fc9061"
TAILSPIN_BUSINESS_CENTRAL = "f5482414-d5f3-4e55-9ad0-d61037ec571e"


def _with(*changes):
    def change(data):
        for one in changes:
            one(data)
    return change


def _append(path, value):
    def change(data):
        target = data
        for key in path:
            target = target[key]
        target.append(value)
    return change


BAD_DOCUMENTS = {
    "tenant id not a guid": (
        _set(["tenants", 1, "tenant_id"], "northwind"),
        'tenants[1] (northwind): field "tenant_id": must be a GUID',
    ),
    "subscription id too short": (
        _set(["subscriptions", 2, "subscription_id"], SUB2[:-1]),
        f'subscriptions[2] ({SUB2[:-1]}): field "subscription_id": must be a GUID',
    ),
    "guid with one brace": (
        _set(["subscriptions", 2, "tenant_id"], "{" + CONTOSO),
        f'subscriptions[2] ({SUB2}): field "tenant_id": must be a GUID',
    ),
    "mpn id of five digits": (
        _set(["partners", 0, "mpns", 1, "mpn_id"], "12345"),
        'partners[0].mpns[1] (12345): field "mpn_id": must be an MPN ID of 6 or 7 digits',
    ),
    "mpn id of eight digits": (
        _set(["partners", 0, "mpns", 1, "mpn_id"], 12345678),
        'partners[0].mpns[1] (12345678): field "mpn_id": must be an MPN ID of 6 or 7 digits',
    ),
    "mpn id with a letter": (
        _set(["partners", 0, "mpns", 1, "mpn_id"], "12a4567"),
        'partners[0].mpns[1] (12a4567): field "mpn_id": must be an MPN ID of 6 or 7 digits',
    ),
    "unknown channel": (
        _set(["subscriptions", 2, "channel"], "retail"),
        f'subscriptions[2] ({SUB2}): field "channel": must be one of volume_licensing, web_direct, csp',
    ),
    "unknown subscription status": (
        _set(["subscriptions", 2, "status"], "cancelled"),
        f'subscriptions[2] ({SUB2}): field "status": must be one of active, in_grace, pending_provisioning, expired, suspended',
    ),
    "unknown solution area": (
        _set(["products", 0, "solution_area"], "dynamics"),
        'products[0] (d365-sales): field "solution_area": must be one of business_applications, microsoft_365',
    ),
    "unknown activity": (
        _set(["associations", 0, "activity"], "referral"),
        'associations[0] (proseware, 0f8fad5b-d9cb-469f-a165-70867728950e, d365-sales, referral): field "activity": must be one of presales, usage, revenue_association',
    ),
    "association status not importable": (
        _set(["associations", 0, "status"], "rejected"),
        'associations[0] (proseware, 0f8fad5b-d9cb-469f-a165-70867728950e, d365-sales, usage): field "status": must be one of approved, under_review',
    ),
    "unknown locale": (
        _set(["partners", 0, "users", 0, "locale"], "de"),
        'partners[0].users[0] (gina@fabrikam.example): field "locale": must be one of en, fr or null',
    ),
    "subscription of an unknown product": (
        _set(["subscriptions", 2, "product_id"], "d365-marketing"),
        f'subscriptions[2] ({SUB2}): field "product_id": unknown product "d365-marketing"',
    ),
    "subscription on an unknown tenant": (
        _set(["subscriptions", 2, "tenant_id"], "3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
        f'subscriptions[2] ({SUB2}): field "tenant_id": unknown tenant 3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    ),
    "association of an unknown partner": (
        _set(["associations", 2, "partner_id"], "litware"),
        f'associations[2] (litware, {ADVENTURE}, d365-customer-service, usage): field "partner_id": unknown partner "litware"',
    ),
    "association with another partner's mpn": (
        _set(["associations", 2, "mpn_id"], "3456789"),
        f'associations[2] (fabrikam, {ADVENTURE}, d365-customer-service, usage): field "mpn_id": MPN ID 3456789 does not belong to partner "fabrikam"',
    ),
    "association with an unknown mpn": (
        _set(["associations", 2, "mpn_id"], "999999"),
        f'associations[2] (fabrikam, {ADVENTURE}, d365-customer-service, usage): field "mpn_id": unknown MPN ID 999999',
    ),
    "association with an unknown subscription": (
        _set(["associations", 2, "subscription_id"], "3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
        f'associations[2] (fabrikam, {ADVENTURE}, d365-customer-service, usage): field "subscription_id": unknown subscription',
    ),
    "association subscription on another tenant": (
        # Contoso's Customer Service subscription, claimed on Adventure Works.
        _set(["associations", 2, "subscription_id"], "269a4f88-a607-4ea9-976d-95e15b3542c0"),
        f'associations[2] (fabrikam, {ADVENTURE}, d365-customer-service, usage): field "subscription_id": '
        f"subscription 269a4f88-a607-4ea9-976d-95e15b3542c0 is on tenant {CONTOSO}, not on tenant {ADVENTURE}",
    ),
    "association subscription for another product": (
        # Tailspin's Business Central subscription, for a Supply Chain association on Tailspin.
        _set(["associations", 3, "subscription_id"], TAILSPIN_BUSINESS_CENTRAL),
        f'associations[3] (fabrikam, {TAILSPIN}, d365-supply-chain, presales): field "subscription_id": '
        f'subscription {TAILSPIN_BUSINESS_CENTRAL} is for product "d365-business-central", not "d365-supply-chain"',
    ),
    "microsoft 365 workload for presales": (
        _set(["associations", 1, "activity"], "presales"),
        'field "activity": Microsoft 365 workloads are associated for usage only',
    ),
    "approved without a date": (
        _set(["associations", 0, "approved_on"], _DELETE),
        'associations[0] (proseware, 0f8fad5b-d9cb-469f-a165-70867728950e, d365-sales, usage): field "approved_on": is required',
    ),
    "under review with an approval date": (
        _set(["associations", 1, "approved_on"], "2026-05-01"),
        'field "approved_on": is only for approved associations',
    ),
    "domain on two tenants": (
        _append(["tenants", 1, "domains"], "CONTOSO.com"),
        'tenants[1] (8d840575-5419-4dfb-b6c0-f5bb679e0663): field "domains": contoso.com already belongs to tenants[0] (0f8fad5b-d9cb-469f-a165-70867728950e)',
    ),
    "domain not a domain name": (
        _append(["tenants", 1, "domains"], "not a domain"),
        'tenants[1] (8d840575-5419-4dfb-b6c0-f5bb679e0663): field "domains[3]": must be a domain name',
    ),
    "date in another format": (
        _set(["subscriptions", 2, "start_date"], "01/11/2026"),
        f'subscriptions[2] ({SUB2}): field "start_date": must be a date written yyyy-mm-dd (got "01/11/2026")',
    ),
    "date that does not exist": (
        _set(["subscriptions", 2, "end_date"], "2027-02-30"),
        f'subscriptions[2] ({SUB2}): field "end_date": must be a date written yyyy-mm-dd (got "2027-02-30")',
    ),
    "end date before start date": (
        _set(["subscriptions", 2, "end_date"], "2026-11-14"),
        f'subscriptions[2] ({SUB2}): field "end_date": must not be before start_date 2026-11-15',
    ),
    "duplicate email across partners": (
        _set(["partners", 1, "users", 0, "email"], "GINA@fabrikam.example"),
        'partners[1].users[0] (GINA@fabrikam.example): field "email": gina@fabrikam.example is already used by partners[0].users[0]',
    ),
    "email both partner user and reviewer": (
        _set(["reviewers", 0, "email"], "ian@fabrikam.example"),
        'reviewers[0] (ian@fabrikam.example): field "email": ian@fabrikam.example is also partners[0].users[1] (ian@fabrikam.example); an email cannot be both a partner user and a reviewer',
    ),
    "email not an address": (
        _set(["partners", 0, "users", 1, "email"], "ian.fabrikam.example"),
        'partners[0].users[1] (ian.fabrikam.example): field "email": must be an email address',
    ),
    "mpn id of two partners": (
        _set(["partners", 1, "mpns", 1, "mpn_id"], "1234568"),
        'partners[1].mpns[1] (1234568): field "mpn_id": 1234568 already belongs to partners[0] (fabrikam)',
    ),
    "duplicate product": (
        _append(["products"], {"id": "d365-sales", "name": "Sales again", "solution_area": "business_applications"}),
        'products[11] (d365-sales): field "id": duplicate of products[0] (d365-sales)',
    ),
    "empty role": (
        _set(["partners", 0, "users", 3, "role"], " "),
        'partners[0].users[3] (rafael@fabrikam.example): field "role": must be a non-empty string',
    ),
    "missing tenant name": (
        _set(["tenants", 3, "name"], _DELETE),
        f'tenants[3] ({TAILSPIN}): field "name": is required',
    ),
    "password too short": (
        _set(["partners", 1, "users", 1, "password"], "short"),
        'partners[1].users[1] (billie@proseware.example): field "password": must be a string of 12 to 128 characters',
    ),
    "missing reviewer password": (
        _set(["reviewers", 1, "password"], _DELETE),
        'reviewers[1] (remy@review.example): field "password": is required',
    ),
    "unknown field in a record": (
        _set(["products", 0, "colour"], "blue"),
        'products[0] (d365-sales): field "colour": unknown field',
    ),
    "section not a list": (
        _set(["tenants"], {"tenant_id": CONTOSO}),
        'top level: "tenants" must be a list',
    ),
    "unknown top-level key": (
        _set(["customers"], []),
        'top level: unknown key "customers"',
    ),
}


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS))
def test_each_bad_record_is_refused_naming_the_record_and_field(app, demo, case):
    change, expected = BAD_DOCUMENTS[case]
    change(demo)
    with app.app_context():
        errors = errors_of(demo)
        assert any(expected in error for error in errors), "\n".join(errors)
        assert count(Product) == count(User) == 0


def test_the_document_must_be_an_object(app):
    with app.app_context():
        assert errors_of([]) == ["the document must be a JSON object with the keys products, tenants, "
                                 "subscriptions, partners, reviewers, associations"]


def test_every_top_level_key_is_optional(app):
    with app.app_context():
        report = imported({})
        assert not report.changed
        report = imported({"products": [{"id": "m365-teams", "name": "Microsoft Teams", "solution_area": "microsoft_365"}]})
        assert report.created["products"] == 1


def test_an_email_already_held_by_a_reviewer_cannot_become_a_partner_user(app, demo):
    with app.app_context():
        imported(demo)
        errors = errors_of({"partners": [{"id": "fabrikam", "name": "Fabrikam Consulting", "users": [
            {"email": "rita@review.example", "name": "Rita", "role": "billing_admin", "password": "demo-password"}
        ]}]})
        assert errors == [
            'partners[0].users[0] (rita@review.example): field "email": rita@review.example is already a reviewer '
            "in the database; an email cannot be both a partner user and a reviewer"
        ]


# ---------------------------------------------------------------------------------- load_file


def test_load_file_reads_the_json_document(tmp_path):
    path = tmp_path / "directory.json"
    path.write_text(json.dumps({"products": []}), encoding="utf-8")
    assert load_file(path) == {"products": []}


def test_load_file_refuses_malformed_json_with_its_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"products": [\n  {"id": "x",}\n]}', encoding="utf-8")
    with pytest.raises(DirectoryImportError) as info:
        load_file(path)
    assert "not valid JSON" in str(info.value) and "line 2" in str(info.value)

"""The claim rules of SPEC section 4, each error reason as its own code, in English and French.

The rules read the demo directory from the real database; they run in a request context only
because some messages carry a link (``url_for``).
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.accounts.models import Organization, User
from portal.claims import rules
from portal.claims.wizard import drafts
from portal.claims.base import ClaimStatus
from portal.claims.models import Claim
from portal.claims.wizard.flow import Wizard
from portal.directory.models import Channel, Subscription, SubscriptionStatus
from portal.directory.source import directory
from portal.extensions import db
from tests.claims.conftest import (
    ADVENTURE,
    CONTOSO,
    GINA,
    NORTHWIND,
    PAUL,
    SUB_ADVENTURE_CS,
    SUB_ADVENTURE_SALES_IN_GRACE,
    SUB_CONTOSO_CS_CSP,
    SUB_CONTOSO_FIELD_PENDING,
    SUB_CONTOSO_SALES_VL_ACTIVE,
    SUB_CONTOSO_TEAMS,
    SUB_NORTHWIND_FINANCE_ACTIVE,
    SUB_NORTHWIND_FINANCE_EXPIRED,
    SUB_NORTHWIND_SALES_SUSPENDED,
    SUB_TAILSPIN_BC_CSP,
    SUB_WINGTIP_SALES,
    TAILSPIN,
    WINGTIP,
    says,
    valid_steps,
)

TODAY = date(2026, 11, 24)
BA = "business_applications"
M365 = "microsoft_365"

#: The seed's advice after its subscription errors, as the catalogs word it.
ADVICE = {
    "en": "Work with your customer to make sure the subscription is correct and that you're using the correct Tenant ID.",
    "fr": "Contactez votre client pour vous assurer que l'abonnement est correct et que vous utilisez l'ID de locataire correct.",
}


@pytest.fixture(params=["en", "fr"])
def locale(request):
    return request.param


@pytest.fixture
def ctx(demo):
    with demo.test_request_context():
        yield demo


@pytest.fixture
def gina(ctx):
    return db.session.scalar(select(User).where(User.email == GINA))


@pytest.fixture
def fabrikam(gina):
    return gina.organization_id


def tenant(tenant_id):
    return directory().tenant(tenant_id)


def product(product_id):
    return directory().product(product_id)


# --- step 1: customer ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "contoso", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950e}", "{0f8fad5b-d9cb-469f-a165-70867728950e"])
def test_tenant_id_that_is_not_a_guid_is_tenant_format(gina, locale, raw):
    with force_locale(locale):
        found, error = rules.check_tenant(raw, gina.id)

    assert found is None
    assert error.code == "tenant_format"
    assert not error.support
    says(error, locale, "Enter the Tenant ID as a GUID")


def test_unknown_tenant_is_tenant_unknown_with_support(gina, locale):
    with force_locale(locale):
        found, error = rules.check_tenant(str(uuid.uuid4()), gina.id)

    assert found is None
    assert error.code == "tenant_unknown"
    assert error.support
    says(error, locale, "We can't find a customer tenant with this ID", "Check the Tenant ID with your customer")


@pytest.mark.parametrize(
    "raw",
    [CONTOSO, CONTOSO.upper(), "{" + CONTOSO + "}", "{" + CONTOSO.upper() + "}", f"  {CONTOSO}  "],
)
def test_tenant_id_is_accepted_with_braces_upper_case_and_spaces(gina, raw):
    found, error = rules.check_tenant(raw, gina.id)

    assert error is None
    assert found.tenant_id == CONTOSO
    assert found.name == "Contoso Ltd"


@pytest.mark.parametrize("raw", ["contoso", "contoso..com", "-contoso.com", "http://contoso.com", "contoso com", "a@contoso.com"])
def test_domain_that_is_not_a_domain_is_domain_format(ctx, locale, raw):
    with force_locale(locale):
        error = rules.check_domain(tenant(CONTOSO), raw)

    assert error.code == "domain_format"
    says(error, locale, "Enter a domain such as")


@pytest.mark.parametrize("raw", ["contoso.com", "CONTOSO.onmicrosoft.com", "contoso.fr.", " Contoso.Com "])
def test_a_domain_of_the_tenant_is_accepted_in_any_case(ctx, raw):
    assert rules.check_domain(tenant(CONTOSO), raw) is None


def test_domain_of_another_tenant_and_unknown_domain_get_the_same_mismatch_message(ctx, locale):
    with force_locale(locale):
        other_tenants = rules.check_domain(tenant(CONTOSO), "northwindtraders.com")
        unknown = rules.check_domain(tenant(CONTOSO), "nobody-has-this-domain.example")

    assert other_tenants.code == unknown.code == "domain_tenant_mismatch"
    assert str(other_tenants) == str(unknown)
    assert other_tenants.support and unknown.support
    assert "Northwind" not in str(other_tenants)
    says(other_tenants, locale, "domain-tenant mismatch", "make sure you have the correct details")


def test_domain_is_only_checked_for_format_while_the_tenant_is_unknown(ctx):
    assert rules.check_domain(None, "northwindtraders.com") is None


# --- step 2: product or subscription --------------------------------------------------------


def test_products_offered_are_those_on_the_tenant_for_the_solution_area(ctx):
    assert [p.id for p in rules.products_for(tenant(CONTOSO), BA)] == [
        "d365-customer-service", "d365-field-service", "d365-sales",
    ]
    assert [p.id for p in rules.products_for(tenant(CONTOSO), M365)] == ["m365-exchange", "m365-teams"]
    assert [p.id for p in rules.products_for(tenant(TAILSPIN), BA)] == ["d365-business-central", "d365-supply-chain"]
    assert rules.products_for(None, BA) == []
    assert rules.products_for(tenant(CONTOSO), None) == []


def test_product_not_on_the_tenant_is_product_not_on_tenant(ctx, locale):
    with force_locale(locale):
        found, error = rules.check_product(tenant(CONTOSO), BA, "d365-finance")

    assert found is None
    assert error.code == "product_not_on_tenant"
    assert error.support
    says(error, locale, "The product selected doesn't exist on the customer's tenant")


@pytest.mark.parametrize("product_id", ["", "no-such-product", "m365-teams"])
def test_product_outside_the_list_is_product_unknown(ctx, product_id):
    found, error = rules.check_product(tenant(CONTOSO), BA, product_id)

    assert found is None
    assert error.code == "product_unknown"


def test_product_on_the_tenant_is_accepted(ctx):
    found, error = rules.check_product(tenant(CONTOSO), M365, "m365-teams")

    assert error is None and found.id == "m365-teams"


@pytest.mark.parametrize(
    "tenant_id, subscription_id, code, phrase",
    [
        (CONTOSO, SUB_CONTOSO_TEAMS, "subscription_not_dynamics", "The subscription provided isn't for Dynamics"),
        (CONTOSO, SUB_CONTOSO_CS_CSP, "subscription_csp", "The subscription provided is for CSP"),
        (TAILSPIN, SUB_TAILSPIN_BC_CSP, "subscription_csp", "apply only to products bought through Volume Licensing or Web-Direct"),
        (CONTOSO, SUB_CONTOSO_FIELD_PENDING, "subscription_not_provisioned", "hasn't yet activated or provisioned"),
        (NORTHWIND, SUB_NORTHWIND_FINANCE_EXPIRED, "subscription_inactive", "The subscription isn't active or in grace"),
        (NORTHWIND, SUB_NORTHWIND_SALES_SUSPENDED, "subscription_inactive", "The subscription isn't active or in grace"),
    ],
    ids=["not-dynamics", "csp", "csp-web", "not-provisioned", "expired", "suspended"],
)
def test_subscription_that_cannot_be_claimed_says_why(ctx, locale, tenant_id, subscription_id, code, phrase):
    with force_locale(locale):
        found, error = rules.check_subscription_id(tenant(tenant_id), subscription_id)

    assert found is None
    assert error.code == code
    assert error.support
    says(error, locale, phrase)


def test_inactive_subscription_ends_with_the_seeds_advice(ctx, locale):
    with force_locale(locale):
        _found, error = rules.check_subscription_id(tenant(NORTHWIND), SUB_NORTHWIND_FINANCE_EXPIRED)

    says(error, locale, "Work with your customer to make sure the subscription is correct")


@pytest.mark.parametrize(
    "tenant_id, raw, code",
    [
        (CONTOSO, SUB_CONTOSO_TEAMS, "subscription_not_dynamics"),
        (CONTOSO, SUB_CONTOSO_CS_CSP, "subscription_csp"),
        (NORTHWIND, SUB_NORTHWIND_FINANCE_EXPIRED, "subscription_inactive"),
        (CONTOSO, "SUB-12345", "not_a_subscription_id"),
        (CONTOSO, CONTOSO, "tenant_id_as_subscription"),
        (CONTOSO, SUB_WINGTIP_SALES, "subscription_not_on_tenant"),
    ],
    ids=["not-dynamics", "csp", "inactive", "not-a-subscription-id", "tenant-id", "not-on-tenant"],
)
def test_subscription_errors_end_with_the_seeds_advice_then_support(ctx, locale, tenant_id, raw, code):
    """The seed follows its subscription errors with "work with your customer to ensure the
    subscription is correct and that you're using the correct tenant ID", then support."""
    with force_locale(locale):
        _found, error = rules.check_subscription_id(tenant(tenant_id), raw)

    assert error.code == code
    assert str(error).endswith(" " + ADVICE[locale]), str(error)
    assert error.support


def test_product_resolved_to_a_csp_subscription_ends_with_the_seeds_advice(ctx, locale):
    with force_locale(locale):
        _found, error = rules.resolve_subscription(tenant(CONTOSO), product("d365-customer-service"))

    assert error.code == "subscription_csp"
    assert str(error).endswith(" " + ADVICE[locale])
    assert error.support


@pytest.mark.parametrize("raw", ["abc", "12345", "7c9e6679-7425-40de-944b-e07fc1f90ae", "7c9e6679742540de944be07fc1f90ae7x"])
def test_identifier_that_is_not_a_guid_is_not_a_subscription_id(ctx, locale, raw):
    with force_locale(locale):
        found, error = rules.check_subscription_id(tenant(CONTOSO), raw)

    assert found is None
    assert error.code == "not_a_subscription_id"
    assert error.support
    says(error, locale, "The identifier provided isn't a subscription ID")


def test_another_customers_tenant_id_as_subscription_says_no_such_subscription(ctx, locale):
    """Only the customer's own tenant ID is called a tenant ID: saying so of any other would
    confirm, without the tenant look-up limit, that a GUID is a known tenant."""
    with force_locale(locale):
        found, error = rules.check_subscription_id(tenant(CONTOSO), NORTHWIND)

    assert found is None
    assert error.code == "subscription_not_on_tenant"


@pytest.mark.parametrize("other_tenant", [NORTHWIND, WINGTIP, TAILSPIN])
def test_another_customers_tenant_id_as_subscription_reads_exactly_like_an_unknown_guid(ctx, locale, other_tenant):
    with force_locale(locale):
        _f, other = rules.check_subscription_id(tenant(CONTOSO), other_tenant)
        _f, unknown = rules.check_subscription_id(tenant(CONTOSO), str(uuid.uuid4()))
        _f, own = rules.check_subscription_id(tenant(CONTOSO), CONTOSO)

    assert other.code == unknown.code == "subscription_not_on_tenant"
    assert str(other) == str(unknown)
    assert (other.support, other.link_url, other.link_text) == (unknown.support, unknown.link_url, unknown.link_text)
    assert str(other) != str(own)  # only the customer's own Tenant ID is called one


@pytest.mark.parametrize("raw", [CONTOSO, CONTOSO.upper(), "{" + CONTOSO + "}"])
def test_the_tenant_id_given_as_subscription_is_tenant_id_as_subscription(ctx, locale, raw):
    with force_locale(locale):
        found, error = rules.check_subscription_id(tenant(CONTOSO), raw)

    assert found is None
    assert error.code == "tenant_id_as_subscription"
    assert error.support
    says(error, locale, "it is a Tenant ID")


@pytest.mark.parametrize("elsewhere_id", [SUB_WINGTIP_SALES, SUB_TAILSPIN_BC_CSP, SUB_NORTHWIND_FINANCE_EXPIRED])
def test_subscription_of_another_tenant_reads_exactly_like_an_unknown_guid(ctx, locale, elsewhere_id):
    """Whatever the other tenant's subscription is (claimable, CSP, expired), nothing of it shows."""
    with force_locale(locale):
        _f, elsewhere = rules.check_subscription_id(tenant(CONTOSO), elsewhere_id)
        _f, unknown = rules.check_subscription_id(tenant(CONTOSO), str(uuid.uuid4()))

    assert elsewhere.code == unknown.code == "subscription_not_on_tenant"
    assert str(elsewhere) == str(unknown)
    assert (elsewhere.support, elsewhere.link_url) == (unknown.support, unknown.link_url)
    assert "Wingtip" not in str(elsewhere) and "Tailspin" not in str(elsewhere)
    says(elsewhere, locale, "There is no subscription with this ID on this customer's tenant")


@pytest.mark.parametrize("raw", [SUB_CONTOSO_SALES_VL_ACTIVE, SUB_CONTOSO_SALES_VL_ACTIVE.upper(), "{" + SUB_CONTOSO_SALES_VL_ACTIVE.upper() + "}"])
def test_claimable_subscription_is_accepted_in_any_spelling(ctx, raw):
    found, error = rules.check_subscription_id(tenant(CONTOSO), raw)

    assert error is None
    assert found.subscription_id == SUB_CONTOSO_SALES_VL_ACTIVE
    assert found.product_id == "d365-sales"


def test_subscription_in_grace_is_claimable(ctx):
    found, error = rules.check_subscription_id(tenant(ADVENTURE), SUB_ADVENTURE_SALES_IN_GRACE)

    assert error is None and found.status == SubscriptionStatus.IN_GRACE


# --- resolving a product to its subscription -----------------------------------------------


def test_resolve_picks_the_claimable_subscription_over_an_expired_one(ctx):
    found, error = rules.resolve_subscription(tenant(NORTHWIND), product("d365-finance"))

    assert error is None
    assert found.subscription_id == SUB_NORTHWIND_FINANCE_ACTIVE


def test_resolve_picks_the_claimable_subscription_ending_last(ctx):
    db.session.add(Subscription(
        subscription_id=str(uuid.uuid4()), tenant_id=NORTHWIND, product_id="d365-finance",
        channel=Channel.WEB_DIRECT, status=SubscriptionStatus.IN_GRACE,
        start_date=date(2025, 1, 1), end_date=date(2026, 12, 31),
    ))
    db.session.flush()

    found, _error = rules.resolve_subscription(tenant(NORTHWIND), product("d365-finance"))

    assert found.subscription_id == SUB_NORTHWIND_FINANCE_ACTIVE  # ends 2027-05-31


@pytest.mark.parametrize(
    "tenant_id, product_id, code",
    [
        (NORTHWIND, "d365-sales", "subscription_inactive"),
        (WINGTIP, "d365-field-service", "subscription_inactive"),
        (CONTOSO, "d365-field-service", "subscription_not_provisioned"),
        (CONTOSO, "d365-customer-service", "subscription_csp"),
        (TAILSPIN, "d365-business-central", "subscription_csp"),
        (CONTOSO, "d365-finance", "product_not_on_tenant"),
    ],
)
def test_resolve_without_a_claimable_subscription_gives_the_reason(ctx, tenant_id, product_id, code):
    found, error = rules.resolve_subscription(tenant(tenant_id), product(product_id))

    assert found is None
    assert error.code == code and error.support


def test_resolve_prefers_a_reason_the_customer_can_act_on_over_the_channel(ctx):
    """Expired on Volume Licensing and active on CSP: renewing is what helps, not the CSP one."""
    db.session.add(Subscription(
        subscription_id=str(uuid.uuid4()), tenant_id=WINGTIP, product_id="d365-field-service",
        channel=Channel.CSP, status=SubscriptionStatus.ACTIVE,
        start_date=date(2026, 1, 1), end_date=date(2027, 12, 31),
    ))
    db.session.flush()

    _found, error = rules.resolve_subscription(tenant(WINGTIP), product("d365-field-service"))

    assert error.code == "subscription_inactive"


# --- step 3: activity and existing claims ---------------------------------------------------


def test_business_applications_offer_presales_usage_and_revenue_association(ctx, locale):
    with force_locale(locale):
        choices = rules.activity_choices(BA)

    assert [c.value for c in choices] == ["presales", "usage", "revenue_association"]
    assert all(c.label and c.description for c in choices)
    if locale == "en":
        assert [c.label for c in choices] == ["Presales", "Usage", "Revenue association"]
        assert "not for incentive payments" in choices[2].description
        assert all("Volume Licensing agreement or Web-Direct" in c.description for c in choices)


def test_microsoft_365_offers_usage_only(ctx, locale):
    with force_locale(locale):
        choices = rules.activity_choices(M365)

    assert [c.value for c in choices] == ["usage"]
    if locale == "en":
        assert "Volume Licensing" not in choices[0].description


def test_no_activity_without_a_solution_area(ctx):
    assert rules.activity_choices(None) == []


def _claim_of(organization_id, tenant_id, product_id, activity):
    return db.session.scalar(select(Claim).where(
        Claim.organization_id == organization_id, Claim.tenant_id == tenant_id,
        Claim.product_id == product_id, Claim.activity == activity,
    ))


ALREADY_CLAIMED = {
    True: {
        "en": "The subscription has already been claimed by your organization for this activity.",
        "fr": "Cet abonnement a déjà été revendiqué par votre organisation pour cette activité.",
    },
    False: {
        "en": "Your organization already has an open claim for this customer, product and activity.",
        "fr": "Votre organisation a déjà une revendication ouverte pour ce client, ce produit et cette activité.",
    },
}


@pytest.mark.parametrize("by_subscription, phrase", [
    (True, "The subscription has already been claimed by your organization for this activity"),
    (False, "Your organization already has an open claim for this customer, product and activity"),
])
def test_second_open_claim_of_the_organization_is_already_claimed_with_a_link(fabrikam, locale, by_subscription, phrase):
    existing = _claim_of(fabrikam, ADVENTURE, "d365-customer-service", "usage")  # approved in the demo

    with force_locale(locale):
        error = rules.check_not_claimed(fabrikam, ADVENTURE, "d365-customer-service", "usage", by_subscription=by_subscription)

    assert error.code == "already_claimed"
    assert error.link_url == f"/claims/{existing.id}"
    assert existing.number in error.link_text
    says(error, locale, phrase)
    # The seed's advice, then the Contact support link, like every subscription error.
    assert str(error) == f"{ALREADY_CLAIMED[by_subscription][locale]} {ADVICE[locale]}"
    assert error.support
    assert error.link_text == {"en": f"See claim {existing.number}", "fr": f"Voir la revendication {existing.number}"}[locale]


def test_other_activities_and_other_organizations_are_not_already_claimed(fabrikam):
    proseware = db.session.scalar(select(Organization.id).where(Organization.slug == "proseware"))

    assert rules.check_not_claimed(fabrikam, ADVENTURE, "d365-customer-service", "presales", by_subscription=False) is None
    assert rules.check_not_claimed(proseware, ADVENTURE, "d365-customer-service", "usage", by_subscription=False) is None


def test_a_claim_no_longer_open_does_not_block_a_new_one(fabrikam):
    existing = _claim_of(fabrikam, ADVENTURE, "d365-customer-service", "usage")
    existing.status = ClaimStatus.CLOSED
    db.session.flush()

    assert rules.check_not_claimed(fabrikam, ADVENTURE, "d365-customer-service", "usage", by_subscription=False) is None


def test_the_draft_itself_is_excluded_from_already_claimed(gina, fabrikam):
    existing = _claim_of(fabrikam, ADVENTURE, "d365-customer-service", "usage")

    assert rules.check_not_claimed(fabrikam, ADVENTURE, "d365-customer-service", "usage", by_subscription=False, exclude_id=existing.id) is None


def test_competing_claim_is_another_organizations_open_claim_on_the_tenant_and_product(fabrikam):
    proseware = db.session.scalar(select(Organization.id).where(Organization.slug == "proseware"))

    assert rules.competing_claim_exists(fabrikam, CONTOSO, "d365-sales") is True  # Proseware, approved
    assert rules.competing_claim_exists(fabrikam, NORTHWIND, "m365-sharepoint") is True  # Proseware, under review
    assert rules.competing_claim_exists(proseware, CONTOSO, "d365-sales") is False  # its own claim
    assert rules.competing_claim_exists(fabrikam, WINGTIP, "d365-sales") is False
    assert rules.competing_claim_exists(proseware, ADVENTURE, "d365-customer-service") is True  # Fabrikam's


def test_a_draft_or_a_closed_claim_of_another_organization_does_not_compete(gina, fabrikam):
    paul = db.session.scalar(select(User).where(User.email == PAUL))
    draft = drafts.create_draft(paul)
    draft.tenant_id, draft.product_id, draft.activity = WINGTIP, "d365-sales", "usage"
    db.session.flush()
    assert rules.competing_claim_exists(fabrikam, WINGTIP, "d365-sales") is False

    proseware_claim = _claim_of(paul.organization_id, CONTOSO, "d365-sales", "usage")
    proseware_claim.status = ClaimStatus.REJECTED
    db.session.flush()
    assert rules.competing_claim_exists(fabrikam, CONTOSO, "d365-sales") is False


# --- step 6: acknowledgement date ------------------------------------------------------------


@pytest.mark.parametrize(
    "today, acknowledged, code",
    [
        (TODAY, TODAY, None),
        (TODAY, TODAY + timedelta(days=1), "ack_future"),
        (TODAY, date(2027, 1, 1), "ack_future"),
        (TODAY, date(2025, 11, 24), None),  # exactly 12 months
        (TODAY, date(2025, 11, 23), "ack_too_old"),  # 12 months and a day
        (TODAY, date(2024, 6, 1), "ack_too_old"),
        (date(2028, 2, 29), date(2027, 2, 28), None),  # 29 February: 12 months back is 28 February
        (date(2028, 2, 29), date(2027, 2, 27), "ack_too_old"),
        (date(2028, 2, 29), date(2028, 2, 29), None),
        (date(2029, 2, 28), date(2028, 2, 29), None),  # a 29 February acknowledged within 12 months
        (date(2029, 3, 1), date(2028, 2, 29), "ack_too_old"),
    ],
)
def test_acknowledgement_date_is_not_in_the_future_and_within_12_months(ctx, today, acknowledged, code):
    error = rules.check_acknowledgement_date(acknowledged, today)

    assert (error.code if error else None) == code


def test_acknowledgement_date_messages(ctx, locale):
    with force_locale(locale):
        future = rules.check_acknowledgement_date(TODAY + timedelta(days=1), TODAY)
        old = rules.check_acknowledgement_date(date(2020, 1, 1), TODAY)

    says(future, locale, "can't be in the future")
    says(old, locale, "must be from the last 12 months")


# --- tenant look-ups are rate-limited per user -------------------------------------------------


def test_fourth_interactive_tenant_lookup_in_a_minute_is_refused(ctx, gina, locale):
    ctx.config["TENANT_LOOKUP_LIMIT"] = "3 per minute"
    for _ in range(3):
        found, error = rules.check_tenant(CONTOSO, gina.id)
        assert error is None

    with force_locale(locale):
        found, error = rules.check_tenant(CONTOSO, gina.id)

    assert found is None
    assert error.code == "tenant_rate_limited"
    says(error, locale, "You have looked up many tenants in a short time")
    assert str(error) == {
        "en": "You have looked up many tenants in a short time. Wait a minute, then try again.",
        "fr": "Vous avez recherché de nombreux locataires en peu de temps. Patientez une minute, puis réessayez.",
    }[locale]


def test_unknown_tenants_count_against_the_limit_too(ctx, gina):
    ctx.config["TENANT_LOOKUP_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert rules.check_tenant(str(uuid.uuid4()), gina.id)[1].code == "tenant_unknown"

    assert rules.check_tenant(str(uuid.uuid4()), gina.id)[1].code == "tenant_rate_limited"


def test_revalidating_a_stored_tenant_does_not_count(ctx, gina):
    ctx.config["TENANT_LOOKUP_LIMIT"] = "3 per minute"
    for _ in range(10):
        assert rules.check_tenant(CONTOSO, gina.id, count=False)[1] is None
    for _ in range(3):
        assert rules.check_tenant(CONTOSO, gina.id)[1] is None

    assert rules.check_tenant(CONTOSO, gina.id)[1].code == "tenant_rate_limited"
    assert rules.check_tenant(CONTOSO, gina.id, count=False)[1] is None


def test_the_limit_is_per_user(ctx, gina):
    ctx.config["TENANT_LOOKUP_LIMIT"] = "3 per minute"
    ian = db.session.scalar(select(User).where(User.email == "ian@fabrikam.example"))
    for _ in range(4):
        rules.check_tenant(CONTOSO, gina.id)

    assert rules.check_tenant(CONTOSO, ian.id)[1] is None


def test_wizard_counts_typed_lookups_but_not_its_revalidation(ctx, gina):
    ctx.config["TENANT_LOOKUP_LIMIT"] = "3 per minute"
    claim = drafts.create_draft(gina)
    steps = valid_steps(tenant=CONTOSO)
    claim.draft = {"customer": {k: [v] for k, v in steps["customer"].items()}}
    db.session.flush()
    wizard = Wizard(claim, gina, today=TODAY)
    typed = MultiDict(steps["customer"])
    for _ in range(3):
        assert wizard.validate("customer", typed, interactive=True).valid
    assert not wizard.validate("customer", typed, interactive=True).valid
    assert wizard.results["customer"].form.tenant_id.errors[0].code == "tenant_rate_limited"

    assert Wizard(claim, gina, today=TODAY).run("product") is None


# --- the step forms run the same rules ---------------------------------------------------------


def _validate(user, step, data, earlier=None, today=TODAY):
    """Validate ``step`` with ``data`` after the earlier steps' stored answers."""
    claim = drafts.create_draft(user)
    claim.draft = {s: {k: [v] for k, v in d.items()} for s, d in (earlier or {}).items()}
    db.session.flush()
    wizard = Wizard(claim, user, today=today)
    assert wizard.run(step) is None
    return wizard.validate(step, MultiDict(data)).form


def _codes(form):
    return {f.name: [getattr(e, "code", None) for e in f.errors] for f in form if f.errors}


def test_customer_form_reports_tenant_and_domain_errors_on_their_fields(gina):
    form = _validate(gina, "customer", {"tenant_id": CONTOSO, "domain": "wingtiptoys.com"})
    assert _codes(form) == {"domain": ["domain_tenant_mismatch"]}

    form = _validate(gina, "customer", {"tenant_id": "nope", "domain": "nope"})
    assert _codes(form) == {"tenant_id": ["tenant_format"], "domain": ["domain_format"]}

    form = _validate(gina, "customer", {"tenant_id": "", "domain": ""})
    assert set(_codes(form)) == {"tenant_id", "domain"}


def test_product_form_runs_the_product_and_subscription_rules(gina):
    contoso = {"customer": valid_steps(tenant=CONTOSO)["customer"]}

    def codes(data):
        return _codes(_validate(gina, "product", data, contoso))

    assert codes({"solution_area": BA, "product": "d365-finance"}) == {"product": ["product_not_on_tenant"]}
    assert codes({"solution_area": BA, "product": "d365-customer-service"}) == {"product": ["subscription_csp"]}
    assert codes({"solution_area": BA, "product": "d365-field-service"}) == {"product": ["subscription_not_provisioned"]}
    assert codes({"solution_area": BA, "subscription_id": SUB_CONTOSO_TEAMS}) == {"subscription_id": ["subscription_not_dynamics"]}
    assert codes({"solution_area": BA, "subscription_id": CONTOSO}) == {"subscription_id": ["tenant_id_as_subscription"]}
    assert codes({"solution_area": BA, "subscription_id": "x"}) == {"subscription_id": ["not_a_subscription_id"]}
    assert codes({"solution_area": BA, "subscription_id": SUB_WINGTIP_SALES}) == {"subscription_id": ["subscription_not_on_tenant"]}
    assert codes({"solution_area": BA}) == {"product": ["product_required"]}
    assert codes({"solution_area": BA, "product": "d365-sales", "subscription_id": SUB_CONTOSO_SALES_VL_ACTIVE}) == {"subscription_id": ["product_and_subscription"]}
    assert codes({"solution_area": M365, "product": "m365-teams", "subscription_id": SUB_CONTOSO_TEAMS}) == {}  # not for M365: ignored
    assert codes({"solution_area": M365, "product": "d365-sales"}) == {"product": ["product_unknown"]}
    assert codes({"solution_area": M365, "product": "m365-teams"}) == {}
    assert codes({"solution_area": BA, "product": "d365-sales"}) == {}
    assert set(codes({})) == {"solution_area"}


def test_activity_form_refuses_an_activity_not_offered_and_the_second_claim(gina):
    m365 = valid_steps(tenant=CONTOSO, area=M365, product="m365-teams")
    assert _codes(_validate(gina, "activity", {"activity": "presales"}, {s: m365[s] for s in ("customer", "product")})) == {
        "activity": ["activity_invalid"],
    }

    adventure = valid_steps(tenant=ADVENTURE, product="d365-customer-service")
    earlier = {s: adventure[s] for s in ("customer", "product")}
    assert _codes(_validate(gina, "activity", {"activity": "usage"}, earlier)) == {"activity": ["already_claimed"]}
    assert _codes(_validate(gina, "activity", {"activity": "presales"}, earlier)) == {}

    by_sub = valid_steps(tenant=ADVENTURE, subscription_id=SUB_ADVENTURE_CS)
    form = _validate(gina, "activity", {"activity": "usage"}, {s: by_sub[s] for s in ("customer", "product")})
    assert "already been claimed" in str(form.activity.errors[0])


def test_revenue_association_asks_for_the_solution_seller_and_isv_product(gina):
    wingtip = valid_steps()
    earlier = {s: wingtip[s] for s in ("customer", "product")}

    form = _validate(gina, "activity", {"activity": "revenue_association"}, earlier)

    assert _codes(form) == {"solution_seller": ["seller_required"], "isv_product": ["isv_required"]}
    form = _validate(gina, "activity", {"activity": "revenue_association", "solution_seller": "S", "isv_product": "P"}, earlier)
    assert _codes(form) == {}


def test_mpn_form_accepts_only_the_organizations_mpn_ids(gina):
    wingtip = valid_steps()
    earlier = {s: wingtip[s] for s in ("customer", "product", "activity")}

    assert _codes(_validate(gina, "mpn", {"mpn": "3456789"}, earlier)) == {"mpn": ["mpn_unknown"]}  # Proseware's
    assert _codes(_validate(gina, "mpn", {"mpn": "1234568"}, earlier)) == {}


def test_contacts_form_checks_email_format(gina):
    wingtip = valid_steps()
    earlier = {s: wingtip[s] for s in ("customer", "product", "activity", "mpn")}
    contacts = dict(wingtip["contacts"], customer_email="not-an-email", partner_email="also@")

    form = _validate(gina, "contacts", contacts, earlier)

    assert set(_codes(form)) == {"customer_email", "partner_email"}
    assert "Enter an email address in the right format" in form.customer_email.errors[0]


def test_proof_form_needs_a_file_and_a_recent_acknowledgement(gina):
    wingtip = valid_steps(today=TODAY)
    earlier = {s: wingtip[s] for s in ("customer", "product", "activity", "mpn", "contacts")}

    form = _validate(gina, "proof", {"description": "Work", "acknowledged_on": "2026-11-25"}, earlier)

    assert _codes(form) == {"files": ["files_required"], "acknowledged_on": ["ack_future"]}
    form = _validate(gina, "proof", {"description": "Work", "acknowledged_on": "2025-11-01"}, earlier)
    assert _codes(form)["acknowledged_on"] == ["ack_too_old"]
    form = _validate(gina, "proof", {"description": "", "acknowledged_on": "24/11/2026"}, earlier)
    assert set(_codes(form)) == {"files", "description", "acknowledged_on"}

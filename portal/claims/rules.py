"""What may be claimed: the directory checks of SPEC section 4, each with the seed's wording.

Every function here is called by the wizard's step forms, so the inline check, the step's
Next and the final Submit run exactly the same code. They read the directory only through
``portal.directory.source.directory()``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import ratelimit
from portal.claims.errors import FieldError
from portal.claims.base import OPEN_STATUSES, Activity
from portal.claims.labels import ACTIVITY_LABELS
from portal.claims.models import Claim
from portal.directory.models import Channel, Product, SolutionArea, Subscription, SubscriptionStatus, Tenant
from portal.directory.source import directory, normalize_domain, normalize_guid  # noqa: F401  (normalize_domain is part of the rules API)
from portal.extensions import db
from portal.timeutil import utcnow

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

#: Activities offered per solution area (the seed's "Which activity do I choose?" table).
ACTIVITIES: dict[str, tuple[Activity, ...]] = {
    SolutionArea.BUSINESS_APPLICATIONS: (Activity.PRESALES, Activity.USAGE, Activity.REVENUE_ASSOCIATION),
    SolutionArea.MICROSOFT_365: (Activity.USAGE,),
}
#: Activities that earn incentives, for which an MPN not enrolled gets a warning.
INCENTIVE_ACTIVITIES = frozenset({Activity.PRESALES, Activity.USAGE})
CLAIMABLE_STATUSES = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.IN_GRACE})


def _error(message, code, **kwargs) -> FieldError:
    return FieldError(message, code=code, **kwargs)


# Step 1 -------------------------------------------------------------------------------


def check_tenant(raw: str, user_id: int, count: bool = True) -> tuple[Tenant | None, FieldError | None]:
    """The tenant for a typed Tenant ID. Look-ups the user types (``count``) are rate-limited
    per user so the directory cannot be enumerated from the wizard; revalidating a stored
    answer does not count."""
    key = normalize_guid(raw)
    if key is None:
        return None, _error(
            _l("Enter the Tenant ID as a GUID, for example 0f8fad5b-d9cb-469f-a165-70867728950e."),
            "tenant_format",
        )
    if count and not ratelimit.allow("TENANT_LOOKUP_LIMIT", str(user_id)):
        return None, _error(
            _l("You have looked up many tenants in a short time. Wait a minute, then try again."),
            "tenant_rate_limited",
        )
    tenant = directory().tenant(key)
    if tenant is None:
        return None, _error(
            _l("We can't find a customer tenant with this ID. Check the Tenant ID with your customer."),
            "tenant_unknown",
            support=True,
        )
    return tenant, None


def check_domain(tenant: Tenant | None, raw: str) -> FieldError | None:
    domain = normalize_domain(raw)
    if not _DOMAIN.match(domain):
        return _error(_l("Enter a domain such as contoso.onmicrosoft.com."), "domain_format")
    if tenant is not None and not directory().tenant_has_domain(tenant.tenant_id, domain):
        return _error(
            _l(
                "The domain and the Tenant ID don't match (domain-tenant mismatch). Contact your "
                "customer to make sure you have the correct details."
            ),
            "domain_tenant_mismatch",
            support=True,
        )
    return None


# Step 2 -------------------------------------------------------------------------------

_CHECK_WITH_CUSTOMER = _l("Work with your customer to make sure the subscription is correct and that you're using the correct Tenant ID.")


def _with_advice(message) -> str:
    """A reason followed by the seed's advice for every subscription error ("work with your
    customer..."), each its own translated sentence. Reasons whose own words already send the
    user to the customer (product not on the tenant, not provisioned) don't repeat it."""
    return f"{message} {_CHECK_WITH_CUSTOMER}"


def products_for(tenant: Tenant | None, solution_area: str | None) -> list[Product]:
    """The products or workloads present on the tenant for the solution area: the only choices."""
    if tenant is None or not solution_area:
        return []
    return directory().products_on_tenant(tenant.tenant_id, solution_area)


def check_product(tenant: Tenant, solution_area: str, product_id: str) -> tuple[Product | None, FieldError | None]:
    product = directory().product(product_id) if product_id else None
    if product is None or product.solution_area != solution_area:
        return None, _error(_l("Choose a product or workload from the list."), "product_unknown")
    if product.id not in {p.id for p in products_for(tenant, solution_area)}:
        return None, _error(
            _l("The product selected doesn't exist on the customer's tenant. Check with your customer which products they have."),
            "product_not_on_tenant",
            support=True,
        )
    return product, None


def subscription_problem(subscription: Subscription) -> FieldError | None:
    """Why this subscription (already known to be on the tenant) cannot be claimed, if it can't."""
    if subscription.product.solution_area != SolutionArea.BUSINESS_APPLICATIONS:
        return _error(
            _with_advice(_l("The subscription provided isn't for Dynamics. Enter the ID of a Dynamics 365 subscription.")),
            "subscription_not_dynamics",
            support=True,
        )
    if subscription.channel == Channel.CSP:
        return _error(
            _with_advice(_l(
                "The subscription provided is for CSP. Business Applications activities apply only to "
                "products bought through Volume Licensing or Web-Direct."
            )),
            "subscription_csp",
            support=True,
        )
    if subscription.status == SubscriptionStatus.PENDING_PROVISIONING:
        return _error(
            _l(
                "The customer hasn't yet activated or provisioned the products for that subscription. "
                "Contact your customer to make sure it has been provisioned."
            ),
            "subscription_not_provisioned",
            support=True,
        )
    if subscription.status not in CLAIMABLE_STATUSES:
        return _error(
            _l("The subscription isn't active or in grace (it has expired or is suspended). %(advice)s", advice=_CHECK_WITH_CUSTOMER),
            "subscription_inactive",
            support=True,
        )
    return None


def check_subscription_id(tenant: Tenant, raw: str) -> tuple[Subscription | None, FieldError | None]:
    """A typed Subscription ID, checked in the seed's order. Never says whether the ID exists
    on another customer's tenant."""
    key = normalize_guid(raw)
    if key is None:
        return None, _error(
            _with_advice(_l("The identifier provided isn't a subscription ID. A subscription ID is a GUID, for example 7c9e6679-7425-40de-944b-e07fc1f90ae7.")),
            "not_a_subscription_id",
            support=True,
        )
    # Only the customer's own Tenant ID (typed by the user at step 1) is called a Tenant ID:
    # another customer's reads exactly like an unknown GUID (subscription_not_on_tenant below),
    # or this check would confirm, past the tenant look-up limit, that a GUID is a known tenant.
    if key == tenant.tenant_id:
        return None, _error(
            _with_advice(_l("The identifier provided isn't a subscription ID: it is a Tenant ID. Enter the ID of the subscription.")),
            "tenant_id_as_subscription",
            support=True,
        )
    subscription = directory().subscription(key)
    if subscription is None or subscription.tenant_id != tenant.tenant_id:
        return None, _error(
            _l("There is no subscription with this ID on this customer's tenant. %(advice)s", advice=_CHECK_WITH_CUSTOMER),
            "subscription_not_on_tenant",
            support=True,
        )
    problem = subscription_problem(subscription)
    if problem is not None and problem.code == "subscription_inactive":
        newer = newer_subscription(subscription)
        if newer is not None:
            problem = _error(
                _l(
                    "The subscription isn't active or in grace (it has expired or is suspended). The customer "
                    "has a newer subscription for %(product)s: %(subscription)s. Enter its ID instead. %(advice)s",
                    product=subscription.product.name, subscription=newer.subscription_id, advice=_CHECK_WITH_CUSTOMER,
                ),
                "subscription_inactive",
                support=True,
            )
    return (None, problem) if problem else (subscription, None)


def newer_subscription(subscription: Subscription) -> Subscription | None:
    """The customer's subscription of the same product that took over from one that ended: one
    that can be claimed, started later, the one ending last."""
    candidates = [
        s for s in directory().subscriptions_on_tenant(subscription.tenant_id, subscription.product_id)
        if s.start_date > subscription.start_date and subscription_problem(s) is None
    ]
    return max(candidates, key=lambda s: s.end_date, default=None)


def resolve_subscription(tenant: Tenant, product: Product) -> tuple[Subscription | None, FieldError | None]:
    """The subscription a Dynamics product claim stands on: a claimable one (Volume Licensing or
    Web-Direct, active or in grace), the one ending last. Without one, the most useful reason."""
    subscriptions = directory().subscriptions_on_tenant(tenant.tenant_id, product.id)
    claimable = [s for s in subscriptions if subscription_problem(s) is None]
    if claimable:
        return max(claimable, key=lambda s: s.end_date), None
    if not subscriptions:
        return None, _error(
            _l("The product selected doesn't exist on the customer's tenant. Check with your customer which products they have."),
            "product_not_on_tenant",
            support=True,
        )
    # Prefer a reason the customer can act on (provisioning, renewal) over the channel.
    order = {"subscription_not_provisioned": 0, "subscription_inactive": 1, "subscription_csp": 2}
    problems = sorted((subscription_problem(s) for s in subscriptions), key=lambda e: order.get(e.code, 9))
    return None, problems[0]


# Step 3 -------------------------------------------------------------------------------


def _open_claims(organization_id, tenant_id, product_id, activity, exclude_id=None) -> list[Claim]:
    query = select(Claim).where(
        Claim.organization_id == organization_id,
        Claim.tenant_id == tenant_id,
        Claim.product_id == product_id,
        Claim.activity == activity,
        Claim.status.in_(OPEN_STATUSES),
    )
    if exclude_id is not None:
        query = query.where(Claim.id != exclude_id)
    return list(db.session.scalars(query.limit(2)))


def subscription_ended(claim: Claim, today: date | None = None) -> bool:
    """An approved Dynamics claim whose subscription has ended: it can be renewed by a new claim."""
    sub = claim.subscription
    if claim.status != "approved" or sub is None or claim.solution_area != SolutionArea.BUSINESS_APPLICATIONS:
        return False
    return sub.end_date < (today or utcnow().date()) or sub.status in (SubscriptionStatus.EXPIRED, SubscriptionStatus.SUSPENDED)


def existing_open_claim(organization_id: int, tenant_id: str, product_id: str, activity: str, exclude_id: int | None = None) -> Claim | None:
    """The organization's open claim for the same tenant, product and activity, if any. An
    approved claim whose subscription ended does not block: a new claim renews it."""
    for claim in _open_claims(organization_id, tenant_id, product_id, activity, exclude_id):
        if not subscription_ended(claim):
            return claim
    return None


def renewed_claim(organization_id: int, tenant_id: str, product_id: str, activity: str, exclude_id: int | None = None) -> Claim | None:
    """The approved claim with an ended subscription that a new claim replaces."""
    for claim in _open_claims(organization_id, tenant_id, product_id, activity, exclude_id):
        if subscription_ended(claim):
            return claim
    return None


def check_not_claimed(organization_id, tenant_id, product_id, activity, *, by_subscription: bool, exclude_id=None) -> FieldError | None:
    """One organization, one open claim per tenant, product and activity. The message links to
    the existing claim and, like every subscription error of the seed, ends with its advice and
    the Contact support link."""
    existing = existing_open_claim(organization_id, tenant_id, product_id, activity, exclude_id)
    if existing is None:
        return None
    link = url_for("claims.show", claim_id=existing.id)
    if by_subscription:
        message = _l("The subscription has already been claimed by your organization for this activity.")
    else:
        message = _l("Your organization already has an open claim for this customer, product and activity.")
    return _error(
        _with_advice(message), "already_claimed",
        link_url=link, link_text=_l("See claim %(number)s", number=existing.number), support=True,
    )


def competing_claim_exists(organization_id: int, tenant_id: str, product_id: str) -> bool:
    """Another organization holds an approved or open claim on the same tenant and product."""
    query = select(Claim.id).where(
        Claim.organization_id != organization_id,
        Claim.tenant_id == tenant_id,
        Claim.product_id == product_id,
        Claim.status.in_(OPEN_STATUSES),
    )
    return db.session.scalars(query.limit(1)).first() is not None


def mpn_warning(mpn, activity: str | None) -> bool:
    """An MPN ID not enrolled in incentives, used for an incentive activity: warn, don't refuse."""
    return mpn is not None and not mpn.incentives_enrolled and activity in INCENTIVE_ACTIVITIES


# Step 5 -------------------------------------------------------------------------------

#: How many labels of an address's domain are tried against the tenant's domains (the domain,
#: then each parent: mail.eu.contoso.com, eu.contoso.com, contoso.com).
_CONTACT_DOMAIN_DEPTH = 8


def check_contact_domain(tenant: Tenant | None, email: str, example: str | None = None) -> FieldError | None:
    """The customer contact confirms the association from the link emailed to them, so the
    address must be the customer's: its domain one of the tenant's domains, or a subdomain of
    one (Microsoft Entra ID counts a subdomain of a verified domain as verified). Otherwise a
    partner could name its own address and confirm its own claim."""
    if tenant is None:
        return None
    labels = normalize_domain(email.rpartition("@")[2]).split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)][-_CONTACT_DOMAIN_DEPTH:]
    if any(directory().tenant_has_domain(tenant.tenant_id, candidate) for candidate in candidates):
        return None
    example = example or next((row.domain for row in tenant.domains), "")
    return _error(
        _l(
            "The customer contact's email address must be at one of the customer's domains, such as "
            "%(domain)s: the customer confirms the association from it. Contact your customer to make "
            "sure you have the correct details.",
            domain=example,
        ),
        "contact_domain_mismatch",
        support=True,
    )


# Step 6 -------------------------------------------------------------------------------


def twelve_months_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def check_acknowledgement_date(value: date, today: date) -> FieldError | None:
    if value > today:
        return _error(_l("The date of the customer's acknowledgement can't be in the future."), "ack_future")
    if value < twelve_months_before(today):
        return _error(
            _l("The customer's acknowledgement must be from the last 12 months. Ask your customer for a recent acknowledgement."),
            "ack_too_old",
        )
    return None


@dataclass(frozen=True)
class ActivityChoice:
    value: str
    label: str
    description: str


def activity_choices(solution_area: str | None) -> list[ActivityChoice]:
    vl_only = _l("This option is only applicable if the customer purchased these products via Volume Licensing agreement or Web-Direct.")
    descriptions = {
        (SolutionArea.BUSINESS_APPLICATIONS, Activity.PRESALES): [
            _l("Select if you influenced their purchase of an eligible product, and want to apply for pre-sale incentives."), vl_only],
        (SolutionArea.BUSINESS_APPLICATIONS, Activity.USAGE): [
            _l("Select if you drive their adoption and usage of an eligible workload, and want to apply for usage incentives."), vl_only],
        (SolutionArea.BUSINESS_APPLICATIONS, Activity.REVENUE_ASSOCIATION): [
            _l("Select if you influenced their selection of an eligible product as a Business Influencer."),
            _l("This option is for revenue association only, not for incentive payments."), vl_only],
        (SolutionArea.MICROSOFT_365, Activity.USAGE): [
            _l("Select if you drive their adoption and usage of an eligible workload, and want to apply for usage incentives.")],
    }
    return [
        ActivityChoice(a.value, str(ACTIVITY_LABELS[a]), " ".join(str(d) for d in descriptions[(solution_area, a)]))
        for a in ACTIVITIES.get(solution_area, ())
    ]

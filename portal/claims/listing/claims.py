"""The claims list (SPEC section 7): search, filters, sorting and keyset pagination that stays
fast with a million claims; the home page's counts and lists.

A partner sees its organization's claims, a reviewer every submitted claim. Searching by
customer resolves the matching tenants and products first (through trigram indexes on
PostgreSQL), so the claims query filters on its own indexed columns by values the planner can
weigh; pages continue from the last row's sort key, never by offset.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

from sqlalchemy import String, bindparam, false, func, literal, or_, select, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased, joinedload

from portal.accounts.models import Mpn, Organization
from portal.claims.base import ClaimStatus
from portal.claims.listing import pager
from portal.claims.models import Claim
from portal.directory.models import Product, Tenant, TenantDomain
from portal.directory.source import normalize_guid
from portal.extensions import db
from portal.request_guard import MAX_ID

PAGE_SIZE = 25
SORTS = ("newest", "oldest", "due", "customer")
_NUMBER = re.compile(r"^(?:cpor-?)?0*(\d{1,12})$", re.IGNORECASE)
#: An MPN ID as the directory holds it (SPEC section 3): 6 or 7 digits.
_MPN_ID = re.compile(r"^[0-9]{6,7}$")
#: The shortest text searched in names, domains and products: a trigram index serves
#: substrings of 3 characters or more, and a shorter one matches too much to be useful.
SEARCH_MIN = 3
#: The most tenant and product rows a search resolves to IDs before the claims query (a tenant
#: found by name and by two domains counts three times). A term matching more is common (3 %
#: of 100,000 tenants): the claims query then tests each claim it reads, in the sort's order,
#: against the directory, and matching claims come within a few dozen rows.
SEARCH_IDS_MAX = 5000


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    status: str = ""
    area: str = ""
    activity: str = ""
    mpn: str = ""
    arbitration: str = ""
    sort: str = "newest"
    #: The page: after a row (Next) or before one (Previous), cursors of ``pager``.
    after: str = ""
    before: str = ""

    @classmethod
    def from_args(cls, args) -> ListQuery:
        # A NUL is never meaningful and PostgreSQL refuses it in text; a cursor carries a
        # customer name (up to 200 characters, escaped), so it may be longer than the rest.
        values = {key: (args.get(key) or "").replace("\x00", "").strip()[:pager.CURSOR_MAX if key in ("after", "before") else 200]
                  for key in asdict(cls()).keys()}
        if values["sort"] not in SORTS:
            values["sort"] = "newest"
        if values["after"]:
            values["before"] = ""  # one direction at a time, as the queue reads them
        return cls(**values)

    @property
    def mpn_invalid(self) -> bool:
        """An MPN ID typed that is not one (6 or 7 digits): the list says so beside the field
        and the filter is not applied, in the list as in the export."""
        return bool(self.mpn) and not _MPN_ID.match(self.mpn)

    @property
    def search_too_short(self) -> bool:
        """Text too short to search names by (a claim number or tenant ID never is): the list
        says so beside the field and does not apply it, in the list as in the export."""
        return bool(self.q) and len(self.q) < SEARCH_MIN and not _NUMBER.match(self.q)

    def params(self, **changes) -> dict:
        """The query string of this list (without empty values), as the URL shows it."""
        return {k: v for k, v in asdict(replace(self, **changes)).items() if v and not (k == "sort" and v == "newest")}


def _scope(user, base=None):
    query = (select(Claim) if base is None else base).where(Claim.status != ClaimStatus.DRAFT)
    if not user.is_reviewer:
        query = query.where(Claim.organization_id == user.organization_id)
    return query


def _like_pattern(text: str) -> str:
    """A case-insensitive substring pattern matching ``text`` literally (``%``, ``_`` and the
    escape character itself are escaped with a backslash)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(pattern: str):
    """The three look-ups of a text search, each served by a trigram index on PostgreSQL:
    products, tenants by name and tenants by domain, as (kind, ID) rows."""
    return (
        select(literal("product").label("kind"), Product.id.label("id"))
        .where(func.lower(Product.name).like(pattern, escape="\\")),
        select(literal("tenant"), Tenant.tenant_id).where(func.lower(Tenant.name).like(pattern, escape="\\")),
        select(literal("tenant"), TenantDomain.tenant_id)
        .where(func.lower(TenantDomain.domain).like(pattern, escape="\\")),
    )


def _matches_claim(pattern: str, products):
    """A common term's condition, tested on each claim read: its tenant's name, any of its
    domains (each a primary-key or tenant_id index probe), or its product. Written as scalar
    subqueries, which PostgreSQL evaluates per row: as ``IN (subquery)`` it would first hash
    every matching tenant or domain (127 ms for a term in all 100,000 tenants' domains)
    before reading the first claim, where a common term's claims come within a few rows."""
    name = select(func.lower(Tenant.name)).where(Tenant.tenant_id == Claim.tenant_id).scalar_subquery()
    domain = (select(TenantDomain.tenant_id)
              .where(TenantDomain.tenant_id == Claim.tenant_id, func.lower(TenantDomain.domain).like(pattern, escape="\\"))
              .limit(1).scalar_subquery())
    return or_(name.like(pattern, escape="\\"), domain.is_not(None), Claim.product_id.in_(products.with_only_columns(Product.id)))


def _search(query, text: str):
    """Claims by claim number, tenant ID, or a substring of the customer's name or domain or
    of the product's name (case-insensitive).

    The matching tenants and products are looked up first, in one statement that stops after
    ``SEARCH_IDS_MAX`` rows: the claims query then filters ``tenant_id IN (...)`` and
    ``product_id IN (...)`` by values whose frequency the planner knows, so a rare name reads
    its few claims from ix_claims_tenant_product instead of walking the sort's index over
    every claim. A common term (more rows than that) filters by semi-joins instead, which the
    planner drives from the sort's index, where matching claims come soon."""
    number = _NUMBER.match(text)
    if number:
        # A number beyond any claim's id finds none (and never reaches the INTEGER column).
        claim_id = int(number.group(1))
        return query.where(Claim.id == claim_id if claim_id <= MAX_ID else false())
    guid = normalize_guid(text)
    if guid:
        return query.where(Claim.tenant_id == guid)
    if len(text) < SEARCH_MIN:
        return query
    pattern = _like_pattern(text)
    products, by_name, by_domain = _matches(pattern)
    found = db.session.execute(union_all(products, by_name, by_domain).limit(SEARCH_IDS_MAX + 1)).all()
    if len(found) > SEARCH_IDS_MAX:
        return query.where(_matches_claim(pattern, products))
    tenant_ids = sorted({id_ for kind, id_ in found if kind == "tenant"})
    product_ids = sorted({id_ for kind, id_ in found if kind == "product"})
    if not tenant_ids and not product_ids:
        return query.where(false())
    conditions = []
    if tenant_ids:
        conditions.append(_one_of(Claim.tenant_id, tenant_ids))
    if product_ids:
        conditions.append(_one_of(Claim.product_id, product_ids))
    return query.where(or_(*conditions))


def _one_of(column, values: list[str]):
    """``column IN (values)``; on PostgreSQL as ``= ANY(:array)``, one parameter however many
    values (thousands of IN parameters cost more to write and bind than the query to run),
    which the planner weighs value by value as it does an IN list."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == func.any(bindparam("ids_" + column.key, values, type_=postgresql.ARRAY(String)))
    return column.in_(values)


def _filtered(user, lq: ListQuery, base=None):
    """The list's claims: ``base`` (whole claims unless other columns are asked for) in the
    user's scope, searched and filtered."""
    query = _scope(user, base)
    if lq.q:
        query = _search(query, lq.q)
    if lq.status:
        query = query.where(Claim.status == lq.status)
    if lq.area:
        query = query.where(Claim.solution_area == lq.area)
    if lq.activity:
        query = query.where(Claim.activity == lq.activity)
    if lq.mpn and not lq.mpn_invalid:
        # MPN IDs are unique: resolved first, so that the claims query filters its indexed
        # mpn_pk by a value the planner can weigh (an MPN ID with few claims or none is read
        # from ix_claims_mpn_pk, never by walking a million rows in the sort's order). Another
        # organization's MPN ID selects nothing for a partner, without reading any claim.
        mpn = db.session.execute(select(Mpn.id, Mpn.organization_id).where(Mpn.mpn_id == lq.mpn)).first()
        visible = mpn is not None and (user.is_reviewer or mpn.organization_id == user.organization_id)
        query = query.where(Claim.mpn_pk == mpn.id if visible else false())
    if lq.arbitration in ("yes", "no"):
        query = query.where(Claim.in_arbitration.is_(lq.arbitration == "yes"))
    return query


#: Each sort's keyset order. Each is the tail of an index whose head is the scope
#: (organization), so pages are index range scans.
ORDERS = {
    "newest": pager.Order(Claim.submitted_at, datetime, descending=True),
    "oldest": pager.Order(Claim.submitted_at, datetime),
    "due": pager.Order(Claim.due_on, date),
    "customer": pager.Order(Claim.customer_name, str),
}

#: What a row shows, joined in the page's one statement (each is a many-to-one on a key).
_ROW_OPTIONS = (joinedload(Claim.tenant), joinedload(Claim.product), joinedload(Claim.mpn),
                joinedload(Claim.organization))


@dataclass
class Page:
    claims: list[Claim]
    next_cursor: str | None
    query: ListQuery
    #: None on the first page.
    previous_cursor: str | None = None


def page(user, lq: ListQuery, size: int = PAGE_SIZE) -> Page:
    """One page of the list, after ``lq.after`` or before ``lq.before``, as whole claims (the API)."""
    result = pager.page(_filtered(user, lq), ORDERS[lq.sort], lq.after, size, _ROW_OPTIONS, before=lq.before)
    return Page(result.rows, result.next_cursor, lq, result.previous_cursor)


def _row_columns():
    """What a row of the list page shows (and the sort columns its cursors hold), read as plain
    rows in the page's one statement. The directory's tables are joined under aliases, so that
    a search's subqueries on them still correlate with the claim alone."""
    tenant, product, mpn, organization = aliased(Tenant), aliased(Product), aliased(Mpn), aliased(Organization)
    return (select(Claim.id, Claim.status, Claim.in_arbitration, Claim.activity, Claim.due_on, Claim.submitted_at,
                   Claim.customer_name, tenant.name.label("customer"), product.name.label("product"), mpn.mpn_id,
                   organization.name.label("partner"))
            .select_from(Claim)
            .outerjoin(tenant, tenant.tenant_id == Claim.tenant_id)
            .outerjoin(product, product.id == Claim.product_id)
            .outerjoin(mpn, mpn.id == Claim.mpn_pk)
            .join(organization, organization.id == Claim.organization_id))


def row_page(user, lq: ListQuery, size: int = PAGE_SIZE) -> Page:
    """``page`` as plain rows of what the list page shows (``portal.claims.listing.rows``)."""
    result = pager.page(_filtered(user, lq, _row_columns()), ORDERS[lq.sort], lq.after, size, rows=True,
                        before=lq.before)
    return Page(result.rows, result.next_cursor, lq, result.previous_cursor)


#: The columns a row of the CSV export holds, read as plain rows (no ORM objects): the export
#: writes tens of thousands of rows a second.
EXPORT_COLUMNS = (Claim.id, Claim.status, Claim.in_arbitration, Tenant.name.label("customer"), Claim.tenant_id,
                  Claim.solution_area, Product.name.label("product"), Claim.activity, Mpn.mpn_id, Claim.submitted_at,
                  Claim.due_on, Claim.consent_state, Organization.name.label("partner"), Claim.customer_name)


def export_page(user, lq: ListQuery, size: int) -> pager.Page:
    """One batch of the export: the list's claims in the list's order, as rows of ``EXPORT_COLUMNS``."""
    base = (select(*EXPORT_COLUMNS).select_from(Claim)
            .outerjoin(Tenant, Tenant.tenant_id == Claim.tenant_id)
            .outerjoin(Product, Product.id == Claim.product_id)
            .outerjoin(Mpn, Mpn.id == Claim.mpn_pk)
            .join(Organization, Organization.id == Claim.organization_id))
    return pager.page(_filtered(user, lq, base), ORDERS[lq.sort], lq.after, size, rows=True)


def batches(user, lq: ListQuery, size: int = 1000):
    """Every claim the filters select, in the list's order, as lists of export rows fetched by
    key (memory stays flat, and no statement runs longer than one batch)."""
    current = replace(lq, after="", before="")
    while True:
        result = export_page(user, current, size=size)
        yield result.rows
        if not result.next_cursor:
            return
        current = replace(current, after=result.next_cursor)


def status_counts(user) -> dict[str, int]:
    query = select(Claim.status, func.count()).where(Claim.status != ClaimStatus.DRAFT)
    if not user.is_reviewer:
        query = query.where(Claim.organization_id == user.organization_id)
    return dict(db.session.execute(query.group_by(Claim.status)).all())


def _home_rows():
    """What the home page's rows show, as plain rows: the claim's own columns, its customer's
    and its product's names."""
    return (select(Claim.id, Claim.status, Claim.in_arbitration, Claim.activity, Claim.due_on,
                   Tenant.name.label("customer"), Product.name.label("product"))
            .select_from(Claim)
            .outerjoin(Tenant, Tenant.tenant_id == Claim.tenant_id)
            .outerjoin(Product, Product.id == Claim.product_id))


def needing_action(user, limit: int = 10) -> list:
    """The organization's claims waiting for the partner, soonest deadline first: information
    requested, and rejections that can still be disputed (plain rows, see ``_home_rows``)."""
    query = (
        _home_rows()
        .where(Claim.organization_id == user.organization_id,
               or_(Claim.status == ClaimStatus.PARTNER_ACTION_REQUIRED,
                   (Claim.status == ClaimStatus.REJECTED) & Claim.dispute_used.is_(False)))
        .order_by(Claim.due_on, Claim.id)
        .limit(limit)
    )
    return db.session.execute(query).all()


def recent_claims(user, limit: int = 50) -> list:
    """The organization's submitted claims, newest first (plain rows, see ``_home_rows``)."""
    return db.session.execute(
        _home_rows()
        .where(Claim.organization_id == user.organization_id, Claim.status != ClaimStatus.DRAFT)
        .order_by(Claim.id.desc())
        .limit(limit)
    ).all()

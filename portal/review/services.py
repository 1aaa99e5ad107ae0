"""The reviewer console: the queue of claims waiting for a decision. Status changes go through
``portal.claims.actions`` and nothing here writes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import aliased

from portal.accounts.models import Organization, User
from portal.claims.base import ClaimStatus
from portal.claims.listing import pager
from portal.claims.models import Claim
from portal.directory.models import Product, Tenant
from portal.timeutil import utcnow

#: What the queue shows unless a status filter asks for another: claims waiting for someone.
QUEUE_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.UNDER_REVIEW,
    ClaimStatus.PARTNER_ACTION_REQUIRED,
    ClaimStatus.DISPUTED,
)
#: Statuses a reviewer can filter on (drafts are never shown to reviewers).
FILTER_STATUSES = tuple(s for s in ClaimStatus if s != ClaimStatus.DRAFT)
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
#: By due date (overdue first), then claim number; claims without a due date last.
ORDER = pager.Order(Claim.due_on, date)


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    solution_area: str | None = None
    arbitration: bool | None = None
    #: The reviewer whose claims "mine" shows.
    assigned_to: int | None = None
    unassigned: bool = False


@dataclass(frozen=True)
class QueuePage:
    #: Plain rows of what the queue shows (``_columns``).
    claims: list
    next_cursor: str | None
    #: None on the first page.
    previous_cursor: str | None = None


def _columns():
    """What a row of the queue shows, read as plain rows in the page's one statement: the
    claim's own columns, its organization's, customer's and product's names and its reviewer's."""
    reviewer = aliased(User)
    return (select(Claim.id, Claim.status, Claim.in_arbitration, Claim.activity, Claim.due_on, Claim.reviewer_id,
                   Organization.name.label("partner"), Tenant.name.label("customer"), Product.name.label("product"),
                   reviewer.name.label("reviewer"))
            .select_from(Claim)
            .join(Organization, Organization.id == Claim.organization_id)
            .outerjoin(Tenant, Tenant.tenant_id == Claim.tenant_id)
            .outerjoin(Product, Product.id == Claim.product_id)
            .outerjoin(reviewer, reviewer.id == Claim.reviewer_id))


def _filtered(filters: QueueFilters):
    query = _columns()
    if filters.status:
        query = query.where(Claim.status == filters.status)
    else:
        query = query.where(Claim.status.in_([s.value for s in QUEUE_STATUSES]))
    if filters.solution_area:
        query = query.where(Claim.solution_area == filters.solution_area)
    if filters.arbitration is not None:
        query = query.where(Claim.in_arbitration == filters.arbitration)
    if filters.assigned_to is not None:
        query = query.where(Claim.reviewer_id == filters.assigned_to)
    if filters.unassigned:
        query = query.where(Claim.reviewer_id.is_(None))
    return query


def queue(filters: QueueFilters, after: str | None = None, limit: int = PAGE_SIZE,
          before: str | None = None) -> QueuePage:
    """One page of the queue, by due date (overdue first) then claim number: after the cursor
    ``after`` (Next), or before ``before`` (Previous).

    Each filter has an index that starts with it and ends with (due_on, id), so every page is
    an index range scan (``listing.pager``). Organization, customer, product and reviewer are
    read in the same statement, as plain rows, so a page makes one or two queries whatever its
    size."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    result = pager.page(_filtered(filters), ORDER, after, limit, rows=True, before=before)
    return QueuePage(result.rows, result.next_cursor, result.previous_cursor)


def today() -> date:
    return utcnow().date()

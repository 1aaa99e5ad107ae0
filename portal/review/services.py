"""The reviewer console: the queue of claims waiting for a decision, and what the claim page
shows a reviewer (history, competing claims). Status changes go through
``portal.claims.actions`` and nothing here writes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, tuple_
from sqlalchemy.orm import joinedload

from portal.claims.lifecycle import ClaimStatus, action_label, event_label, reason_label
from portal.claims.models import Claim, ClaimEvent
from portal.extensions import db
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
#: Claims without a due date come last; their cursor carries this date.
NO_DUE_DATE = date(9999, 12, 31)
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


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
    claims: list[Claim]
    next_cursor: str | None


def cursor_for(claim: Claim) -> str:
    return f"{(claim.due_on or NO_DUE_DATE).isoformat()}:{claim.id}"


def parse_cursor(cursor: str | None) -> tuple[date, int] | None:
    """``"YYYY-MM-DD:id"`` as (date, id); anything malformed means the first page."""
    if not cursor:
        return None
    day, _sep, claim_id = cursor.partition(":")
    try:
        return date.fromisoformat(day), int(claim_id)
    except ValueError:
        return None


def _filtered(filters: QueueFilters):
    query = select(Claim)
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
    return query.options(
        joinedload(Claim.organization),
        joinedload(Claim.tenant),
        joinedload(Claim.product),
        joinedload(Claim.reviewer),
    )


def queue(filters: QueueFilters, after: str | None = None, limit: int = PAGE_SIZE) -> QueuePage:
    """One page of the queue, by due date (overdue first) then claim number.

    Keyset pagination on (due_on, id), never OFFSET: a page costs the same however deep it is,
    and a claim that leaves the queue between two pages shifts nothing. Each filter has an
    index that starts with it and ends with (due_on, id), so every page is an index range
    scan. Claims without a due date come after all the others, in a second range read only
    when the dated ones run out. Organization, customer, product and reviewer are loaded in
    the same statement, so a page makes one or two queries whatever its size."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    want = limit + 1
    position = parse_cursor(after)
    rows: list[Claim] = []
    if position is None or position[0] != NO_DUE_DATE:
        dated = _filtered(filters).where(Claim.due_on.is_not(None))
        if position is not None:
            dated = dated.where(tuple_(Claim.due_on, Claim.id) > tuple_(position[0], position[1]))
        rows = list(db.session.scalars(dated.order_by(Claim.due_on, Claim.id).limit(want)).unique())
    if len(rows) < want:
        undated = _filtered(filters).where(Claim.due_on.is_(None))
        if position is not None and position[0] == NO_DUE_DATE:
            undated = undated.where(Claim.id > position[1])
        rows += list(db.session.scalars(undated.order_by(Claim.id).limit(want - len(rows))).unique())
    page = rows[:limit]
    next_cursor = cursor_for(page[-1]) if len(rows) > limit else None
    return QueuePage(page, next_cursor)


def today() -> date:
    return utcnow().date()


def history(claim_id: int) -> list[ClaimEvent]:
    """Every history entry of the claim, oldest first, with who made it."""
    return list(
        db.session.scalars(
            select(ClaimEvent)
            .where(ClaimEvent.claim_id == claim_id)
            .options(joinedload(ClaimEvent.actor))
            .order_by(ClaimEvent.created_at, ClaimEvent.id)
        )
    )


def reasons_label(code: str | None) -> str:
    """Reason codes in words; an information request holds several, comma-separated."""
    return ", ".join(reason_label(c) for c in (code or "").split(",") if c)


def what_happened(event: ClaimEvent) -> str:
    """The history table's "what" column: the action for a status change (its statuses and
    reason have columns of their own), the whole line for anything else."""
    if event.kind == "status":
        return action_label(event.action)
    return event_label(event)

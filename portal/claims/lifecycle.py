"""The claim lifecycle (SPEC section 5): the transitions allowed between statuses, who may make
each and with which permission, reasons, and deadlines in business days.

``transition`` is the only code that changes a submitted claim's status (``enter_imported``
places a claim the directory import brings in its first status). It writes the history entry
in the same transaction, so the history always matches what happened, and announces the move
(``signals.claim_moved``) for notifications and consent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, tuple_, update

from portal.accounts.permissions import Permission, has_permission
from portal.claims.base import (
    OPEN_STATUSES,
    REVIEWER_REJECTION_REASONS,
    TAKEABLE_STATUSES,
    ActorKind,
    ClaimStatus,
)
from portal.claims import locks
from portal.claims.labels import INFORMATION_REASONS, status_label
from portal.claims.models import Claim, ClaimEvent
from portal.claims.rules import competing_claim_exists
from portal.claims.signals import claim_moved
from portal.extensions import db, run_core
from portal.timeutil import utcnow

S = ClaimStatus


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    actor: ActorKind
    permission: Permission | None = None  # what the acting user's role must grant
    reason: str | None = None  # "information", "rejection", "close" or "required-text"
    close_reason: str | None = None


def _t(name, sources, target, actor, permission=None, reason=None, close_reason=None):
    if permission is None and actor == ActorKind.REVIEWER:
        permission = Permission.REVIEW
    return Transition(name, frozenset(sources), target, actor, permission, reason, close_reason)


P = Permission
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t("submit", {S.DRAFT}, S.SUBMITTED, ActorKind.PARTNER, P.SUBMIT_CLAIMS),
        _t("withdraw", {S.SUBMITTED}, S.CLOSED, ActorKind.PARTNER, P.WITHDRAW_CLAIMS, close_reason="withdrawn"),
        _t("start_review", {S.SUBMITTED}, S.UNDER_REVIEW, ActorKind.REVIEWER),
        _t("approve", {S.UNDER_REVIEW}, S.APPROVED, ActorKind.REVIEWER),
        _t("reject", {S.UNDER_REVIEW}, S.REJECTED, ActorKind.REVIEWER, reason="rejection"),
        _t("request_information", {S.UNDER_REVIEW}, S.PARTNER_ACTION_REQUIRED, ActorKind.REVIEWER, reason="information"),
        _t("resubmit", {S.PARTNER_ACTION_REQUIRED}, S.UNDER_REVIEW, ActorKind.PARTNER, P.EDIT_CLAIMS),
        _t("expire_information_request", {S.PARTNER_ACTION_REQUIRED}, S.REJECTED, ActorKind.SYSTEM),
        _t("dispute", {S.REJECTED}, S.DISPUTED, ActorKind.PARTNER, P.DISPUTE_CLAIMS, reason="required-text"),
        _t("close_dispute_window", {S.REJECTED}, S.CLOSED, ActorKind.SYSTEM, close_reason="dispute_window_closed"),
        _t("approve_dispute", {S.DISPUTED}, S.APPROVED, ActorKind.REVIEWER),
        _t("reject_dispute", {S.DISPUTED}, S.CLOSED, ActorKind.REVIEWER, reason="required-text", close_reason="rejected_after_dispute"),
        _t("disassociate", {S.APPROVED}, S.CLOSED, ActorKind.PARTNER, P.DISASSOCIATE_CLAIMS, reason="required-text",
           close_reason="disassociated"),
        _t("decline", {S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.DISPUTED}, S.CLOSED,
           ActorKind.CUSTOMER, close_reason="declined_by_customer"),
        _t("supersede", {S.APPROVED}, S.CLOSED, ActorKind.SYSTEM, close_reason="subscription_ended"),
        # Arbitration: the claim not chosen is rejected with reason "competing claim".
        _t("lose_arbitration", OPEN_STATUSES, S.REJECTED, ActorKind.REVIEWER),
        _t("win_arbitration", {S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.DISPUTED, S.APPROVED}, S.APPROVED,
           ActorKind.REVIEWER),
    )
}

#: Approvals that a competing claim of another organization turns into an arbitration decision.
ARBITRATED_APPROVALS = frozenset({"approve", "approve_dispute"})

#: The decisions a reviewer's claim page offers (arbitration has a page of its own).
REVIEWER_DECISIONS = ("start_review", "approve", "reject", "request_information", "approve_dispute", "reject_dispute")

#: Reasons the system gives for the transitions it makes on its own.
_AUTOMATIC_REASONS = {"expire_information_request": "no_partner_response", "lose_arbitration": "competing_claim"}

#: Deadlines: business days for the next party to act, or calendar days for the dispute window.
REVIEW_DAYS = 5
PARTNER_DAYS = 5
DISPUTE_WINDOW_DAYS = 30

#: What passes when a deadline does (applied by the sweep and on read).
EXPIRY = {S.PARTNER_ACTION_REQUIRED: "expire_information_request", S.REJECTED: "close_dispute_window"}

#: Statuses an association may be imported with from the directory.
IMPORTABLE_STATUSES = (S.APPROVED, S.UNDER_REVIEW)


class TransitionRefused(Exception):
    """The transition is not allowed from this status, for this actor, or without a reason."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class TransitionRaced(Exception):
    """The claim was no longer in the status this transition read: another request moved it
    first (the compare-and-set matched no row). Nothing of this transition is written."""


# Deadlines --------------------------------------------------------------------------------


def add_business_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date ``days`` business days after ``start``, skipping weekends and holidays."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def due_on_for(status: str, since: datetime, holidays: frozenset[date] = frozenset()) -> date | None:
    """When the next party must act, for a claim that entered ``status`` at ``since``."""
    start = since.date()
    if status in (S.SUBMITTED, S.UNDER_REVIEW, S.DISPUTED):
        return add_business_days(start, REVIEW_DAYS, holidays)
    if status == S.PARTNER_ACTION_REQUIRED:
        return add_business_days(start, PARTNER_DAYS, holidays)
    if status == S.REJECTED:
        return start + timedelta(days=DISPUTE_WINDOW_DAYS)
    return None


def is_overdue(due_on: date | None, today: date) -> bool:
    return due_on is not None and today > due_on


def holidays() -> frozenset[date]:
    return current_app.config.get("HOLIDAYS", frozenset())


# Who may do what --------------------------------------------------------------------------


def allowed(action: str, status: str, actor: ActorKind) -> bool:
    t = TRANSITIONS.get(action)
    return t is not None and status in t.sources and t.actor == actor


def actions_for(status: str, actor: ActorKind) -> list[str]:
    return [name for name, t in TRANSITIONS.items() if status in t.sources and t.actor == actor]


def actor_kind(user) -> ActorKind:
    if user is None:
        return ActorKind.SYSTEM
    return ActorKind.REVIEWER if user.is_reviewer else ActorKind.PARTNER


def can_dispute(claim, today: date) -> bool:
    """A rejection can be disputed once, within its window."""
    return claim.status == S.REJECTED and not claim.dispute_used and not is_overdue(claim.due_on, today)


def partner_actions(user, claim, today: date) -> set[str]:
    """What the claim page offers this partner user now: the lifecycle's partner transitions
    their role permits, the dispute only while it is possible, and "edit" while the reviewer
    waits for more."""
    if not user.is_partner or claim.organization_id != user.organization_id:
        return set()
    permitted = {name for name in actions_for(claim.status, ActorKind.PARTNER)
                 if has_permission(user, TRANSITIONS[name].permission)}
    if "dispute" in permitted and not can_dispute(claim, today):
        permitted.discard("dispute")
    if claim.status == S.PARTNER_ACTION_REQUIRED and has_permission(user, Permission.EDIT_CLAIMS):
        permitted.add("edit")
    return permitted


def reviewer_decisions(claim, contested: bool) -> set[str]:
    """The decisions a reviewer's claim page offers; approving a claim another organization
    contests (``contested``) is the arbitration's decision, not this page's."""
    available = set(actions_for(claim.status, ActorKind.REVIEWER)) & set(REVIEWER_DECISIONS)
    if contested:
        available -= ARBITRATED_APPROVALS
    return available


def takeable(claim) -> bool:
    """A reviewer can take (hold) a claim waiting for a decision."""
    return claim.status in TAKEABLE_STATUSES


# The only status writer -------------------------------------------------------------------


def _check(claim, t: Transition, kind: ActorKind, user, reason_code, message, now) -> None:
    if claim.status not in t.sources:
        raise TransitionRefused(_l("This action isn't possible while the claim is %(status)s.", status=status_label(claim.status)))
    if t.actor != kind:
        raise TransitionRefused(_l("You can't do this on this claim."))
    if kind == ActorKind.PARTNER and claim.organization_id != user.organization_id:
        raise TransitionRefused(_l("Your role doesn't allow this action."))
    if t.permission is not None and not has_permission(user, t.permission):
        raise TransitionRefused(_l("Your role doesn't allow this action."))
    if t.reason == "rejection":
        if reason_code not in REVIEWER_REJECTION_REASONS:
            raise TransitionRefused(_l("Choose the reason for the rejection."))
        if not message:
            raise TransitionRefused(_l("Write a message that explains the rejection to the partner."))
    elif t.reason == "information":
        codes = [c for c in (reason_code or "").split(",") if c]
        if not codes or any(c not in INFORMATION_REASONS for c in codes):
            raise TransitionRefused(_l("Choose at least one reason for the information request."))
        if not message:
            raise TransitionRefused(_l("Write a message that tells the partner what to provide."))
    elif t.reason == "required-text" and not message:
        raise TransitionRefused(_l("Give a reason."))
    if t.name in ARBITRATED_APPROVALS and competitor_exists(claim):
        raise TransitionRefused(_l("Another partner has an open or approved claim on this customer and product: "
                                   "decide between the claims in the arbitration view."))
    if t.name == "dispute":
        if claim.dispute_used:
            raise TransitionRefused(_l("A claim can be disputed only once."))
        if is_overdue(claim.due_on, now.date()):
            raise TransitionRefused(_l("The 30 days to dispute this rejection have passed."))


def transition(claim, action: str, user=None, *, actor: ActorKind | None = None, reason_code: str | None = None,
               message: str | None = None, now: datetime | None = None):
    """Move ``claim`` by ``action``, or raise ``TransitionRefused``. Checks the status, the kind
    of actor, the user's permission and organization, and the reason the action needs;
    then sets the status, its deadline and reason, and appends the history entry.

    The status is written first, with a compare-and-set (``UPDATE … WHERE status = :read``), so
    that of two requests moving the same claim at once exactly one succeeds on either database,
    whether or not the claim was read under its lock; the other gets ``TransitionRaced`` and
    nothing of it is written (the caller rolls back)."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise TransitionRefused(_l("Unknown action."))
    kind = actor or actor_kind(user)
    message = (message or "").strip() or None
    now = now or utcnow()
    _check(claim, t, kind, user, reason_code, message, now)
    if action == "dispute":
        claim.dispute_used = True

    if action in _AUTOMATIC_REASONS:
        reason_code = _AUTOMATIC_REASONS[action]
    elif t.close_reason:
        reason_code = t.close_reason
    elif t.reason not in ("rejection", "information"):
        reason_code = None

    source = claim.status
    moved = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.status == source).values(status=t.target)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        raise TransitionRaced()
    claim.status = t.target
    claim.status_changed_at = now
    refresh_arbitration(claim)
    claim.due_on = due_on_for(t.target, now, holidays())
    if t.target in (S.REJECTED, S.CLOSED, S.PARTNER_ACTION_REQUIRED):
        claim.reason_code = reason_code
        claim.reason_message = message
    elif t.target == S.APPROVED:
        claim.reason_code = None
        claim.reason_message = None
        if source != S.APPROVED:
            claim.approved_on = now.date()
    if action == "submit":
        claim.submitted_at = now
    event = ClaimEvent(
        claim_id=claim.id,
        actor_id=user.id if user is not None else None,
        kind="status",
        action=action,
        from_status=source,
        to_status=t.target,
        reason_code=reason_code,
        note=message,
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    claim_moved.send(claim, event=event, actor=user)
    return event


def competitor_exists(claim) -> bool:
    """Another organization holds an open or approved claim on this claim's customer and product."""
    return competing_claim_exists(claim.organization_id, claim.tenant_id, claim.product_id)


def refresh_arbitration(claim) -> None:
    """An arbitration lasts exactly while two organizations or more hold open or approved claims
    on the same customer and product: every such claim is marked, and unmarked as soon as the
    others are gone (withdrawn, rejected, closed, declined, or decided in arbitration). A claim
    that reopens (a dispute) against an approved competitor is back in arbitration."""
    if claim.tenant_id is None or claim.product_id is None:
        claim.in_arbitration = False
        return
    locks.lock_arbitration(claim.tenant_id, claim.product_id)
    same = (Claim.tenant_id == claim.tenant_id, Claim.product_id == claim.product_id, Claim.status.in_(OPEN_STATUSES))
    db.session.flush()
    organizations = set(db.session.scalars(select(Claim.organization_id).where(*same).distinct()))
    contested = len(organizations) > 1
    db.session.execute(
        update(Claim).where(*same, Claim.in_arbitration.is_not(contested)).values(in_arbitration=contested)
        .execution_options(synchronize_session="fetch")
    )
    if claim.status not in OPEN_STATUSES:
        claim.in_arbitration = False


# Deadlines that pass ----------------------------------------------------------------------


def deadline_passed(claim, today: date | None = None) -> bool:
    """A deadline with an automatic consequence has passed and is not applied yet."""
    return claim.status in EXPIRY and is_overdue(claim.due_on, today or utcnow().date())


def apply_due(claim, today: date | None = None, now: datetime | None = None) -> bool:
    """Apply the deadline that passed, if any (no partner answer, dispute window closed), to a
    claim loaded under its row lock. Returns whether the claim changed."""
    now = now or utcnow()
    today = today or now.date()
    changed = False
    while claim.status in EXPIRY and is_overdue(claim.due_on, today):
        # The deadline passed at the end of its day: that is when the transition happened.
        when = datetime.combine(claim.due_on + timedelta(days=1), datetime.min.time())
        transition(claim, EXPIRY[claim.status], None, actor=ActorKind.SYSTEM, now=min(when, now))
        changed = True
    return changed


_claims = Claim.__table__
#: ``sweep``'s search, built once on the table (Core): on a page with nothing due it is the
#: request's only trace of the sweep, so it should cost what its index probe costs.
_DUE = (select(_claims.c.due_on, _claims.c.id)
        .where(_claims.c.status.in_(list(EXPIRY)), _claims.c.due_on < bindparam("today"))
        .order_by(_claims.c.due_on, _claims.c.id).limit(bindparam("batch")))
_DUE_IN_ORGANIZATION = _DUE.where(_claims.c.organization_id == bindparam("organization_id"))


def sweep(today: date | None = None, organization_id: int | None = None, batch: int = 500) -> int:
    """Apply every passed deadline (no partner answer: rejected; dispute window: closed), of one
    organization's claims or of all. Run by ``flask claims sweep`` (cron) and, through
    ``apply_passed_deadlines``, before a list, the queue or an export is read.

    Both statuses are searched in one statement on ``ix_claims_status_due_on`` (status, due_on,
    id): when nothing is due that is one index probe per status, with ten claims or a million. Each
    claim is locked and committed on its own, so a sweep that stops halfway loses nothing and
    a claim a page moved on meanwhile is simply skipped. Returns how many claims changed."""
    today = today or utcnow().date()
    changed = 0
    after = None
    while True:
        query = _DUE if organization_id is None else _DUE_IN_ORGANIZATION
        if after is not None:
            query = query.where(tuple_(_claims.c.due_on, _claims.c.id) > after)
        rows = run_core(query, {"today": today, "organization_id": organization_id, "batch": batch}).all()
        if not rows:
            return changed
        for _due_on, claim_id in rows:
            locks.lock_claim(claim_id)  # in the order every change takes its locks
            claim = db.session.scalars(
                select(Claim).where(Claim.id == claim_id).with_for_update().execution_options(populate_existing=True)
            ).one()
            if apply_due(claim, today=today):
                changed += 1
            db.session.commit()
        after = tuple(rows[-1])


def apply_passed_deadlines(user) -> int:
    """Deadlines are true on read (SPEC section 5): before a page lists claims, the deadlines
    that passed among those it can show (the organization's for a partner, every claim for a
    reviewer) are applied. Returns how many claims changed."""
    if user.is_reviewer:
        return sweep()
    if user.organization_id is None:
        return 0  # no organization, no claims: never a sweep of everyone's
    return sweep(organization_id=user.organization_id)


def enter_imported(claim, status: str, now: datetime, since: datetime | None = None):
    """An association imported from the directory (SPEC section 3) enters the lifecycle at
    ``status``, approved or under review, without a transition: there is no status before it.
    Like ``transition``, this sets the status, its deadline (counted from the import) and the
    arbitration mark, and appends the history entry (of the import, ``now``), so these stay
    written in one place. ``since``: when the claim reached ``status`` outside the portal (an
    approval's day), no later than ``now``. ``claim`` must already be in the session; returns
    the history entry."""
    if status not in IMPORTABLE_STATUSES:
        raise ValueError(f"a claim is imported approved or under review, not {status}")
    claim.status = status
    claim.status_changed_at = min(since, now) if since is not None else now
    claim.due_on = due_on_for(status, now, holidays())
    refresh_arbitration(claim)
    db.session.flush()  # the history entry needs the claim's id
    event = ClaimEvent(
        claim_id=claim.id,
        actor_id=None,
        kind="imported",
        action="import",
        from_status=None,
        to_status=status,
        note="Imported from the directory",
        created_at=now,
    )
    db.session.add(event)
    return event

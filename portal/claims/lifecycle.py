"""The claim lifecycle (SPEC section 5): statuses, the transitions allowed between them and who
may make each, reason codes, and deadlines in business days.

``transition`` is the only code that changes a claim's status. It writes the history entry in
the same transaction, so the history always matches what happened.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    PARTNER_ACTION_REQUIRED = "partner_action_required"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISPUTED = "disputed"
    CLOSED = "closed"


class Activity(StrEnum):
    PRESALES = "presales"
    USAGE = "usage"
    REVENUE_ASSOCIATION = "revenue_association"


#: Statuses that hold a claim on its tenant and product (competing and duplicate checks).
OPEN_STATUSES = frozenset(
    {
        ClaimStatus.SUBMITTED,
        ClaimStatus.UNDER_REVIEW,
        ClaimStatus.PARTNER_ACTION_REQUIRED,
        ClaimStatus.APPROVED,
        ClaimStatus.DISPUTED,
    }
)


class ActorKind(StrEnum):
    PARTNER = "partner"
    REVIEWER = "reviewer"
    SYSTEM = "system"
    CUSTOMER = "customer"


#: Why a reviewer asks for more information (moves the claim to Partner action required).
INFORMATION_REASONS = {
    "missing_poe": _l("Missing proof of execution"),
    "missing_acknowledgement": _l("Missing customer acknowledgement"),
    "missing_dates": _l("Missing or old dates"),
    "missing_description": _l("Missing solution or service description"),
    "missing_products": _l("Missing products"),
}

#: Why a claim is rejected or closed.
REJECTION_REASONS = {
    "insufficient_poe": _l("Insufficient proof of execution"),
    "not_eligible": _l("Product or activity not eligible"),
    "incorrect_details": _l("Incorrect customer or subscription details"),
    "duplicate": _l("Duplicate claim"),
    "competing_claim": _l("Competing claim"),
    "no_partner_response": _l("No partner response"),
    "other": _l("Other"),
}

CLOSE_REASONS = {
    "withdrawn": _l("Withdrawn by the partner"),
    "disassociated": _l("Disassociated by the partner"),
    "rejected_after_dispute": _l("Rejected after dispute"),
    "dispute_window_closed": _l("Not disputed within 30 days"),
    "declined_by_customer": _l("Declined by the customer"),
    "subscription_ended": _l("Subscription ended: replaced by a new claim"),
}

#: Rejection reasons a reviewer can choose (the others are set by the system).
REVIEWER_REJECTION_REASONS = ("insufficient_poe", "not_eligible", "incorrect_details", "duplicate", "other")


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    actor: ActorKind
    permission: str | None = None  # the partner permission needed (accounts.permissions.Permission)
    reason: str | None = None  # "information", "rejection", "close" or "required-text"
    close_reason: str | None = None


def _t(name, sources, target, actor, permission=None, reason=None, close_reason=None):
    return Transition(name, frozenset(sources), target, actor, permission, reason, close_reason)


S = ClaimStatus
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t("submit", {S.DRAFT}, S.SUBMITTED, ActorKind.PARTNER, "submit_claims"),
        _t("withdraw", {S.SUBMITTED}, S.CLOSED, ActorKind.PARTNER, "withdraw_claims", close_reason="withdrawn"),
        _t("start_review", {S.SUBMITTED}, S.UNDER_REVIEW, ActorKind.REVIEWER),
        _t("approve", {S.UNDER_REVIEW}, S.APPROVED, ActorKind.REVIEWER),
        _t("reject", {S.UNDER_REVIEW}, S.REJECTED, ActorKind.REVIEWER, reason="rejection"),
        _t("request_information", {S.UNDER_REVIEW}, S.PARTNER_ACTION_REQUIRED, ActorKind.REVIEWER, reason="information"),
        _t("resubmit", {S.PARTNER_ACTION_REQUIRED}, S.UNDER_REVIEW, ActorKind.PARTNER, "edit_claims"),
        _t("expire_information_request", {S.PARTNER_ACTION_REQUIRED}, S.REJECTED, ActorKind.SYSTEM),
        _t("dispute", {S.REJECTED}, S.DISPUTED, ActorKind.PARTNER, "dispute_claims", reason="required-text"),
        _t("close_dispute_window", {S.REJECTED}, S.CLOSED, ActorKind.SYSTEM, close_reason="dispute_window_closed"),
        _t("approve_dispute", {S.DISPUTED}, S.APPROVED, ActorKind.REVIEWER),
        _t("reject_dispute", {S.DISPUTED}, S.CLOSED, ActorKind.REVIEWER, reason="required-text", close_reason="rejected_after_dispute"),
        _t("disassociate", {S.APPROVED}, S.CLOSED, ActorKind.PARTNER, "disassociate_claims", reason="required-text", close_reason="disassociated"),
        _t("decline", {S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.APPROVED, S.DISPUTED}, S.CLOSED,
           ActorKind.CUSTOMER, close_reason="declined_by_customer"),
        _t("supersede", {S.APPROVED}, S.CLOSED, ActorKind.SYSTEM, close_reason="subscription_ended"),
        # Arbitration: the claim not chosen is rejected with reason "competing claim".
        _t("lose_arbitration", OPEN_STATUSES, S.REJECTED, ActorKind.REVIEWER),
        _t("win_arbitration", {S.SUBMITTED, S.UNDER_REVIEW, S.PARTNER_ACTION_REQUIRED, S.DISPUTED, S.APPROVED}, S.APPROVED, ActorKind.REVIEWER),
    )
}

#: Approvals that a competing claim of another organization turns into an arbitration decision.
ARBITRATED_APPROVALS = frozenset({"approve", "approve_dispute"})

#: Deadlines: business days for the next party to act, or calendar days for the dispute window.
REVIEW_DAYS = 5
PARTNER_DAYS = 5
DISPUTE_WINDOW_DAYS = 30

#: What passes when a deadline does (applied by the sweep and on read).
EXPIRY = {S.PARTNER_ACTION_REQUIRED: "expire_information_request", S.REJECTED: "close_dispute_window"}


class TransitionRefused(Exception):
    """The transition is not allowed from this status, for this actor, or without a reason."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def add_business_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date ``days`` business days after ``start``, skipping weekends and holidays."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def due_on_for(status: str, since: datetime, holidays: frozenset[date] = frozenset(), in_arbitration: bool = False) -> date | None:
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


def allowed(action: str, status: str, actor: ActorKind) -> bool:
    t = TRANSITIONS.get(action)
    return t is not None and status in t.sources and t.actor == actor


def actions_for(status: str, actor: ActorKind) -> list[str]:
    return [name for name, t in TRANSITIONS.items() if status in t.sources and t.actor == actor]


def status_label(status: str | None) -> str:
    from flask_babel import gettext as _

    labels = {
        S.DRAFT: _("Draft"),
        S.SUBMITTED: _("Submitted"),
        S.UNDER_REVIEW: _("Under review"),
        S.PARTNER_ACTION_REQUIRED: _("Partner action required"),
        S.APPROVED: _("Approved"),
        S.REJECTED: _("Rejected"),
        S.DISPUTED: _("Disputed"),
        S.CLOSED: _("Closed"),
    }
    return labels.get(status, status or "—")


def activity_label(activity: str | None) -> str:
    from flask_babel import gettext as _

    labels = {
        Activity.PRESALES: _("Presales"),
        Activity.USAGE: _("Usage"),
        Activity.REVENUE_ASSOCIATION: _("Revenue association"),
    }
    return labels.get(activity, activity or "—")


def area_label(area: str | None) -> str:
    from flask_babel import gettext as _

    labels = {
        "business_applications": _("Business Applications (Dynamics 365)"),
        "microsoft_365": _("Microsoft 365"),
    }
    return labels.get(area, area or "—")


def reason_label(code: str | None) -> str:
    for table in (REJECTION_REASONS, INFORMATION_REASONS, CLOSE_REASONS):
        if code in table:
            return str(table[code])
    return code or ""


def holidays() -> frozenset[date]:
    from flask import current_app

    return current_app.config.get("HOLIDAYS", frozenset())


def actor_kind(user) -> ActorKind:
    if user is None:
        return ActorKind.SYSTEM
    return ActorKind.REVIEWER if user.is_reviewer else ActorKind.PARTNER


def transition(claim, action: str, user=None, *, actor: ActorKind | None = None, reason_code: str | None = None,
               message: str | None = None, now: datetime | None = None):
    """Move ``claim`` by ``action``, or raise ``TransitionRefused``. Checks the status, the kind
    of actor, the partner's permission and organization, and the reason the action needs;
    then sets the status, its deadline and reason, and appends the history entry."""
    from portal.accounts.permissions import has_permission
    from portal.claims.models import ClaimEvent
    from portal.extensions import db
    from portal.timeutil import utcnow

    t = TRANSITIONS.get(action)
    if t is None:
        raise TransitionRefused(_l("Unknown action."))
    kind = actor or actor_kind(user)
    if claim.status not in t.sources:
        raise TransitionRefused(_l("This action isn't possible while the claim is %(status)s.", status=status_label(claim.status)))
    if t.actor != kind:
        raise TransitionRefused(_l("You can't do this on this claim."))
    if kind == ActorKind.PARTNER:
        if claim.organization_id != user.organization_id or not has_permission(user, t.permission):
            raise TransitionRefused(_l("Your role doesn't allow this action."))
    if kind == ActorKind.REVIEWER and not has_permission(user, "review"):
        raise TransitionRefused(_l("Your role doesn't allow this action."))
    message = (message or "").strip() or None
    now = now or utcnow()
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
    if action in ARBITRATED_APPROVALS and competitor_exists(claim):
        raise TransitionRefused(_l("Another partner has an open or approved claim on this customer and product: "
                                   "decide between the claims in the arbitration view."))
    if action == "dispute":
        if claim.dispute_used:
            raise TransitionRefused(_l("A claim can be disputed only once."))
        if is_overdue(claim.due_on, now.date()):
            raise TransitionRefused(_l("The 30 days to dispute this rejection have passed."))
        claim.dispute_used = True

    automatic = {
        "expire_information_request": "no_partner_response",
        "lose_arbitration": "competing_claim",
    }
    if action in automatic:
        reason_code = automatic[action]
    elif t.close_reason:
        reason_code = t.close_reason
    elif t.reason not in ("rejection", "information"):
        reason_code = None

    source = claim.status
    claim.status = t.target
    claim.status_changed_at = now
    refresh_arbitration(claim)
    claim.due_on = due_on_for(t.target, now, holidays(), claim.in_arbitration)
    if t.target in (S.REJECTED, S.CLOSED, S.PARTNER_ACTION_REQUIRED):
        claim.reason_code = reason_code
        claim.reason_message = message
    elif t.target in (S.APPROVED,):
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
    from portal.notifications import services as notifications

    notifications.status_changed(claim, event, user)
    return event


def competitor_exists(claim) -> bool:
    """Another organization holds an open or approved claim on this claim's customer and product."""
    from portal.claims.rules import competing_claim_exists

    return competing_claim_exists(claim.organization_id, claim.tenant_id, claim.product_id)


def refresh_arbitration(claim) -> None:
    """An arbitration lasts exactly while two organizations or more hold open or approved claims
    on the same customer and product: every such claim is marked, and unmarked as soon as the
    others are gone (withdrawn, rejected, closed, declined, or decided in arbitration). A claim
    that reopens (a dispute) against an approved competitor is back in arbitration."""
    from sqlalchemy import select, update

    from portal.claims.models import Claim
    from portal.extensions import db

    if claim.tenant_id is None or claim.product_id is None:
        claim.in_arbitration = False
        return
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


def apply_due(claim, today: date | None = None, now: datetime | None = None) -> bool:
    """Apply the deadline that passed, if any (no partner answer, dispute window closed).
    Called by ``flask claims sweep`` and whenever a claim is read, so no page ever shows an
    expired deadline as pending. Returns whether the claim changed."""
    from portal.timeutil import utcnow

    now = now or utcnow()
    today = today or now.date()
    changed = False
    while claim.status in EXPIRY and is_overdue(claim.due_on, today):
        # The deadline passed at the end of its day: that is when the transition happened.
        when = datetime.combine(claim.due_on + timedelta(days=1), datetime.min.time())
        transition(claim, EXPIRY[claim.status], None, actor=ActorKind.SYSTEM, now=min(when, now))
        changed = True
    return changed


def sweep(today: date | None = None, organization_id: int | None = None, batch: int = 500) -> int:
    """Apply every passed deadline (no partner answer: rejected; dispute window: closed), of one
    organization's claims or of all. Run by ``flask claims sweep`` (cron) and before a list, the
    queue or an export is read, so none shows a passed deadline as pending.

    Each status is searched in the order of ``ix_claims_status_due_on`` (status, due_on, id):
    when nothing is due that is one index probe per status, with ten claims or a million. Each
    claim is locked and committed on its own, so a sweep that stops halfway loses nothing and
    a claim a page moved on meanwhile is simply skipped. Returns how many claims changed."""
    from sqlalchemy import select, tuple_

    from portal.claims.models import Claim
    from portal.extensions import db
    from portal.timeutil import utcnow

    today = today or utcnow().date()
    scope = [Claim.organization_id == organization_id] if organization_id is not None else []
    changed = 0
    for status in EXPIRY:
        after = None
        while True:
            query = select(Claim.due_on, Claim.id).where(Claim.status == status, Claim.due_on < today, *scope)
            if after is not None:
                query = query.where(tuple_(Claim.due_on, Claim.id) > after)
            rows = db.session.execute(query.order_by(Claim.due_on, Claim.id).limit(batch)).all()
            if not rows:
                break
            for _due_on, claim_id in rows:
                claim = db.session.scalars(
                    select(Claim).where(Claim.id == claim_id).with_for_update().execution_options(populate_existing=True)
                ).one()
                if apply_due(claim, today=today):
                    changed += 1
                db.session.commit()
            after = tuple(rows[-1])
    return changed


def deadline_passed(claim, today: date | None = None) -> bool:
    """A deadline with an automatic consequence has passed and is not applied yet."""
    from portal.timeutil import utcnow

    return claim.status in EXPIRY and is_overdue(claim.due_on, today or utcnow().date())


def action_label(action: str | None) -> str:
    from flask_babel import gettext as _

    labels = {
        "submit": _("Submitted"),
        "withdraw": _("Withdrawn"),
        "start_review": _("Review started"),
        "approve": _("Approved"),
        "reject": _("Rejected"),
        "request_information": _("Information requested"),
        "resubmit": _("Resubmitted"),
        "expire_information_request": _("Rejected: no partner response in time"),
        "dispute": _("Disputed"),
        "close_dispute_window": _("Closed: not disputed within 30 days"),
        "approve_dispute": _("Approved after dispute"),
        "reject_dispute": _("Rejected after dispute"),
        "disassociate": _("Disassociated"),
        "decline": _("Declined by the customer"),
        "supersede": _("Closed: replaced by a claim for the new subscription"),
        "lose_arbitration": _("Rejected: competing claim"),
        "win_arbitration": _("Approved in arbitration"),
    }
    return labels.get(action, action or "")


#: The claim's fields a partner may edit (``claim_edit``), as the history names them: the
#: labels of the wizard's fields.
EDITED_FIELD_LABELS = {
    "mpn": _l("MPN ID"),
    "customer_contact_name": _l("Customer contact name"),
    "customer_contact_title": _l("Customer contact title"),
    "customer_contact_email": _l("Customer contact email"),
    "partner_contact_name": _l("Partner contact name"),
    "partner_contact_email": _l("Partner contact email"),
    "description": _l("Description of the work"),
    "acknowledged_on": _l("Date of the customer's acknowledgement"),
}


def event_actor_label(event) -> str:
    """Who made a history entry: a person's name (a reviewer said so), or who acted without an
    account (the customer, through the consent page; the directory import; the portal itself)."""
    from flask_babel import gettext as _

    if event.actor is not None:
        return event.actor.name + (" (" + _("reviewer") + ")" if event.actor.is_reviewer else "")
    if event.kind == "imported":
        return _("The directory")
    if event.action in ("consent_confirmed", "consent_declined", "decline"):
        return _("The customer")
    return _("The portal")


def event_label(event) -> str:
    """One line of a claim's history."""
    from flask_babel import gettext as _

    if event.kind == "status":
        text = _("%(action)s (%(source)s → %(target)s)", action=action_label(event.action),
                 source=status_label(event.from_status), target=status_label(event.to_status))
        reasons = [reason_label(c) for c in (event.reason_code or "").split(",") if c]
        return text + (" · " + ", ".join(reasons) if reasons else "")
    if event.kind == "imported":
        return _("Imported from the directory as %(status)s", status=status_label(event.to_status))
    if event.kind == "comment":
        return {
            "information_request": _("Information request posted"),
            "decision": _("Decision explained"),
            "dispute": _("Dispute justification posted"),
            "reply": _("Reply posted"),
        }.get(event.action, _("Comment posted"))
    if event.kind == "edit":
        fields = [str(EDITED_FIELD_LABELS.get(name.strip(), name.strip())) for name in (event.note or "").split(",") if name.strip()]
        return _("Claim edited: %(fields)s", fields=", ".join(fields))
    if event.kind == "consent":
        return {
            "consent_requested": _("Consent asked of the customer by email"),
            "consent_confirmed": _("Confirmed by the customer"),
            "consent_declined": _("Declined by the customer"),
        }.get(event.action, _("Customer consent"))
    if event.kind == "upload":
        if event.action == "remove_file":
            return _("File removed: %(name)s", name=event.note or "")
        return _("Files added: %(names)s", names=event.note or "")
    if event.kind == "assign":
        return _("Taken by a reviewer")
    return event.kind


def enter_imported(claim, status: str, now: datetime):
    """An association imported from the directory (SPEC section 3) enters the lifecycle at
    ``status``, approved or under review, without a transition: there is no status before it.
    Like ``transition``, this sets the status, its deadline (counted from the import) and the
    arbitration mark, and appends the history entry, so these stay written in one place.
    ``claim`` must already be in the session; returns the history entry."""
    from portal.claims.models import ClaimEvent
    from portal.extensions import db

    if status not in (S.APPROVED, S.UNDER_REVIEW):
        raise ValueError(f"a claim is imported approved or under review, not {status}")
    days_off = holidays()
    claim.status = status
    claim.status_changed_at = now
    # Set before the claim is first written, then again once its arbitration mark is known:
    # the second write only happens if the mark changes the deadline.
    claim.due_on = due_on_for(status, now, days_off)
    refresh_arbitration(claim)
    claim.due_on = due_on_for(status, now, days_off, claim.in_arbitration)
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

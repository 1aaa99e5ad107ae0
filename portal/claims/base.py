"""The claim's vocabulary: statuses, activities, who acts, and the reason codes. It imports
nothing of the package, so models, rules, the lifecycle and templates can all stand on it."""
from __future__ import annotations

from enum import StrEnum


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


class ActorKind(StrEnum):
    PARTNER = "partner"
    REVIEWER = "reviewer"
    SYSTEM = "system"
    CUSTOMER = "customer"


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

#: Claims waiting for a decision: the ones a reviewer can take.
TAKEABLE_STATUSES = OPEN_STATUSES - {ClaimStatus.APPROVED}

#: Statuses after which the customer's association is settled: approved, or over.
SETTLED_STATUSES = frozenset({ClaimStatus.APPROVED, ClaimStatus.CLOSED})

#: Why a reviewer asks for more information (moves the claim to Partner action required).
INFORMATION_REASON_CODES = (
    "missing_poe",
    "missing_acknowledgement",
    "missing_dates",
    "missing_description",
    "missing_products",
)

#: Rejection reasons a reviewer can choose (the others are set by the system).
REVIEWER_REJECTION_REASONS = ("insufficient_poe", "not_eligible", "incorrect_details", "duplicate", "other")


def claim_number(claim_id: int) -> str:
    """The claim number partners and reviewers quote: ``CPOR-000042``."""
    return f"CPOR-{claim_id:06d}"

"""What /api/v1 accepts and answers, as pydantic models: the OpenAPI document is generated from
them (``portal.api.spec``), and the directory import's schemas are pydantic models too."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from spectree.model_adapter.pydantic_adapter import BaseFile

from portal.claims.base import Activity, ClaimStatus
from portal.claims.listing.claims import SORTS
from portal.directory.models import SolutionArea


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Errors ----------------------------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str = Field(description="The answer concerned, by its JSON name.")
    code: str = Field(description="A stable code for the reason, the same as the wizard's.")
    message: str = Field(description="What to do, in the Accept-Language language.")
    support: bool = Field(False, description="The wizard offers Contact support beside this message.")


class Problem(BaseModel):
    """An error, as RFC 9457 application/problem+json."""

    type: str = Field("about:blank", description="Always about:blank: ``code`` says which problem it is.")
    title: str = Field(description="The HTTP status, in words, in the Accept-Language language.")
    status: int
    detail: str = Field(description="What went wrong and what to do, in the Accept-Language language.")
    code: str = Field(description="A stable code for the problem, for programs to test.")
    errors: list[FieldProblem] | None = Field(None, description="Each answer refused, for a request that was not valid.")


# Claims ----------------------------------------------------------------------------------

StatusName = Literal[tuple(s.value for s in ClaimStatus if s != ClaimStatus.DRAFT)]  # type: ignore[valid-type]
AreaName = Literal[tuple(a.value for a in SolutionArea)]  # type: ignore[valid-type]
ActivityName = Literal[tuple(a.value for a in Activity)]  # type: ignore[valid-type]


class ClaimListQuery(_Strict):
    """The claims list's own filters and sorts (the Claims page's), and its cursor."""

    q: str | None = Field(None, max_length=200, description="A claim number, a Tenant ID, or 3 characters or more "
                                                            "of the customer's name or domain or of the product's name.")
    status: StatusName | None = None
    area: AreaName | None = Field(None, description="The solution area.")
    activity: ActivityName | None = None
    mpn: str | None = Field(None, pattern=r"^[0-9]{6,7}$", description="One of your organization's MPN IDs.")
    arbitration: Literal["yes", "no"] | None = None
    sort: Literal[SORTS] = "newest"  # type: ignore[valid-type]
    after: str | None = Field(None, max_length=4096, description="The cursor of the next page: follow ``next``.")
    limit: int = Field(25, ge=1, le=100, description="Claims per page.")


class Customer(BaseModel):
    tenant_id: str | None
    name: str | None
    domain: str | None


class ClaimSummary(BaseModel):
    id: int
    number: str = Field(description="The claim number people read, such as CPOR-000042.")
    status: str
    status_label: str
    in_arbitration: bool
    customer: Customer
    solution_area: str | None
    product_id: str | None
    product_name: str | None
    activity: str | None
    mpn_id: str | None
    submitted_at: datetime | None
    due_on: date | None = Field(description="The date by which what happens next is due; none once settled.")
    consent_state: str | None
    url: str = Field(description="This claim in the API.")


class ClaimList(BaseModel):
    items: list[ClaimSummary]
    next: str | None = Field(description="The next page's URL, or null on the last page.")


class Consent(BaseModel):
    state: str | None = Field(description="pending, confirmed or declined; null when not asked.")
    label: str
    requested_at: datetime | None
    decided_at: datetime | None


class HistoryEntry(BaseModel):
    at: datetime
    kind: str
    action: str | None
    from_status: str | None
    to_status: str | None
    reason_codes: list[str]
    actor: str = Field(description="Who made it, as the claim's page says.")
    label: str = Field(description="The history line, as the claim's page says it.")


class ClaimDetail(ClaimSummary):
    subscription_id: str | None = Field(description="Shown as the claim's page shows it.")
    next_step: str | None = Field(description="What happens next and by when, as the claim's page says it.")
    overdue: bool
    reason_codes: list[str]
    reasons: list[str]
    actions: list[str] = Field(description="What you may do to the claim now (withdraw, dispute, edit...).")
    consent: Consent
    history: list[HistoryEntry]
    page_url: str = Field(description="The claim's page in the portal.")


class CommentOut(BaseModel):
    id: int
    kind: str
    author: str | None
    from_reviewer: bool
    body: str
    created_at: datetime


class CommentIn(_Strict):
    body: str = Field(max_length=20000, description="Plain text, at most 5,000 characters once trimmed.")


class CommentList(BaseModel):
    items: list[CommentOut]


# Drafts: the wizard's answers, step by step, by the wizard's own field names --------------------


class _Step(_Strict):
    pass


class CustomerAnswers(_Step):
    tenant_id: str | None = Field(None, max_length=10000)
    domain: str | None = Field(None, max_length=10000)


class ProductAnswers(_Step):
    solution_area: str | None = Field(None, max_length=10000)
    product: str | None = Field(None, max_length=10000, description="A product or workload id on the tenant.")
    subscription_id: str | None = Field(None, max_length=10000, description="Business Applications: instead of a product.")


class ActivityAnswers(_Step):
    activity: str | None = Field(None, max_length=10000)
    solution_seller: str | None = Field(None, max_length=10000)
    isv_product: str | None = Field(None, max_length=10000)


class MpnAnswers(_Step):
    mpn: str | None = Field(None, max_length=10000)


class ContactsAnswers(_Step):
    customer_name: str | None = Field(None, max_length=10000)
    customer_title: str | None = Field(None, max_length=10000)
    customer_email: str | None = Field(None, max_length=10000)
    partner_name: str | None = Field(None, max_length=10000)
    partner_email: str | None = Field(None, max_length=10000)


class ProofAnswers(_Step):
    description: str | None = Field(None, max_length=10000)
    acknowledged_on: str | None = Field(None, max_length=10000, description="YYYY-MM-DD.")


class DraftAnswers(_Strict):
    """Any subset of the wizard's steps; a step sent replaces what the draft held for it."""

    customer: CustomerAnswers | None = None
    product: ProductAnswers | None = None
    activity: ActivityAnswers | None = None
    mpn: MpnAnswers | None = None
    contacts: ContactsAnswers | None = None
    proof: ProofAnswers | None = None


class StepResult(BaseModel):
    step: str
    state: Literal["valid", "invalid", "not_answered", "not_checked"] = Field(
        description="not_checked: answered, but an earlier step must be valid first.")
    errors: list[FieldProblem]


class DraftResult(BaseModel):
    claim: ClaimDetail
    steps: list[StepResult] = Field(description="Every step's check, in the wizard's order, with its reason codes.")
    first_step_to_fix: str | None = Field(description="The first step not answered or not valid; null when ready.")


# Checks ----------------------------------------------------------------------------------


class CustomerCheck(_Strict):
    """The wizard's Customer step."""

    tenant_id: str = Field("", max_length=200)
    domain: str = Field("", max_length=253)


class SubscriptionCheck(_Strict):
    """A Dynamics 365 subscription ID of the customer's tenant (the wizard's Product step)."""

    tenant_id: str = Field("", max_length=200)
    subscription_id: str = Field("", max_length=200)


class CheckResult(BaseModel):
    valid: bool
    errors: list[FieldProblem]


# What partners do to a claim -------------------------------------------------------------


class SubmitIn(_Strict):
    """The wizard's Review step: submitting needs the attestation."""

    attest: bool = Field(False, description="You confirm that the claim is accurate and that the customer agreed "
                                            "to it (the wizard's attestation). Without it, a 422.")


class DisputeIn(_Strict):
    """A rejection disputed once, within 30 days: a justification, or new proof of execution
    uploaded since the rejection (POST /claims/{id}/files), or both."""

    justification: str | None = Field(None, max_length=20000)


class ReplyIn(_Strict):
    """The answer to a reviewer's request for information: the claim goes back to review."""

    reply: str | None = Field(None, max_length=20000, description="Added to the thread as your reply.")


class FileOut(BaseModel):
    id: int
    filename: str = Field(description="The name it came with, with the extension of what it holds.")
    kind: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class FileRefused(BaseModel):
    filename: str
    reason: str = Field(description="Why it was not added, in the Accept-Language language.")


class FilesResult(BaseModel):
    added: list[FileOut]
    refused: list[FileRefused] = Field(description="Each file refused by the content checks or limits, and why.")


class FilesIn(BaseModel):
    """multipart/form-data: one or more parts named ``files``, each a file of proof of execution."""

    files: list[BaseFile] = Field(description="The files, one part each; their content decides their type "
                                              "(PDF, image, email, Office document, ZIP of these).")

    @field_validator("files", mode="before")
    @classmethod
    def _one_or_more(cls, value):
        return value if isinstance(value, list) else [value]

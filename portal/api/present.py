"""Claims, their history and comments as /api/v1 answers them: the words the claim's page uses
(``portal.claims.labels``, ``portal.claims.page``), as JSON."""
from __future__ import annotations

from datetime import date

from flask import url_for
from werkzeug.datastructures import MultiDict

from portal.api import schemas
from portal.claims import page as claim_page
from portal.claims import rules
from portal.claims.base import ClaimStatus
from portal.claims.labels import consent_label, event_actor_label, event_label, reason_label, status_label
from portal.claims.models import Claim, Comment
from portal.claims.wizard.flow import STEPS, Wizard, build_form
from portal.claims.wizard.forms import Answers
from portal.directory.models import SolutionArea


def _codes(text: str | None) -> list[str]:
    return [code for code in (text or "").split(",") if code]


def summary(claim: Claim, cls=schemas.ClaimSummary, **more):
    return cls(
        id=claim.id,
        number=claim.number,
        status=claim.status,
        status_label=status_label(claim.status),
        in_arbitration=claim.in_arbitration,
        customer=schemas.Customer(tenant_id=claim.tenant_id, domain=claim.domain,
                                  name=claim.tenant.name if claim.tenant else claim.customer_name),
        solution_area=claim.solution_area,
        product_id=claim.product_id,
        product_name=claim.product.name if claim.product else None,
        activity=claim.activity,
        mpn_id=claim.mpn.mpn_id if claim.mpn else None,
        submitted_at=claim.submitted_at,
        due_on=claim.shown_due_on,
        consent_state=claim.consent_state,
        url=url_for("api_v1.get_claim", claim_id=claim.id, _external=True),
        **more,
    )


def detail(user, claim: Claim) -> schemas.ClaimDetail:
    """What the claim's page shows: status, what happens next and by when, what the user may
    do, consent, history. A draft (its author's) has no next step yet: it is the wizard's."""
    draft = claim.status == ClaimStatus.DRAFT
    built = None if draft else claim_page.build(user, claim)
    history = claim_page.history(claim.id)
    return summary(
        claim, schemas.ClaimDetail,
        subscription_id=claim.subscription_id if claim.subscription_shown else None,
        next_step=built.next_step if built else None,
        overdue=built.overdue if built else False,
        reason_codes=_codes(claim.reason_code),
        reasons=[reason_label(code) for code in _codes(claim.reason_code)],
        actions=sorted(built.actions) if built else [],
        consent=schemas.Consent(state=claim.consent_state, label=consent_label(claim.consent_state, claim.status),
                                requested_at=claim.consent_requested_at, decided_at=claim.consent_decided_at),
        history=[schemas.HistoryEntry(at=e.created_at, kind=e.kind, action=e.action, from_status=e.from_status,
                                      to_status=e.to_status, reason_codes=_codes(e.reason_code),
                                      actor=event_actor_label(e), label=event_label(e)) for e in history],
        page_url=url_for("claims.show", claim_id=claim.id, _external=True),
    )


def comment(item: Comment) -> schemas.CommentOut:
    reviewer = bool(item.author and item.author.is_reviewer)
    return schemas.CommentOut(id=item.id, kind=item.kind, author=item.author.name if item.author else None,
                              from_reviewer=reviewer, body=item.body, created_at=item.created_at)


# The wizard's inline checks, without a draft -----------------------------------------------


def _answers(user, today: date, **known) -> Answers:
    """What a check starts from: no draft, look-ups counted against the user's limit as the
    wizard's inline check counts them."""
    return Answers(user_id=user.id, organization_id=user.organization_id, claim_id=0, today=today,
                   count_lookups=True, **known)


def _result(form, names: dict[str, str]) -> schemas.CheckResult:
    """The step form's messages, each with the wizard's reason code (``FieldError.code``), on the
    API's field names (``names``: form field → JSON name)."""
    errors = [schemas.FieldProblem(field=names.get(f.name, f.name), code=getattr(error, "code", "") or "invalid",
                                   message=str(error), support=bool(getattr(error, "support", False)))
              for f in form for error in f.errors]
    return schemas.CheckResult(valid=not errors, errors=errors)


def check_customer(user, data: schemas.CustomerCheck, today: date) -> schemas.CheckResult:
    """The wizard's Customer step, checked by its own form and rules."""
    answers = _answers(user, today)
    form = build_form("customer", answers, MultiDict({"tenant_id": data.tenant_id, "domain": data.domain}), {})
    form.full_validate(answers)
    return _result(form, {})


def check_subscription(user, data: schemas.SubscriptionCheck, today: date) -> schemas.CheckResult:
    """A Dynamics 365 subscription ID on the customer's tenant: the tenant as the Customer step
    checks it, then the Product step's own form with the subscription ID typed."""
    tenant, error = rules.check_tenant(data.tenant_id, user.id, count=True)
    if error is not None:
        return schemas.CheckResult(valid=False, errors=[schemas.FieldProblem(
            field="tenant_id", code=error.code, message=str(error), support=error.support)])
    answers = _answers(user, today, tenant=tenant)
    form = build_form("product", answers, MultiDict({"solution_area": SolutionArea.BUSINESS_APPLICATIONS.value,
                                                     "product": "", "subscription_id": data.subscription_id}), {})
    form.full_validate(answers)
    return _result(form, {})


# Drafts --------------------------------------------------------------------------------------


def fill_draft(user, claim: Claim, answers: schemas.DraftAnswers, today: date) -> schemas.DraftResult:
    """Keep the steps sent (as the wizard keeps what is typed), then check every step in the
    wizard's order with its own forms, and copy what is established onto the claim as the
    wizard's Next does. Steps sent in this request count against the look-up limit."""
    wizard = Wizard(claim, user, today=today)
    sent = {step: values.model_dump(exclude_none=True) for step, values in answers if values is not None}
    for step, values in sent.items():
        wizard.save(step, MultiDict(values))  # never too long: the schema bounds each answer
    results, blocked = [], False
    for step in STEPS[:-1]:
        if wizard.stored(step) is None or blocked:
            # As the wizard: a step is checked with what the steps before it established.
            state = "not_answered" if wizard.stored(step) is None else "not_checked"
            results.append(schemas.StepResult(step=step, state=state, errors=[]))
            blocked = True
            continue
        checked = wizard.validate(step, interactive=step in sent)
        blocked = not checked.valid
        problems = _result(checked.form, {}).errors
        results.append(schemas.StepResult(step=step, state="valid" if checked.valid else "invalid", errors=problems))
    wizard.apply_to_claim()
    first = next((r.step for r in results if r.state != "valid"), None)
    return schemas.DraftResult(claim=detail(user, claim), steps=results, first_step_to_fix=first)

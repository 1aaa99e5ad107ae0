"""The claim wizard: seven steps over one draft claim stored in the database.

Like django-formtools, each step's raw input is stored as typed and the forms are rebuilt
from it, so every step can be revalidated at any time against the directory as it is now.
Unlike it, the state lives on the claim row, not in the session: two tabs are two drafts,
and a draft resumes on any device.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from datetime import date

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

from portal.claims.models import Claim
from portal.claims.rules import competing_claim_exists, mpn_warning
from portal.claims.wizard import forms

STEPS: tuple[str, ...] = ("customer", "product", "activity", "mpn", "contacts", "proof", "review")

#: Steps whose answers resolve to something of the directory the page names once they check
#: out: the customer (its name), the product (its subscription, and a competing claim).
RESOLVING_STEPS = frozenset({"customer", "product"})

#: Where a step edited from the review page returns (GOV.UK's "check answers" pattern).
RETURN_TO = "review"

TITLES = {
    "customer": _l("Customer"),
    "product": _l("Product or subscription"),
    "activity": _l("Activity"),
    "mpn": _l("MPN ID"),
    "contacts": _l("Contacts"),
    "proof": _l("Proof of execution"),
    "review": _l("Review and submit"),
}

FORMS: dict[str, type[forms.StepForm]] = {
    "customer": forms.CustomerForm,
    "product": forms.ProductForm,
    "activity": forms.ActivityForm,
    "mpn": forms.MpnForm,
    "contacts": forms.ContactsForm,
    "proof": forms.ProofForm,
    "review": forms.ReviewForm,
}

#: Keys of a posted form that are not the user's answers.
_NOT_ANSWERS = {"csrf_token", "action"}


def step_number(step: str) -> int:
    return STEPS.index(step) + 1


def previous_step(step: str) -> str | None:
    index = STEPS.index(step)
    return STEPS[index - 1] if index > 0 else None


def next_step(step: str) -> str | None:
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


#: The most a step keeps of one answer, in characters: twice the longest field's limit (the
#: description's 5,000), so a field's own message says what is too long, while no post can
#: grow a draft by more than a few tens of kB.
STORED_VALUE_MAX = 10_000


@cache
def field_names(step: str) -> frozenset[str]:
    """The names of a step's fields: all a draft keeps of what was posted for it."""
    form = FORMS[step]
    return frozenset(name for name in dir(form) if isinstance(getattr(form, name, None), UnboundField))


def raw_input(formdata, step: str) -> dict[str, list[str]] | None:
    """What the user typed for one step, as stored on the draft: the step's own fields, one
    value each (what its form reads). None when an answer is longer than anyone types
    (``STORED_VALUE_MAX``): nothing of it is kept."""
    kept = {key: formdata.getlist(key)[:1] for key in formdata.keys() if key in field_names(step) and key not in _NOT_ANSWERS}
    kept = FORMS[step].applicable(kept)
    if any(len(value) > STORED_VALUE_MAX for values in kept.values() for value in values):
        return None
    return kept


@dataclass
class StepResult:
    step: str
    form: forms.StepForm
    valid: bool


def answers_for(claim: Claim, user, today: date, **known) -> forms.Answers:
    """What the steps will establish, starting from what is already ``known``."""
    return forms.Answers(
        user_id=user.id,
        organization_id=claim.organization_id,
        claim_id=claim.id,
        today=today,
        claim=claim,
        **known,
    )


def build_form(step: str, answers: forms.Answers, formdata: MultiDict | None, initial: dict) -> forms.StepForm:
    """A step's form from posted or stored input (``formdata``), else from ``initial`` values,
    with the choices the answers so far allow."""
    form = FORMS[step](formdata=formdata, **({} if formdata is not None else initial))
    if hasattr(form, "set_choices"):
        form.set_choices(answers)
    return form


def apply_editable(claim: Claim, a: forms.Answers) -> None:
    """Copy the answers a partner may also change on a returned claim (MPN ID, contacts, proof
    of execution) onto the claim's columns."""
    if a.mpn is not None:
        claim.mpn_pk = a.mpn.id
    for key, value in a.contacts.items():
        setattr(claim, key, value)
    if a.description is not None:
        claim.description = a.description
        claim.acknowledged_on = a.acknowledged_on


class Wizard:
    """Validates a draft's steps in order. ``run(upto)`` revalidates every step before
    ``upto`` from the stored input and reports the first one that fails."""

    def __init__(self, claim: Claim, user, today: date | None = None):
        self.claim = claim
        self.user = user
        self.answers = answers_for(claim, user, today or date.today())
        self.results: dict[str, StepResult] = {}

    def stored(self, step: str) -> dict | None:
        return (self.claim.draft or {}).get(step)

    def defaults(self, step: str) -> dict:
        if step == "contacts":
            return {"partner_name": self.user.name, "partner_email": self.user.email}
        return {}

    def build(self, step: str, formdata: MultiDict | None = None) -> forms.StepForm:
        """The step's form from posted data, else from the stored input, else defaults."""
        if formdata is None:
            stored = self.stored(step)
            formdata = MultiDict(stored) if stored is not None else None
        return build_form(step, self.answers, formdata, self.defaults(step))

    def validate(self, step: str, formdata: MultiDict | None = None, interactive: bool = False) -> StepResult:
        form = self.build(step, formdata)
        self.answers.count_lookups = interactive
        valid = form.full_validate(self.answers)
        self.answers.count_lookups = False
        if valid:
            form.apply(self.answers)
        result = StepResult(step, form, valid)
        self.results[step] = result
        return result

    def run(self, upto: str | None = None) -> str | None:
        """Revalidate every stored step before ``upto`` (all steps but review when None).
        Returns the first step that needs attention, or None."""
        stop = STEPS.index(upto) if upto else STEPS.index("review")
        for step in STEPS[:stop]:
            if self.stored(step) is None or not self.validate(step).valid:
                return step
        return None

    def messages_to_show(self, step: str, asked: bool) -> StepResult | None:
        """What a step's page shows of its stored answers' check: nothing for a step not yet
        answered, valid, or whose messages the user has not asked for yet (``asked``: they
        pressed Next, or were sent back to it)."""
        if step == "review" or self.stored(step) is None:
            return None
        result = self.validate(step)
        return result if asked and not result.valid else None

    def check(self, step: str, formdata, trigger: str | None) -> tuple[StepResult, set[str]]:
        """The inline check as the user types: keeps what was typed, revalidates the steps
        before, and checks this one. Messages are kept only for the field just left
        (``trigger``) and fields with something typed; untouched fields get none yet."""
        self.run(step)
        result = self.validate(step, formdata, interactive=True)
        # Kept last: the draft's UPDATE (and its row lock) waits for the commit, not the checks.
        self.save(step, formdata)
        typed = {key for key, values in formdata.lists() if any(v.strip() for v in values)}
        shown = {f.name for f in result.form if f.name == trigger or f.name in typed}
        for f in result.form:
            if f.name not in shown:
                f.errors = []
        return result, shown

    def save(self, step: str, formdata) -> bool:
        """Keep what was typed, valid or not: nothing typed is ever lost. Returns False, keeping
        nothing, for answers longer than any field takes (``raw_input``)."""
        typed = raw_input(formdata, step)
        if typed is None:
            return False
        draft = dict(self.claim.draft or {})
        draft[step] = typed
        self.claim.draft = draft
        return True

    def apply_to_claim(self) -> None:
        """Copy what is established onto the claim's columns (shown in lists, used by rules)."""
        a, claim = self.answers, self.claim
        claim.tenant_id = a.tenant.tenant_id if a.tenant else claim.tenant_id
        claim.customer_name = a.tenant.name if a.tenant else claim.customer_name
        claim.domain = a.domain or claim.domain
        if a.solution_area:
            claim.solution_area = a.solution_area
        if a.product is not None:
            claim.product_id = a.product.id
            claim.subscription_id = a.subscription.subscription_id if a.subscription else None
        if a.activity:
            claim.activity = a.activity
            claim.solution_seller = a.solution_seller
            claim.isv_product = a.isv_product
        apply_editable(claim, a)

    def competing(self) -> bool:
        """Another organization holds an approved or open claim on the customer and product the
        answers established: the claim will go to arbitration (the other is never named)."""
        a = self.answers
        return (a.tenant is not None and a.product is not None
                and competing_claim_exists(self.claim.organization_id, a.tenant.tenant_id, a.product.id))

    def resolution(self, step: str) -> dict:
        """What a step's page says its answers resolved to, once the step checks out: the
        ``resolved`` flag (the customer's name, the subscription's details from ``answers``) and
        whether the claim will go to arbitration (``competing``). A step not checked yet in this
        request is checked from its stored input."""
        if step == "review":
            return {"resolved": False, "competing": self.competing()}
        if step not in RESOLVING_STEPS:
            return {"resolved": False, "competing": False}
        result = self.results.get(step)
        if result is None and self.stored(step) is not None:
            result = self.validate(step)
        valid = result is not None and result.valid
        return {"resolved": valid, "competing": valid and step == "product" and self.competing()}

    def after(self, step: str, returning: bool) -> tuple[str, bool]:
        """Where a valid step's Next goes, and whether that page shows its messages: the next
        step; or, for a step edited from the review page (``returning``), back to review unless
        the change made a later step invalid, then to that step with its messages."""
        if not returning:
            return next_step(step), False
        failing = self.run()
        return (failing, True) if failing is not None else (RETURN_TO, False)

    def mpn_warning(self) -> bool:
        return mpn_warning(self.answers.mpn, self.answers.activity)

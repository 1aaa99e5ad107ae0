"""One form per wizard step. Each form's ``check`` runs the claim rules with what the earlier
steps established (``answers``), so the inline check, Next and Submit cannot disagree.

Step forms are plain WTForms forms: they are rebuilt from the draft's stored input to be
revalidated, so they carry no CSRF token of their own (CSRFProtect guards every POST).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, Form, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional

from portal.accounts.services import organization_mpns
from portal.claims import rules
from portal.claims.errors import FieldError
from portal.claims.labels import AREA_LABELS
from portal.directory.models import SolutionArea


@dataclass
class Answers:
    """What the steps validated so far established. The organization's MPN IDs and the draft's
    files are read only by the steps that need them (an inline check of step 1 reads neither)."""

    user_id: int
    organization_id: int
    claim_id: int
    today: date
    claim: object = None
    tenant: object = None
    domain: str | None = None
    solution_area: str | None = None
    product: object = None
    subscription: object = None
    by_subscription: bool = False
    activity: str | None = None
    solution_seller: str | None = None
    isv_product: str | None = None
    mpn: object = None
    contacts: dict = field(default_factory=dict)
    description: str | None = None
    acknowledged_on: date | None = None
    count_lookups: bool = False
    #: Files chosen with the step's own Next (without the separate upload) and refused:
    #: (name, reason) each, so the step says why instead of moving on without them.
    refused_files: list = field(default_factory=list)

    @cached_property
    def mpns(self) -> list:
        return organization_mpns(self.organization_id)

    @cached_property
    def file_count(self) -> int:
        return len(self.claim.files) if self.claim is not None else 0


def _required(message):
    return InputRequired(message=message)


def _add(field_, error: FieldError | None) -> bool:
    if error is not None:
        field_.errors = [*field_.errors, error]
        return False
    return True


class StepForm(Form):
    class Meta:
        def get_translations(self, form):
            # WTForms' own messages (such as "Not a valid date value.") in the user's language.
            from flask_wtf.i18n import translations

            return translations

    @classmethod
    def applicable(cls, typed: dict[str, list[str]]) -> dict[str, list[str]]:
        """What of the answers typed applies, given the others: the rest is dropped, not kept
        on the draft nor checked (a field the page hides must never block the step)."""
        return typed

    def check(self, answers: Answers) -> None:
        """Rules beyond the field validators; add errors to fields."""

    def apply(self, answers: Answers) -> None:
        """Record what this step established, once it is valid."""

    def full_validate(self, answers: Answers) -> bool:
        ok = self.validate()
        self.check(answers)
        return ok and not any(f.errors for f in self)


class CustomerForm(StepForm):
    tenant_id = StringField(
        _l("Tenant ID"),
        validators=[_required(_l("Enter the customer's Tenant ID."))],
        description=_l("The customer's Microsoft Entra tenant ID, a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e."),
    )
    domain = StringField(
        _l("Domain"),
        validators=[_required(_l("Enter one of the customer's domains."))],
        description=_l("A domain of that tenant, such as contoso.onmicrosoft.com or contoso.com."),
    )

    def check(self, answers):
        self._tenant = None
        if self.tenant_id.data and not self.tenant_id.errors:
            tenant, error = rules.check_tenant(self.tenant_id.data, answers.user_id, count=answers.count_lookups)
            _add(self.tenant_id, error)
            self._tenant = tenant
        if self.domain.data and not self.domain.errors:
            _add(self.domain, rules.check_domain(self._tenant, self.domain.data))

    def apply(self, answers):
        answers.tenant = self._tenant
        answers.domain = rules.normalize_domain(self.domain.data)


class ProductForm(StepForm):
    solution_area = RadioField(
        _l("Solution area"),
        choices=[
            SelectChoice(area.value, AREA_LABELS[area]) for area in (SolutionArea.BUSINESS_APPLICATIONS, SolutionArea.MICROSOFT_365)
        ],
        validators=[_required(_l("Choose a solution area."))],
    )
    product = SelectField(_l("Product or workload"), choices=[], validate_choice=False, validators=[Optional()])
    subscription_id = StringField(
        _l("Subscription ID"),
        validators=[Optional()],
        description=_l("Business Applications only: instead of choosing a product, enter the subscription ID."),
    )

    @classmethod
    def applicable(cls, typed):
        """A subscription ID applies to Business Applications only: one typed before switching
        to Microsoft 365 is ignored, as the page hides it."""
        if (typed.get("solution_area") or [""])[0] != SolutionArea.BUSINESS_APPLICATIONS:
            return {key: values for key, values in typed.items() if key != "subscription_id"}
        return typed

    def set_choices(self, answers: Answers) -> None:
        products = rules.products_for(answers.tenant, self.solution_area.data)
        self.product.choices = [SelectChoice("", _l("Choose…"))] + [SelectChoice(p.id, p.name) for p in products]

    def check(self, answers):
        self._product = self._subscription = None
        area = self.solution_area.data
        if not area or self.solution_area.errors or answers.tenant is None:
            return
        product_id = (self.product.data or "").strip()
        subscription_raw = self._subscription_typed()
        if area == SolutionArea.MICROSOFT_365:
            if not product_id:
                _add(self.product, FieldError(_l("Choose a workload."), code="product_required"))
                return
            self._product, error = rules.check_product(answers.tenant, area, product_id)
            _add(self.product, error)
            return
        if product_id and subscription_raw:
            _add(self.subscription_id, FieldError(_l("Choose a product or enter a subscription ID, not both."), code="product_and_subscription"))
            return
        if subscription_raw:
            self._subscription, error = rules.check_subscription_id(answers.tenant, subscription_raw)
            if _add(self.subscription_id, error):
                self._product = self._subscription.product
            return
        if not product_id:
            _add(self.product, FieldError(_l("Choose a product, or enter a subscription ID."), code="product_required"))
            return
        self._product, error = rules.check_product(answers.tenant, area, product_id)
        if _add(self.product, error):
            self._subscription, error = rules.resolve_subscription(answers.tenant, self._product)
            if not _add(self.product, error):
                self._product = None

    def apply(self, answers):
        answers.solution_area = self.solution_area.data
        answers.product = self._product
        answers.subscription = self._subscription
        answers.by_subscription = bool(self._subscription_typed())

    def _subscription_typed(self) -> str:
        """The subscription ID typed, when it applies to the solution area chosen."""
        if self.solution_area.data != SolutionArea.BUSINESS_APPLICATIONS:
            return ""
        return (self.subscription_id.data or "").strip()


class ActivityForm(StepForm):
    activity = RadioField(_l("Activity"), choices=[], validate_choice=False, validators=[_required(_l("Choose an activity."))])
    solution_seller = StringField(
        _l("Solution seller's name"), validators=[Optional(), Length(max=200)],
        description=_l("Revenue association only."),
    )
    isv_product = StringField(
        _l("ISV product name"), validators=[Optional(), Length(max=200)],
        description=_l("Revenue association only."),
    )

    def set_choices(self, answers: Answers) -> None:
        self.activity.choices = [SelectChoice(c.value, c.label) for c in rules.activity_choices(answers.solution_area)]

    def check(self, answers):
        allowed = {choice.value for choice in self.activity.choices}
        if not self.activity.data or self.activity.errors:
            return
        if self.activity.data not in allowed:
            _add(self.activity, FieldError(_l("Choose one of the activities offered for this solution area."), code="activity_invalid"))
            return
        if self.activity.data == rules.Activity.REVENUE_ASSOCIATION:
            if not (self.solution_seller.data or "").strip():
                _add(self.solution_seller, FieldError(_l("Enter the solution seller's name."), code="seller_required"))
            if not (self.isv_product.data or "").strip():
                _add(self.isv_product, FieldError(_l("Enter the ISV product name."), code="isv_required"))
        if answers.tenant is not None and answers.product is not None:
            _add(
                self.activity,
                rules.check_not_claimed(
                    answers.organization_id, answers.tenant.tenant_id, answers.product.id, self.activity.data,
                    by_subscription=answers.by_subscription, exclude_id=answers.claim_id,
                ),
            )

    def apply(self, answers):
        answers.activity = self.activity.data
        revenue = self.activity.data == rules.Activity.REVENUE_ASSOCIATION
        answers.solution_seller = self.solution_seller.data.strip() if revenue else None
        answers.isv_product = self.isv_product.data.strip() if revenue else None


class MpnForm(StepForm):
    mpn = RadioField(_l("MPN ID"), choices=[], validate_choice=False, validators=[_required(_l("Choose the MPN ID this work is associated with."))])

    def set_choices(self, answers: Answers) -> None:
        self.mpn.choices = [SelectChoice(m.mpn_id, m.mpn_id) for m in answers.mpns]

    def check(self, answers):
        if self.mpn.data and not self.mpn.errors and self.mpn.data not in {m.mpn_id for m in answers.mpns}:
            _add(self.mpn, FieldError(_l("Choose one of your organization's MPN IDs."), code="mpn_unknown"))

    def apply(self, answers):
        answers.mpn = next((m for m in answers.mpns if m.mpn_id == self.mpn.data), None)


class ContactsForm(StepForm):
    _email = Email(message=_l("Enter an email address in the right format, such as name@example.com."))
    customer_name = StringField(_l("Customer contact name"), validators=[_required(_l("Enter the customer contact's name.")), Length(max=200)])
    customer_title = StringField(_l("Customer contact title"), validators=[_required(_l("Enter the customer contact's title.")), Length(max=200)])
    customer_email = StringField(_l("Customer contact email"), validators=[_required(_l("Enter the customer contact's email.")), _email, Length(max=254)])
    partner_name = StringField(_l("Partner contact name"), validators=[_required(_l("Enter your contact's name.")), Length(max=200)])
    partner_email = StringField(_l("Partner contact email"), validators=[_required(_l("Enter your contact's email.")), _email, Length(max=254)])

    def check(self, answers):
        if self.customer_email.data and not self.customer_email.errors:
            _add(self.customer_email, rules.check_contact_domain(answers.tenant, self.customer_email.data.strip(), answers.domain))

    def apply(self, answers):
        answers.contacts = {
            "customer_contact_name": self.customer_name.data.strip(),
            "customer_contact_title": self.customer_title.data.strip(),
            "customer_contact_email": self.customer_email.data.strip().lower(),
            "partner_contact_name": self.partner_name.data.strip(),
            "partner_contact_email": self.partner_email.data.strip().lower(),
        }


class ProofForm(StepForm):
    files = StringField(_l("Proof of execution files"), validators=[Optional()])
    description = TextAreaField(
        _l("Description of the work"),
        validators=[_required(_l("Describe the work you did for the customer.")), Length(max=5000)],
        description=_l("What you delivered, when, and how it relates to the product or workload."),
    )
    acknowledged_on = DateField(
        _l("Date of the customer's acknowledgement"),
        validators=[_required(_l("Enter the date the customer acknowledged the work."))],
        description=_l("Within the last 12 months, not in the future."),
    )

    def check(self, answers):
        for name, reason in answers.refused_files:
            _add(self.files, FieldError(_l("%(name)s was not added: %(reason)s", name=name, reason=reason), code="file_refused"))
        if answers.file_count < 1 and not answers.refused_files:
            _add(self.files, FieldError(_l("Add at least one proof of execution file."), code="files_required"))
        if self.acknowledged_on.data and not self.acknowledged_on.errors:
            _add(self.acknowledged_on, rules.check_acknowledgement_date(self.acknowledged_on.data, answers.today))

    def apply(self, answers):
        answers.description = self.description.data.strip()
        answers.acknowledged_on = self.acknowledged_on.data


class ReviewForm(StepForm):
    attest = BooleanField(
        _l("I confirm that the information and proof of execution in this claim are accurate and that the customer acknowledged the work."),
        validators=[_required(_l("Confirm the attestation to submit the claim."))],
    )

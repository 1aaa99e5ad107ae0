"""Editing a claim the reviewer asked more of (Partner action required): the MPN ID, the
contacts, the proof of execution and its description, checked by the wizard's own forms."""
from __future__ import annotations

from portal.accounts.permissions import Permission, require
from portal.accounts.services import organization_mpns
from portal.claims import actions, forms
from portal.claims.errors import ClaimError
from portal.claims.lifecycle import ClaimStatus
from portal.timeutil import utcnow

EDITABLE = ("mpn", "contacts", "proof")


class Editor:
    def __init__(self, user, claim_id: int):
        from flask_babel import lazy_gettext as _l

        require(user, Permission.EDIT_CLAIMS)
        self.user = user
        self.claim = actions.load(user, claim_id)
        if self.claim.status != ClaimStatus.PARTNER_ACTION_REQUIRED or user.is_reviewer:
            raise ClaimError(_l("This claim can be edited only when the reviewer asks for more information."))
        self.answers = forms.Answers(
            user_id=user.id, organization_id=self.claim.organization_id, claim_id=self.claim.id,
            today=utcnow().date(), file_count=len(self.claim.files), mpns=organization_mpns(self.claim.organization_id),
            activity=self.claim.activity,
        )
        self.forms = self._build(None)

    def _build(self, formdata):
        c = self.claim
        initial = {
            "mpn": {"mpn": c.mpn.mpn_id if c.mpn else None},
            "contacts": {"customer_name": c.customer_contact_name, "customer_title": c.customer_contact_title,
                         "customer_email": c.customer_contact_email, "partner_name": c.partner_contact_name,
                         "partner_email": c.partner_contact_email},
            "proof": {"description": c.description, "acknowledged_on": c.acknowledged_on},
        }
        built = {}
        for step, form_class in (("mpn", forms.MpnForm), ("contacts", forms.ContactsForm), ("proof", forms.ProofForm)):
            form = form_class(formdata=formdata, **({} if formdata is not None else initial[step]))
            if hasattr(form, "set_choices"):
                form.set_choices(self.answers)
            built[step] = form
        return built

    def save(self, formdata) -> bool:
        """Validate the three forms; when all are valid, copy them onto the claim with one
        history entry naming what changed. Returns False (nothing changed) otherwise."""
        self.forms = self._build(formdata)
        if not all(f.full_validate(self.answers) for f in self.forms.values()):
            return False
        for form in self.forms.values():
            form.apply(self.answers)
        c, a = self.claim, self.answers
        before = (c.mpn_pk, c.customer_contact_name, c.customer_contact_title, c.customer_contact_email,
                  c.partner_contact_name, c.partner_contact_email, c.description, c.acknowledged_on)
        c.mpn_pk = a.mpn.id
        for key, value in a.contacts.items():
            setattr(c, key, value)
        c.description = a.description
        c.acknowledged_on = a.acknowledged_on
        after = (c.mpn_pk, c.customer_contact_name, c.customer_contact_title, c.customer_contact_email,
                 c.partner_contact_name, c.partner_contact_email, c.description, c.acknowledged_on)
        names = ("mpn", "customer_contact_name", "customer_contact_title", "customer_contact_email",
                 "partner_contact_name", "partner_contact_email", "description", "acknowledged_on")
        changed = [n for n, b, x in zip(names, before, after) if b != x]
        if changed:
            actions.record_edit(self.user, c, changed)
        return True

    def mpn_warning(self) -> bool:
        from portal.claims.rules import INCENTIVE_ACTIVITIES

        mpn = next((m for m in self.answers.mpns if m.mpn_id == self.forms["mpn"].mpn.data), None)
        return mpn is not None and not mpn.incentives_enrolled and self.claim.activity in INCENTIVE_ACTIVITIES

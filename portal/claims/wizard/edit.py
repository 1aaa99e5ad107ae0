"""Editing a claim the reviewer asked more of (Partner action required): the MPN ID, the
contacts, the proof of execution and its description, with the wizard's own forms, checks and
copy onto the claim (contact-app's model-owned validation: one set of rules)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.accounts.permissions import Permission, require
from portal.claims import actions
from portal.claims.base import ClaimStatus
from portal.claims.errors import ClaimError
from portal.claims.loader import load_for_change
from portal.claims.rules import mpn_warning
from portal.claims.wizard.flow import answers_for, apply_editable, build_form
from portal.consent.services import replace_consent_request
from portal.timeutil import utcnow

#: The wizard's steps whose answers a returned claim may change.
EDITABLE_STEPS = ("mpn", "contacts", "proof")
#: The claim's columns those steps set, as the history names them.
_EDITED = ("mpn_pk", "customer_contact_name", "customer_contact_title", "customer_contact_email",
           "partner_contact_name", "partner_contact_email", "description", "acknowledged_on")
_HISTORY_NAMES = {"mpn_pk": "mpn"}


class Editor:
    def __init__(self, user, claim_id: int):
        require(user, Permission.EDIT_CLAIMS)
        self.user = user
        self.claim = load_for_change(user, claim_id)
        if self.claim.status != ClaimStatus.PARTNER_ACTION_REQUIRED or user.is_reviewer:
            raise ClaimError(_l("This claim can be edited only when the reviewer asks for more information."))
        self.answers = answers_for(self.claim, user, utcnow().date(), activity=self.claim.activity,
                                   tenant=self.claim.tenant, domain=self.claim.domain)
        self.forms = self._build(None)

    def _initial(self, step: str) -> dict:
        c = self.claim
        return {
            "mpn": {"mpn": c.mpn.mpn_id if c.mpn else None},
            "contacts": {"customer_name": c.customer_contact_name, "customer_title": c.customer_contact_title,
                         "customer_email": c.customer_contact_email, "partner_name": c.partner_contact_name,
                         "partner_email": c.partner_contact_email},
            "proof": {"description": c.description, "acknowledged_on": c.acknowledged_on},
        }[step]

    def _build(self, formdata):
        return {step: build_form(step, self.answers, formdata, self._initial(step)) for step in EDITABLE_STEPS}

    def keep(self, formdata) -> None:
        """Show what was typed (a file upload without JavaScript), unchecked and not saved."""
        self.forms = self._build(formdata)

    def save(self, formdata, refused_files=()) -> bool:
        """Validate the three forms; when all are valid, copy them onto the claim with one
        history entry naming what changed. Returns False (nothing changed) otherwise, as when
        a file sent with the form was refused (``refused_files``: its name and reason)."""
        self.answers.refused_files = list(refused_files)
        self.forms = self._build(formdata)
        if not all(f.full_validate(self.answers) for f in self.forms.values()):
            return False
        for form in self.forms.values():
            form.apply(self.answers)
        before = {name: getattr(self.claim, name) for name in _EDITED}
        apply_editable(self.claim, self.answers)
        changed = [_HISTORY_NAMES.get(name, name) for name in _EDITED if getattr(self.claim, name) != before[name]]
        if changed:
            actions.record_edit(self.user, self.claim, changed)
        if (before["customer_contact_email"] or "").lower() != (self.claim.customer_contact_email or "").lower():
            # The link went to the old address: it stops working, and the new contact is asked.
            replace_consent_request(self.claim)
        return True

    def mpn_warning(self) -> bool:
        mpn = next((m for m in self.answers.mpns if m.mpn_id == self.forms["mpn"].mpn.data), None)
        return mpn_warning(mpn, self.claim.activity)

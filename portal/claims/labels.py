"""Every claim word a person reads, in one place: statuses, activities, solution areas, reasons,
history entries, consent states and claim numbers. Templates, the CSV export, notifications and
emails all call these, so a label is translated the same way everywhere."""
from __future__ import annotations

from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

from portal.claims.base import Activity, ClaimStatus, claim_number  # noqa: F401  (claim_number is part of the labels API)

S = ClaimStatus

STATUS_LABELS = {
    S.DRAFT: _l("Draft"),
    S.SUBMITTED: _l("Submitted"),
    S.UNDER_REVIEW: _l("Under review"),
    S.PARTNER_ACTION_REQUIRED: _l("Partner action required"),
    S.APPROVED: _l("Approved"),
    S.REJECTED: _l("Rejected"),
    S.DISPUTED: _l("Disputed"),
    S.CLOSED: _l("Closed"),
}

ACTIVITY_LABELS = {
    Activity.PRESALES: _l("Presales"),
    Activity.USAGE: _l("Usage"),
    Activity.REVENUE_ASSOCIATION: _l("Revenue association"),
}

AREA_LABELS = {
    "business_applications": _l("Business Applications (Dynamics 365)"),
    "microsoft_365": _l("Microsoft 365"),
}

#: How a subscription was bought, and where it stands (the directory's values).
CHANNEL_LABELS = {
    "volume_licensing": _l("Volume Licensing"),
    "web_direct": _l("Web-Direct"),
    "csp": _l("CSP"),
}

SUBSCRIPTION_STATUS_LABELS = {
    "active": _l("Active"),
    "in_grace": _l("In grace"),
    "pending_provisioning": _l("Pending provisioning"),
    "expired": _l("Expired"),
    "suspended": _l("Suspended"),
}

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

ACTION_LABELS = {
    "submit": _l("Submitted"),
    "withdraw": _l("Withdrawn"),
    "start_review": _l("Review started"),
    "approve": _l("Approved"),
    "reject": _l("Rejected"),
    "request_information": _l("Information requested"),
    "resubmit": _l("Resubmitted"),
    "expire_information_request": _l("Rejected: no partner response in time"),
    "dispute": _l("Disputed"),
    "close_dispute_window": _l("Closed: not disputed within 30 days"),
    "approve_dispute": _l("Approved after dispute"),
    "reject_dispute": _l("Rejected after dispute"),
    "disassociate": _l("Disassociated"),
    "decline": _l("Declined by the customer"),
    "supersede": _l("Closed: replaced by a claim for the new subscription"),
    "lose_arbitration": _l("Rejected: competing claim"),
    "win_arbitration": _l("Approved in arbitration"),
}

#: The claim's fields a partner may edit (the wizard's edit of a returned claim), as the
#: history names them: the labels of the wizard's fields.
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

CONSENT_LABELS = {
    None: _l("Not requested"),
    "pending": _l("Waiting for the customer"),
    "confirmed": _l("Confirmed by the customer"),
    "declined": _l("Declined by the customer"),
}

_COMMENT_EVENTS = {
    "information_request": _l("Information request posted"),
    "decision": _l("Decision explained"),
    "dispute": _l("Dispute justification posted"),
    "reply": _l("Reply posted"),
}

#: A request still unanswered when the claim closed: nobody waits for the customer any more.
CONSENT_NO_LONGER_NEEDED = _l("No longer needed")

_CONSENT_EVENTS = {
    "consent_superseded": _l("Consent request withdrawn: the customer contact changed"),
    "consent_requested": _l("Consent asked of the customer by email"),
    "consent_confirmed": _l("Confirmed by the customer"),
    "consent_declined": _l("Declined by the customer"),
}


def _label(table, key, fallback) -> str:
    label = table.get(key)
    return str(label) if label is not None else fallback


def status_label(status: str | None) -> str:
    return _label(STATUS_LABELS, status, status or "—")


def activity_label(activity: str | None) -> str:
    return _label(ACTIVITY_LABELS, activity, activity or "—")


def area_label(area: str | None) -> str:
    return _label(AREA_LABELS, area, area or "—")


def channel_label(channel: str | None) -> str:
    return _label(CHANNEL_LABELS, channel, channel or "—")


def subscription_status_label(status: str | None) -> str:
    return _label(SUBSCRIPTION_STATUS_LABELS, status, status or "—")


def reason_label(code: str | None) -> str:
    for table in (REJECTION_REASONS, INFORMATION_REASONS, CLOSE_REASONS):
        if code in table:
            return str(table[code])
    return code or ""


def reasons_label(codes: str | None) -> str:
    """Reason codes in words; an information request holds several, comma-separated."""
    return ", ".join(reason_label(c) for c in (codes or "").split(",") if c)


def action_label(action: str | None) -> str:
    return _label(ACTION_LABELS, action, action or "")


def consent_label(state: str | None, status: str | None = None) -> str:
    """The consent state as the claim page, the reviewer and the CSV export show it. A request
    unanswered when the claim closed (withdrawn, rejected for good...) is "no longer needed":
    its link no longer acts, so nobody is waiting for the customer."""
    if state == "pending" and status == ClaimStatus.CLOSED:
        return str(CONSENT_NO_LONGER_NEEDED)
    return _label(CONSENT_LABELS, state, str(state))


def event_actor_label(event) -> str:
    """Who made a history entry: a person's name (a reviewer said so), or who acted without an
    account (the customer, through the consent page; the directory import; the portal itself)."""
    if event.actor is not None:
        return event.actor.name + (" (" + _("reviewer") + ")" if event.actor.is_reviewer else "")
    if event.kind == "imported":
        return _("The directory")
    if event.action in ("consent_confirmed", "consent_declined", "decline"):
        return _("The customer")
    return _("The portal")


def event_label(event) -> str:
    """One line of a claim's history."""
    if event.kind == "status":
        text = _("%(action)s (%(source)s → %(target)s)", action=action_label(event.action),
                 source=status_label(event.from_status), target=status_label(event.to_status))
        reasons = reasons_label(event.reason_code)
        return text + (" · " + reasons if reasons else "")
    if event.kind == "imported":
        return _("Imported from the directory as %(status)s", status=status_label(event.to_status))
    if event.kind == "comment":
        return _label(_COMMENT_EVENTS, event.action, _("Comment posted"))
    if event.kind == "edit":
        fields = [_label(EDITED_FIELD_LABELS, name.strip(), name.strip()) for name in (event.note or "").split(",") if name.strip()]
        return _("Claim edited: %(fields)s", fields=", ".join(fields))
    if event.kind == "consent":
        return _label(_CONSENT_EVENTS, event.action, _("Customer consent"))
    if event.kind == "upload":
        if event.action == "remove_file":
            return _("File removed: %(name)s", name=event.note or "")
        return _("Files added: %(names)s", names=event.note or "")
    if event.kind == "assign":
        return _("Taken by a reviewer")
    return event.kind


def what_happened(event) -> str:
    """The reviewer's history table "what" column: the action for a status change (its statuses
    and reason have columns of their own), the whole line for anything else."""
    if event.kind == "status":
        return action_label(event.action)
    return event_label(event)

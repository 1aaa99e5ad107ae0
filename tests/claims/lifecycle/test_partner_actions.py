"""What partners do to a submitted claim, through the claim page's forms: every action in every
status for every role (SPEC sections 2 and 5), then each action's own rules, the claim page,
and the renewal of a claim whose subscription ended."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from sqlalchemy import select

from portal.claims import lifecycle
from portal.claims.models import Claim, ClaimEvent, ClaimFile, Comment
from portal.directory.models import Subscription
from portal.extensions import db
from portal.timeutil import utcnow
from tests.claims.conftest import MPN_NOT_ENROLLED, SUB_WINGTIP_SALES, Walker, error_slot
from tests.html import text
from tests.claims.lifecycle.conftest import (
    ADVENTURE,
    BEA,
    CONTOSO,
    EXECUTABLE,
    GINA,
    IAN,
    NORTHWIND,
    PAUL,
    PDF,
    RAFAEL,
    RITA,
    STATUSES,
    TAILSPIN,
    WINGTIP,
    claim_row,
    make_claim,
    words,
    move,
    snapshot,
    upload_data,
)
from tests.support import sign_in

#: Where Fabrikam's claims go: distinct customers, products and activities (one open claim each),
#: none of them claimed by the demo data.
M365 = "microsoft_365"
WHERE = [
    dict(tenant=WINGTIP, activity="presales"),
    dict(tenant=WINGTIP, activity="usage"),
    dict(tenant=WINGTIP, activity="revenue_association"),
    dict(tenant=NORTHWIND, product="d365-finance", activity="usage"),
    dict(tenant=NORTHWIND, product="d365-finance", activity="presales"),
    dict(tenant=NORTHWIND, product="d365-finance", activity="revenue_association"),
    dict(tenant=ADVENTURE, activity="presales"),
    dict(tenant=ADVENTURE, activity="usage"),
    dict(tenant=ADVENTURE, activity="revenue_association"),
    dict(tenant=TAILSPIN, product="d365-supply-chain", activity="usage"),
    dict(tenant=CONTOSO, area=M365, product="m365-teams", activity="usage"),
    dict(tenant=ADVENTURE, area=M365, product="m365-teams", activity="usage"),
    dict(tenant=NORTHWIND, area=M365, product="m365-teams", activity="usage"),
    dict(tenant=WINGTIP, area=M365, product="m365-sharepoint", activity="usage"),
]


class ClaimsInEveryStatus:
    """A claim of Fabrikam in each status, made when first needed; one that an action moved on
    is replaced by a new one, so each action meets every status."""

    def __init__(self, app):
        self.app = app
        self.places = iter(WHERE)
        self.ids: dict[str, int] = {}

    def __getitem__(self, status) -> int:
        if status not in self.ids:
            self.ids[status] = make_claim(self.app, status, **next(self.places))
        return self.ids[status]

    def moved_on(self, status):
        del self.ids[status]


EDIT = {
    "mpn": MPN_NOT_ENROLLED,
    "customer_name": "Dana Customer",
    "customer_title": "CTO",
    "customer_email": "dana.new@wingtiptoys.com",
    "partner_name": "Gina Martin",
    "partner_email": "gina@fabrikam.example",
    "description": "Workshops, a pilot, and the signed PoE attached.",
}

#: action: (URL suffix, form) for the claim page's forms.
ACTIONS = {
    "withdraw": ("withdraw", {}),
    "disassociate": ("disassociate", {"reason": "We no longer work with this customer."}),
    "resubmit": ("resubmit", {"reply": "The signed PoE is attached now."}),
    "dispute": ("dispute", {"justification": "The PoE shows the workshops the customer signed off."}),
    "edit": ("edit", EDIT),
    "comment": ("comments", {"body": "A question for the reviewer."}),
    "renew": ("renew", {}),
}

#: SPEC section 5: the status each action is for. Renewal is only for an ended subscription.
FOR_STATUS = {
    "withdraw": {"submitted"},
    "disassociate": {"approved"},
    "resubmit": {"partner_action_required"},
    "dispute": {"rejected"},
    "edit": {"partner_action_required"},
    "comment": set(STATUSES),
    "renew": set(),
}

#: SPEC section 2: what each role may do at all.
ALL = set(ACTIONS)
ROLES = {
    "global_admin": (GINA, ALL),
    "incentives_admin": (IAN, ALL),
    "billing_admin": (BEA, ALL - {"withdraw", "disassociate"}),
    "referrals_admin": (RAFAEL, set()),
    "other_org_admin": (PAUL, ALL),
    "reviewer": (RITA, {"comment"}),
    "anonymous": (None, set()),
}


def edit_form(**changes):
    """The edit page's form, all valid unless ``changes`` say otherwise."""
    return {**EDIT, "acknowledged_on": (utcnow().date() - timedelta(days=10)).isoformat(), **changes}


def expected_response(role, action, status) -> str:
    email, may = ROLES[role]
    if email is None:
        return "login"
    if role == "other_org_admin":
        return "not found"
    if action not in may:
        return "forbidden"
    return "done" if status in FOR_STATUS[action] else "refused"


def post_action(client, claim_id, action):
    suffix, form = ACTIONS[action]
    if action == "edit":  # a new contact at the claim's customer
        form = edit_form(customer_email=new_contact(claim_row(client.application, claim_id)))
    return client.post(f"/claims/{claim_id}/{suffix}", data=dict(form))


def new_contact(claim) -> str:
    return f"dana.new@{claim.domain}"


def check_done(app, claim_id, action, before):
    after = snapshot(app, claim_id)
    claim = claim_row(app, claim_id)
    if action == "comment":
        assert after["comments"] == before["comments"] + 1
        assert after["status"] == before["status"]
        return
    expected = {"withdraw": "closed", "disassociate": "closed", "resubmit": "under_review", "dispute": "disputed",
                "edit": "partner_action_required"}[action]
    assert claim.status == expected
    assert after["events"] > before["events"]
    if action == "edit":
        assert claim.customer_contact_email == new_contact(claim)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_action_in_every_status_for_every_role(demo, subtests, role):
    email, _ = ROLES[role]
    client = sign_in(demo, email) if email else demo.test_client()
    claims = ClaimsInEveryStatus(demo)
    for action in ACTIONS:
        for status in STATUSES:
            with subtests.test(action=action, status=status):
                claim_id = claims[status]
                before = snapshot(demo, claim_id)
                expected = expected_response(role, action, status)

                response = post_action(client, claim_id, action)

                if expected == "done":
                    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
                    page = f"/review/claims/{claim_id}" if role == "reviewer" else f"/claims/{claim_id}"
                    assert response.headers["Location"].startswith(page)
                    check_done(demo, claim_id, action, before)
                    if action != "comment":
                        claims.moved_on(status)
                    continue
                assert snapshot(demo, claim_id) == before, "a refused action changed the claim"
                if expected == "login":
                    assert response.status_code == 302 and "/login" in response.headers["Location"]
                elif expected == "not found":
                    assert response.status_code == 404
                    assert "Fabrikam" not in response.get_data(as_text=True)
                elif expected == "forbidden":
                    assert response.status_code == 403
                else:
                    assert response.status_code == 302
                    assert response.headers["Location"] == f"/claims/{claim_id}"
                    page = client.get(response.headers["Location"])
                    assert 'class="flash flash-error"' in page.get_data(as_text=True)


# Each action's own rules ---------------------------------------------------------------------


def test_withdraw_closes_a_submitted_claim(demo):
    claim_id = make_claim(demo, "submitted")
    response = sign_in(demo, IAN).post(f"/claims/{claim_id}/withdraw", follow_redirects=True)
    assert "was withdrawn" in text(response)
    claim = claim_row(demo, claim_id)
    assert (claim.status, claim.reason_code, claim.due_on) == ("closed", "withdrawn", None)
    assert "Withdrawn by the partner" in text(response)


def test_disassociate_requires_a_reason(demo):
    claim_id = make_claim(demo, "approved")
    client = sign_in(demo, GINA)
    before = snapshot(demo, claim_id)

    refused = client.post(f"/claims/{claim_id}/disassociate", data={"reason": "   "}, follow_redirects=True)

    assert "Give a reason." in text(refused)
    assert snapshot(demo, claim_id) == before

    client.post(f"/claims/{claim_id}/disassociate", data={"reason": "The project ended in June."})

    claim = claim_row(demo, claim_id)
    assert (claim.status, claim.reason_code, claim.reason_message) == ("closed", "disassociated", "The project ended in June.")
    with demo.app_context():
        bodies = list(db.session.scalars(select(Comment.body).where(Comment.claim_id == claim_id)))
    assert bodies == ["The project ended in June."]


@pytest.mark.parametrize("action, status", [("withdraw", "submitted"), ("disassociate", "approved")])
def test_what_closes_a_claim_asks_first_on_a_page_of_its_own(demo, action, status):
    """The claim page offers withdraw and disassociate last, as links to a page that says what
    happens and holds the form (CSRF token, the POST URL the claim page used to post to), with
    Cancel back to the claim; opening it changes nothing."""
    claim_id = make_claim(demo, status)
    client = sign_in(demo, GINA)
    before = snapshot(demo, claim_id)
    html = client.get(f"/claims/{claim_id}").get_data(as_text=True)

    assert f'action="/claims/{claim_id}/{action}"' not in html  # no button that acts at once
    quiet = html.index('class="quiet-actions"')
    link = html.index(f'href="/claims/{claim_id}/confirm-{action}"')
    assert quiet < link and html.index('id="actions-heading"') < quiet
    for earlier in ('action="/claims/%d/resubmit"' % claim_id, 'action="/claims/%d/dispute"' % claim_id):
        assert earlier not in html or html.index(earlier) < quiet

    asked = client.get(f"/claims/{claim_id}/confirm-{action}")
    body = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert f'<form method="post" action="/claims/{claim_id}/{action}"' in body
    assert 'name="csrf_token"' in body
    assert f'<a href="/claims/{claim_id}">Cancel</a>' in body
    assert "This cannot be undone" in text(asked)
    assert snapshot(demo, claim_id) == before


@pytest.mark.parametrize("role, expected", [("billing_admin", 403), ("other_org_admin", 404), ("reviewer", 403)])
def test_who_else_opens_the_page_that_asks(demo, role, expected):
    claim_id = make_claim(demo, "submitted")
    email, _ = ROLES[role]
    assert sign_in(demo, email).get(f"/claims/{claim_id}/confirm-withdraw").status_code == expected


def test_the_page_that_asks_sends_back_to_the_claim_once_the_action_is_gone(demo):
    claim_id = make_claim(demo, "approved")
    client = sign_in(demo, GINA)
    response = client.get(f"/claims/{claim_id}/confirm-withdraw")
    assert response.status_code == 302 and response.headers["Location"] == f"/claims/{claim_id}"
    assert "that action is no longer possible" in text(client.get(f"/claims/{claim_id}"))


def test_disassociate_without_a_reason_says_so_beside_the_reason(demo):
    claim_id = make_claim(demo, "approved")
    client = sign_in(demo, GINA)
    before = snapshot(demo, claim_id)

    refused = client.post(f"/claims/{claim_id}/disassociate", data={"reason": "  "})

    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'aria-describedby="confirm-reason-hint confirm-reason-error"' in body and 'aria-invalid="true"' in body
    assert '<small id="confirm-reason-error" class="error-message">Give a reason.</small>' in body
    assert '<a href="#confirm-reason">Give a reason.</a>' in body  # the error summary
    assert snapshot(demo, claim_id) == before


def test_delete_draft_asks_first_and_cancel_goes_back_to_the_draft(demo):
    client = sign_in(demo, GINA)
    claim_id = Walker(client).new()
    step = client.get(f"/claims/{claim_id}/wizard/customer").get_data(as_text=True)
    assert f'action="/claims/{claim_id}/delete"' not in step
    assert f'<a href="/claims/{claim_id}/confirm-delete" class="destructive">Delete draft</a>' in step
    assert step.index('class="wizard-actions"') < step.index("confirm-delete")

    asked = client.get(f"/claims/{claim_id}/confirm-delete").get_data(as_text=True)
    assert f'<form method="post" action="/claims/{claim_id}/delete"' in asked
    assert f'<a href="/claims/{claim_id}/resume">Cancel</a>' in asked
    assert sign_in(demo, IAN).get(f"/claims/{claim_id}/confirm-delete").status_code == 404
    assert claim_row(demo, claim_id) is not None


def test_resubmit_moves_to_under_review_and_posts_the_reply_in_the_thread(demo):
    claim_id = make_claim(demo, "partner_action_required")
    client = sign_in(demo, BEA)

    response = client.post(f"/claims/{claim_id}/resubmit", data={"reply": "Signed PoE attached.\nSee page 2."},
                           follow_redirects=True)

    page = text(response)
    assert "was resubmitted to the reviewer" in page
    assert "Status: Under review" in page
    assert "Signed PoE attached.\nSee page 2." in page
    claim = claim_row(demo, claim_id)
    assert claim.status == "under_review"
    assert claim.due_on == lifecycle.due_on_for("under_review", claim.status_changed_at, demo.config["HOLIDAYS"])
    with demo.app_context():
        comment = db.session.scalars(select(Comment).where(Comment.claim_id == claim_id)).one()
        assert (comment.kind, comment.body) == ("reply", "Signed PoE attached.\nSee page 2.")


def files_of(app, claim_id):
    with app.app_context():
        return list(db.session.scalars(select(ClaimFile.filename).where(ClaimFile.claim_id == claim_id).order_by(ClaimFile.id)))


def stored_files(app) -> set[str]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return {p.name for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_dispute_with_a_justification(demo):
    claim_id = make_claim(demo, "rejected")
    response = sign_in(demo, BEA).post(f"/claims/{claim_id}/dispute", data={"justification": "The customer's CIO signed it."},
                                       follow_redirects=True)
    assert "Your dispute was sent" in text(response)
    claim = claim_row(demo, claim_id)
    assert (claim.status, claim.dispute_used) == ("disputed", True)
    with demo.app_context():
        comment = db.session.scalars(select(Comment).where(Comment.claim_id == claim_id)).one()
        assert (comment.kind, comment.body) == ("dispute", "The customer's CIO signed it.")


def test_dispute_with_a_new_proof_of_execution_only(demo):
    claim_id = make_claim(demo, "rejected")
    kept = stored_files(demo)

    sign_in(demo, GINA).post(f"/claims/{claim_id}/dispute", data=upload_data(("signed-poe.pdf", PDF), justification=""),
                             content_type="multipart/form-data")

    assert claim_row(demo, claim_id).status == "disputed"
    assert files_of(demo, claim_id) == ["proof.pdf", "signed-poe.pdf"]
    assert len(stored_files(demo) - kept) == 1
    with demo.app_context():
        kinds = [e.kind for e in db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(ClaimEvent.id))]
    assert kinds[-3:] == ["upload", "status", "comment"]


def test_dispute_with_both(demo):
    claim_id = make_claim(demo, "rejected")
    sign_in(demo, GINA).post(f"/claims/{claim_id}/dispute",
                             data=upload_data(("signed-poe.pdf", PDF), justification="Signed PoE attached."),
                             content_type="multipart/form-data")
    assert claim_row(demo, claim_id).status == "disputed"
    assert files_of(demo, claim_id) == ["proof.pdf", "signed-poe.pdf"]


def test_dispute_needs_a_justification_or_a_file(demo):
    claim_id = make_claim(demo, "rejected")
    before = snapshot(demo, claim_id)
    response = sign_in(demo, GINA).post(f"/claims/{claim_id}/dispute", data={"justification": "  "}, follow_redirects=True)
    assert "Give a justification or add new proof of execution" in text(response)
    assert snapshot(demo, claim_id) == before


@pytest.mark.parametrize("files", [[("signed-poe.pdf", EXECUTABLE)], [("good.pdf", PDF), ("signed-poe.pdf", EXECUTABLE)]],
                         ids=["renamed exe", "a good file and a renamed exe"])
def test_a_renamed_executable_is_refused_and_nothing_changes(demo, files):
    claim_id = make_claim(demo, "rejected")
    before, kept = snapshot(demo, claim_id), stored_files(demo)

    response = sign_in(demo, GINA).post(f"/claims/{claim_id}/dispute",
                                        data=upload_data(*files, justification="See the new PoE."),
                                        content_type="multipart/form-data", follow_redirects=True)

    assert "signed-poe.pdf was not added" in text(response)
    assert "checked by its content, not its name" in text(response)
    assert snapshot(demo, claim_id) == before
    assert stored_files(demo) == kept


def test_a_claim_is_disputed_once_only(demo):
    claim_id = make_claim(demo, "disputed")
    with demo.test_request_context():
        claim = db.session.get(Claim, claim_id)
        move(claim, "lose_arbitration")  # rejected again, after its dispute
        db.session.commit()
    client = sign_in(demo, GINA)
    page = text(client.get(f"/claims/{claim_id}"))
    assert "Status: Rejected" in page
    assert "Dispute the rejection" not in page
    before = snapshot(demo, claim_id)

    response = client.post(f"/claims/{claim_id}/dispute", data={"justification": "Once more."}, follow_redirects=True)

    assert "can be disputed only once" in text(response)
    assert snapshot(demo, claim_id) == before


def test_the_dispute_window_is_thirty_days(demo):
    claim_id = make_claim(demo, "rejected", now=utcnow() - timedelta(days=31))
    client = sign_in(demo, GINA)

    response = client.post(f"/claims/{claim_id}/dispute", data={"justification": "Late."}, follow_redirects=True)

    page = text(response)
    assert "Status: Closed" in page
    assert "Not disputed within 30 days" in page
    claim = claim_row(demo, claim_id)
    assert (claim.status, claim.reason_code, claim.dispute_used) == ("closed", "dispute_window_closed", False)


def test_edit_with_a_bad_email_is_refused_beside_the_field(demo):
    claim_id = make_claim(demo, "partner_action_required")
    before = snapshot(demo, claim_id)
    form = edit_form(customer_email="dana at customer")

    response = sign_in(demo, GINA).post(f"/claims/{claim_id}/edit", data=form)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    message = re.search(r'<small id="customer_email-error" class="error-message">([^<]*)</small>', body)
    assert message and "Enter an email address in the right format" in message.group(1)
    field = re.search(r'<input[^>]*\bid="customer_email"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in field and "customer_email-error" in field
    assert "There is a problem" in text(response)
    assert 'value="dana at customer"' in body
    assert snapshot(demo, claim_id) == before


def test_edit_writes_a_history_entry_naming_the_fields(demo):
    claim_id = make_claim(demo, "partner_action_required")
    client = sign_in(demo, GINA)
    form = edit_form()

    response = client.post(f"/claims/{claim_id}/edit", data=form)

    assert response.status_code == 302 and response.headers["Location"] == f"/claims/{claim_id}"
    with demo.app_context():
        entry = db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind == "edit")).one()
        fields = set(entry.note.split(", "))
    assert fields == {"mpn", "customer_contact_title", "customer_contact_email", "description", "acknowledged_on"}
    page = text(client.get(f"/claims/{claim_id}"))
    edited = re.search(r"Claim edited: ([^<]*)</li>", page)
    assert edited, "no edit in the history"
    for label in ("MPN ID", "Customer contact title", "Customer contact email", "Description of the work",
                  "Date of the customer's acknowledgement"):
        assert label in edited.group(1), label
    assert "customer_contact" not in page and "acknowledged_on" not in page, "the history shows column names"
    claim = claim_row(demo, claim_id)
    assert claim.status == "partner_action_required"  # editing doesn't resubmit

    client.post(f"/claims/{claim_id}/edit", data=form)  # the same again: nothing changed, no entry
    with demo.app_context():
        assert len(list(db.session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind == "edit")))) == 1


def test_edit_refuses_another_organizations_mpn(demo):
    claim_id = make_claim(demo, "partner_action_required")
    before = snapshot(demo, claim_id)
    response = sign_in(demo, GINA).post(f"/claims/{claim_id}/edit", data=edit_form(mpn="3456789"))
    assert response.status_code == 422
    assert "error-message" in error_slot(response, "mpn")
    assert "London" not in words(response)  # the other organization's MPN is not offered
    assert snapshot(demo, claim_id) == before


def test_edit_changes_only_the_fields_a_reviewer_may_ask_about(demo):
    claim_id = make_claim(demo, "partner_action_required")
    before = claim_row(demo, claim_id)
    sign_in(demo, GINA).post(f"/claims/{claim_id}/edit", data=edit_form(
        tenant_id=NORTHWIND, product="d365-finance", activity="usage", subscription_id="", status="approved",
        solution_area="microsoft_365"))
    after = claim_row(demo, claim_id)
    assert (after.tenant_id, after.product_id, after.activity, after.subscription_id, after.status, after.solution_area) == \
        (before.tenant_id, before.product_id, before.activity, before.subscription_id, before.status, before.solution_area)
    assert after.customer_contact_email == "dana.new@wingtiptoys.com"


def test_the_edit_page_shows_only_in_partner_action_required(demo):
    claim_id = make_claim(demo, "under_review")
    response = sign_in(demo, GINA).get(f"/claims/{claim_id}/edit", follow_redirects=True)
    assert "can be edited only when the reviewer asks for more information" in text(response)


# The claim page ------------------------------------------------------------------------------


#: The buttons of each action on the claim page.
BUTTONS = {
    "withdraw": "Withdraw the claim",
    "disassociate": "Disassociate from this customer",
    "resubmit": "Resubmit the claim",
    "dispute": "Dispute the rejection",
    "edit": "Edit the claim",
}


@pytest.mark.parametrize("role", ["global_admin", "incentives_admin", "billing_admin"])
def test_the_claim_page_offers_exactly_the_actions_allowed(demo, subtests, role):
    email, may = ROLES[role]
    client = sign_in(demo, email)
    claims = ClaimsInEveryStatus(demo)
    for status in STATUSES:
        with subtests.test(status=status):
            page = text(client.get(f"/claims/{claims[status]}"))
            offered = {action for action, button in BUTTONS.items() if button in page}
            assert offered == {a for a in BUTTONS if a in may and status in FOR_STATUS[a]}
            assert ("Post comment" in page) is True


@pytest.mark.parametrize(
    "role, status, location",
    [("referrals_admin", 403, None), ("other_org_admin", 404, None), ("anonymous", 302, "/login"),
     ("reviewer", 302, "/review/claims/")],
)
def test_who_else_opens_the_claim_page(demo, role, status, location):
    claim_id = make_claim(demo, "under_review")
    email, _ = ROLES[role]
    response = (sign_in(demo, email) if email else demo.test_client()).get(f"/claims/{claim_id}")
    assert response.status_code == status
    if location:
        assert location in response.headers["Location"]
    if role == "referrals_admin":
        assert "Gina Martin" in words(response)  # the 403 page names the admins to ask
    assert "What you can do" not in words(response)


@pytest.mark.parametrize(
    "status, next_step, reason",
    [
        ("submitted", "A reviewer starts reviewing your claim within 5 business days, by", None),
        ("under_review", "decides within 5 business days, by", None),
        ("partner_action_required", "Without an answer by then, the claim is rejected (no partner response).",
         "Missing proof of execution, Missing or old dates"),
        ("approved", "Your organization is associated with this customer and product.", None),
        ("rejected", "You can dispute the rejection once, with a justification or new proof of execution, until", "Insufficient proof of execution"),
        ("disputed", "A reviewer reconsiders your claim within 5 business days, by", None),
        ("closed", "This claim is closed. Nothing more happens.", "Withdrawn by the partner"),
    ],
)
def test_the_claim_page_says_what_happens_next_and_by_when(demo, status, next_step, reason):
    claim_id = make_claim(demo, status)
    claim = claim_row(demo, claim_id)
    response = sign_in(demo, BEA).get(f"/claims/{claim_id}")
    page = words(response)

    assert f"Status: {dict(submitted='Submitted', under_review='Under review', partner_action_required='Partner action required', approved='Approved', rejected='Rejected', disputed='Disputed', closed='Closed')[status]}" in page
    assert next_step in page
    if claim.due_on:
        due = format_date(claim.due_on, "medium", locale="en")
        assert f"by {due}" in page or f"until {due}" in page
        assert f"Due: {due}" in page
        assert f'<time datetime="{claim.due_on.isoformat()}">' in response.get_data(as_text=True)
    else:
        assert "Due:" not in page
    assert "Overdue" not in page
    if reason:
        assert f"Reason: {reason}" in page
    else:
        assert "Reason:" not in page


def test_an_overdue_review_shows_as_overdue(demo):
    claim_id = make_claim(demo, "under_review", now=utcnow() - timedelta(days=15))
    page = text(sign_in(demo, GINA).get(f"/claims/{claim_id}"))
    assert "Status: Under review" in page
    assert re.search(r"Due:</strong> <time[^>]*>[^<]+</time>\s*<span class=\"badge badge-overdue\">Overdue</span>", page)


def test_the_claim_page_shows_the_arbitration_notice(demo):
    contoso = make_claim(demo, "under_review", tenant=CONTOSO, activity="presales")
    alone = make_claim(demo, "under_review", tenant=WINGTIP, activity="presales")
    client = sign_in(demo, GINA)

    page = text(client.get(f"/claims/{contoso}"))

    assert claim_row(demo, contoso).in_arbitration
    assert "This claim is in arbitration: another partner has claimed the same customer and product." in page
    assert "Because your claim is in arbitration, the decision may take longer than 5 business days" in page
    assert "in arbitration" not in text(client.get(f"/claims/{alone}"))


# Ended subscriptions -------------------------------------------------------------------------


NEW_SUBSCRIPTION = "5f0c7b9e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"


def end_the_subscription(app, subscription_id, successor=True):
    """The directory learns that the subscription ended and (optionally) that the customer
    bought a new one for the same product."""
    with app.app_context():
        old = db.session.get(Subscription, subscription_id)
        yesterday = utcnow().date() - timedelta(days=1)
        old.status, old.end_date = "expired", yesterday
        if successor:
            db.session.add(Subscription(subscription_id=NEW_SUBSCRIPTION, tenant_id=old.tenant_id, product_id=old.product_id,
                                        channel="volume_licensing", status="active", start_date=yesterday + timedelta(days=1),
                                        end_date=yesterday + timedelta(days=366)))
        db.session.commit()


def test_an_approved_claim_whose_subscription_ended_offers_a_renewal(demo):
    claim_id = make_claim(demo, "approved", activity="usage")
    assert claim_row(demo, claim_id).subscription_id == SUB_WINGTIP_SALES
    end_the_subscription(demo, SUB_WINGTIP_SALES)

    page = text(sign_in(demo, GINA).get(f"/claims/{claim_id}"))

    assert "The subscription this claim was approved for has ended." in page
    assert "File a new claim for the current subscription" in page


def test_without_a_current_subscription_the_notice_has_no_renewal(demo):
    claim_id = make_claim(demo, "approved", activity="usage")
    end_the_subscription(demo, SUB_WINGTIP_SALES, successor=False)

    client = sign_in(demo, GINA)
    page = text(client.get(f"/claims/{claim_id}"))
    assert "The subscription this claim was approved for has ended." in page
    assert "File a new claim for the current subscription" not in page

    response = client.post(f"/claims/{claim_id}/renew", follow_redirects=True)
    assert "The customer has no current subscription for this product yet." in text(response)


def test_a_billing_admin_may_renew_too(demo):
    claim_id = make_claim(demo, "approved", activity="usage")
    end_the_subscription(demo, SUB_WINGTIP_SALES)
    page = text(sign_in(demo, BEA).get(f"/claims/{claim_id}"))
    assert "The subscription this claim was approved for has ended." in page
    assert "File a new claim for the current subscription" in page  # billing admins file claims too


def test_renewing_prefills_a_draft_and_submitting_it_closes_the_old_claim(demo):
    old_id = make_claim(demo, "approved", activity="usage")
    end_the_subscription(demo, SUB_WINGTIP_SALES)
    client = sign_in(demo, GINA)

    response = client.post(f"/claims/{old_id}/renew")

    assert response.status_code == 302
    draft_id = int(re.search(r"/claims/(\d+)/resume", response.headers["Location"]).group(1))
    resumed = client.get(response.headers["Location"])
    assert resumed.headers["Location"].endswith(f"/claims/{draft_id}/wizard/proof")  # all but the proof is prefilled
    with demo.app_context():
        draft = db.session.get(Claim, draft_id)
        assert draft.status == "draft"
        assert draft.draft["product"]["subscription_id"] == [NEW_SUBSCRIPTION]
        assert draft.draft["customer"]["tenant_id"] == [WINGTIP]
        assert draft.draft["activity"]["activity"] == ["usage"]

    walker = Walker(client)
    walker.upload(draft_id, ("renewal-poe.pdf", PDF))
    proof = walker.post(draft_id, "proof", {"description": "Usage reviews since the renewal.",
                                            "acknowledged_on": (date.today() - timedelta(days=2)).isoformat()})
    assert proof.status_code == 302, text(proof)[:2000]
    submitted = walker.submit(draft_id)

    assert submitted.status_code == 302 and submitted.headers["Location"].endswith(f"/claims/{draft_id}"), text(client.get(submitted.headers["Location"]))[:3000]
    new, old = claim_row(demo, draft_id), claim_row(demo, old_id)
    assert (new.status, new.subscription_id) == ("submitted", NEW_SUBSCRIPTION)
    assert (old.status, old.reason_code) == ("closed", "subscription_ended")
    page = text(client.get(f"/claims/{old_id}"))
    assert "Subscription ended: replaced by a new claim" in page
    assert "File a new claim for the current subscription" not in page

"""The reviewer console: the queue, the reviewer's claim page with its decisions, and the
arbitration view. Views parse the request, call ``portal.claims.actions`` (the only way a
status changes), commit once, and redirect."""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal import hx
from portal.accounts.permissions import reviewer_required
from portal.claims import actions, lifecycle, page
from portal.claims.errors import ClaimChanged, ClaimError
from portal.claims.listing import rows
from portal.claims.loader import claim_or_404, deadlines_on_read
from portal.claims.views.claim import thread_context
from portal.extensions import db
from portal.review import services
from portal.review.forms import (
    ApproveDisputeForm,
    ApproveForm,
    ArbitrationForm,
    InformationForm,
    QueueFilterForm,
    RejectDisputeForm,
    RejectForm,
)
from portal.urls import safe_next

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/")
@reviewer_required
@deadlines_on_read
def queue():
    form = QueueFilterForm(formdata=request.args)
    form.clean()
    after = request.args.get("after") or None
    before = None if after else request.args.get("before") or None
    context = {
        "form": form,
        "page": _shown(services.queue(form.filters(current_user.id), after=after, before=before)),
        "today": services.today(),
        "takeable": lifecycle.takeable,
        "filtered": form.query_args(),
        "here": url_for("review.queue", after=after, before=before, **form.query_args()),
        "paged": after is not None or before is not None,
    }
    if hx.wants_fragment():
        # The address bar shows the filters that apply, without the empty ones the form sent.
        return hx.response(render_template("review/_results.html", **context), push_url=context["here"])
    return render_template("review/queue.html", **context)


def _shown(found: services.QueuePage) -> services.QueuePage:
    """The page's rows as the queue shows them (number, link, labels, due date worked out once)."""
    return replace(found, claims=rows.shown(found.claims, "review.claim"))


# The claim page ----------------------------------------------------------------------------


def _decision_forms():
    return {
        "approve": ApproveForm(prefix="approve", formdata=None),
        "reject": RejectForm(prefix="reject", formdata=None),
        "request_information": InformationForm(prefix="info", formdata=None),
        "dispute": ApproveDisputeForm(prefix="dispute", formdata=None),
    }


def _render_claim(claim, forms=None, status=200):
    competing = lifecycle.competitor_exists(claim)  # deciding between them is an arbitration
    context = {
        "claim": claim,
        "overdue": lifecycle.is_overdue(claim.due_on, services.today()),
        "available": lifecycle.reviewer_decisions(claim, competing),
        "can_take": lifecycle.takeable(claim) and claim.reviewer_id != current_user.id,
        "forms": {**_decision_forms(), **(forms or {})},
        "history": page.history(claim.id),
        **thread_context(claim),
        "arbitration_link": claim.in_arbitration or competing,
        "competing": competing,
    }
    return render_template("review/claim.html", **context), status


@bp.get("/claims/<int:claim_id>")
@reviewer_required
def claim(claim_id):
    return _render_claim(claim_or_404(claim_id, for_page=True))


def _decide(claim_id, do, done, form=None, form_key=None):
    """Run one decision: a form that doesn't validate shows the page again with its messages
    (nothing changed); a refusal from the lifecycle is rolled back and flashed."""
    if form is not None and not form.validate_on_submit():
        return _render_claim(claim_or_404(claim_id, for_page=True), {form_key: form}, status=422)
    try:
        changed = do()
    except ClaimChanged as error:
        # Another request moved the claim meanwhile: the page as it stands now, 409.
        db.session.rollback()
        flash(str(error.message), "error")
        return _render_claim(claim_or_404(claim_id, for_page=True), status=409)
    except ClaimError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("review.claim", claim_id=claim_id))
    db.session.commit()
    flash(done(changed), "success")
    return redirect(url_for("review.claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/take")
@reviewer_required
def take(claim_id):
    target = safe_next(request.form.get("next"), url_for("review.claim", claim_id=claim_id))
    try:
        claim = actions.take(current_user, claim_id)
    except ClaimError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(target)
    db.session.commit()
    flash(_("You hold claim %(number)s: the partner's replies and resubmissions will notify you.", number=claim.number), "success")
    return redirect(target)


@bp.post("/claims/<int:claim_id>/start-review")
@reviewer_required
def start_review(claim_id):
    return _decide(
        claim_id,
        lambda: actions.start_review(current_user, claim_id),
        lambda c: _("Review of claim %(number)s started.", number=c.number),
    )


@bp.post("/claims/<int:claim_id>/approve")
@reviewer_required
def approve(claim_id):
    form = ApproveForm(prefix="approve")
    return _decide(
        claim_id,
        lambda: actions.approve(current_user, claim_id, form.message.data),
        lambda c: _("Claim %(number)s is approved.", number=c.number),
        form, "approve",
    )


@bp.post("/claims/<int:claim_id>/reject")
@reviewer_required
def reject(claim_id):
    form = RejectForm(prefix="reject")
    return _decide(
        claim_id,
        lambda: actions.reject(current_user, claim_id, form.reason_code.data, form.message.data),
        lambda c: _("Claim %(number)s is rejected.", number=c.number),
        form, "reject",
    )


@bp.post("/claims/<int:claim_id>/request-information")
@reviewer_required
def request_information(claim_id):
    form = InformationForm(prefix="info")
    return _decide(
        claim_id,
        lambda: actions.request_information(current_user, claim_id, form.reasons.data, form.message.data),
        lambda c: _("Information requested: claim %(number)s now waits for the partner.", number=c.number),
        form, "request_information",
    )


@bp.post("/claims/<int:claim_id>/approve-dispute")
@reviewer_required
def approve_dispute(claim_id):
    form = ApproveDisputeForm(prefix="dispute")
    return _decide(
        claim_id,
        lambda: actions.approve_dispute(current_user, claim_id, form.message.data),
        lambda c: _("The dispute is upheld: claim %(number)s is approved.", number=c.number),
        form, "dispute",
    )


@bp.post("/claims/<int:claim_id>/reject-dispute")
@reviewer_required
def reject_dispute(claim_id):
    form = RejectDisputeForm(prefix="dispute")
    if not form.validate_on_submit():
        # The page's one dispute form keeps its message optional (the approve button shares
        # it), so it shows this form's message rather than requiring one in the browser.
        shown = ApproveDisputeForm(prefix="dispute")
        shown.message.errors = list(form.message.errors)
        return _render_claim(claim_or_404(claim_id, for_page=True), {"dispute": shown}, status=422)
    return _decide(
        claim_id,
        lambda: actions.reject_dispute(current_user, claim_id, form.message.data),
        lambda c: _("The dispute is rejected: claim %(number)s is closed.", number=c.number),
        form, "dispute",
    )


# Arbitration -------------------------------------------------------------------------------


def _contenders(claim):
    return actions.contenders(current_user, claim)


def _render_arbitration(claim, contenders, form, status=200):
    form.winner.choices = [SelectChoice(c.id, c.number) for c in contenders]
    return render_template(
        "review/arbitration.html", claim=claim, contenders=contenders, form=form,
        decidable=len(contenders) > 1,
    ), status


@bp.get("/claims/<int:claim_id>/arbitration")
@reviewer_required
def arbitration(claim_id):
    claim = claim_or_404(claim_id)
    return _render_arbitration(claim, _contenders(claim), ArbitrationForm(formdata=None))


@bp.post("/claims/<int:claim_id>/arbitration")
@reviewer_required
def decide_arbitration(claim_id):
    claim = claim_or_404(claim_id)
    contenders = _contenders(claim)
    form = ArbitrationForm()
    form.winner.choices = [SelectChoice(c.id, c.number) for c in contenders]
    if not form.validate_on_submit():
        return _render_arbitration(claim, contenders, form, status=422)
    try:
        winner = actions.decide_arbitration(current_user, claim_id, form.winner.data, form.message.data)
    except ClaimError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("review.arbitration", claim_id=claim_id))
    db.session.commit()
    flash(_("Arbitration decided: claim %(number)s is approved and the competing claims are rejected.", number=winner.number), "success")
    return redirect(url_for("review.claim", claim_id=winner.id))

"""The claim wizard's pages: one URL per step, the inline check, the submission."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import hx
from portal.accounts.permissions import Permission, permission_required
from portal.claims.errors import ClaimError, DuplicateClaim, StepInvalid
from portal.claims.loader import ClaimNotFound
from portal.claims.rules import activity_choices
from portal.claims.views.blueprint import bp
from portal.claims.views.files import files_context, flash_outcome, flash_upload, take_chosen_files
from portal.claims.wizard import drafts
from portal.claims.wizard.flow import RETURN_TO, STEPS, TITLES, Wizard, previous_step, step_number
from portal.extensions import db

POE_TEMPLATE = "proof-of-execution-template.docx"


def draft_or_404(claim_id, step=None):
    """The user's draft (None once it was submitted: its page is then the claim's)."""
    if step is not None and step not in STEPS:
        raise ClaimNotFound(claim_id)
    try:
        return drafts.draft_for(current_user, claim_id)
    except ClaimError:
        return None


def _step_url(claim, step, returning=False, **args):
    """A step's page; ``returning``: it was opened from the review page's Edit, and goes back to it."""
    if returning and step != RETURN_TO:
        args["return_to"] = RETURN_TO
    return url_for("claims.step", claim_id=claim.id, step=step, **args)


@bp.post("/new")
@permission_required(Permission.FILE_CLAIMS)
def new():
    try:
        claim = drafts.start_draft(current_user)
    except drafts.TooManyDrafts as error:
        db.session.rollback()
        return render_template("errors/generic.html", title=_("Too many new claims"), message=error.message), 429
    db.session.commit()
    return redirect(url_for("claims.step", claim_id=claim.id, step=STEPS[0]))


def _render_step(claim, wizard, step, result=None, status=200, returning=False):
    answers = wizard.answers
    context = {
        "claim": claim,
        "step": step,
        "steps": STEPS,
        "titles": TITLES,
        "number": step_number(step),
        "form": result.form if result else wizard.build(step),
        "wizard": wizard,
        "answers": answers,
        "activity_choices": activity_choices(answers.solution_area),
        "returning": returning,
        **wizard.resolution(step),
        **files_context(claim),
    }
    return render_template("claims/wizard.html", **context), status


@bp.route("/<int:claim_id>/wizard/<step>", methods=["GET", "POST"])
@permission_required(Permission.FILE_CLAIMS)
def step(claim_id, step):
    claim = draft_or_404(claim_id, step)
    if claim is None:
        return redirect(url_for("claims.show", claim_id=claim_id))
    wizard = Wizard(claim, current_user)
    values = request.form if request.method == "POST" else request.args
    returning = values.get("return_to") == RETURN_TO and step != RETURN_TO
    if request.method == "POST":
        if step != "review" and not wizard.save(step, request.form):
            db.session.rollback()
            flash(_("What you typed is longer than this step's fields take, so it was not kept. "
                    "Shorten it and try again."), "error")
            return redirect(_step_url(claim, step, returning))
        action = request.form.get("action")
        if step == "proof":
            # Files chosen on the step go with whichever button sent it (a plain form: no
            # separate upload first), through the same checks and limits as an upload.
            outcome = take_chosen_files(claim.id)
            if action == "upload":
                flash_upload(outcome)
            elif action == "back":
                flash_outcome(outcome)
            wizard.answers.refused_files = outcome.refused
            if action == "upload":
                db.session.commit()
                return redirect(_step_url(claim, step, returning))
        if action == "back":
            db.session.commit()
            back = RETURN_TO if returning else previous_step(step) or step
            return redirect(_step_url(claim, back, returning))
    blocking = wizard.run(step)
    if blocking is not None and blocking != step:
        db.session.commit()
        if request.method == "POST":
            flash(_("An earlier step needs attention first."), "error")
        show = {"show_errors": 1} if wizard.stored(blocking) is not None else {}
        return redirect(_step_url(claim, blocking, returning, **show))
    if request.method == "GET":
        return _render_step(claim, wizard, step, wizard.messages_to_show(step, bool(request.args.get("show_errors"))),
                            returning=returning)
    if step == "review":
        return _submit(claim, wizard)
    result = wizard.validate(step, request.form, interactive=True)
    if not result.valid:
        db.session.commit()  # keep what was typed
        return _render_step(claim, wizard, step, result, status=422, returning=returning)
    going, show_errors = wizard.after(step, returning)
    wizard.apply_to_claim()
    db.session.commit()
    return redirect(_step_url(claim, going, returning, **({"show_errors": 1} if show_errors else {})))


def _submit(claim, wizard):
    attested = bool(wizard.build("review", request.form).attest.data)
    try:
        submitted = drafts.submit(current_user, claim.id, attested=attested)
    except StepInvalid as error:
        db.session.rollback()
        if error.step == "review":
            again = Wizard(claim, current_user)
            again.run()
            return _render_step(claim, again, "review", again.validate("review", request.form), status=422)
        flash(str(error.message), "error")
        return redirect(url_for("claims.step", claim_id=claim.id, step=error.step, show_errors=1))
    except DuplicateClaim as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("claims.step", claim_id=claim.id, step="activity", show_errors=1))
    db.session.commit()
    flash(_("Claim %(number)s was submitted. A reviewer will start reviewing it within 5 business days.", number=submitted.number), "success")
    return redirect(url_for("claims.show", claim_id=submitted.id))


@bp.get("/<int:claim_id>/resume")
@permission_required(Permission.FILE_CLAIMS)
def resume(claim_id):
    """Back to where the user left off: the first step not yet answered or needing attention."""
    claim = draft_or_404(claim_id)
    if claim is None:
        return redirect(url_for("claims.show", claim_id=claim_id))
    step = Wizard(claim, current_user).run() or "review"
    return redirect(url_for("claims.step", claim_id=claim.id, step=step))


@bp.post("/<int:claim_id>/wizard/<step>/check")
@permission_required(Permission.FILE_CLAIMS)
def check(claim_id, step):
    """Inline validation as the user types or leaves a field: saves what was typed and answers
    with the step's error slots (swapped out of band), never the inputs being typed in."""
    claim = draft_or_404(claim_id, step)
    if claim is None or step == "review":
        return hx.response("", 204, reswap="none")
    wizard = Wizard(claim, current_user)
    trigger = hx.trigger_name()
    result, shown = wizard.check(step, request.form, trigger)
    # Rendered before the commit, which would expire the user and the draft to be read again.
    page = render_template(
        "claims/_check.html",
        form=result.form,
        shown=shown,
        trigger=trigger,
        step=step,
        claim=claim,
        answers=wizard.answers,
        wizard=wizard,
        activity_choices=activity_choices(wizard.answers.solution_area),
        **wizard.resolution(step),
    )
    db.session.commit()
    return page


@bp.get("/poe-template.docx")
@permission_required(Permission.FILE_CLAIMS)
def poe_template():
    return send_from_directory(current_app.static_folder, POE_TEMPLATE, as_attachment=True,
                               download_name=POE_TEMPLATE,
                               mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")

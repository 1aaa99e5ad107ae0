"""Claim wizard and claim pages. Views parse the request, call a service, and choose a page
or a fragment; the rules live in services, the wizard and the claim rules."""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import hx
from portal.accounts.forms import EmptyForm
from portal.accounts.permissions import Permission, permission_required
from portal.claims import actions, claim_edit, claim_page, lifecycle, listing
from portal.claims import comments as comment_service
from portal.claims import services, storage
from portal.claims.errors import ClaimError, DuplicateClaim, StepInvalid
from portal.claims.poe_template import poe_template_docx
from portal.claims.rules import activity_choices
from portal.claims.wizard import STEPS, TITLES, Wizard, next_step, previous_step, step_number
from portal.consent.services import consent_label
from portal.extensions import db

bp = Blueprint("claims", __name__, url_prefix="/claims")


@bp.get("/")
@permission_required(Permission.VIEW_CLAIMS)
def index():
    """The claims list; an htmx request from its filter form gets the results only, and the
    URL it pushes loads the same page without htmx."""
    lq = listing.ListQuery.from_args(request.args)
    # Deadlines are true on read: none that passed is shown as pending, to partners or reviewers.
    listing.apply_passed_deadlines(current_user)
    result = listing.page(current_user, lq)
    context = {"page": result, "lq": lq, "mpns": _mpn_choices(), "mpn_typed": current_user.is_reviewer,
               "statuses": list(lifecycle.ClaimStatus)[1:], "activities": list(lifecycle.Activity)}
    if hx.wants_fragment():
        # The address bar shows the tidy URL of this list (no empty filters), which loads
        # the same page without htmx. The MPN ID's message beside its field comes along.
        response = make_response(render_template("claims/_list_results.html", fragment=True, **context))
        return hx.push_url(response, url_for("claims.index", **lq.params()))
    return render_template("claims/list.html", **context)


def _mpn_choices():
    """A partner picks one of its organization's MPN IDs; a reviewer, who may look for any
    organization's, types one (``mpn_typed``)."""
    if current_user.is_reviewer:
        return []
    from portal.accounts.services import organization_mpns

    return [m.mpn_id for m in organization_mpns(current_user.organization_id)]


@bp.get("/export.csv")
@permission_required(Permission.VIEW_CLAIMS)
def export():
    """The filtered list as CSV, streamed in batches, formulas neutralised."""
    import csv
    import io

    from flask import Response, stream_with_context

    lq = listing.ListQuery.from_args(request.args)
    # Deadlines are true on read, in the file as on the page.
    listing.apply_passed_deadlines(current_user)
    user = current_user._get_current_object()
    reviewer = user.is_reviewer
    header = [_("Claim"), _("Status"), _("In arbitration"), _("Customer"), _("Tenant ID"), _("Solution area"),
              _("Product or workload"), _("Activity"), _("MPN ID"), _("Submitted"), _("Due"), _("Customer consent")]
    if reviewer:
        header.insert(1, _("Partner"))

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for n, claim in enumerate(listing.export_rows(user, lq), 1):
            row = [claim.number, lifecycle.status_label(claim.status), _("yes") if claim.in_arbitration else _("no"),
                   claim.tenant.name if claim.tenant else "", claim.tenant_id or "", lifecycle.area_label(claim.solution_area),
                   claim.product.name if claim.product else "", lifecycle.activity_label(claim.activity),
                   claim.mpn.mpn_id if claim.mpn else "", claim.submitted_at.date().isoformat() if claim.submitted_at else "",
                   claim.due_on.isoformat() if claim.due_on else "", consent_label(claim.consent_state)]
            if reviewer:
                row.insert(1, claim.organization.name)
            writer.writerow([listing.neutralise(value) for value in row])
            if n % 200 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=claims.csv"
    response.headers["Cache-Control"] = "private, no-store"
    return response




@bp.errorhandler(ClaimError)
def refused(error):
    """A rule refused what the user asked: nothing was written; say why on the claim's page."""
    db.session.rollback()
    flash(str(error.message), "error")
    claim_id = (request.view_args or {}).get("claim_id")
    return redirect(url_for("claims.show", claim_id=claim_id) if claim_id else url_for("main.home"))


def _draft_or_404(claim_id, for_update=False):
    try:
        return services.draft_for(current_user, claim_id, for_update=for_update)
    except LookupError:
        abort(404)
    except ClaimError:
        return None


def _valid_step(step):
    if step not in STEPS:
        abort(404)


@bp.post("/new")
@permission_required(Permission.FILE_CLAIMS)
def new():
    if not EmptyForm().validate_on_submit():
        abort(400)
    claim = services.create_draft(current_user)
    db.session.commit()
    return redirect(url_for("claims.step", claim_id=claim.id, step=STEPS[0]))


def _render_step(claim, wizard, step, result=None, status=200):
    form = result.form if result else wizard.build(step)
    context = {
        "claim": claim,
        "step": step,
        "steps": STEPS,
        "titles": TITLES,
        "number": step_number(step),
        "form": form,
        "wizard": wizard,
        "answers": wizard.answers,
        "activity_choices": activity_choices(wizard.answers.solution_area),
        "upload_form": EmptyForm(),
        "max_files": _config("UPLOAD_MAX_FILES"),
        "max_bytes": _config("UPLOAD_MAX_BYTES"),
        "competing": step == "review" and _competing(claim, wizard.answers),
    }
    return render_template("claims/wizard.html", **context), status


def _competing(claim, answers):
    from portal.claims.rules import competing_claim_exists

    if answers.tenant is None or answers.product is None:
        return False
    return competing_claim_exists(claim.organization_id, answers.tenant.tenant_id, answers.product.id)


def _config(key):
    from flask import current_app

    return current_app.config[key]


@bp.route("/<int:claim_id>/wizard/<step>", methods=["GET", "POST"])
@permission_required(Permission.FILE_CLAIMS)
def step(claim_id, step):
    _valid_step(step)
    claim = _draft_or_404(claim_id)
    if claim is None:
        return redirect(url_for("claims.show", claim_id=claim_id))
    wizard = Wizard(claim, current_user)
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        if step != "review":
            wizard.save(step, request.form)
        if request.form.get("action") == "back":
            db.session.commit()
            return redirect(url_for("claims.step", claim_id=claim.id, step=previous_step(step) or step))
    blocking = wizard.run(step)
    if blocking is not None and blocking != step:
        db.session.commit()
        if request.method == "POST":
            flash(_("An earlier step needs attention first."), "error")
        show = {"show_errors": 1} if wizard.stored(blocking) is not None else {}
        return redirect(url_for("claims.step", claim_id=claim.id, step=blocking, **show))
    if request.method == "GET":
        stored = wizard.stored(step)
        result = wizard.validate(step) if stored is not None and step != "review" else None
        if result is not None and result.valid:
            result = None  # a valid stored step shows its answers, no messages
        elif result is not None and not request.args.get("show_errors"):
            # Show what was typed, with messages only once the user asked to go on.
            result = None
        return _render_step(claim, wizard, step, result)
    if step == "review":
        return _submit(claim, wizard)
    result = wizard.validate(step, request.form, interactive=True)
    if not result.valid:
        db.session.commit()  # keep what was typed
        return _render_step(claim, wizard, step, result, status=422)
    wizard.apply_to_claim()
    db.session.commit()
    return redirect(url_for("claims.step", claim_id=claim.id, step=next_step(step)))


def _submit(claim, wizard):
    attested = request.form.get("attest") in ("y", "on", "true", "1")
    try:
        submitted = services.submit(current_user, claim.id, attested=attested)
    except StepInvalid as error:
        db.session.rollback()
        if error.step == "review":
            result = Wizard(claim, current_user)
            result.run()
            return _render_step(claim, result, "review", result.validate("review", request.form), status=422)
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
    claim = _draft_or_404(claim_id)
    if claim is None:
        return redirect(url_for("claims.show", claim_id=claim_id))
    step = Wizard(claim, current_user).run() or "review"
    return redirect(url_for("claims.step", claim_id=claim.id, step=step))


@bp.post("/<int:claim_id>/wizard/<step>/check")
@permission_required(Permission.FILE_CLAIMS)
def check(claim_id, step):
    """Inline validation as the user types or leaves a field: saves what was typed and answers
    with the step's error slots (swapped out of band), never the inputs being typed in."""
    _valid_step(step)
    claim = _draft_or_404(claim_id)
    if claim is None or step == "review":
        return hx.reswap(make_response("", 204), "none")
    wizard = Wizard(claim, current_user)
    wizard.save(step, request.form)
    wizard.run(step)
    result = wizard.validate(step, request.form, interactive=True)
    db.session.commit()
    trigger = hx.trigger_name()
    typed = {key for key, values in request.form.lists() if any(v.strip() for v in values)}
    shown = {f.name for f in result.form if f.name == trigger or f.name in typed}
    for f in result.form:
        if f.name not in shown:
            f.errors = []  # untouched fields get no message yet, in slots or re-rendered regions
    return render_template(
        "claims/_check.html",
        form=result.form,
        shown=shown,
        trigger=trigger,
        step=step,
        claim=claim,
        answers=wizard.answers,
        wizard=wizard,
        activity_choices=activity_choices(wizard.answers.solution_area),
    )


def _files_page(claim):
    if claim.status == "draft":
        return url_for("claims.step", claim_id=claim.id, step="proof")
    if claim.status == "rejected":
        return url_for("claims.show", claim_id=claim.id) + "#dispute-heading"
    return url_for("claims.edit", claim_id=claim.id)


def _files_fragment(claim, refused=(), added=()):
    return render_template("claims/_files.html", claim=claim, refused=refused, added=added, upload_form=EmptyForm(),
                           max_files=_config("UPLOAD_MAX_FILES"), max_bytes=_config("UPLOAD_MAX_BYTES"))


@bp.post("/<int:claim_id>/files")
@permission_required(Permission.FILE_CLAIMS)
def upload(claim_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        claim = _visible_or_404(claim_id)
        message = _("Choose at least one file to upload.")
        if hx.wants_fragment():
            return _files_fragment(claim, refused=[(_("No file"), message)])
        flash(message, "error")
        return redirect(_files_page(claim))
    try:
        outcome = services.add_files(current_user, claim_id, uploads)
    except LookupError:
        abort(404)
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        for key in outcome.stored_keys:
            storage.delete(key)
        raise
    claim = _visible_or_404(claim_id)
    if hx.wants_fragment():
        return _files_fragment(claim, outcome.refused, outcome.added)
    for name, reason in outcome.refused:
        flash(_("%(name)s was not added: %(reason)s", name=name, reason=reason), "error")
    if outcome.added:
        flash(_("%(count)s file(s) added.", count=len(outcome.added)), "success")
    return redirect(_files_page(claim))


@bp.post("/<int:claim_id>/files/<int:file_id>/delete")
@permission_required(Permission.FILE_CLAIMS)
def remove_file(claim_id, file_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        key = services.remove_file(current_user, claim_id, file_id)
    except LookupError:
        abort(404)
    db.session.commit()
    storage.delete(key)
    claim = _visible_or_404(claim_id)
    if hx.wants_fragment():
        return _files_fragment(claim)
    flash(_("The file was removed."), "success")
    return redirect(_files_page(claim))


@bp.get("/<int:claim_id>/files/<int:file_id>")
@permission_required(Permission.VIEW_CLAIMS)
def download(claim_id, file_id):
    try:
        row = services.file_for_download(current_user, claim_id, file_id)
    except LookupError:
        abort(404)
    response = send_file(storage.open_file(row.storage_key), mimetype=row.content_type, as_attachment=True,
                         download_name=row.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:claim_id>/delete")
@permission_required(Permission.FILE_CLAIMS)
def delete(claim_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        keys = services.delete_draft(current_user, claim_id)
    except LookupError:
        abort(404)
    db.session.commit()
    for key in keys:
        storage.delete(key)
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("main.home"))


@bp.get("/<int:claim_id>")
@permission_required(Permission.VIEW_CLAIMS)
def show(claim_id):
    claim = _visible_or_404(claim_id)
    if claim.status == "draft":
        return redirect(url_for("claims.resume", claim_id=claim.id))
    if current_user.is_reviewer:
        return redirect(url_for("review.claim", claim_id=claim.id))
    if lifecycle.deadline_passed(claim):
        # Deadlines are true on read: apply what passed before showing the claim.
        claim = actions.load(current_user, claim_id)
        db.session.commit()
    page = claim_page.build(current_user, claim)
    return render_template("claims/show.html", claim=claim, page=page, thread=comment_service.thread(claim.id),
                           comment_form=EmptyForm() if comment_service.can_comment(current_user, claim) else None,
                           upload_form=EmptyForm(), max_files=_config("UPLOAD_MAX_FILES"), max_bytes=_config("UPLOAD_MAX_BYTES"),
                           refused=(), added=())


def _act(claim_id, do, success):
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        claim = do()
    except LookupError:
        abort(404)
    db.session.commit()
    flash(success(claim), "success")
    return redirect(url_for("claims.show", claim_id=claim_id))


@bp.post("/<int:claim_id>/withdraw")
@permission_required(Permission.WITHDRAW_CLAIMS)
def withdraw(claim_id):
    return _act(claim_id, lambda: actions.withdraw(current_user, claim_id),
                lambda c: _("Claim %(number)s was withdrawn.", number=c.number))


@bp.post("/<int:claim_id>/disassociate")
@permission_required(Permission.DISASSOCIATE_CLAIMS)
def disassociate(claim_id):
    return _act(claim_id, lambda: actions.disassociate(current_user, claim_id, request.form.get("reason", "")),
                lambda c: _("Your organization is no longer associated with this customer and product."))


@bp.post("/<int:claim_id>/resubmit")
@permission_required(Permission.EDIT_CLAIMS)
def resubmit(claim_id):
    return _act(claim_id, lambda: actions.resubmit(current_user, claim_id, request.form.get("reply")),
                lambda c: _("Claim %(number)s was resubmitted to the reviewer.", number=c.number))


@bp.post("/<int:claim_id>/dispute")
@permission_required(Permission.DISPUTE_CLAIMS)
def dispute(claim_id):
    def do():
        uploads = [f for f in request.files.getlist("files") if f and f.filename]
        stored = []
        try:
            added = 0
            if uploads:
                outcome = services.add_files(current_user, claim_id, uploads)
                stored = outcome.stored_keys
                if outcome.refused:
                    name, reason = outcome.refused[0]
                    raise ClaimError(_("%(name)s was not added: %(reason)s", name=name, reason=reason))
                added = len(outcome.added)
            return actions.dispute(current_user, claim_id, request.form.get("justification"), new_files=added)
        except Exception:
            for key in stored:  # the dispute is rolled back: its files go too
                storage.delete(key)
            raise

    return _act(claim_id, do, lambda c: _("Your dispute was sent. A reviewer reconsiders the claim within 5 business days."))


@bp.route("/<int:claim_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_CLAIMS)
def edit(claim_id):
    """Partner action required: change the fields the reviewer may ask about (MPN ID,
    contacts, proof of execution, description), with the wizard's own forms and rules."""
    try:
        editor = claim_edit.Editor(current_user, claim_id)
    except LookupError:
        abort(404)
    status = 200
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        if editor.save(request.form):
            db.session.commit()
            flash(_("Your changes were saved. Resubmit the claim when it is ready."), "success")
            return redirect(url_for("claims.show", claim_id=claim_id))
        db.session.rollback()
        status = 422
    return render_template("claims/edit.html", claim=editor.claim, editor=editor, forms=editor.forms,
                           upload_form=EmptyForm(), max_files=_config("UPLOAD_MAX_FILES"),
                           max_bytes=_config("UPLOAD_MAX_BYTES"), refused=(), added=()), status


@bp.post("/<int:claim_id>/renew")
@permission_required(Permission.FILE_CLAIMS)
def renew(claim_id):
    """An approved Dynamics claim whose subscription ended: a new draft for the customer's
    current subscription, prefilled from this claim."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        draft = services.renewal_draft(current_user, claim_id)
    except LookupError:
        abort(404)
    db.session.commit()
    return redirect(url_for("claims.resume", claim_id=draft.id))


_TEMPLATE_CACHE: dict[str, bytes] = {}


@bp.get("/poe-template.docx")
@permission_required(Permission.FILE_CLAIMS)
def poe_template():
    data = _TEMPLATE_CACHE.setdefault("docx", poe_template_docx())
    return send_file(
        BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        as_attachment=True,
        download_name="proof-of-execution-template.docx",
    )


# Comments -------------------------------------------------------------------------------


def _visible_or_404(claim_id, for_update=False):
    try:
        return services.visible_claim(current_user, claim_id, for_update=for_update)
    except LookupError:
        abort(404)


@bp.get("/<int:claim_id>/comments")
@permission_required(Permission.VIEW_CLAIMS)
def comments(claim_id):
    """The comments posted after ``after``, appended out of band, and the poller again."""
    claim = _visible_or_404(claim_id)
    if lifecycle.deadline_passed(claim):
        # Deadlines are true on read: an open page learns of one that passed at its next poll.
        claim = actions.load(current_user, claim_id)
        db.session.commit()
    after = request.args.get("after", 0, type=int)
    new = comment_service.thread(claim.id, after)
    last = new[-1].id if new else after
    shown_status = request.args.get("status")
    status_changed = shown_status is not None and shown_status != claim.status
    # A partner's status panel is swapped in; a reviewer is told to reload (see the template).
    page = claim_page.build(current_user, claim) if status_changed and current_user.is_partner else None
    return render_template("claims/_comments_since.html", claim=claim, new=new, last=last, status_changed=status_changed,
                           page=page)


@bp.post("/<int:claim_id>/comments")
@permission_required(Permission.COMMENT)
def comment(claim_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    claim = _visible_or_404(claim_id, for_update=True)
    try:
        comment_service.post(current_user, claim, request.form.get("body", ""))
    except ClaimError as error:
        db.session.rollback()
        if hx.wants_fragment():
            return render_template("claims/_comment_error.html", message=error.message), 422
        flash(str(error.message), "error")
        return redirect(_claim_url(claim))
    db.session.commit()
    if hx.wants_fragment():
        # The poller brings the new comment, to the author as to everyone else.
        return hx.trigger(make_response(render_template("claims/_comment_error.html", message=None)), "comments-changed")
    return redirect(_claim_url(claim) + "#thread-heading")


def _claim_url(claim):
    if current_user.is_reviewer:
        return url_for("review.claim", claim_id=claim.id)
    return url_for("claims.show", claim_id=claim.id)

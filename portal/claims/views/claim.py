"""A submitted claim's page, what a partner does to it, and its comment thread."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import hx
from portal.accounts.permissions import Permission, permission_required
from portal.claims import actions, comments, lifecycle, page
from portal.claims.base import ClaimStatus
from portal.claims.errors import ClaimChanged, ClaimError, FilesRefused
from portal.claims.forms import CommentForm, DisassociateForm, DisputeForm, ResubmitForm
from portal.claims.loader import ClaimNotFound, claim_or_404, glance
from portal.claims.views.blueprint import bp
from portal.claims.views.files import files_context, flash_outcome, flash_upload, take_chosen_files
from portal.claims.views.wizard import draft_or_404
from portal.claims.wizard import drafts
from portal.claims.wizard.edit import Editor
from portal.extensions import db
from portal.request_guard import id_arg
from portal.timeutil import utcnow


# What destroys something is asked on a page of its own first (GET): it says what happens, and
# holds the POST form (CSRF) and a Cancel link back to where the user came from. No JavaScript
# needed; the POST views (their own URLs: a GET and a POST on one path would answer 405,
# not 404, to an id out of range) are the ones that act, with their own checks.


@bp.get("/<int:claim_id>/confirm-delete")
@permission_required(Permission.FILE_CLAIMS)
def confirm_delete(claim_id):
    claim = draft_or_404(claim_id)
    if claim is None:
        return redirect(url_for("claims.show", claim_id=claim_id))
    back = url_for("main.home") if request.args.get("from") == "home" else url_for("claims.resume", claim_id=claim.id)
    return render_template("claims/confirm.html", claim=claim, action="delete", cancel_url=back)


def _offered(claim_id, action):
    """The claim, when its page offers ``action`` to the user now; None otherwise."""
    claim = claim_or_404(claim_id, for_page=True)
    return claim if action in lifecycle.partner_actions(current_user, claim, utcnow().date()) else None


def _confirm_page(claim, action, status=200, **context):
    return render_template("claims/confirm.html", claim=claim, action=action,
                           cancel_url=url_for("claims.show", claim_id=claim.id), **context), status


def _confirm_action(claim_id, action, **context):
    """The page that asks before a partner action on a submitted claim; the claim's page, with
    a message, when the action is no longer on offer (the claim moved on)."""
    claim = _offered(claim_id, action)
    if claim is None:
        flash(_("This claim has changed: that action is no longer possible."), "error")
        return redirect(url_for("claims.show", claim_id=claim_id))
    return _confirm_page(claim, action, **context)


@bp.get("/<int:claim_id>/confirm-withdraw")
@permission_required(Permission.WITHDRAW_CLAIMS)
def confirm_withdraw(claim_id):
    return _confirm_action(claim_id, "withdraw")


@bp.get("/<int:claim_id>/confirm-disassociate")
@permission_required(Permission.DISASSOCIATE_CLAIMS)
def confirm_disassociate(claim_id):
    return _confirm_action(claim_id, "disassociate", reason="", error=None)


@bp.post("/<int:claim_id>/delete")
@permission_required(Permission.FILE_CLAIMS)
def delete(claim_id):
    drafts.delete_draft(current_user, claim_id)
    db.session.commit()
    flash(_("The draft was deleted."), "success")
    return redirect(url_for("main.home"))


def thread_context(claim) -> dict:
    """The thread a claim's page shows: its latest comments (all with ``?comments=all``, the
    page "Show earlier comments" opens without JavaScript) and the form to post one, for
    those who may comment."""
    if request.args.get("comments") == "all":
        shown = comments.ThreadPage(comments.thread(claim.id), earlier=False)
    else:
        shown = comments.latest(claim.id)
    return {"thread": shown.comments, "earlier": shown.earlier,
            "comment_form": CommentForm(formdata=None) if comments.can_comment(current_user, claim) else None}


@bp.get("/<int:claim_id>")
@permission_required(Permission.VIEW_CLAIMS)
def show(claim_id):
    claim = claim_or_404(claim_id, for_page=True)
    if claim.status == ClaimStatus.DRAFT:
        return redirect(url_for("claims.resume", claim_id=claim.id))
    if current_user.is_reviewer:
        return redirect(url_for("review.claim", claim_id=claim.id, **request.args))
    return _page(claim)


def _page(claim, status=200, dispute_form=None):
    """The claim's page; ``dispute_form``: the dispute shown again with what was typed (and why
    files sent with it were refused)."""
    return render_template("claims/show.html", page=page.build(current_user, claim), dispute_form=dispute_form,
                           **thread_context(claim), **files_context(claim)), status


@bp.errorhandler(ClaimChanged)
def changed(error):
    """Another request moved the claim while this one acted: nothing of this one was written;
    the claim's page as it stands now, with the message, answered 409."""
    db.session.rollback()
    flash(str(error.message), "error")
    return _page(claim_or_404(error.claim_id, for_page=True), 409)


def _act(claim_id, do, success):
    claim = do()
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
    """A refusal (no reason given) is said on the page that asked, beside the reason."""
    form = DisassociateForm()
    try:
        actions.disassociate(current_user, claim_id, form.reason.data)
    except ClaimChanged:
        raise
    except ClaimError as error:
        db.session.rollback()
        claim = _offered(claim_id, "disassociate")
        if claim is None:
            raise  # not possible at all now: said on the claim's page (the blueprint's handler)
        return _confirm_page(claim, "disassociate", 422, reason=form.reason.data or "", error=error.message)
    db.session.commit()
    flash(_("Your organization is no longer associated with this customer and product."), "success")
    return redirect(url_for("claims.show", claim_id=claim_id))


@bp.post("/<int:claim_id>/resubmit")
@permission_required(Permission.EDIT_CLAIMS)
def resubmit(claim_id):
    form = ResubmitForm()
    return _act(claim_id, lambda: actions.resubmit(current_user, claim_id, form.reply.data),
                lambda c: _("Claim %(number)s was resubmitted to the reviewer.", number=c.number))


@bp.post("/<int:claim_id>/dispute")
@permission_required(Permission.DISPUTE_CLAIMS)
def dispute(claim_id):
    form = DisputeForm()
    if request.form.get("action") == "upload":  # the Upload button, without JavaScript
        flash_upload(take_chosen_files(claim_id))
        db.session.commit()
        return _page(claim_or_404(claim_id, for_page=True), dispute_form=form)
    try:
        return _act(claim_id, lambda: actions.dispute(current_user, claim_id, form.justification.data, form.uploads()),
                    lambda c: _("Your dispute was sent. A reviewer reconsiders the claim within 5 business days."))
    except FilesRefused as error:
        db.session.rollback()
        form.files.errors = [_("%(name)s was not added: %(reason)s", name=name, reason=reason) for name, reason in error.refused]
        return _page(claim_or_404(claim_id, for_page=True), 422, form)


@bp.route("/<int:claim_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_CLAIMS)
def edit(claim_id):
    """Partner action required: change the fields the reviewer may ask about (MPN ID,
    contacts, proof of execution, description), with the wizard's own forms and rules."""
    editor = Editor(current_user, claim_id)
    status = 200
    if request.method == "POST":
        # Files chosen go with whichever button sent the form, kept even when the fields are not.
        outcome = take_chosen_files(claim_id)
        if request.form.get("action") == "upload":  # the Upload button, without JavaScript
            flash_upload(outcome)
            editor.keep(request.form)
        elif editor.save(request.form, outcome.refused):
            db.session.commit()
            flash(_("Your changes were saved. Resubmit the claim when it is ready."), "success")
            flash_outcome(outcome)
            return redirect(url_for("claims.show", claim_id=claim_id))
        else:
            status = 422
        if outcome.added:
            db.session.commit()  # the files added; a refused form wrote nothing else
        else:
            db.session.rollback()
    return render_template("claims/edit.html", editor=editor, forms=editor.forms, **files_context(editor.claim)), status


@bp.post("/<int:claim_id>/renew")
@permission_required(Permission.FILE_CLAIMS)
def renew(claim_id):
    """An approved Dynamics claim whose subscription ended: a new draft for the customer's
    current subscription, prefilled from this claim."""
    draft = drafts.renewal_draft(current_user, claim_id)
    db.session.commit()
    return redirect(url_for("claims.resume", claim_id=draft.id))


# Comments -------------------------------------------------------------------------------


@bp.get("/<int:claim_id>/comments", endpoint="comments")
@permission_required(Permission.VIEW_CLAIMS)
def poll_comments(claim_id):
    """The comments posted after ``after``, appended out of band, and the poller again. An open
    page learns of a deadline that passed at its next poll. Nothing new costs one indexed
    query and answers with no content (204), or stops the polling (286) once the claim is
    closed."""
    after = id_arg("after") or 0
    shown_status = request.args.get("status")
    try:
        seen = glance(current_user, claim_id)
    except ClaimNotFound:
        abort(404)
    if seen.last_comment_id <= after and shown_status in (None, seen.status) and not lifecycle.deadline_passed(seen):
        return hx.response("", 286 if seen.status == ClaimStatus.CLOSED else 204)
    claim = claim_or_404(claim_id)
    new = comments.thread(claim.id, after)
    last = new[-1].id if new else after
    status_changed = shown_status is not None and shown_status != claim.status
    # A partner's status panel is swapped in; a reviewer is told to reload (see the template).
    claim_page = page.build(current_user, claim) if status_changed and current_user.is_partner else None
    return render_template("claims/_comments_since.html", new=new, last=last, status_changed=status_changed,
                           page=claim_page, **files_context(claim))


@bp.get("/<int:claim_id>/comments/earlier")
@permission_required(Permission.VIEW_CLAIMS)
def earlier_comments(claim_id):
    """The comments before ``before``, for "Show earlier comments"."""
    claim = claim_or_404(claim_id)
    before = id_arg("before")
    if not hx.wants_fragment() or before is None:
        return redirect(_claim_url(claim, comments="all") + "#thread-heading")
    shown = comments.latest(claim.id, before_id=before)
    return render_template("claims/_comments_before.html", claim=claim, thread=shown.comments, earlier=shown.earlier)


@bp.post("/<int:claim_id>/comments")
@permission_required(Permission.COMMENT)
def comment(claim_id):
    """Post a comment; a form sent again (same one-time key) shows the comment it added.
    The answer is made before the commit: after it, nothing is read from the database, so a
    connection lost right after the commit cannot turn a saved comment into an error page."""
    claim = claim_or_404(claim_id, for_update=True)
    form = CommentForm()
    try:
        _comment, added = comments.post_once(current_user, claim, form.body.data, nonce=form.nonce.data)
    except ClaimError as error:
        db.session.rollback()
        if hx.wants_fragment():
            return render_template("claims/_comment_error.html", message=error.message), 422
        flash(str(error.message), "error")
        return redirect(_claim_url(claim))
    if hx.wants_fragment():
        # The poller brings the new comment, to the author as to everyone else; the form gets
        # a fresh one-time key for the next comment.
        answer = hx.response(render_template("claims/_comment_error.html", message=None, nonce=comments.new_nonce()),
                             trigger="comments-changed")
    else:
        answer = redirect(_claim_url(claim) + "#thread-heading")
    db.session.commit()
    if not added and not hx.wants_fragment():
        flash(_("Your comment was already posted."), "info")
    return answer


def _claim_url(claim, **args):
    if current_user.is_reviewer:
        return url_for("review.claim", claim_id=claim.id, **args)
    return url_for("claims.show", claim_id=claim.id, **args)

"""Proof-of-execution files: upload, remove, download. Stored bytes follow the transaction
(``files.storage``), so nothing here cleans up after a failure."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal import hx
from portal.accounts.permissions import Permission, permission_required
from portal.claims.base import ClaimStatus
from portal.claims.files import kinds, service, storage
from portal.claims.forms import UploadForm
from portal.claims.loader import claim_or_404
from portal.claims.views.blueprint import bp
from portal.extensions import db


def upload_limits() -> dict:
    return {"max_files": current_app.config["UPLOAD_MAX_FILES"], "max_bytes": current_app.config["UPLOAD_MAX_BYTES"]}


#: The form a claim's file chooser belongs to (its ``form`` attribute), by the claim's status:
#: whatever sends that form takes the files chosen and not uploaded yet.
CHOOSER_FORMS = {ClaimStatus.DRAFT: "step-form", ClaimStatus.PARTNER_ACTION_REQUIRED: "edit-form",
                 ClaimStatus.REJECTED: "dispute-form"}


def files_context(claim, refused=(), added=()) -> dict:
    """What ``claims/_files.html`` needs: the claim's files, what an upload did, the limits
    and the form its chooser belongs to."""
    return {"claim": claim, "refused": refused, "added": added, "bound_form": CHOOSER_FORMS.get(claim.status),
            **upload_limits()}


def take_chosen_files(claim_id: int) -> service.UploadOutcome:
    """The files sent with a form (its chooser), through the same checks and limits as an upload."""
    uploads = UploadForm().uploads()
    if not uploads:
        return service.UploadOutcome([], [])
    return service.add_files(current_user, claim_id, uploads)


def flash_outcome(outcome: service.UploadOutcome) -> None:
    """What a plain (not htmx) upload did, said on the page it goes back to."""
    for name, reason in outcome.refused:
        flash(_("%(name)s was not added: %(reason)s", name=name, reason=reason), "error")
    if outcome.added:
        flash(ngettext("%(num)d file added.", "%(num)d files added.", len(outcome.added)), "success")


def flash_upload(outcome: service.UploadOutcome) -> None:
    """What the Upload button did without JavaScript (it sends the form the chooser belongs to)."""
    if not (outcome.added or outcome.refused):
        flash(_("Choose at least one file to upload."), "error")
    flash_outcome(outcome)


def _files_page(claim):
    """Where a claim's files are changed: the wizard's step, the dispute form, the edit page."""
    if claim.status == ClaimStatus.DRAFT:
        return url_for("claims.step", claim_id=claim.id, step="proof")
    if claim.status == ClaimStatus.REJECTED:
        return url_for("claims.show", claim_id=claim.id) + "#dispute-heading"
    return url_for("claims.edit", claim_id=claim.id)


def _files_fragment(claim, refused=(), added=()):
    return render_template("claims/_files.html", **files_context(claim, refused, added))


@bp.post("/<int:claim_id>/files")
@permission_required(Permission.FILE_CLAIMS)
def upload(claim_id):
    uploads = UploadForm().uploads()
    if not uploads:
        claim = claim_or_404(claim_id)
        message = _("Choose at least one file to upload.")
        if hx.wants_fragment():
            return _files_fragment(claim, refused=[(_("No file"), message)])
        flash(message, "error")
        return redirect(_files_page(claim))
    outcome = service.add_files(current_user, claim_id, uploads)
    db.session.commit()
    claim = claim_or_404(claim_id)
    if hx.wants_fragment():
        return _files_fragment(claim, outcome.refused, outcome.added)
    flash_outcome(outcome)
    return redirect(_files_page(claim))


@bp.post("/<int:claim_id>/files/<int:file_id>/delete")
@permission_required(Permission.FILE_CLAIMS)
def remove_file(claim_id, file_id):
    service.remove_file(current_user, claim_id, file_id)
    db.session.commit()
    claim = claim_or_404(claim_id)
    if hx.wants_fragment():
        return _files_fragment(claim)
    flash(_("The file was removed."), "success")
    return redirect(_files_page(claim))


@bp.get("/<int:claim_id>/files/<int:file_id>")
@permission_required(Permission.VIEW_CLAIMS)
def download(claim_id, file_id):
    row = service.file_for_download(current_user, claim_id, file_id)
    kind = kinds.FileKind(row.kind)
    # Served as what the content is, whatever it was called: the kind's extension and type
    # (files uploaded before names followed the kind are renamed here), never sniffed, never
    # shown in the browser.
    response = send_file(storage.open_file(row.storage_key), mimetype=kinds.CONTENT_TYPES[kind], as_attachment=True,
                         download_name=kinds.download_name(row.filename, kind))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

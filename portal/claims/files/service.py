"""What a claim's proof of execution may hold, and who may change it when: uploads checked by
content, size and count, removal, and the file a user may download. Stored bytes follow the
transaction (``storage``): nothing is left behind by a change that fails."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.accounts.permissions import Permission, require
from portal.claims import lifecycle
from portal.claims.base import ClaimStatus
from portal.claims.errors import ClaimError
from portal.claims.files import kinds, storage
from portal.claims.labels import status_label
from portal.claims.loader import ClaimNotFound, visible_claim
from portal.claims.models import Claim, ClaimEvent, ClaimFile
from portal.claims.wizard.drafts import draft_for
from portal.extensions import db
from portal.i18n import filesize
from portal.timeutil import utcnow



#: What the user reads for each reason a file's content is refused.
REFUSALS = {
    kinds.Refusal.EMPTY: _l("The file is empty."),
    kinds.Refusal.UNKNOWN: _l("This file isn't a PDF, DOCX, XLSX, PNG, JPEG, MSG or EML file (checked by its content, not its name)."),
    kinds.Refusal.OLD_OFFICE: _l("This is an older Office file (such as a DOC or XLS), which can't be accepted. Save it as a DOCX, an XLSX or a PDF and upload that."),
    kinds.Refusal.MACROS: _l("This Office document contains macros or is set up to run them, which can't be accepted. Save it as a plain DOCX or XLSX, or as a PDF, and upload that."),
    kinds.Refusal.ARCHIVE_TOO_LARGE: _l("This document would unpack to far more than a real document does (more than %(size)s, or %(ratio)s times its own size). Save it again, or as a PDF, and upload that."),
    kinds.Refusal.ARCHIVE_TOO_MANY_ENTRIES: _l("This document holds more than %(count)s parts, far more than a real document does. Save it again, or as a PDF, and upload that."),
}


def refusal_message(reason: kinds.Refusal) -> str:
    return str(REFUSALS[reason] % {"size": filesize(kinds.MAX_UNCOMPRESSED_BYTES),
                                   "ratio": kinds.MAX_COMPRESSION_RATIO, "count": kinds.MAX_ZIP_ENTRIES})


@dataclass
class UploadOutcome:
    added: list[ClaimFile]
    refused: list[tuple[str, str]]  # (display name, reason)


def claim_for_files(user, claim_id: int) -> Claim:
    """A claim whose proof of execution the user may change now: their draft; a claim whose
    reviewer asked for more (edit permission); a rejection being disputed (dispute permission)."""
    claim = visible_claim(user, claim_id, for_update=True)
    if claim.status == ClaimStatus.DRAFT:
        return draft_for(user, claim_id, for_update=True)
    if user.is_reviewer:
        raise ClaimNotFound(claim_id)
    lifecycle.apply_due(claim)
    if claim.status == ClaimStatus.PARTNER_ACTION_REQUIRED:
        require(user, Permission.EDIT_CLAIMS)
        return claim
    if claim.status == ClaimStatus.REJECTED and not claim.dispute_used:
        require(user, Permission.DISPUTE_CLAIMS)
        return claim
    raise ClaimError(_l("Files can't be changed while the claim is %(status)s.", status=status_label(claim.status)))


def add_files(user, claim_id: int, uploads) -> UploadOutcome:
    """Store each uploaded file whose content is an accepted type, within the size and count
    limits; refuse the others one by one with the reason. A file keeps the name it came with
    but the extension of what it is (``invoice.hta`` holding an email is kept as ``invoice.eml``)."""
    claim = claim_for_files(user, claim_id)
    max_bytes = current_app.config["UPLOAD_MAX_BYTES"]
    max_files = current_app.config["UPLOAD_MAX_FILES"]
    outcome = UploadOutcome([], [])
    count = len(claim.files)
    for upload in uploads:
        if not upload or not upload.filename:
            continue
        name = storage.display_name(upload.filename)
        if count >= max_files:
            outcome.refused.append((name, str(_l("A claim can have at most %(n)s files. Remove one to add another.", n=max_files))))
            continue
        size = upload.stream.seek(0, 2)
        upload.stream.seek(0)
        if size > max_bytes:
            outcome.refused.append((name, str(_l("The file is larger than %(size)s.", size=filesize(max_bytes)))))
            continue
        try:
            kind = kinds.identify(upload.stream)
        except kinds.Refused as refused:
            outcome.refused.append((name, refusal_message(refused.reason)))
            continue
        name = kinds.download_name(name, kind)
        try:
            stored = storage.save(upload.stream, max_bytes)
        except storage.FileTooLarge:
            outcome.refused.append((name, str(_l("The file is larger than %(size)s.", size=filesize(max_bytes)))))
            continue
        storage.stored_for(db.session, stored.key)
        row = ClaimFile(
            claim=claim,
            storage_key=stored.key,
            filename=name,
            kind=kind.value,
            content_type=kinds.CONTENT_TYPES[kind],
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by_id=user.id,
        )
        db.session.add(row)
        outcome.added.append(row)
        count += 1
    claim.updated_at = utcnow()
    if claim.status != ClaimStatus.DRAFT and outcome.added:
        db.session.add(ClaimEvent(claim_id=claim.id, actor_id=user.id, kind="upload", action="upload",
                                  note=", ".join(f.filename for f in outcome.added)))
    db.session.flush()
    return outcome


def added_since_decision(user, claim_id: int) -> bool:
    """Whether a file was added since the claim's status last changed (new proof for a dispute)."""
    claim = visible_claim(user, claim_id)
    since = claim.status_changed_at
    return any(since is None or f.created_at >= since for f in claim.files)


def remove_file(user, claim_id: int, file_id: int) -> None:
    claim = claim_for_files(user, claim_id)
    row = next((f for f in claim.files if f.id == file_id), None)
    if row is None:
        raise ClaimNotFound(file_id)
    key = row.storage_key
    claim.files.remove(row)
    if claim.status != ClaimStatus.DRAFT:
        db.session.add(ClaimEvent(claim_id=claim.id, actor_id=user.id, kind="upload", action="remove_file", note=row.filename))
    db.session.flush()
    storage.delete_on_commit(db.session, key)


def file_for_download(user, claim_id: int, file_id: int) -> ClaimFile:
    """A file the user may download (404 otherwise); the view serves it as its kind."""
    claim = visible_claim(user, claim_id)
    row = next((f for f in claim.files if f.id == file_id), None)
    if row is None:
        raise ClaimNotFound(file_id)
    return row

"""One form per action on a submitted claim (microblog's forms): each says what its action takes.
They carry no validators of their own: the services and the lifecycle check every rule and say
what is wrong; CSRFProtect guards every POST, so the forms keep no token either."""
from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import HiddenField, MultipleFileField, TextAreaField

from portal.claims.comments import new_nonce


class _ActionForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already checks every POST


class CommentForm(_ActionForm):
    body = TextAreaField()
    #: One-time key of this form (comments.post_once): a form sent twice adds one comment.
    nonce = HiddenField(default=new_nonce)


class ResubmitForm(_ActionForm):
    reply = TextAreaField()


class DisassociateForm(_ActionForm):
    reason = TextAreaField()


class UploadForm(_ActionForm):
    files = MultipleFileField()

    def uploads(self) -> list[FileStorage]:
        """The files chosen (a browser sends an empty part when none is)."""
        return [f for f in (self.files.data or []) if isinstance(f, FileStorage) and f.filename]


class DisputeForm(UploadForm):
    justification = TextAreaField()



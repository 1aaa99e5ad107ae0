"""Errors the claim rules report: a message for a field, with the advice links the seed asks for."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class FieldError(str):
    """A message attached to a form field. ``support`` adds the Contact support link after it;
    ``link_url``/``link_text`` add a link of its own (to an existing claim, the incentives page).
    Subclassing ``str`` lets WTForms carry it in ``field.errors`` untouched."""

    code: str = ""
    support: bool = False
    link_url: str | None = None
    link_text: str | None = None

    def __new__(cls, message, *, code="", support=False, link_url=None, link_text=None):
        obj = super().__new__(cls, str(message))
        obj.code = code
        obj.support = support
        obj.link_url = link_url
        obj.link_text = str(link_text) if link_text is not None else None
        return obj


class ClaimError(Exception):
    """A claim-level rule refused an action; ``step`` is where the user can fix it."""

    def __init__(self, message, step: str | None = None, link_url: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.step = step
        self.link_url = link_url


class StepInvalid(ClaimError):
    pass


class DuplicateClaim(ClaimError):
    def __init__(self, message, existing_id: int, step: str | None = None, link_url: str | None = None):
        super().__init__(message, step=step, link_url=link_url)
        self.existing_id = existing_id


class FilesRefused(ClaimError):
    """Files sent with an action were refused (``refused``: each one's name and reason), so the
    action was not taken; the form is shown again with what was typed and the reasons."""

    def __init__(self, refused: list[tuple[str, str]]):
        name, reason = refused[0]
        super().__init__(_l("%(name)s was not added: %(reason)s", name=name, reason=reason))
        self.refused = refused


class ClaimChanged(ClaimError):
    """Another request moved the claim while this one was acting on it: nothing of this one is
    written, and the user is shown the claim as it stands now (409)."""

    def __init__(self, claim_id: int, status: str | None = None):
        super().__init__(_l("This claim changed while you were acting; here is where it stands now. "
                            "Nothing you sent was saved."))
        self.claim_id = claim_id
        self.status = status

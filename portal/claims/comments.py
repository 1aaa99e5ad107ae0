"""The comment thread of a claim: between its organization and the reviewers, nobody else."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.permissions import Permission, has_permission
from portal.claims.errors import ClaimError
from portal.claims.base import ClaimStatus
from portal.claims.models import Claim, ClaimEvent, Comment
from portal.claims.signals import comment_posted
from portal.extensions import db

MAX_LENGTH = 5000
#: A comment form's one-time key: what ``new_nonce`` makes (URL-safe base64), at most this long.
NONCE_MAX = 64
_NONCE = re.compile(r"^[A-Za-z0-9_-]+$")
KINDS = ("comment", "information_request", "reply", "dispute", "decision")


def can_comment(user, claim: Claim) -> bool:
    if claim.status == ClaimStatus.DRAFT or not has_permission(user, Permission.COMMENT):
        return False
    return user.is_reviewer or claim.organization_id == user.organization_id


def post(user, claim: Claim, body: str, kind: str = "comment") -> Comment:
    """Add a comment (plain text) to the thread, with its history entry. The caller has
    loaded ``claim`` through a visibility check."""
    comment, _added = post_once(user, claim, body, kind)
    return comment


def new_nonce() -> str:
    """A comment form's one-time key (see ``post_once``)."""
    return secrets.token_urlsafe(24)


def usable_nonce(nonce: str | None) -> str | None:
    """The key when it is one ``new_nonce`` could have made (the API's Idempotency-Key too), else None."""
    return nonce if nonce and len(nonce) <= NONCE_MAX and _NONCE.match(nonce) else None


def post_once(user, claim: Claim, body: str, kind: str = "comment", nonce: str | None = None) -> tuple[Comment, bool]:
    """``post``, idempotent on the form's one-time key ``nonce``: a form sent again (a retry
    after an error page whose request had in fact committed, a resubmitted page, a double
    click) returns the comment it added, and False, instead of adding a copy. Without a
    usable key every post is a new comment."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not can_comment(user, claim):
        raise ClaimError(_l("You can't comment on this claim."))
    nonce = usable_nonce(nonce)
    if nonce is not None:
        existing = _by_nonce(user, claim, nonce)
        if existing is not None:
            return existing, False
    if not body:
        raise ClaimError(_l("Write a comment first."))
    if len(body) > MAX_LENGTH:
        raise ClaimError(_l("A comment can have at most %(n)s characters.", n=MAX_LENGTH))
    if kind not in KINDS:
        raise ValueError(kind)
    comment = Comment(claim_id=claim.id, author_id=user.id, body=body, kind=kind, nonce=nonce)
    try:
        with db.session.begin_nested():
            db.session.add(comment)
    except IntegrityError:
        # The same form, sent twice at once: the other request added it a moment ago.
        existing = _by_nonce(user, claim, nonce) if nonce is not None else None
        if existing is None:
            raise
        return existing, False
    db.session.add(ClaimEvent(claim_id=claim.id, actor_id=user.id, kind="comment", action=kind, note=None))
    db.session.flush()
    comment_posted.send(claim, comment=comment, actor=user)
    return comment, True


def _by_nonce(user, claim: Claim, nonce: str) -> Comment | None:
    found = db.session.scalar(select(Comment).where(Comment.claim_id == claim.id, Comment.nonce == nonce))
    if found is not None and found.author_id != user.id:
        raise ClaimError(_l("This comment form was already used. Reload the page and write your comment again."))
    return found


#: How many of the latest comments a claim page shows before "Show earlier comments".
PAGE_SIZE = 20


def thread(claim_id: int, after_id: int = 0) -> list[Comment]:
    """The comments after ``after_id``, oldest first (what a poll brings)."""
    return list(
        db.session.scalars(
            select(Comment)
            .where(Comment.claim_id == claim_id, Comment.id > after_id)
            .options(joinedload(Comment.author))
            .order_by(Comment.id)
        )
    )


@dataclass
class ThreadPage:
    comments: list[Comment]  # oldest first
    earlier: bool  # older comments exist before the first of these


def latest(claim_id: int, before_id: int | None = None, size: int = PAGE_SIZE) -> ThreadPage:
    """The ``size`` comments before ``before_id`` (the latest ones without it), oldest first,
    read backwards on ix_comments_claim_id_id: a thread of a thousand costs what one of ten does."""
    query = select(Comment).where(Comment.claim_id == claim_id)
    if before_id is not None:
        query = query.where(Comment.id < before_id)
    rows = list(db.session.scalars(query.options(joinedload(Comment.author)).order_by(Comment.id.desc()).limit(size + 1)))
    return ThreadPage(list(reversed(rows[:size])), len(rows) > size)


_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def linkify(text: str) -> Markup:
    """Escape plain text, then turn http(s) links into anchors. Only the escaped text is ever
    emitted, so nothing a user writes can become markup; line breaks are kept by CSS."""
    out = []
    last = 0
    for match in _URL.finditer(text or ""):
        url = match.group(0)
        trail = ""
        while url and url[-1] in _TRAILING:
            trail = url[-1] + trail
            url = url[:-1]
        out.append(escape(text[last:match.start()]))
        out.append(Markup('<a href="{0}" rel="nofollow noopener noreferrer ugc" target="_blank">{0}</a>').format(url))
        out.append(escape(trail))
        last = match.end()
    out.append(escape((text or "")[last:]))
    return Markup("").join(out)

"""The claims blueprint, shared by the view modules, and what it answers when a rule refuses."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from portal.claims.errors import ClaimError
from portal.extensions import db

bp = Blueprint("claims", __name__, url_prefix="/claims")


@bp.errorhandler(ClaimError)
def refused(error):
    """A rule refused what the user asked: nothing was written; say why on the claim's page."""
    db.session.rollback()
    flash(str(error.message), "error")
    claim_id = (request.view_args or {}).get("claim_id")
    return redirect(url_for("claims.show", claim_id=claim_id) if claim_id else url_for("main.home"))

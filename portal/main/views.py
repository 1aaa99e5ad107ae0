from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from portal.accounts.permissions import has_association_access
from portal.claims import lifecycle
from portal.claims.listing import claims as listing
from portal.claims.wizard import drafts
from portal.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    if current_user.is_reviewer:
        return redirect(url_for("review.queue"))
    if not has_association_access(current_user):
        abort(403)
    lifecycle.apply_passed_deadlines(current_user)  # deadlines are true on read
    return render_template(
        "main/home.html",
        drafts=drafts.drafts_of(current_user),
        claims=listing.recent_claims(current_user, limit=10),
        counts=listing.status_counts(current_user),
        needing_action=listing.needing_action(current_user),
    )


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}

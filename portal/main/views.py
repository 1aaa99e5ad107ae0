from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal import operations
from portal.accounts.permissions import has_association_access
from portal.claims import lifecycle
from portal.claims.listing import claims as listing
from portal.claims.listing import rows
from portal.claims.wizard import drafts

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
        claims=rows.shown(listing.recent_claims(current_user, limit=10), "claims.show"),
        counts=listing.status_counts(current_user),
        needing_action=rows.shown(listing.needing_action(current_user), "claims.show"),
    )


@bp.route("/healthz")
def healthz():
    """The process is up and answering; asks nothing of the database, so a database outage
    never has the orchestrator restart every web process."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    """Whether this process can serve now: the database and Redis reachable. A 503 names the
    one that is not, so the balancer stops sending requests here until it is back."""
    ready, checks = operations.readiness()
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return body, 200 if ready else 503, {"Cache-Control": "no-store"}

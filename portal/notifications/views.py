from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import hx
from portal.extensions import db
from portal.notifications import services
from portal.urls import safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index():
    return render_template("notifications/index.html", notifications=services.recent(current_user),
                           message_text=services.message_text)


@bp.get("/badge")
@login_required
def badge():
    return render_template("notifications/_badge.html")


@bp.post("/read")
@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id=None):
    services.mark_read(current_user, notification_id)
    db.session.commit()
    if hx.wants_fragment():
        return hx.response(render_template("notifications/_badge.html", oob=True), trigger="notifications-read")
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")))


@bp.post("/<int:notification_id>/open")
@login_required
def open_claim(notification_id):
    """Follow a notification to its claim, marking it read (a POST: it changes something)."""
    claim_id = services.open_notification(current_user, notification_id)
    if claim_id is None:
        abort(404)
    db.session.commit()
    return redirect(url_for("claims.show", claim_id=claim_id), 303)

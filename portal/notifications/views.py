from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import hx
from portal.accounts.forms import EmptyForm
from portal.extensions import db
from portal.notifications import services
from portal.urls import safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index():
    return render_template("notifications/index.html", notifications=services.recent(current_user),
                           message_text=services.message_text, form=EmptyForm())


@bp.get("/badge")
@login_required
def badge():
    return render_template("notifications/_badge.html")


@bp.post("/read")
@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id=None):
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.mark_read(current_user, notification_id)
    db.session.commit()
    if hx.wants_fragment():
        return hx.trigger(make_response(render_template("notifications/_badge.html", oob=True)), "notifications-read")
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")))

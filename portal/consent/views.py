"""The customer's consent page: no account, only the signed link from the email."""
from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from portal.consent import services
from portal.consent.forms import ConsentForm
from portal.extensions import db, limiter

bp = Blueprint("consent", __name__, url_prefix="/consent")

_STATUS = {"invalid": 404, "expired": 410, "used": 409, "superseded": 409, "closed": 410}


def _refusal(reason):
    messages = {
        "invalid": _("This link isn't valid. Check that you copied the whole address from the email."),
        "expired": _("This link has expired. Ask the partner to send a new request."),
        "used": _("This request has already been answered. Thank you."),
        "superseded": _("This link has been replaced by a newer request. If you are still the customer's contact, use the link in the most recent email."),
        "closed": _("This claim is closed, so your answer is no longer needed. Nothing was recorded. Thank you."),
    }
    return render_template("consent/refused.html", message=messages[reason]), _STATUS[reason]


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def answer(token):
    try:
        claim = services.open_link(token)
    except services.ConsentError as error:
        return _refusal(error.reason)
    if request.method == "GET":
        return render_template("consent/page.html", claim=claim, token=token)
    form = ConsentForm()
    if form.choice is None:
        return render_template("consent/page.html", claim=claim, token=token,
                               error=_("Choose whether you confirm or decline.")), 422
    try:
        claim = services.answer(token, form.choice, form.message.data)
    except services.ConsentError as error:
        db.session.rollback()
        return _refusal(error.reason)
    db.session.commit()
    return render_template("consent/done.html", claim=claim)

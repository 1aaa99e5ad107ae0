"""The "API access" page: a user's personal API tokens."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.permissions import Permission, permission_required
from portal.api import tokens
from portal.api.forms import TokenForm
from portal.extensions import db

bp = Blueprint("api_access", __name__, url_prefix="/account/api-access")


def _page(form, created=None, status=200):
    return render_template("api/access.html", form=form, tokens=tokens.active_tokens(current_user),
                           created=created), status


@bp.get("/")
@permission_required(Permission.USE_API)
def page():
    return _page(TokenForm(formdata=None))


@bp.post("/")
@permission_required(Permission.USE_API)
def create():
    """A new token, its secret shown on this response only (never stored, never flashed)."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            created = tokens.create(current_user, form.name.data, form.scope.data, form.days.data)
        except tokens.TokenError as error:
            db.session.rollback()
            form.name.errors.append(str(error.message))
        else:
            db.session.commit()
            return _page(TokenForm(formdata=None), created=created)
    return _page(form, status=422)


@bp.post("/<int:token_id>/revoke")
@permission_required(Permission.USE_API)
def revoke(token_id):
    try:
        token = tokens.revoke(current_user, token_id)
    except tokens.TokenError:
        abort(404)
    db.session.commit()
    flash(_("The token “%(name)s” was revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for("api_access.page"))

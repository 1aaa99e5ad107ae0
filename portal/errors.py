"""Error pages in the layout. A 403 for a partner lists the organization's admins to contact."""
from flask import Flask, render_template
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from portal.accounts.permissions import PermissionDenied
from portal.accounts.services import organization_admins
from portal.claims.loader import ClaimNotFound
from portal.extensions import db



def _admins_to_contact():
    if not (current_user and current_user.is_authenticated and current_user.is_partner):
        return []
    return organization_admins(current_user.organization_id)


def init_app(app: Flask) -> None:
    def page(template, status, **context):
        return render_template(template, **context), status

    @app.errorhandler(403)
    def forbidden(_error):
        return page("errors/403.html", 403, admins=_admins_to_contact())

    @app.errorhandler(PermissionDenied)
    def permission_denied(_error):
        db.session.rollback()
        return forbidden(_error)

    @app.errorhandler(404)
    def not_found(_error):
        return page("errors/404.html", 404)

    @app.errorhandler(ClaimNotFound)
    def claim_not_found(_error):
        """A claim that doesn't exist or isn't the user's to see: the same 404, nothing written."""
        db.session.rollback()
        return not_found(_error)

    @app.errorhandler(413)
    def too_large(_error):
        return page(
            "errors/generic.html",
            413,
            title=_("The upload is too large"),
            message=_("The files sent together are larger than the server accepts. Send fewer or smaller files."),
        )

    @app.errorhandler(429)
    def too_many(_error):
        return page(
            "errors/generic.html",
            429,
            title=_("Too many attempts"),
            message=_("Too many attempts in a short time. Wait a minute and try again."),
        )

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return page(
            "errors/generic.html",
            400,
            title=_("The form has expired"),
            message=_("The page was open too long or came from elsewhere. Reload the page and try again."),
        )

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return page("errors/500.html", 500)

"""Error pages in the layout. A 403 for a partner lists the organization's admins to contact.

The 404, 500 and 503 pages render without the database: when it cannot be reached, the page is
shown as to a visitor (the signed-in user is not loaded, nothing else is asked of it) with a 503
that says to try again, instead of a bare error from the server."""
import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from flask_wtf.csrf import CSRFError

from portal.accounts.permissions import PermissionDenied
from portal.accounts.services import organization_admins
from portal.claims.files.storage import StorageUnavailable, StoredFileMissing
from portal.claims.loader import ClaimNotFound
from portal import hx
from portal.api import is_api_request, problems
from portal.extensions import db
from portal.operations import database_is_down, mark_database_down
from portal.request_guard import BadInput

log = logging.getLogger(__name__)
#: Retry-After (seconds) on the page shown while the database is unreachable.
RETRY_AFTER = 30


def _unreachable(error: BaseException) -> bool:
    """The database (not the statement) failed: refused, timed out, connection lost."""
    return isinstance(error, (OperationalError, InterfaceError)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )



def _admins_to_contact():
    if not (current_user and current_user.is_authenticated and current_user.is_partner):
        return []
    return organization_admins(current_user.organization_id)


def init_app(app: Flask) -> None:
    def page(template, status, **context):
        if is_api_request():
            return problems.for_status(status), status  # /api/v1 answers problem+json, never a page
        if not database_is_down():
            try:
                return render_template(template, **context), status
            except DBAPIError as error:
                if not _unreachable(error):
                    raise
                mark_database_down()
        return render_template(template, **context), status

    def rollback():
        if not database_is_down():
            try:
                db.session.rollback()
            except DBAPIError:
                mark_database_down()

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error):
        log.error("the database is unavailable: %s", error.__class__.__name__, exc_info=error)
        mark_database_down()
        response, status = page("errors/503.html", 503)
        return response, status, {"Retry-After": str(RETRY_AFTER)}

    @app.errorhandler(503)
    def unavailable(_error):
        response, status = page("errors/503.html", 503)
        return response, status, {"Retry-After": str(RETRY_AFTER)}

    @app.errorhandler(StorageUnavailable)
    def storage_unavailable(error):
        """The file store did not answer: nothing of the change is kept (the transaction rolls
        back, and with it the files stored for it), and the user is asked to try again."""
        log.error("the file storage is unavailable: %s", error)
        rollback()
        response, status = page("errors/503.html", 503)
        return response, status, {"Retry-After": str(RETRY_AFTER)}

    @app.errorhandler(StoredFileMissing)
    def stored_file_missing(error):
        """A file whose row exists but whose content this server cannot find (a folder not
        shared between servers, an object deleted by hand): a 404, logged for the operator."""
        log.error("stored file %s is missing from the storage", error.key)
        rollback()
        return page("errors/404.html", 404)

    @app.errorhandler(403)
    def forbidden(_error):
        return page("errors/403.html", 403, admins=_admins_to_contact())

    @app.errorhandler(PermissionDenied)
    def permission_denied(_error):
        rollback()
        return forbidden(_error)

    @app.errorhandler(404)
    def not_found(_error):
        return page("errors/404.html", 404)

    @app.errorhandler(ClaimNotFound)
    def claim_not_found(_error):
        """A claim that doesn't exist or isn't the user's to see: the same 404, nothing written."""
        rollback()
        return not_found(_error)

    @app.errorhandler(405)
    def method_not_allowed(error):
        if is_api_request():
            return problems.for_status(405)
        return error

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

    @app.errorhandler(BadInput)
    def bad_input(error):
        """Refused before any view ran (``portal.request_guard``): nothing was read or written."""
        rollback()
        if is_api_request():
            return problems.response(400, "unreadable_input")
        messages = {
            "characters": _("What you sent contains a character that can't be saved, such as a NUL or another "
                            "invisible control character (sometimes pasted from another program). Remove it and "
                            "send the form again."),
            "nameless": _("The form sent a part without a name, so it can't be read. Reload the page and send "
                          "the form again."),
            "path": _("The address contains characters that can't be used. Check the address."),
        }
        title, message = _("What you sent can't be read"), messages[error.reason]
        if hx.is_htmx():
            # An inline check or an htmx form: the message at the top of the page, the form kept.
            return hx.response(render_template("errors/_alert.html", title=title, message=message), 422,
                               reswap="none")
        return page("errors/generic.html", 400, title=title, message=message)

    @app.errorhandler(400)
    def bad_request(_error):
        return page("errors/generic.html", 400, title=_("What you sent can't be read"),
                    message=_("The request was incomplete or not in the expected form. Reload the page and try again."))

    @app.errorhandler(500)
    def server_error(_error):
        """The page cannot know whether what was sent was saved (the failure may have come after
        the commit), and says so. When the database itself is what failed, the page is shown
        as to a signed-out visitor (``page`` and ``rollback`` see to it)."""
        rollback()
        return page("errors/500.html", 500)

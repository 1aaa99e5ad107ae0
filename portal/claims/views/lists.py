"""The claims list and its CSV export."""
from __future__ import annotations

from flask import Response, render_template, request, stream_with_context, url_for
from flask_login import current_user

from portal import hx
from portal.accounts.permissions import Permission, permission_required
from portal.accounts.services import organization_mpn_ids
from portal.claims.base import Activity, ClaimStatus
from portal.claims.listing import claims as listing
from portal.claims.listing import rows
from portal.claims.listing.export import csv_chunks
from portal.claims.loader import deadlines_on_read
from portal.claims.views.blueprint import bp


@bp.get("/")
@permission_required(Permission.VIEW_CLAIMS)
@deadlines_on_read
def index():
    """The claims list; an htmx request from its filter form gets the results only, and the
    URL it pushes loads the same page without htmx."""
    lq = listing.ListQuery.from_args(request.args)
    found = listing.row_page(current_user, lq)
    found.claims = rows.shown(found.claims, "claims.show", settled_due=False)
    context = {"page": found, "lq": lq, "mpns": _mpn_choices(),
               "mpn_typed": current_user.is_reviewer, "statuses": list(ClaimStatus)[1:], "activities": list(Activity)}
    if hx.wants_fragment():
        # The address bar shows the tidy URL of this list (no empty filters), which loads
        # the same page without htmx. The MPN ID's message beside its field comes along.
        return hx.response(render_template("claims/_list_results.html", fragment=True, **context),
                           push_url=url_for("claims.index", **lq.params()))
    return render_template("claims/list.html", **context)


def _mpn_choices():
    """A partner picks one of its organization's MPN IDs; a reviewer, who may look for any
    organization's, types one (``mpn_typed``)."""
    if current_user.is_reviewer:
        return []
    return organization_mpn_ids(current_user.organization_id)


@bp.get("/export.csv")
@permission_required(Permission.VIEW_CLAIMS)
@deadlines_on_read
def export():
    """The filtered list as CSV, streamed in batches."""
    lq = listing.ListQuery.from_args(request.args)
    user = current_user._get_current_object()
    response = Response(stream_with_context(csv_chunks(user, lq)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=claims.csv"
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""What every template may use: the permission map, navigation by role, the support link."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, g, request, url_for
from flask_babel import get_locale
from portal.i18n import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.forms import role_label
from portal.accounts.permissions import Permission, has_association_access, has_permission
from portal.claims.comments import linkify
from portal.fragments import comment_html, history_entry_html, review_history_row_html
from portal.notifications.services import unread_count
from portal.claims.labels import (
    activity_label,
    area_label,
    channel_label,
    consent_label,
    event_actor_label,
    event_label,
    reason_label,
    reasons_label,
    status_label,
    subscription_status_label,
    what_happened,
)


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


#: (label, endpoint, permission or None for any signed-in user with association access)
_NAV = (
    (_l("Home"), "main.home", None),
    (_l("Review queue"), "review.queue", Permission.REVIEW),
    (_l("Claims"), "claims.index", Permission.VIEW_CLAIMS),
    (_l("Incentives"), "accounts.incentives", Permission.MANAGE_INCENTIVES),
    (_l("Users"), "accounts.users", Permission.MANAGE_USERS),
    (_l("API access"), "api_access.page", Permission.USE_API),
)


def nav_items() -> list[NavItem]:
    items = []
    for label, endpoint, permission in _NAV:
        allowed = has_permission(current_user, permission) if permission else True
        if allowed:
            items.append(NavItem(str(label), url_for(endpoint), request.endpoint == endpoint))
    return items


#: A claim ID no real claim has, put in a URL to find where the ID goes.
_PLACEHOLDER = 987_654_321_012


def claim_url(endpoint: str, claim_id: int) -> str:
    """``url_for(endpoint, claim_id=claim_id)`` for the rows of a list: the URL is built once per
    request and endpoint, and each row's ID put in its place (``url_for`` costs 30 to 40 µs,
    a list page has 25 to 50 of them)."""
    parts = _claim_url_parts(endpoint)
    if len(parts) != 2:
        return url_for(endpoint, claim_id=claim_id)
    return f"{parts[0]}{int(claim_id)}{parts[1]}"


def claim_url_maker(endpoint: str):
    """``claim_url`` for one endpoint, as a function of the claim ID (for code that builds the
    rows of a list)."""
    parts = _claim_url_parts(endpoint)
    if len(parts) != 2:
        return lambda claim_id: url_for(endpoint, claim_id=claim_id)
    head, tail = parts
    return lambda claim_id: f"{head}{int(claim_id)}{tail}"


def _claim_url_parts(endpoint: str) -> list[str]:
    """The endpoint's URL around the claim ID, built once per request."""
    built = g.setdefault("cpor_claim_urls", {})
    parts = built.get(endpoint)
    if parts is None:
        parts = built[endpoint] = url_for(endpoint, claim_id=_PLACEHOLDER).split(str(_PLACEHOLDER))
    return parts


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["linkify"] = linkify
    app.jinja_env.globals.update(
        nav_items=nav_items,
        claim_url=claim_url,
        comment_html=comment_html,
        history_entry_html=history_entry_html,
        review_history_row_html=review_history_row_html,
        role_label=role_label,
        Permission=Permission,
        status_label=status_label,
        event_actor_label=event_actor_label,
        activity_label=activity_label,
        area_label=area_label,
        channel_label=channel_label,
        subscription_status_label=subscription_status_label,
        reason_label=reason_label,
        event_label=event_label,
        consent_label=consent_label,
        reasons_label=reasons_label,
        what_happened=what_happened,
    )

    def unread_notifications() -> int:
        return unread_count(current_user) if current_user.is_authenticated else 0

    app.jinja_env.globals["unread_notifications"] = unread_notifications

    @app.context_processor
    def inject():
        return {
            "can": lambda permission: has_permission(current_user, permission),
            "has_association_access": lambda: has_association_access(current_user),
            "support_url": app.config["SUPPORT_URL"],
            "current_locale": str(get_locale()),
        }

"""The one permission map (SPEC section 2), used by views, services and templates alike.

Views guard routes with ``permission_required``; templates ask ``can(Permission.X)``;
services call ``require`` before they change anything. Objects that belong to an
organization are loaded through their service's visibility check (``claims.loader.visible_claim``,
``accounts.services`` for users and MPN IDs), which answers another organization's object as
missing, so a partner never learns that it exists.
"""
from __future__ import annotations

from enum import StrEnum
from functools import wraps

from flask import abort
from flask_login import current_user, login_required



class Permission(StrEnum):
    VIEW_CLAIMS = "view_claims"
    FILE_CLAIMS = "file_claims"
    EDIT_CLAIMS = "edit_claims"
    SUBMIT_CLAIMS = "submit_claims"
    DISPUTE_CLAIMS = "dispute_claims"
    WITHDRAW_CLAIMS = "withdraw_claims"
    DISASSOCIATE_CLAIMS = "disassociate_claims"
    COMMENT = "comment"
    MANAGE_INCENTIVES = "manage_incentives"
    MANAGE_USERS = "manage_users"
    REVIEW = "review"
    #: Personal API tokens and /api/v1 (portal.api): for roles that work on claims.
    USE_API = "use_api"


class Role(StrEnum):
    GLOBAL_ADMIN = "global_admin"
    INCENTIVES_ADMIN = "incentives_admin"
    BILLING_ADMIN = "billing_admin"


#: Partner Center roles that exist but have no access to customer associations.
OTHER_ROLES = ("referrals_admin", "sales_agent", "account_admin", "marketing_admin")

_CLAIM_WORK = {
    Permission.VIEW_CLAIMS,
    Permission.FILE_CLAIMS,
    Permission.EDIT_CLAIMS,
    Permission.SUBMIT_CLAIMS,
    Permission.DISPUTE_CLAIMS,
    Permission.COMMENT,
    Permission.USE_API,
}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.BILLING_ADMIN: frozenset(_CLAIM_WORK),
    Role.INCENTIVES_ADMIN: frozenset(
        _CLAIM_WORK
        | {Permission.WITHDRAW_CLAIMS, Permission.DISASSOCIATE_CLAIMS, Permission.MANAGE_INCENTIVES}
    ),
    Role.GLOBAL_ADMIN: frozenset(
        _CLAIM_WORK
        | {
            Permission.WITHDRAW_CLAIMS,
            Permission.DISASSOCIATE_CLAIMS,
            Permission.MANAGE_INCENTIVES,
            Permission.MANAGE_USERS,
        }
    ),
}

REVIEWER_PERMISSIONS: frozenset[Permission] = frozenset(
    {Permission.REVIEW, Permission.VIEW_CLAIMS, Permission.COMMENT}
)

#: Roles a global admin can give, in the order the Users page offers them.
ASSIGNABLE_ROLES: tuple[str, ...] = (
    Role.GLOBAL_ADMIN,
    Role.INCENTIVES_ADMIN,
    Role.BILLING_ADMIN,
    *OTHER_ROLES,
)


def permissions_for(user) -> frozenset[Permission]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return frozenset()
    if user.is_reviewer:
        return REVIEWER_PERMISSIONS
    return ROLE_PERMISSIONS.get(user.role or "", frozenset())


def has_permission(user, permission: Permission) -> bool:
    return permission in permissions_for(user)


def has_association_access(user) -> bool:
    """Partner users whose role is none of the three admin roles see no customer associations."""
    return bool(permissions_for(user))


class PermissionDenied(Exception):
    """Raised by services when the acting user lacks a permission."""

    def __init__(self, permission: Permission):
        super().__init__(permission)
        self.permission = permission


def require(user, permission: Permission) -> None:
    if not has_permission(user, permission):
        raise PermissionDenied(permission)


def permission_required(permission: Permission):
    """Route decorator: signed in, and the user's role grants ``permission`` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not has_permission(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def reviewer_required(view):
    return permission_required(Permission.REVIEW)(view)


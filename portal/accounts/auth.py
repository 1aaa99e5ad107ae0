"""Sign-in plumbing: loading users, hashing passwords, answering signed-out requests."""
from __future__ import annotations

import functools

from flask import Flask, current_app, has_app_context, redirect, request, session, url_for
from flask_login import login_user
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from sqlalchemy import bindparam, select

from portal import hx
from portal.accounts.models import Organization, Person, User
from portal.extensions import db, login_manager, run_core
from portal.operations import database_is_down

DEFAULT_HASH_METHOD = "scrypt"


def _hash_method() -> str:
    """PASSWORD_HASH_METHOD, scrypt unless a test suite asks for a cheap one."""
    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD)
    return DEFAULT_HASH_METHOD


@functools.cache
def _dummy_hash(method: str) -> str:
    """A real hash to compare against when the email is unknown, so a wrong email and a
    wrong password take the same time as well as giving the same message."""
    return generate_password_hash("not a real password", method=method)


_dummy_hash(DEFAULT_HASH_METHOD)  # at start-up, not during the first sign-in


def hash_password(password: str) -> str:
    """scrypt (memory-hard and salted) unless PASSWORD_HASH_METHOD names another method."""
    return generate_password_hash(password, method=_hash_method())


def verify_password(stored_hash: str | None, password: str) -> bool:
    return check_password_hash(stored_hash or _dummy_hash(_hash_method()), password) and stored_hash is not None


#: The session key holding the user's ``session_version`` at sign-in.
SESSION_VERSION = "session_version"


def start_session(user: User) -> None:
    """Sign ``user`` in (Flask-Login) in a fresh session that carries their session version."""
    session.clear()  # nothing carried over from before
    login_user(user)
    session[SESSION_VERSION] = user.session_version


class SignedInOrganization:
    """The signed-in user's organization as the pages show it (read-only)."""

    __slots__ = ("id", "slug", "name")

    def __init__(self, id: int, slug: str, name: str):
        self.id, self.slug, self.name = id, slug, name


class SignedInUser(Person):
    """The signed-in user, read from one Core row per request (``load_user``): the columns the
    permission map, the views and the templates read, without an ORM instance (loading one,
    with its organization, cost three times the statement). Read-only: a service that changes
    the user itself works on ``record()``, the ORM row. Everything else takes ids from it."""

    __slots__ = ("id", "email", "name", "kind", "organization_id", "role", "locale", "active", "session_version",
                 "organization")

    def __init__(self, row):
        (self.id, self.email, self.name, self.kind, self.organization_id, self.role, self.locale, active,
         self.session_version, org_slug, org_name) = row
        self.active = bool(active)
        self.organization = (SignedInOrganization(self.organization_id, org_slug, org_name)
                             if self.organization_id is not None else None)

    def record(self) -> User:
        """The ORM row of this user, for a change to the user itself."""
        return db.session.get(User, self.id)

    def __repr__(self) -> str:
        return f"<SignedInUser {self.id}>"


#: The user loader's one statement: the user and their organization's slug and name.
#: On the tables (Core), not the mapped classes: no ORM compile or row processing.
_users, _organizations = User.__table__, Organization.__table__
_SIGNED_IN = (
    select(_users.c.id, _users.c.email, _users.c.name, _users.c.kind, _users.c.organization_id, _users.c.role,
           _users.c.locale, _users.c.active, _users.c.session_version, _organizations.c.slug, _organizations.c.name)
    .select_from(_users.outerjoin(_organizations, _organizations.c.id == _users.c.organization_id))
    .where(_users.c.id == bindparam("user_id"))
)


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        if database_is_down():
            return None  # an error page while the database is unreachable: shown as to a visitor
        # The organization is shown in every page's header: loaded with the user, in the one
        # Core query that also brings the session version to compare.
        try:
            number = int(user_id)
        except (TypeError, ValueError):
            return None
        row = run_core(_SIGNED_IN, {"user_id": number}).first()
        if row is None:
            return None
        user = SignedInUser(row)
        if not user.active or session.get(SESSION_VERSION) != user.session_version:
            # Ended (sign-out, deactivation, a new role, "Sign out everywhere"...): this session
            # and every copy of its cookie are over for good; reactivating the account later
            # must not bring them back to life.
            session.clear()
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        target = url_for("accounts.login", next=request.full_path.rstrip("?"))
        if hx.is_htmx():
            # Never swap the sign-in page into a fragment: make htmx navigate.
            return hx.response("", 401, redirect=target)
        from flask import flash

        flash(login_manager.login_message, "info")
        return redirect(target)

"""Account rules: signing in, managing an organization's users, MPN enrollment.

Services take plain values, raise ``AccountError`` with a user-facing message, flush but
never commit: the view commits once, so a failure leaves nothing half-written.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from portal.accounts.auth import hash_password, verify_password
from portal.accounts.emails import lookup_form
from portal.accounts.models import AccountKind, Mpn, MpnEvent, Organization, User  # noqa: F401
from portal.accounts.permissions import ASSIGNABLE_ROLES, Permission, Role, require
from portal.api import tokens as api_tokens
from portal.extensions import db, run_core


class AccountError(Exception):
    """A rule refused the change; the message is shown to the user."""


def normalize_email(email: str) -> str:
    """The form an address is stored and looked up in: the one rule of ``portal/accounts/emails.py``."""
    return lookup_form(email)


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None, whatever was wrong (unknown email, wrong
    password, deactivated account), so the answer never reveals which accounts exist."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session of ``user`` (``User.session_version``); flushed, committed by the caller."""
    user.record().end_sessions()
    db.session.flush()


def organization_admins(organization_id: int | None) -> list[User]:
    """The organization's active global admins: the people a user without access contacts."""
    if organization_id is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organization_id == organization_id,
                User.role == Role.GLOBAL_ADMIN,
                User.active.is_(True),
            )
            .order_by(User.name)
        )
    )


def organization_users(organization_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.organization_id == organization_id).order_by(User.name, User.id)
        )
    )


def lock_organization(organization_id: int) -> Organization:
    """Serialize changes within one organization (row lock on PostgreSQL): two admins demoting
    each other at once cannot leave it without one; two submissions cannot both pass the
    duplicate check.
    SQLite ignores FOR UPDATE and reads outside a transaction until the first write, so
    there a no-op write takes the database's write lock first, held until commit."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(Organization)
            .where(Organization.id == organization_id)
            .values(id=Organization.id)
            .execution_options(synchronize_session=False)
        )
    return db.session.execute(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    ).scalar_one()


def _lock_as(actor: User) -> None:
    """Take the organization's lock, then check the actor again as it is now: an admin
    demoted by another request a moment ago can no longer act."""
    lock_organization(actor.organization_id)
    record = actor.record()
    db.session.refresh(record)
    require(record, Permission.MANAGE_USERS)


def _active_global_admins(organization_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.organization_id == organization_id,
            User.role == Role.GLOBAL_ADMIN,
            User.active.is_(True),
        )
    )


def _member(actor: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.organization_id != actor.organization_id:
        raise LookupError(user_id)
    return user


def add_user(actor: User, *, email: str, name: str, role: str, password: str, locale: str | None) -> User:
    """Add a user to the actor's organization. Under the organization's lock, so identical
    requests at once (a double click, a retry) add one user and the others are told it exists.
    An address already used elsewhere (another organization, a reviewer) is refused without
    saying so: a partner never learns who has an account outside its organization."""
    require(actor, Permission.MANAGE_USERS)
    if role not in ASSIGNABLE_ROLES:
        raise AccountError(_l("Choose one of the roles offered."))
    email = normalize_email(email)
    password_hash = hash_password(password)  # slow on purpose: before the lock, not under it
    _lock_as(actor)
    _refuse_taken(actor, email)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        locale=locale or None,
        password_hash=password_hash,
        kind=AccountKind.PARTNER,
        organization_id=actor.organization_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        # Taken a moment ago by a request the lock does not cover (another organization's).
        _refuse_taken(actor, email)
        raise AccountError(_TAKEN_ELSEWHERE) from None
    return user


_TAKEN_ELSEWHERE = _l("This email address can't be used for a new user. Check it, or contact support if the "
                      "person should be moved to your organization.")


def _refuse_taken(actor: User, email: str) -> None:
    owner = db.session.execute(select(User.organization_id).where(User.email == email)).first()
    if owner is None:
        return
    if owner.organization_id == actor.organization_id:
        raise AccountError(_l("A user with this email already exists."))
    raise AccountError(_TAKEN_ELSEWHERE)


def change_role(actor: User, user_id: int, role: str) -> User:
    require(actor, Permission.MANAGE_USERS)
    if role not in ASSIGNABLE_ROLES:
        raise AccountError(_l("Choose one of the roles offered."))
    _lock_as(actor)
    user = _member(actor, user_id)
    if (
        user.role == Role.GLOBAL_ADMIN
        and role != Role.GLOBAL_ADMIN
        and user.active
        and _active_global_admins(actor.organization_id) <= 1
    ):
        raise AccountError(
            _l("This is the last active global admin: make someone else a global admin first.")
        )
    if user.role != role:
        user.role = role
        user.end_sessions()  # what the user may do changed: sign in again
    db.session.flush()
    return user


def set_active(actor: User, user_id: int, active: bool) -> User:
    require(actor, Permission.MANAGE_USERS)
    _lock_as(actor)
    user = _member(actor, user_id)
    if (
        not active
        and user.active
        and user.role == Role.GLOBAL_ADMIN
        and _active_global_admins(actor.organization_id) <= 1
    ):
        raise AccountError(
            _l("This is the last active global admin: make someone else a global admin first.")
        )
    if user.active != active:
        user.active = active
        user.end_sessions()  # neither a session from before nor a copy of it works again
        if not active:
            api_tokens.revoke_all(user.id)  # nor an API token, even after a reactivation
    db.session.flush()
    return user


def set_locale(user: User, locale: str) -> None:
    user.record().locale = locale
    db.session.flush()


_mpns = Mpn.__table__
_MPN_IDS = select(_mpns.c.mpn_id).where(_mpns.c.organization_id == bindparam("organization_id")).order_by(_mpns.c.mpn_id)


def organization_mpn_ids(organization_id: int) -> list[str]:
    """The organization's MPN IDs, in order (the claims list's filter): one Core statement."""
    return list(run_core(_MPN_IDS, {"organization_id": organization_id}).scalars())


def organization_mpns(organization_id: int) -> list[Mpn]:
    return list(db.session.scalars(select(Mpn).where(Mpn.organization_id == organization_id).order_by(Mpn.mpn_id)))


def mpn_history(organization_id: int, limit: int = 50) -> list[MpnEvent]:
    from sqlalchemy.orm import joinedload

    return list(
        db.session.scalars(
            select(MpnEvent)
            .join(Mpn, Mpn.id == MpnEvent.mpn_pk)
            .where(Mpn.organization_id == organization_id)
            .options(joinedload(MpnEvent.user))
            .order_by(MpnEvent.created_at.desc(), MpnEvent.id.desc())
            .limit(limit)
        )
    )


def set_enrollment(actor: User, mpn_pk: int, enrolled: bool) -> Mpn:
    """Enroll or unenroll one of the actor's MPN IDs in incentives, with a history entry.
    Asking for the state it is already in changes nothing and records nothing."""
    require(actor, Permission.MANAGE_INCENTIVES)
    lock_organization(actor.organization_id)
    mpn = db.session.execute(
        select(Mpn).where(Mpn.id == mpn_pk).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if mpn is None or mpn.organization_id != actor.organization_id:
        raise LookupError(mpn_pk)
    if mpn.incentives_enrolled != enrolled:
        mpn.incentives_enrolled = enrolled
        db.session.add(MpnEvent(mpn_pk=mpn.id, user_id=actor.id, action="enrolled" if enrolled else "unenrolled"))
        db.session.flush()
    return mpn

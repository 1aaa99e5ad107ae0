"""Organizations, their MPN IDs, and the people who sign in (partner users and reviewers)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


class AccountKind(StrEnum):
    PARTNER = "partner"
    REVIEWER = "reviewer"


class Organization(db.Model):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    mpns: Mapped[list[Mpn]] = relationship(back_populates="organization", order_by="Mpn.mpn_id")


class Mpn(db.Model):
    __tablename__ = "mpns"
    id: Mapped[int] = mapped_column(primary_key=True)
    mpn_id: Mapped[str] = mapped_column(String(7), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    location: Mapped[str] = mapped_column(String(200))
    partner_type: Mapped[str] = mapped_column(String(100))
    incentives_enrolled: Mapped[bool] = mapped_column(default=False)
    organization: Mapped[Organization] = relationship(back_populates="mpns")


class MpnEvent(db.Model):
    """Append-only history of enrollment changes made in the portal."""

    __tablename__ = "mpn_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    mpn_pk: Mapped[int] = mapped_column(ForeignKey("mpns.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user: Mapped[User | None] = relationship()


class Person(UserMixin):
    """What Flask-Login and the permission map ask of a person, from ``active`` and ``kind``:
    the same for the ORM row (``User``) and the signed-in user read per request
    (``portal.accounts.auth.SignedInUser``)."""

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated users
        return self.active

    @property
    def is_reviewer(self) -> bool:
        return self.kind == AccountKind.REVIEWER

    @property
    def is_partner(self) -> bool:
        return self.kind == AccountKind.PARTNER


class User(Person, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16), default=AccountKind.PARTNER)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    #: Put in the session at sign-in and compared by the user loader on every request: raising
    #: it (sign-out, deactivation, reactivation, a new role or password, "Sign out everywhere")
    #: ends every session of the user, and every copy of their cookies.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    organization: Mapped[Organization | None] = relationship()

    def record(self) -> User:
        """The ORM row of this user: itself (``SignedInUser.record`` loads it)."""
        return self

    def end_sessions(self) -> None:
        """End every session of this user, in the same transaction as the change that asks for it
        (one atomic increment, so two at once both count)."""
        self.session_version = User.session_version + 1

"""Partners (organizations, their MPN IDs and users) and reviewers in the directory file:
their records, the checks between them and against the database, and their idempotent upsert.

Passwords are stored hashed; one that already verifies against the stored hash is not hashed
again (hashes are salted, so re-hashing would change the row on every import)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainValidator
from sqlalchemy import func, insert, select

from portal.accounts.auth import hash_password, verify_password
from portal.accounts.emails import InvalidEmail, canonical_email
from portal.accounts.models import AccountKind, Mpn, Organization, User
from portal.directory.schema import (
    MISSING,
    ImportReport,
    Problems,
    Record,
    Text,
    assign,
    chunks,
    fetch,
    given,
    refuse,
    show,
)
from portal.extensions import db

LOCALES = ("en", "fr")
#: As for the temporary password a global admin sets (portal/accounts/forms.py AddUserForm).
PASSWORD_MIN, PASSWORD_MAX = 12, 128

_MPN_ID = re.compile(r"^[0-9]{6,7}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ONE_PARTNER = "an MPN ID belongs to one partner"
_ONE_KIND = "an email cannot be both a partner user and a reviewer"


def _mpn_id(value):
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(text, str) and _MPN_ID.match(text.strip()):
        return text.strip()
    refuse(f"must be an MPN ID of 6 or 7 digits (got {show(value)})")


def _email(value):
    """The portal's one rule for addresses (``portal/accounts/emails.py``), the one sign-in
    applies: nobody is imported who could not sign in. Stored in its canonical form."""
    if not isinstance(value, str) or not value.strip():
        refuse(f"must be a non-empty string, not {show(value)}")
    try:
        return canonical_email(value)
    except InvalidEmail as error:
        refuse(f"must be an email address a person can sign in with (got {show(value)}: {error.reason})")


def _password(value):
    """As given, never stripped; the same length rule as a password set in the portal."""
    if not isinstance(value, str) or not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        refuse(f"must be a string of {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    return value


def _locale(value):
    if value is not None and value not in LOCALES:
        refuse("must be one of " + ", ".join(LOCALES) + f" or null (got {show(value)})")
    return value


def _flag(value):
    if not isinstance(value, bool):
        refuse(f"must be true or false (got {show(value)})")
    return value


def _slug(value):
    if not _SLUG.match(value):
        refuse(f"must be lower-case letters, digits, - or _ (got {show(value)})")
    return value


#: 6 or 7 digits, given as a string or a number.
MpnId = Annotated[str, PlainValidator(_mpn_id)]
Email = Annotated[str, PlainValidator(_email)]
Password = Annotated[str, PlainValidator(_password)]
Locale = Annotated[str | None, PlainValidator(_locale)]
Flag = Annotated[bool, PlainValidator(_flag)]
Slug = Annotated[Text(64), AfterValidator(_slug)]
#: A list the file may leave out or give as null.
_Optional = BeforeValidator(lambda value: [] if value is None else value)


class MpnRecord(Record):
    label_key = "mpn_id"
    mpn_id: MpnId
    location: Text(200)
    partner_type: Text(100)
    #: Left out, it keeps what the portal set (a new MPN ID is not enrolled).
    incentives_enrolled: Flag = False


class PartnerUserRecord(Record):
    label_key = "email"
    email: Email
    name: Text(200)
    role: Text(64)
    password: Password
    #: Left out, it keeps what the user chose; null is the browser's language.
    locale: Locale = None


class ReviewerRecord(Record):
    label_key = "email"
    email: Email
    name: Text(200)
    password: Password
    locale: Locale = None


class PartnerRecord(Record):
    label_key = "id"
    id: Slug
    name: Text(200)
    mpns: Annotated[list[MpnRecord], _Optional] = []
    users: Annotated[list[PartnerUserRecord], _Optional] = []


@dataclass
class Accounts:
    """The partners and MPN IDs the file defines or the database already holds."""

    partners: set[str] = field(default_factory=set)
    #: mpn_id -> the partner it belongs to.
    mpn_owner: dict[str, str] = field(default_factory=dict)


def check(partners, reviewers, problems: Problems, *, partner_refs=(), mpn_refs=()) -> Accounts:
    """The checks between these records and against the database. ``partner_refs`` and
    ``mpn_refs`` are what the rest of the file refers to, read in the same queries."""
    by_id: dict = {}
    for record in partners:
        if record.id is MISSING:
            continue
        if record.id in by_id:
            problems.add(record.label, "id", f"duplicate of {by_id[record.id].label}")
        else:
            by_id[record.id] = record
    mpn_owner = _check_mpns(partners, mpn_refs, problems)
    _check_emails(partners, reviewers, problems)
    db_partners = {o.slug for o in fetch(Organization, Organization.slug, set(partner_refs) - set(by_id))}
    return Accounts(partners=set(by_id) | db_partners, mpn_owner=mpn_owner)


def _check_mpns(partners, mpn_refs, problems: Problems) -> dict[str, str]:
    owner: dict[str, PartnerRecord] = {}
    for partner in partners:
        for mpn in partner.mpns:
            if mpn.mpn_id is MISSING:
                continue
            if mpn.mpn_id in owner:
                other = owner[mpn.mpn_id]
                where = "to this partner" if other is partner else f"to {other.label}"
                problems.add(mpn.label, "mpn_id", f"{mpn.mpn_id} already belongs {where}; {_ONE_PARTNER}")
            else:
                owner[mpn.mpn_id] = partner
    result = {mpn_id: partner.id for mpn_id, partner in owner.items()}
    for row in fetch(Mpn, Mpn.mpn_id, set(owner) | set(mpn_refs)):
        slug = row.organization.slug
        partner = owner.get(row.mpn_id)
        if partner is not None and partner.id is not MISSING and slug != partner.id:
            label = next(m.label for m in partner.mpns if m.mpn_id == row.mpn_id)
            problems.add(
                label, "mpn_id",
                f"{row.mpn_id} already belongs to partner {show(slug)} in the database; {_ONE_PARTNER}",
            )
        result.setdefault(row.mpn_id, slug)
    return result


def _people(partners, reviewers):
    """(partner or None, record) for every person of the file, partner users first."""
    return [(partner, user) for partner in partners for user in partner.users] + [(None, r) for r in reviewers]


def _check_emails(partners, reviewers, problems: Problems) -> None:
    people: dict[str, Record] = {}
    for _, person in _people(partners, reviewers):
        if person.email is MISSING:
            continue
        other = people.get(person.email)
        if other is None:
            people[person.email] = person
        elif isinstance(other, ReviewerRecord) != isinstance(person, ReviewerRecord):
            problems.add(person.label, "email", f"{person.email} is also {other.label}; {_ONE_KIND}")
        else:
            problems.add(person.label, "email", f"{person.email} is already used by {other.label}")
    for chunk in chunks(sorted(people)):
        for row in db.session.scalars(select(User).where(func.lower(User.email).in_(chunk))):
            person = people.get(row.email.lower())
            if person is None:
                continue
            wanted = AccountKind.REVIEWER if isinstance(person, ReviewerRecord) else AccountKind.PARTNER
            if row.kind != wanted:
                found = "a reviewer" if row.kind == AccountKind.REVIEWER else "a partner user"
                problems.add(person.label, "email", f"{person.email} is already {found} in the database; {_ONE_KIND}")


def apply(partners, reviewers, report: ImportReport) -> None:
    """Upserts checked records in the current session: organizations, their MPN IDs, then
    people (flush, no commit)."""
    organizations = _organizations(partners, report)
    db.session.flush()  # new organizations need their ids for MPNs and users
    _mpns(partners, organizations, report)
    db.session.flush()
    _users(partners, reviewers, organizations, report)
    db.session.flush()


def _organizations(partners, report: ImportReport) -> dict[str, Organization]:
    organizations = {o.slug: o for o in fetch(Organization, Organization.slug, {p.id for p in partners})}
    for record in partners:
        row = organizations.get(record.id)
        if row is None:
            row = organizations[record.id] = Organization(slug=record.id, name=record.name)
            db.session.add(row)
            report.count("partners", created=True)
        else:
            report.count("partners", False, assign(row, name=record.name))
    return organizations


def _mpns(partners, organizations: dict[str, Organization], report: ImportReport) -> None:
    records = [(partner, mpn) for partner in partners for mpn in partner.mpns]
    existing = {m.mpn_id: m for m in fetch(Mpn, Mpn.mpn_id, {mpn.mpn_id for _, mpn in records})}
    new_rows = []
    for partner, record in records:
        organization = organizations[partner.id]
        row = existing.get(record.mpn_id)
        if row is None:
            new_rows.append(dict(
                mpn_id=record.mpn_id,
                organization_id=organization.id,
                location=record.location,
                partner_type=record.partner_type,
                incentives_enrolled=record.incentives_enrolled,
            ))
            report.count("mpns", created=True)
        else:
            report.count("mpns", False, assign(
                row,
                organization_id=organization.id,
                location=record.location,
                partner_type=record.partner_type,
                incentives_enrolled=given(record, "incentives_enrolled"),
            ))
    _insert(Mpn, new_rows)


def _users(partners, reviewers, organizations: dict[str, Organization], report: ImportReport) -> None:
    everyone = _people(partners, reviewers)
    existing = {}
    for chunk in chunks(sorted({person.email for _, person in everyone})):
        for row in db.session.scalars(select(User).where(func.lower(User.email).in_(chunk))):
            existing[row.email.lower()] = row
    new_rows = []
    for partner, person in everyone:
        if partner is not None:
            kind = "users"
            values = dict(kind=AccountKind.PARTNER.value, organization_id=organizations[partner.id].id, role=person.role)
        else:
            kind = "reviewers"
            values = dict(kind=AccountKind.REVIEWER.value, organization_id=None, role=None)
        row = existing.get(person.email)
        if row is None:
            new_rows.append(dict(
                email=person.email,
                name=person.name,
                password_hash=hash_password(person.password),
                locale=person.locale,
                **values,
            ))
            report.count(kind, created=True)
            continue
        moved = any(getattr(row, name) != value for name, value in values.items())
        changed = assign(row, email=person.email, name=person.name, locale=given(person, "locale"), **values)
        new_password = not verify_password(row.password_hash, person.password)
        if new_password:
            row.password_hash = hash_password(person.password)
            changed = True
        if moved or new_password:
            # Another organization, role or kind, or a new password: sessions from before end.
            row.end_sessions()
        report.count(kind, False, changed)
    _insert(User, new_rows)


def _insert(model, rows: list[dict]) -> None:
    """New rows of one kind in one statement: nothing in the import needs them as objects,
    and the unit of work would insert them one by one to learn each id (on SQLite)."""
    if rows:
        db.session.execute(insert(model), rows)

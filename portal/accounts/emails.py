"""The one rule for a person's email address: what the sign-in form, the Add user form and the
directory import accept, and the form it is stored and looked up in.

The sign-in form once checked addresses with WTForms' ``Email`` and looked them up lower-cased
as typed, while the import checked them with pydantic's ``EmailStr`` and stored them as
email-validator normalises them (a punycode domain in Unicode, NFC): an address could be
imported that its owner could not sign in with as given. Everything now goes through
``canonical_email``: the import refuses what sign-in would refuse, and both store and look up
the same canonical form.
"""
from __future__ import annotations

import re

import email_validator

#: The most an address may have (RFC 5321's path limit; the users.email column).
EMAIL_MAX = 254
#: Display names ("Gina <gina@...>") and spaces: a bare address is wanted.
_NOT_IN_AN_ADDRESS = re.compile(r"[\s<>\x00]")


class InvalidEmail(ValueError):
    """Not an address a person can sign in with; ``reason`` says why, in English (the import's
    operator reads it; forms show their own translated message)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def canonical_email(value: str) -> str:
    """``value`` as the portal stores and looks up addresses, or ``InvalidEmail``.

    email-validator without a DNS look-up: refuses special-use and reserved domains (``.test``,
    ``.local``, ``.invalid``, ``localhost``...), quoted local parts and IP-address domains;
    normalises the domain (Unicode, lower case) and the local part (NFC); the whole address is
    then lower-cased, as the portal has always matched addresses whatever their case."""
    if not isinstance(value, str):
        raise InvalidEmail("not a string")
    value = value.strip()
    if not value:
        raise InvalidEmail("empty")
    if len(value) > EMAIL_MAX:
        raise InvalidEmail(f"longer than {EMAIL_MAX} characters")
    if _NOT_IN_AN_ADDRESS.search(value):
        raise InvalidEmail("a bare address has no spaces or angle brackets")
    try:
        checked = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    normalized = checked.normalized.lower()
    if len(normalized) > EMAIL_MAX:
        raise InvalidEmail(f"longer than {EMAIL_MAX} characters")
    return normalized


def lookup_form(value: str) -> str:
    """The form to look an address up in: canonical when it is an address, else as typed
    (stripped, lower case), which matches nobody."""
    try:
        return canonical_email(value)
    except InvalidEmail:
        return (value or "").strip().lower()

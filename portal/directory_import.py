"""The directory import (SPEC section 3), ``flask --app portal directory import FILE.json``: the
file's records read by the package that owns their rows, then applied in one transaction.

It sits above ``directory``, ``accounts`` and ``claims`` because it is the one place that needs
all three; none of them needs it, and ``directory`` needs neither of the others.

The import runs in two phases so that a bad file is refused whole:

1. ``validate`` reads the whole document with the record models (pydantic) and checks every
   reference between records and to rows already in the database, collecting every problem,
   each naming its record and field, into one ``DirectoryImportError``. Nothing is written.
2. ``import_directory`` then upserts the records in the current session and only flushes: the
   caller commits once, so either everything is imported or nothing is.

The upsert is idempotent: a row whose values already match the file is not touched, a password
already verifying is not hashed again, and an association that already exists as a claim is
never imported twice. Optional fields missing from a record (``locale``,
``incentives_enrolled``) leave the stored value as it is; new rows take the default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click
from flask.cli import AppGroup

from portal.accounts import imported as accounts
from portal.claims import imported as claims
from portal.directory import imported as directory
from portal.directory.schema import DirectoryImportError, ImportReport, Problems, Record, load_file, read, show
from portal.extensions import db
from portal.timeutil import utcnow

__all__ = ["DirectoryImportError", "ImportReport", "directory_cli", "import_directory", "load_file", "validate"]

#: Each section of the file and the kind of its records, in the order they are read.
SECTIONS: dict[str, type[Record]] = {
    "products": directory.ProductRecord,
    "tenants": directory.TenantRecord,
    "subscriptions": directory.SubscriptionRecord,
    "partners": accounts.PartnerRecord,
    "reviewers": accounts.ReviewerRecord,
    "associations": claims.AssociationRecord,
}


@dataclass
class Plan:
    """The records of a checked file, by section."""

    products: list[directory.ProductRecord] = field(default_factory=list)
    tenants: list[directory.TenantRecord] = field(default_factory=list)
    subscriptions: list[directory.SubscriptionRecord] = field(default_factory=list)
    partners: list[accounts.PartnerRecord] = field(default_factory=list)
    reviewers: list[accounts.ReviewerRecord] = field(default_factory=list)
    associations: list[claims.AssociationRecord] = field(default_factory=list)


def validate(data: Any) -> Plan:
    """Phase 1: the whole document checked, or ``DirectoryImportError`` listing every problem."""
    if not isinstance(data, dict):
        raise DirectoryImportError(["the document must be a JSON object with the keys " + ", ".join(SECTIONS)])
    problems = Problems()
    plan = Plan()
    for key, value in data.items():
        if key not in SECTIONS:
            problems.append(f'top level: unknown key "{key}" (expected ' + ", ".join(SECTIONS) + ")")
        elif value is not None and not isinstance(value, list):
            problems.append(f'top level: "{key}" must be a list, not {show(value)}')
    for section, model in SECTIONS.items():
        items = data.get(section)
        for index, raw in enumerate(items if isinstance(items, list) else []):
            record = read(model, raw, f"{section}[{index}]", problems)
            if record is not None:
                getattr(plan, section).append(record)

    # The checks between records, and against what the database already holds. A field that
    # failed its own check is MISSING here and is skipped, so each problem is reported once
    # while every other reference is still checked.
    associations = plan.associations
    catalog = directory.check(
        plan.products, plan.tenants, plan.subscriptions, problems,
        product_refs={a.product_id for a in associations},
        tenant_refs={a.tenant_id for a in associations},
        subscription_refs={a.subscription_id for a in associations},
    )
    known = accounts.check(
        plan.partners, plan.reviewers, problems,
        partner_refs={a.partner_id for a in associations},
        mpn_refs={a.mpn_id for a in associations},
    )
    claims.check(associations, problems, catalog, known)
    if problems:
        raise DirectoryImportError(problems)
    return plan


def import_directory(data: dict) -> ImportReport:
    """Validates the whole document, then upserts it in the current session (flush, no commit).

    Raises ``DirectoryImportError`` (with every problem in ``.errors``) before writing anything.
    """
    plan = validate(data)
    report = ImportReport()
    with db.session.no_autoflush:
        directory.apply(plan.products, plan.tenants, plan.subscriptions, report)
        accounts.apply(plan.partners, plan.reviewers, report)
        claims.apply(plan.associations, report, utcnow())
    return report


# --------------------------------------------------------------------------- flask directory ...

directory_cli = AppGroup("directory", help="The directory: products, tenants, subscriptions, partners.")


def _load(path):
    try:
        return load_file(path)
    except DirectoryImportError as error:
        click.echo(str(error), err=True)
        raise click.exceptions.Exit(1) from error


def _records(parent, key) -> list[dict]:
    items = parent.get(key) if isinstance(parent, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


@directory_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(path):
    """Validate FILE.json whole, then import it in one transaction (safe to run again)."""
    data = _load(path)
    try:
        report = import_directory(data)
        db.session.commit()
    except DirectoryImportError as error:
        db.session.rollback()
        click.echo(str(error), err=True)
        raise click.exceptions.Exit(1) from error
    except Exception:
        db.session.rollback()
        raise
    for note in report.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo(report.summary())


@directory_cli.command("logins")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def logins_command(path):
    """Print the sign-ins FILE.json defines: email, password and who signs in."""
    data = _load(path)
    rows = []
    for partner in _records(data, "partners"):
        organization = partner.get("name") or partner.get("id", "")
        for user in _records(partner, "users"):
            who = f"{organization} ({user.get('role', '')})"
            rows.append((user.get("email", ""), user.get("password", ""), who))
    for reviewer in _records(data, "reviewers"):
        rows.append((reviewer.get("email", ""), reviewer.get("password", ""), "reviewer"))
    if not rows:
        click.echo("No sign-ins in this file.")
        return
    headers = ("email", "password", "who")
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(2)]
    for email, password, who in [headers, *rows]:
        click.echo(f"{str(email):<{widths[0]}}  {str(password):<{widths[1]}}  {who}")

"""``flask --app portal directory ...``: load the directory file, list its demo sign-ins."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db

directory_cli = AppGroup("directory", help="The directory: products, tenants, subscriptions, partners.")


def _load(path):
    from portal.directory.importer import DirectoryImportError, load_file

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
    from portal.directory.importer import DirectoryImportError, import_directory

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

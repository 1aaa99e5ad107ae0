"""`flask --app portal emails list|retry`: what the outbox holds, and a new round of attempts
for an email that was not delivered; `flask --app portal notifications events [--retry ID]`: the
notification events the worker fans out, the same for one that failed."""
import click
from flask.cli import AppGroup

from portal.notifications import fanout, mailer

emails_cli = AppGroup("emails", help="Outgoing emails: the outbox the worker delivers.")
STATUSES = ("pending", "sending", "sent", "not_delivered")


@emails_cli.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only emails in this state.")
@click.option("--limit", default=50, show_default=True)
def list_command(status, limit):
    """The latest emails, newest first, with their state, attempts and last error."""
    rows = mailer.listing(status, limit)
    for row in rows:
        when = row.sent_at or row.next_attempt_at
        label = {"pending": "next attempt", "sending": "lease until", "sent": "sent"}.get(row.status, "gave up")
        click.echo(f"{row.id:>8}  {row.status.replace('_', ' '):<13}  {row.attempts}/{mailer.MAX_ATTEMPTS}  "
                   f"{label} {when:%Y-%m-%d %H:%M:%S}  {row.recipient}  {row.subject}")
        if row.last_error and row.status != "sent":
            click.echo(f"{'':>10}last error: {row.last_error}")
    if not rows:
        click.echo("No emails.")


@emails_cli.command("retry")
@click.argument("email_id", type=int)
def retry_command(email_id):
    """Try a not-delivered email again (from its first attempt)."""
    if not mailer.retry(email_id):
        raise click.ClickException(f"Email {email_id} is not one that was not delivered.")
    click.echo(f"Email {email_id} will be sent again.")


notifications_cli = AppGroup("notifications", help="Notifications: the events the worker fans out.")


@notifications_cli.command("events")
@click.option("--status", type=click.Choice(fanout.STATUSES), help="Only events in this state.")
@click.option("--limit", default=50, show_default=True)
@click.option("--retry", "retry_id", type=int, help="Fan out this failed event again (from its first attempt).")
def events_command(status, limit, retry_id):
    """The latest notification events, newest first, with their state, attempts and last error."""
    if retry_id is not None:
        if not fanout.retry(retry_id):
            raise click.ClickException(f"Event {retry_id} is not one that failed.")
        click.echo(f"Event {retry_id} will be fanned out again.")
        return
    rows = fanout.listing(status, limit)
    for row in rows:
        when = row.processed_at or row.next_attempt_at
        label = {"pending": "next attempt", "processing": "lease until", "done": "done"}.get(row.status, "gave up")
        click.echo(f"{row.id:>8}  {row.status:<10}  {row.attempts}/{fanout.MAX_ATTEMPTS}  "
                   f"{label} {when:%Y-%m-%d %H:%M:%S}  {row.kind}  claim {row.claim_id}")
        if row.last_error and row.status != "done":
            click.echo(f"{'':>10}last error: {row.last_error}")
    if not rows:
        click.echo("No events.")

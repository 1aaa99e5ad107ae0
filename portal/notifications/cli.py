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
    _echo(mailer.listing(status, limit), mailer.MAX_ATTEMPTS, finished="sent", working="sending",
          when=lambda row: row.sent_at, describe=lambda row: f"{row.recipient}  {row.subject}", none="No emails.")


def _echo(rows, max_attempts: int, *, finished: str, working: str, when, describe, none: str) -> None:
    """One line per row of a work table (state, attempts, the time that matters, what it is),
    and its last error unless it is ``finished``."""
    for row in rows:
        label = {"pending": "next attempt", working: "lease until", finished: finished}.get(row.status, "gave up")
        moment = when(row) or row.next_attempt_at
        click.echo(f"{row.id:>8}  {row.status.replace('_', ' '):<13}  {row.attempts}/{max_attempts}  "
                   f"{label} {moment:%Y-%m-%d %H:%M:%S}  {describe(row)}")
        if row.last_error and row.status != finished:
            click.echo(f"{'':>10}last error: {row.last_error}")
    if not rows:
        click.echo(none)


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
    _echo(fanout.listing(status, limit), fanout.MAX_ATTEMPTS, finished="done", working="processing",
          when=lambda row: row.processed_at, describe=lambda row: f"{row.kind}  claim {row.claim_id}", none="No events.")

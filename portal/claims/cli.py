"""`flask --app portal claims sweep`: apply the deadlines that passed, fan out the notification
events left pending and send the emails that are due. The worker runs the same every few minutes (portal/claims/tasks.py); this command is
for cron, or for running it now."""
import click
from flask.cli import AppGroup

from portal.claims import lifecycle
from portal.notifications.fanout import process_pending
from portal.notifications.mailer import deliver_pending

claims_cli = AppGroup("claims", help="Claims: deadlines and maintenance.")


@claims_cli.command("sweep")
def sweep_command():
    """Apply the deadlines that have passed."""
    count = lifecycle.sweep()
    click.echo(f"{count} claim(s) moved on by a passed deadline.")
    done, failed = process_pending(limit=10_000)
    click.echo(f"{done} notification event(s) fanned out, {failed} left to retry.")
    sent, failed = deliver_pending(limit=10_000)
    click.echo(f"{sent} email(s) sent, {failed} left to retry.")

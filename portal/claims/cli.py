"""`flask --app portal claims sweep`: apply the deadlines that passed (meant for cron)."""
import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.claims import lifecycle
from portal.claims.models import Claim
from portal.extensions import db
from portal.timeutil import utcnow

claims_cli = AppGroup("claims", help="Claims: deadlines and maintenance.")


def sweep(today=None, batch: int = 500, organization_id: int | None = None) -> int:
    """Apply every passed deadline (no partner answer: rejected; dispute window: closed).
    Each claim is locked and committed on its own, so a sweep that stops halfway loses nothing
    and a page that applied a deadline on read first is simply skipped. Lists call it for the
    organization they show, so no list shows a passed deadline as pending."""
    today = today or utcnow().date()
    statuses = list(lifecycle.EXPIRY)
    changed = 0
    last_id = 0
    while True:
        ids = list(db.session.scalars(
            select(Claim.id)
            .where(Claim.status.in_(statuses), Claim.due_on < today, Claim.id > last_id,
                   *([Claim.organization_id == organization_id] if organization_id is not None else []))
            .order_by(Claim.id).limit(batch)
        ))
        if not ids:
            return changed
        for claim_id in ids:
            claim = db.session.scalars(
                select(Claim).where(Claim.id == claim_id).with_for_update().execution_options(populate_existing=True)
            ).one()
            if lifecycle.apply_due(claim, today=today):
                changed += 1
            db.session.commit()
        last_id = ids[-1]


@claims_cli.command("sweep")
def sweep_command():
    """Apply the deadlines that have passed."""
    count = sweep()
    click.echo(f"{count} claim(s) moved on by a passed deadline.")
    from portal.notifications.mailer import deliver_pending

    sent, failed = deliver_pending(limit=10_000)
    click.echo(f"{sent} email(s) sent, {failed} left to retry.")

"""claims: an imported approved claim was submitted by its approval's day, not at the import

The directory import used to stamp an approved association's claim created and submitted at
the moment of the import, months after the approval the file gives, and pages showed it
submitted after it was approved. The import now dates them by the approval's day
(portal.claims.imported.submitted_at); this moves the claims already imported so, those whose
import entered them approved, and only the times the import wrote (a status changed since
keeps its time). Data only: the schema does not change, and going down leaves the times.

Revision ID: 0014_imported_submitted
Revises: 0012_session_version
Create Date: 2026-12-06 07:45:00.000000

"""
from datetime import datetime, time

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_imported_submitted'
down_revision = '0013_notification_events'
branch_labels = None
depends_on = None

claims = sa.table(
    "claims",
    sa.column("id", sa.Integer),
    sa.column("created_by_id", sa.Integer),
    sa.column("approved_on", sa.Date),
    sa.column("created_at", sa.DateTime),
    sa.column("submitted_at", sa.DateTime),
    sa.column("status_changed_at", sa.DateTime),
)
events = sa.table("claim_events", sa.column("claim_id", sa.Integer), sa.column("kind", sa.String),
                  sa.column("to_status", sa.String))


def upgrade():
    bind = op.get_bind()
    imported_approved = sa.select(events.c.claim_id).where(events.c.kind == "imported", events.c.to_status == "approved")
    rows = bind.execute(
        sa.select(claims.c.id, claims.c.approved_on, claims.c.created_at, claims.c.submitted_at, claims.c.status_changed_at)
        .where(claims.c.created_by_id.is_(None), claims.c.approved_on.is_not(None), claims.c.id.in_(imported_approved))
    ).all()
    for row in rows:
        approved = datetime.combine(row.approved_on, time.min)
        if row.submitted_at is None or row.submitted_at <= approved:
            continue
        values = {"submitted_at": approved, "created_at": min(row.created_at, approved)}
        if row.status_changed_at == row.submitted_at:  # still the status the import gave it
            values["status_changed_at"] = approved
        bind.execute(claims.update().where(claims.c.id == row.id).values(**values))


def downgrade():
    pass  # the import's old times are not worth restoring

"""outgoing emails: a status, and claims by workers

Emails are delivered by background workers that claim a row before sending it (SELECT ... FOR
UPDATE SKIP LOCKED on PostgreSQL): ``status`` (pending, sending, sent, not_delivered) says where
each stands, ``claimed_at``/``claim_token`` which claim may record the outcome. Rows already
sent become ``sent``; those whose retries ran out, ``not_delivered``. The index that found due
rows by ``sent_at`` becomes one by status.

Revision ID: 0008_outbox_status
Revises: 0007_search_trigram
Create Date: 2026-11-27 05:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_outbox_status'
down_revision = '0007_search_trigram'
branch_labels = None
depends_on = None

#: the mailer's MAX_ATTEMPTS when this revision was written
MAX_ATTEMPTS = 8


def upgrade():
    with op.batch_alter_table('outgoing_emails') as batch:
        batch.add_column(sa.Column('status', sa.String(length=16), server_default='pending', nullable=False))
        batch.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch.drop_index('ix_outgoing_emails_pending')
        batch.create_index('ix_outgoing_emails_due', ['status', 'next_attempt_at'], unique=False)
    op.execute("UPDATE outgoing_emails SET status = 'sent' WHERE sent_at IS NOT NULL")
    op.execute(f"UPDATE outgoing_emails SET status = 'not_delivered' WHERE sent_at IS NULL AND attempts >= {MAX_ATTEMPTS}")


def downgrade():
    with op.batch_alter_table('outgoing_emails') as batch:
        batch.drop_index('ix_outgoing_emails_due')
        batch.create_index('ix_outgoing_emails_pending', ['sent_at', 'next_attempt_at'], unique=False)
        batch.drop_column('claim_token')
        batch.drop_column('claimed_at')
        batch.drop_column('status')

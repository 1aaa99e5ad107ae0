"""notification_events (the fan-out's outbox) and outgoing_emails.html_body

A request used to work out who hears of an event and write their notifications and emails
itself. It now records the event only, in the same transaction; a worker claims each pending
event once (FOR UPDATE SKIP LOCKED on PostgreSQL, a compare-and-set on SQLite) and writes the
notifications and emails. Emails gain an HTML part.

Revision ID: 0013_notification_events
Revises: 0012_session_version
Create Date: 2026-12-06 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_notification_events'
down_revision = '0012_session_version'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notification_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('claim_event_id', sa.Integer(), nullable=True),
        sa.Column('comment_id', sa.Integer(), nullable=True),
        sa.Column('confirmed', sa.Boolean(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('claim_token', sa.String(length=32), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('processed_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notification_events_actor_id_users')),
        sa.ForeignKeyConstraint(['claim_event_id'], ['claim_events.id'],
                                name=op.f('fk_notification_events_claim_event_id_claim_events')),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_notification_events_claim_id_claims')),
        sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_notification_events_comment_id_comments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_events')),
    )
    op.create_index('ix_notification_events_due', 'notification_events', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html_body', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.drop_column('html_body')
    op.drop_index('ix_notification_events_due', table_name='notification_events')
    op.drop_table('notification_events')

"""comments: a one-time key per comment form, unique per claim

A comment form sent again (the user retries after an error page, or resubmits the page) carried
nothing to tell it from a new comment, so the retry added a second copy. The form now carries a
random key stored with the comment; a second post with the same key shows the comment it added.

Revision ID: 0009_comment_nonce
Revises: 0008_outbox_status
Create Date: 2026-12-06 05:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_comment_nonce'
down_revision = '0008_outbox_status'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_comments_claim_id_nonce', ['claim_id', 'nonce'], unique=True)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index('uq_comments_claim_id_nonce')
        batch_op.drop_column('nonce')

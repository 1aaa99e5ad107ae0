"""users: session_version, so that sessions can be ended

A signed cookie session stays valid until it expires, whatever happens to the account: a copy
of it kept after sign-out, or from before a deactivation, worked again. The version is put in
the session at sign-in and compared with the user's row (already read on every request);
raising it ends every session of the user.

Revision ID: 0012_session_version
Revises: 0007_search_trigram
Create Date: 2026-12-06 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_session_version'
down_revision = '0007_search_trigram'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

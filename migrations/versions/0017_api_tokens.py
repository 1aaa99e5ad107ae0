"""api_tokens and api_idempotency_keys: personal tokens for /api/v1, and the answers to POSTs
sent with an Idempotency-Key (kept 24 hours)

A user's own systems authenticate with a token made on the "API access" page. Only an
HMAC-SHA256 of its secret is kept; the lookup id (part of the token, not secret) finds the row
by a unique index, and (user_id, id) serves the page's list of a user's tokens.

Revision ID: 0017_api_tokens
Revises: 0012_session_version
Create Date: 2026-12-06 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_api_tokens'
down_revision = '0014_imported_submitted'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('lookup_id', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('lookup_id', name=op.f('uq_api_tokens_lookup_id')),
    )
    op.create_index('ix_api_tokens_user_id_id', 'api_tokens', ['user_id', 'id'], unique=False)
    op.create_table(
        'api_idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('body', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_idempotency_keys_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_keys')),
    )
    op.create_index('ix_api_idempotency_keys_created_at', 'api_idempotency_keys', ['created_at'], unique=False)
    op.create_index('uq_api_idempotency_keys_user_id_key', 'api_idempotency_keys', ['user_id', 'key'], unique=True)


def downgrade():
    op.drop_index('uq_api_idempotency_keys_user_id_key', table_name='api_idempotency_keys')
    op.drop_index('ix_api_idempotency_keys_created_at', table_name='api_idempotency_keys')
    op.drop_table('api_idempotency_keys')
    op.drop_index('ix_api_tokens_user_id_id', table_name='api_tokens')
    op.drop_table('api_tokens')

"""claims search: trigram indexes on tenant names and domains (PostgreSQL)

Searching the claims list by customer was a scan of every tenant and domain per request
(76-93 ms and 42-55 ms with 100,000 tenants); a GIN trigram index on lower(name) and
lower(domain) serves ``LIKE '%term%'`` in under a millisecond. PostgreSQL only: SQLite, the
development database, has no pg_trgm and scans its few rows instead, with the same results.

pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.

Revision ID: 0007_search_trigram
Revises: 0006_list_indexes
Create Date: 2026-11-26 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_search_trigram'
down_revision = '0006_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_tenants_name_trgm ON tenants USING gin (lower(name) gin_trgm_ops)")
    op.execute("CREATE INDEX ix_tenant_domains_domain_trgm ON tenant_domains USING gin (lower(domain) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_tenant_domains_domain_trgm")
    op.execute("DROP INDEX ix_tenants_name_trgm")
    # The extension stays: other schemas or databases' objects may use it, and it costs nothing.

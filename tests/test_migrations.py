"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal import create_app
from portal.extensions import db
from tests.conftest import postgres_url, reset_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        url = postgres_url("commits")  # this worker's database for real commits
        reset_postgres(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _differences(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_from_empty_matches_the_models(empty_app):
    with empty_app.app_context():
        upgrade()
    assert _differences(empty_app) == []


def test_an_unmigrated_model_change_is_detected(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_claims_org_status")
    assert _differences(empty_app) != []


def test_downgrade_to_base_removes_every_table(empty_app):
    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()


def test_imported_approved_claims_are_dated_by_their_approval(empty_app):
    """0014 moves the submission of a claim imported approved to its approval's day; a claim
    imported under review and approved later in the portal, and a claim filed in the portal,
    keep theirs."""
    from datetime import date, datetime

    from sqlalchemy import text

    imported_at, approved_on = datetime(2026, 11, 20, 9, 30), date(2026, 3, 2)
    later = datetime(2026, 11, 25, 14, 0)
    with empty_app.app_context():
        upgrade(revision="0012_session_version")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO organizations (id, slug, name) VALUES (1, 'p', 'P')"))
            conn.execute(text("INSERT INTO users (id, email, name, password_hash, kind, role, active, organization_id, session_version, created_at)"
                              " VALUES (1, 'a@p.example', 'A', 'x', 'partner', 'global_admin', true, 1, 0, '2026-01-01 00:00:00')"))
            claim = text("INSERT INTO claims (id, organization_id, created_by_id, status, in_arbitration, draft, updated_at,"
                         " created_at, submitted_at, status_changed_at, approved_on, dispute_used)"
                         " VALUES (:id, 1, :by, :status, false, '{}', :at, :at, :at, :changed, :approved, false)")
            event = text("INSERT INTO claim_events (claim_id, kind, action, to_status, created_at)"
                         " VALUES (:id, :kind, :action, :to, :at)")
            conn.execute(claim, {"id": 1, "by": None, "status": "approved", "at": imported_at, "changed": imported_at,
                                 "approved": approved_on})
            conn.execute(event, {"id": 1, "kind": "imported", "action": "import", "to": "approved", "at": imported_at})
            # Imported approved, then closed in the portal: its status time is the closing's.
            conn.execute(claim, {"id": 2, "by": None, "status": "closed", "at": imported_at, "changed": later,
                                 "approved": approved_on})
            conn.execute(event, {"id": 2, "kind": "imported", "action": "import", "to": "approved", "at": imported_at})
            # Imported under review, approved in the portal the same day.
            conn.execute(claim, {"id": 3, "by": None, "status": "approved", "at": imported_at, "changed": later,
                                 "approved": later.date()})
            conn.execute(event, {"id": 3, "kind": "imported", "action": "import", "to": "under_review", "at": imported_at})
            # Filed in the portal.
            conn.execute(claim, {"id": 4, "by": 1, "status": "approved", "at": imported_at, "changed": later,
                                 "approved": later.date()})
        upgrade()
        with db.engine.connect() as conn:
            found = {row.id: (row.created_at, row.submitted_at, row.status_changed_at) for row in conn.execute(
                text("SELECT id, created_at, submitted_at, status_changed_at FROM claims ORDER BY id"))}
    midnight = datetime(2026, 3, 2)
    as_stored = {claim_id: tuple(value if isinstance(value, datetime) else datetime.fromisoformat(value) for value in times)
                 for claim_id, times in found.items()}
    assert as_stored == {
        1: (midnight, midnight, midnight),
        2: (midnight, midnight, later),
        3: (imported_at, imported_at, later),
        4: (imported_at, imported_at, later),
    }

"""The migration history and `dossier.storage.schema` describe the same database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from dossier.storage.db import Database
from dossier.storage.migrations import config, upgrade
from dossier.storage.schema import metadata


def test_migrations_match_the_schema_module(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert (
            context.get_current_revision()
            == ScriptDirectory.from_config(config()).get_current_head()
        )


def test_upgrade_twice_is_a_no_op(db: Database) -> None:
    upgrade(db.url)
    db.upgrade()
    tables = set(inspect(db.engine).get_table_names())
    assert set(metadata.tables) | {"alembic_version"} == tables


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    if db.dialect != "sqlite":
        return
    with db.engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "secure_delete")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "secure_delete": 1,
    }

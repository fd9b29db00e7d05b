"""Alembic environment for Dossier's storage: runs online against the engine handed in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from dossier.storage.schema import metadata

config = context.config
MIGRATION_LOCK = 0x646F7373  # "doss": the advisory lock id migrations serialise on


def run() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        from dossier.storage.db import create_engine

        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("give upgrade() a database URL or engine")
        engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # several instances may start at once: one migrates, the others wait
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise RuntimeError("Dossier's migrations run online only")
run()

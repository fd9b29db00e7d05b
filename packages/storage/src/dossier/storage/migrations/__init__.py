"""Alembic migrations, shipped inside the package (no alembic.ini needed).

The migration history is the schema's truth. `upgrade` applies it
programmatically from a source tree or an installed wheel alike:
``script_location`` is the package resource ``dossier.storage:migrations``.
For the alembic command line, point ``script_location`` there too.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

SCRIPT_LOCATION = "dossier.storage:migrations"


def config(engine: Engine | None = None) -> Config:
    """An alembic `Config` for this package; ``engine`` is handed to env.py."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Bring the database at ``url`` (or behind ``engine``) up to ``revision``."""
    if isinstance(url, str):
        from dossier.storage.db import create_engine

        engine = create_engine(url)
        try:
            command.upgrade(config(engine), revision)
        finally:
            engine.dispose()
    else:
        command.upgrade(config(url), revision)

"""The `db` fixture: every storage contract test runs against SQLite and PostgreSQL alike."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dossier.storage.db import Database, create_engine
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.sql import sqlite_checkpoint
from tests.support.postgres import reset_postgres

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

DatabaseFactory = Callable[..., Database]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test works on a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "dossier.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    sqlite_checkpoint(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_migrated_url(postgres_database_url: str) -> str:
    upgrade(postgres_database_url)
    return postgres_database_url


@pytest.fixture
def master_key() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture(params=ENGINES)
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the parametrised engine, as a URL."""
    if request.param == "sqlite":
        path = tmp_path / "dossier.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated_url")
    reset_postgres(url)
    return url


@pytest.fixture
def open_db(engine_url: str, master_key: MasterKey) -> Iterator[DatabaseFactory]:
    """Opens (more) `Database` handles on the test's database; all disposed at the end."""
    opened: list[Database] = []

    def factory(key: MasterKey = master_key, **kwargs: object) -> Database:
        db = Database(engine_url, key, **kwargs)  # type: ignore[arg-type]
        opened.append(db)
        return db

    yield factory
    for db in opened:
        db.dispose()


@pytest.fixture
def db(open_db: DatabaseFactory) -> Database:
    """A `Database` on an empty, migrated SQLite or PostgreSQL database."""
    return open_db()

"""PostgreSQL for the tests: find or start a server, and give each session its own database.

Where the server comes from, in order:

1. ``DOSSIER_TEST_POSTGRES_URL`` (a SQLAlchemy URL to any database of the
   server, e.g. ``postgresql+psycopg://me:pw@db.local:5432/postgres``) — it
   must answer, or the tests fail;
2. ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` when something answers
   there (this machine and CI run PostgreSQL 15 with trust auth);
3. a throwaway server started from the ``pgserver`` wheel in a temporary
   directory, stopped and deleted at the end.

If none works the fixture fails: PostgreSQL tests are never skipped silently.
On that server the session creates its own database ``dossier_t_<worker>_<random>``
(``<worker>``: the pytest-xdist worker, ``gw0``, ``gw1``…, or ``main`` without xdist) and
drops it at the end, so parallel runs and the workers of one run never collide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import make_url, text

ENV = "DOSSIER_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def answers(url: str, timeout: int = 3) -> bool:
    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": timeout})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except sqlalchemy.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database, per the module's order."""
    configured = os.environ.get(ENV)
    if configured:
        if not answers(configured):
            raise RuntimeError(f"{ENV} names a PostgreSQL server that does not answer")
        yield configured
        return
    if answers(DEFAULT_URL):
        yield DEFAULT_URL
        return
    with pgserver_instance(workdir) as url:
        yield url


@contextmanager
def pgserver_instance(workdir: Path) -> Iterator[str]:
    """A private PostgreSQL from the ``pgserver`` wheel (runs as a 'pgserver' user under root)."""
    import pgserver

    server = pgserver.get_server(workdir / "pgdata", cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        uri = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        url = uri.render_as_string(hide_password=False)
        if not answers(url):
            raise RuntimeError("pgserver started but does not answer")
        yield url
    finally:
        server.cleanup()


def worker_id() -> str:
    """This pytest-xdist worker (``gw0``, ``gw1``…), or ``main`` when the run has no workers."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A fresh database ``dossier_t_<worker>_<random>`` on the server, dropped (forcibly) at
    the end."""
    name = f"dossier_t_{worker_id()}_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server for the session (see the module docstring); fails if none."""
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_database_url(postgres_server_url: str) -> Iterator[str]:
    """This session's own empty database on that server."""
    with throwaway_database(postgres_server_url) as url:
        yield url


def reset_postgres(url: str) -> None:
    """Empty every Dossier table and drop the student-number sequences: a clean slate."""
    from dossier.storage.db import create_engine
    from dossier.storage.schema import metadata

    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{name}"' for name in metadata.tables)
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        sequences = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE sequencename LIKE :pattern"),
            {"pattern": "dossier\\_sn\\_%"},
        ).scalars()
        for name in list(sequences):
            conn.exec_driver_sql(f'DROP SEQUENCE "{name}"')
    engine.dispose()

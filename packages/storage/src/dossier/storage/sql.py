"""Small helpers for the two SQL dialects storage speaks (PostgreSQL and SQLite)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def insert_ignoring_conflicts(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if is_postgresql(conn):
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def sqlite_checkpoint(engine: Engine) -> None:
    """Copy SQLite's WAL into the database file and truncate it (old page images go with it)."""
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def snapshot(conn: Connection) -> Connection:
    """``conn`` set to read one consistent snapshot across statements (for verification).

    PostgreSQL: REPEATABLE READ. SQLite: a deferred BEGIN, which in WAL mode
    reads one snapshot without taking the write lock (see `dossier.storage.db`).
    """
    if is_postgresql(conn):
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn.execution_options(sqlite_begin="DEFERRED")


COPY_THRESHOLD = 50
"""From this many rows on, `bulk_insert` uses COPY on PostgreSQL."""


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows with the same keys: COPY on PostgreSQL, executemany elsewhere.

    COPY bypasses SQLAlchemy's type processing, so values must already be
    what the driver takes: aware datetimes, bytes, dates; JSON columns are
    encoded here.
    """
    if not rows:
        return
    if not is_postgresql(conn) or len(rows) < COPY_THRESHOLD:
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    encoders = [_copy_encoder(table.c[name].type) for name in columns]
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [encode(row[name]) for name, encode in zip(columns, encoders, strict=True)]
            )


def _copy_encoder(kind: TypeEngine[Any]) -> Callable[[Any], Any]:
    if isinstance(kind, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return lambda value: value

"""The database handle: engine set-up per dialect, and the `Database` façade services hold.

SQLite (embedded default) runs in WAL mode with foreign keys on, a busy
timeout, ``secure_delete`` (freed pages are zeroed, so a shredded key does not
linger in the file) and ``BEGIN IMMEDIATE`` transactions: SQLite has one
writer at a time anyway, and taking the write lock at the start means a
transaction never fails half-way when it upgrades from reading to writing.
PostgreSQL runs at READ COMMITTED; the few places that need more (audit chain
heads, optimistic versions, student-number sequences) say so themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import Connection, Engine, event, make_url

from dossier.storage import read_trail
from dossier.storage.audit import VerifyReport, verify
from dossier.storage.blind_index import BlindIndexer
from dossier.storage.keys import KeyVault, MasterKey
from dossier.storage.numbers import NumberAllocator
from dossier.storage.settings import StorageSettings, load_master_key
from dossier.storage.sql import snapshot
from dossier.storage.uow import UnitOfWork

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with Dossier's per-dialect settings (see the module docstring)."""
    parsed = make_url(url)
    # Errors quote no row values: they may reach a log line (see dossier.messaging.logs).
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sqlalchemy.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sqlalchemy.create_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "secure_delete=ON",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    mode = "DEFERRED" if options.get("sqlite_begin") == "DEFERRED" else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One chain's database: engine, key vault, student-number allocator, units of work.

    db = Database("sqlite:///var/dossier.db", MasterKey.from_env())
    db.upgrade()
    with db.unit_of_work() as uow:
        uow.registrations.add(registration)
        uow.commit()
    """

    def __init__(
        self,
        url: str,
        master_key: MasterKey,
        *,
        retired_keys: Iterable[MasterKey] = (),
        engine: Engine | None = None,
    ) -> None:
        self.url = url
        self.engine = engine if engine is not None else create_engine(url)
        self.vault = KeyVault(self.engine, master_key, retired_keys)
        self.numbers = NumberAllocator(self.engine)
        self._indexer: BlindIndexer | None = None

    @classmethod
    def open(
        cls,
        settings: StorageSettings | None = None,
        *,
        plugins: dict[str, object] | None = None,
        upgrade: bool = True,
    ) -> Database:
        """Open the configured database (master key through `load_master_key`), migrated to head."""
        settings = settings or StorageSettings.from_env()
        retired = [MasterKey.from_file(path) for path in settings.retired_master_key_files]
        db = cls(settings.database_url, load_master_key(settings, plugins), retired_keys=retired)
        if upgrade:
            db.upgrade()
        return db

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def indexer(self) -> BlindIndexer:
        if self._indexer is None:
            self._indexer = BlindIndexer(self.vault.index_root())
        return self._indexer

    def upgrade(self, revision: str = "head") -> None:
        from dossier.storage.migrations import upgrade

        upgrade(self.engine, revision)

    def unit_of_work(self) -> UnitOfWork:
        """A new transaction; use it as a context manager and call `UnitOfWork.commit`."""
        return UnitOfWork(self.engine, self.vault, self.indexer, self.numbers)

    def verify_audit(self, branch: str | None = None) -> VerifyReport:
        """Walk every branch's audit chain (or one) and report the first break of each."""
        with self.engine.connect() as conn, snapshot(conn).begin():
            return verify(conn, branch)

    def verify_read_trail(self, branch: str | None = None) -> VerifyReport:
        """Walk every branch's read-trail chain (or one) and report the first break of each."""
        with self.engine.connect() as conn, snapshot(conn).begin():
            return read_trail.verify(conn, branch)

    def rotate_master_key(self, new_master: MasterKey, *, batch_size: int = 500) -> int:
        return self.vault.rotate(new_master, batch_size=batch_size)

    def dispose(self) -> None:
        self.engine.dispose()

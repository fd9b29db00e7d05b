"""Fixtures for the intake tests: SQLite and PostgreSQL databases, files of students, callers,
and `Intake` in-process on a clock the test moves (test_handlers_*.py).

The database fixtures are those of tests/integration/storage/conftest.py (a
migrated, empty database of each engine per test), repeated here because
pytest shares fixtures only down a directory tree.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Role
from dossier.intake.handlers import Intake
from dossier.intake.imports.importer import Importer
from dossier.storage.db import Database, create_engine
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore
from dossier.storage.schema import audit_log, outbox, registrations, students
from dossier.storage.sql import sqlite_checkpoint
from tests.support.postgres import reset_postgres

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
BRANCHES = {
    "SH01": Branch(code="SH01", name="Shanghai"),
    "BJ01": Branch(code="BJ01", name="Beijing"),
}
HEADINGS = [
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_number",
    "phone",
    "email",
    "target_language",
    "current_level",
    "guardian_name",
    "guardian_relation",
    "guardian_phone",
    "guardian_consent",
    "status",
    "admitted_on",
]
STATUSES = ["enrolled", "completed", "withdrawn", "suspended"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
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


@pytest.fixture(params=ENGINES)
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "dossier.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated_url")
    reset_postgres(url)
    return url


@pytest.fixture
def db(engine_url: str) -> Iterator[Database]:
    """A migrated, empty database."""
    database = Database(engine_url, MasterKey.generate())
    yield database
    database.dispose()


@pytest.fixture
def documents(tmp_path: Path) -> DocumentStore:
    store = LocalObjectStore(tmp_path / "objects")
    store.ensure_bucket("documents")
    return DocumentStore(store, "documents")


@pytest.fixture
def make_importer(db: Database, documents: DocumentStore) -> Callable[..., Importer]:
    def make(**options: Any) -> Importer:
        return Importer(db, BRANCHES, documents, PluginHost({}), clock=lambda: NOW, **options)

    return make


@pytest.fixture
def importer(make_importer: Callable[..., Importer]) -> Importer:
    return make_importer()


def caller(role: Role = Role.ENROLMENT_OFFICER, branch: str = "SH01", **kw: Any) -> Caller:
    actor = Actor(id=f"{role.value}-{branch}", roles={role}, branches={branch}, **kw)
    return Caller(actor)


OFFICER = caller()


def student_row(n: int, **changes: str) -> dict[str, str]:
    """A valid adult student; ``n`` makes the ID document and the phone unique."""
    row = {
        "name": "王小明" if n % 2 else "Li Lei",
        "gender": "male" if n % 2 else "女",
        "birth_date": f"{1980 + n % 20}-0{1 + n % 9}-1{n % 10}",
        "id_type": "passport",
        "id_number": f"E{10_000_000 + n}",
        "phone": f"139{n:08d}",
        "email": f"s{n}@example.cn" if n % 3 == 0 else "",
        "target_language": "en",
        "current_level": "B1",
        "guardian_name": "",
        "guardian_relation": "",
        "guardian_phone": "",
        "guardian_consent": "",
        "status": STATUSES[n % 4],
        "admitted_on": f"20{10 + n % 15}-09-01",
    }
    row.update(changes)
    return row


def csv_file(
    rows: list[dict[str, str]], *, overrides: Mapping[int, Mapping[str, str]] | None = None
) -> bytes:
    """A CSV (UTF-8 with BOM, as spreadsheet programs write it) of ``rows``, some changed."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADINGS)
    for index, row in enumerate(rows):
        writer.writerow([{**row, **(overrides or {}).get(index, {})}[h] for h in HEADINGS])
    return b"\xef\xbb\xbf" + text.getvalue().encode("utf-8")


def students_file(count: int, **overrides: Mapping[str, str]) -> bytes:
    return csv_file([student_row(n) for n in range(count)])


def count(db: Database, table: Any, *where: Any) -> int:
    with db.engine.connect() as conn:
        query = select(func.count()).select_from(table)
        return int(conn.execute(query.where(*where) if where else query).scalar_one())


def counts(db: Database) -> dict[str, int]:
    return {
        "students": count(db, students),
        "registrations": count(db, registrations),
        "imported_entries": count(db, audit_log, audit_log.c.action == "student.imported"),
        "admitted_events": count(db, outbox, outbox.c.type == "student.admitted"),
    }


# -- the use cases in-process (test_handlers_*.py) -----------------------------------------

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves: every reading is a second after the one before."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(db: Database, documents: DocumentStore, clock: Clock) -> Intake:
    return Intake(db, BRANCHES, documents, PluginHost({}), clock=clock)

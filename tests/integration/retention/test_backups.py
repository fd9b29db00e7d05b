"""Backups to object storage: round trips across engines, corruption, incrementals, the ledger."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from dossier.core.errors import Destroyed
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.retention import ledger, restores
from dossier.retention.archive import BackupCorrupt, BackupKey, encode_value
from dossier.retention.backups import BackupRefused, Backups
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.objects import ObjectNotFound, ObjectStore
from dossier.storage.schema import metadata, restore_buckets
from tests.integration.retention.conftest import DatabaseFactory, admit_students

DOCS = "docs-bucket"
BACKUPS = "backups-bucket"


SEQUENCE_STATE = "student_number_counters"
"""SQLite keeps student-number sequences in a table, PostgreSQL in sequences: compared apart."""


def _rows(db: Database) -> Mapping[str, list[tuple[Any, ...]]]:
    """Every row of every table, engine-independent, in a stable order — but the buckets
    restores wrote into, which the live database notes as a restore starts writing (after
    the backup was taken)."""
    out = {}
    with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in (SEQUENCE_STATE, restore_buckets.name):
                continue
            rows = [
                tuple(sorted((k, repr(encode_value(v))) for k, v in row.items()))
                for row in conn.execute(select(table)).mappings()
            ]
            out[table.name] = sorted(rows)
    return out


def _objects(store: ObjectStore, bucket: str) -> dict[str, str]:
    return {
        info.key: hashlib.sha256(store.get(bucket, info.key)).hexdigest()
        for info in store.list(bucket)
    }


def _backups(db: Database, store: ObjectStore, **kw: Any) -> Backups:
    return Backups(
        db,
        store,
        documents_bucket=DOCS,
        backups_bucket=BACKUPS,
        key=KEY,
        part_size=kw.pop("part_size", 4096),
        **kw,
    )


KEY = BackupKey.from_text(BackupKey.generate())


@pytest.mark.parametrize(("source", "target"), [("postgresql", "sqlite"), ("sqlite", "postgresql")])
def test_a_backup_restores_every_row_and_document_into_the_other_engine(
    make_db: DatabaseFactory, local_store: ObjectStore, source: str, target: str
) -> None:
    origin = make_db(source)
    local_store.ensure_bucket(DOCS)
    admit_students(origin, DocumentStore(local_store, DOCS), 12)
    backups = _backups(origin, local_store)
    manifest = backups.create()
    assert len(manifest.parts) > 1, "the archive should be split into several parts"
    assert manifest.tables["students"] == 12

    restored = make_db(target)
    backups.restore(manifest.id, restored, objects_into=(local_store, "restored-docs"))
    assert _rows(restored) == _rows(origin)
    assert _objects(local_store, "restored-docs") == _objects(local_store, DOCS)
    assert restored.verify_audit().ok
    with origin.engine.connect() as conn:  # so destruction deletes the copies there too
        assert restores.buckets(conn) == ["restored-docs"]
    with restored.unit_of_work() as uow:
        next_number = uow.numbers.next("SH01", datetime.now(UTC).year)
    assert DEFAULT_FORMAT.parse(next_number).sequence == 13, "a used number was handed out again"


def test_verify_and_restore_catch_a_corrupted_part_and_write_nothing(
    make_db: DatabaseFactory, local_store: ObjectStore
) -> None:
    origin = make_db("sqlite")
    local_store.ensure_bucket(DOCS)
    admit_students(origin, DocumentStore(local_store, DOCS), 5)
    backups = _backups(origin, local_store)
    manifest = backups.create()
    assert backups.verify(manifest.id).ok

    key = f"backups/{manifest.id}/{manifest.parts[1].name}"
    data = bytearray(local_store.get(BACKUPS, key))
    data[len(data) // 2] ^= 0x01
    local_store.put(BACKUPS, key, bytes(data), len(data))

    result = backups.verify(manifest.id)
    assert not result.ok
    assert result.problem == manifest.parts[1].name
    target = make_db("postgresql")
    with pytest.raises(BackupCorrupt):
        backups.restore(manifest.id, target, objects_into=(local_store, "restored"))
    assert all(rows == [] for rows in _rows(target).values()), "a refused restore wrote rows"
    with pytest.raises(ObjectNotFound):
        list(local_store.list("restored"))


def test_restore_refuses_a_database_that_is_not_empty(
    make_db: DatabaseFactory, local_store: ObjectStore
) -> None:
    origin = make_db("sqlite")
    local_store.ensure_bucket(DOCS)
    admit_students(origin, DocumentStore(local_store, DOCS), 2)
    manifest = _backups(origin, local_store).create()
    with pytest.raises(BackupRefused) as refused:
        _backups(origin, local_store).restore(manifest.id, origin, objects_into=None)
    assert refused.value.reason == "target_not_empty"


def test_an_incremental_backup_carries_new_documents_and_restores_with_its_base(
    make_db: DatabaseFactory, local_store: ObjectStore
) -> None:
    origin = make_db("sqlite")
    local_store.ensure_bucket(DOCS)
    documents = DocumentStore(local_store, DOCS)
    admit_students(origin, documents, 3)
    backups = _backups(origin, local_store)
    full = backups.create()
    admit_students(origin, documents, 2, first=100)
    incremental = backups.create(incremental=True)
    assert incremental.base == full.id
    assert incremental.objects < full.objects + 4
    assert incremental.tables["students"] == 5

    restored = make_db("sqlite")
    backups.restore(incremental.id, restored, objects_into=(local_store, "restored-docs"))
    assert _objects(local_store, "restored-docs") == _objects(local_store, DOCS)
    assert _rows(restored) == _rows(origin)


def test_a_destroyed_student_stays_destroyed_when_an_older_backup_is_restored(
    make_db: DatabaseFactory, local_store: ObjectStore
) -> None:
    origin = make_db("postgresql")
    local_store.ensure_bucket(DOCS)
    documents = DocumentStore(local_store, DOCS)
    gone, kept = admit_students(origin, documents, 2)
    backups = _backups(origin, local_store)
    before = backups.create()

    with origin.unit_of_work() as uow:
        uow.shred(gone, certificate_id="cert-1", actor="operator-1")
        uow.commit()
    documents.delete_student(gone)
    ledger.record(
        local_store,
        BACKUPS,
        ledger.LedgerEntry(
            student_number=gone,
            branch="SH01",
            destroyed_at=datetime.now(UTC),
            certificate_id="cert-1",
        ),
    )

    restored = make_db("sqlite")
    backups.restore(before.id, restored, objects_into=(local_store, "restored-docs"))
    with restored.unit_of_work() as uow:
        with pytest.raises(Destroyed):
            uow.students.get(gone)
        assert uow.students.get(kept).student_number == kept
    assert not [
        i for i in local_store.list("restored-docs") if i.key.startswith(f"students/{gone}/")
    ]

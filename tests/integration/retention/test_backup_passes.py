"""Restore reads each part once, spools documents within a limit, and reports its progress."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import pytest

from dossier.core.progress import Progress
from dossier.retention.archive import BackupKey
from dossier.retention.backups import PREFIX, Backups
from dossier.storage.documents import DocumentStore
from dossier.storage.objects import LocalObjectStore, ObjectStore
from tests.integration.retention.conftest import DatabaseFactory, admit_students
from tests.integration.retention.test_backups import _rows

DOCS, BACKUPS = "docs-bucket", "backups-bucket"
KEY = BackupKey.from_text(BackupKey.generate())


def _objects(store: ObjectStore, bucket: str) -> dict[str, str]:
    return {
        info.key: hashlib.sha256(store.get(bucket, info.key)).hexdigest()
        for info in store.list(bucket)
    }


def _backups(db: Any, store: ObjectStore) -> Backups:
    return Backups(
        db, store, documents_bucket=DOCS, backups_bucket=BACKUPS, key=KEY, part_size=2048
    )


def _counting_gets(store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    reads: Counter[str] = Counter()
    original = store.get

    def get(bucket: str, key: str) -> bytes:
        if bucket == BACKUPS and key.startswith(PREFIX) and "/part-" in key:
            reads[key] += 1
        return original(bucket, key)

    monkeypatch.setattr(store, "get", get)
    return reads


@pytest.mark.parametrize("spool_limit", [1 << 30, 0, 300])
def test_restore_reads_every_part_once_and_writes_every_document(
    make_db: DatabaseFactory,
    local_store: LocalObjectStore,
    monkeypatch: pytest.MonkeyPatch,
    spool_limit: int,
) -> None:
    origin = make_db("sqlite")
    local_store.ensure_bucket(DOCS)
    documents = DocumentStore(local_store, DOCS)
    admit_students(origin, documents, 3)
    backups = _backups(origin, local_store)
    full = backups.create()
    admit_students(origin, documents, 2, first=100)
    incremental = backups.create(incremental=True)
    parts = len(full.parts) + len(incremental.parts)

    reads = _counting_gets(local_store, monkeypatch)
    heard: list[Progress] = []
    restored = make_db("postgresql")
    backups.restore(
        incremental.id,
        restored,
        objects_into=(local_store, "restored-docs"),
        progress=heard.append,
        spool_limit=spool_limit,
    )
    assert _rows(restored) == _rows(origin)
    assert _objects(local_store, "restored-docs") == _objects(local_store, DOCS)
    if spool_limit == 1 << 30:
        assert len(reads) == parts
        assert set(reads.values()) == {1}, "a part was read twice"
    else:  # the backups whose documents overflowed the spool are read a second time
        assert len(reads) == parts
        assert set(reads.values()) <= {1, 2}

    rows = [p for p in heard if p.stage == "rows"]
    assert [p.done for p in rows] == sorted(p.done for p in rows)
    assert rows[-1].done == rows[-1].total == sum(incremental.tables.values())
    objects = [p for p in heard if p.stage == "objects"]
    assert objects[-1].done == objects[-1].total == full.objects + incremental.objects


def test_create_and_verify_report_rows_objects_and_parts(
    make_db: DatabaseFactory, local_store: LocalObjectStore
) -> None:
    origin = make_db("postgresql")
    local_store.ensure_bucket(DOCS)
    admit_students(origin, DocumentStore(local_store, DOCS), 4)
    backups = _backups(origin, local_store)
    heard: list[Progress] = []
    manifest = backups.create(progress=heard.append)
    rows = [p for p in heard if p.stage == "rows"]
    assert rows[0] == Progress("rows", 0, sum(manifest.tables.values()))
    assert rows[-1].done == rows[-1].total
    assert [p.done for p in heard if p.stage == "objects"][-1] == manifest.objects

    checked: list[Progress] = []
    assert backups.verify(manifest.id, progress=checked.append).ok
    assert checked == [
        Progress("parts", n, len(manifest.parts)) for n in range(len(manifest.parts) + 1)
    ]

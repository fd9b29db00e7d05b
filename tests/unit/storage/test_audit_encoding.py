"""The canonical audit encoding and the chain hash: stable, documented, complete."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dossier.core.enums import IdDocumentType
from dossier.core.records import AuditEvent, IdDocument
from dossier.storage.audit import GENESIS, AuditLog, AuditSpec, canonical, chain_hash, value_hash

ENTRY = {
    "id": "e1",
    "branch": "SH01",
    "seq": 7,
    "at": datetime(2026, 3, 2, 9, 30, 15, 123, tzinfo=UTC),
    "actor": "officer-1",
    "action": "student.admitted",
    "student_number": "SH01-26-000001-W",
    "subject": None,
    "fields": ["personal.name"],
    "value_hashes": {"personal.name": "ab" * 32},
    "prev_hash": GENESIS,
    "hash": "ignored",
}


def test_canonical_is_sorted_compact_json_without_the_hash() -> None:
    assert canonical(ENTRY) == (
        b'{"action":"student.admitted","actor":"officer-1","at":"2026-03-02T09:30:15.000123Z",'
        b'"branch":"SH01","fields":["personal.name"],"id":"e1","prev_hash":"'
        + GENESIS.encode()
        + b'","seq":7,"student_number":"SH01-26-000001-W","subject":null,'
        b'"value_hashes":{"personal.name":"' + b"ab" * 32 + b'"}}'
    )


def test_canonical_is_what_any_json_library_gives() -> None:
    doc = {k: v for k, v in ENTRY.items() if k != "hash"}
    doc["at"] = "2026-03-02T09:30:15.000123Z"
    doc["actor"] = "招生人员 ✓"
    expected = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical({**ENTRY, "actor": "招生人员 ✓"}) == expected.encode("utf-8")


def test_timestamps_are_normalised_to_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    local = {**ENTRY, "at": datetime(2026, 3, 2, 17, 30, 15, 123, tzinfo=shanghai)}
    assert canonical(local) == canonical(ENTRY)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("id", "e2"),
        ("branch", "BJ02"),
        ("seq", 8),
        ("at", datetime(2026, 3, 2, 9, 30, 15, 124, tzinfo=UTC)),
        ("actor", "officer-2"),
        ("action", "student.destroyed"),
        ("student_number", None),
        ("subject", "x"),
        ("fields", []),
        ("value_hashes", {}),
        ("prev_hash", "1" * 64),
    ],
)
def test_every_column_but_the_hash_is_covered(column: str, value: object) -> None:
    assert chain_hash(GENESIS, {**ENTRY, column: value}) != chain_hash(GENESIS, ENTRY)


def test_chain_hash_is_sha256_of_prev_and_canonical() -> None:
    expected = hashlib.sha256(GENESIS.encode() + canonical(ENTRY)).hexdigest()
    assert chain_hash(GENESIS, ENTRY) == expected
    assert chain_hash(GENESIS, {**ENTRY, "hash": "other"}) == expected


def test_value_hashes_are_keyed_per_student_and_per_field() -> None:
    key, other_key = bytes(32), bytes(range(32))
    document = IdDocument(type=IdDocumentType.PASSPORT, number="E1")
    assert value_hash(key, "personal.id_document", document) == value_hash(
        key, "personal.id_document", IdDocument(type=IdDocumentType.PASSPORT, number="E1")
    )
    assert value_hash(key, "a", "x") != value_hash(other_key, "a", "x")
    assert value_hash(key, "a", "x") != value_hash(key, "b", "x")
    assert value_hash(key, "a", "x") != hashlib.sha256(b"x").hexdigest()


def test_record_builds_entries_with_hashes_only() -> None:
    log = AuditLog(conn=None)  # type: ignore[arg-type]  # record() does no I/O
    spec = AuditSpec(action="change.applied", fields=("reason",), values={"personal.phone": "+86"})
    event = log.record(spec, branch="SH01", actor="a", student_number="S1", data_key=bytes(32))
    assert isinstance(event, AuditEvent)
    assert event.fields == ("reason", "personal.phone")
    assert set(event.value_hashes) == {"personal.phone"}
    assert "+86" not in repr(event)
    assert log.pending == (event,)
    with pytest.raises(ValueError, match="data key"):
        log.record(spec, branch="SH01", actor="a")
    with pytest.raises(ValueError, match="actor"):
        log.record(AuditSpec(action="x"), branch="SH01")

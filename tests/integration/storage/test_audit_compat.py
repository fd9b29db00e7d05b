"""Chains written with the original encoding (``json.dumps`` per entry) verify with the fast one.

`verify` builds each entry's hash input from raw columns with orjson; these
tests pin it to the original definition — sorted-key compact JSON by Python's
``json.dumps`` — on both engines, with awkward values, across batch
boundaries, and with a break found in the middle of a streamed chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from dossier.core import lifecycles
from dossier.storage.audit import GENESIS, AuditSpec, verify
from dossier.storage.db import Database
from dossier.storage.schema import audit_heads, audit_log
from dossier.storage.sql import snapshot
from tests.support import storage as build


def legacy_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The chain hash exactly as the first version of `dossier.storage.audit` computed it."""
    doc = {name: value for name, value in entry.items() if name != "hash"}
    doc["at"] = doc["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc["fields"] = list(doc["fields"])
    doc["value_hashes"] = dict(doc["value_hashes"])
    body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


SHANGHAI = timezone(timedelta(hours=8))
AWKWARD = [
    {"actor": "招生人员 ✓", "subject": None, "fields": [], "value_hashes": {}},
    {"actor": 'quote " back \\ slash /', "subject": "tab\there\nnewline\r\x01\x1f\x7f"},
    {"actor": "emoji 😀 \u2028\u2029", "student_number": None, "fields": ["z", "a", "é"]},
    {"actor": "a", "value_hashes": {"z.field": "f" * 64, "a.field": "0" * 64, "é": "1"}},
    {"actor": "zero microseconds", "at": datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)},
    {"actor": "local time", "at": datetime(2026, 3, 2, 17, 30, 15, 5, tzinfo=SHANGHAI)},
    {"actor": "a number-like text", "subject": "1.5e3", "fields": ["1", "2.0"]},
    {"actor": "a year before 1000", "at": datetime(999, 12, 31, 23, 59, 59, 7, tzinfo=UTC)},
]


def legacy_chain(branch: str, count: int) -> list[dict[str, Any]]:
    """``count`` entries, cycling through `AWKWARD`, chained with `legacy_hash`."""
    rows, prev = [], GENESIS
    for seq in range(1, count + 1):
        row: dict[str, Any] = {
            "id": f"{branch}-entry-{seq}",
            "branch": branch,
            "seq": seq,
            "at": datetime(2026, 3, 2, 9, 30, 15, seq, tzinfo=UTC),
            "actor": "officer-1",
            "action": "student.admitted",
            "student_number": f"{branch}-26-{seq:06d}-X",
            "subject": f"subject-{seq}",
            "fields": ["status"],
            "value_hashes": {"personal.name": "ab" * 32},
            "prev_hash": prev,
            **AWKWARD[seq % len(AWKWARD)],
        }
        row["hash"] = prev = legacy_hash(prev, row)
        rows.append(row)
    return rows


def write(db: Database, branch: str, rows: list[dict[str, Any]]) -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(audit_log), rows)
        conn.execute(
            insert(audit_heads).values(branch=branch, seq=rows[-1]["seq"], hash=rows[-1]["hash"])
        )


def check(db: Database, batch: int) -> Any:
    with db.engine.connect() as conn, snapshot(conn).begin():
        return verify(conn, batch=batch)


@pytest.mark.parametrize("batch", [3, 1000])
def test_a_chain_written_with_json_dumps_verifies(db: Database, batch: int) -> None:
    write(db, "SH01", legacy_chain("SH01", 40))
    write(db, "BJ02", legacy_chain("BJ02", 7))
    report = check(db, batch)
    assert report.ok, report.breaks
    assert report.branches == {"BJ02": 7, "SH01": 40}


@pytest.mark.parametrize("batch", [3, 1000])
def test_a_break_in_the_middle_of_a_streamed_chain_is_found(db: Database, batch: int) -> None:
    rows = legacy_chain("SH01", 40)
    write(db, "SH01", rows)
    with db.engine.begin() as conn:
        conn.execute(
            update(audit_log).where(audit_log.c.id == rows[20]["id"]).values(subject="tab\there")
        )
    report = check(db, batch)
    (problem,) = report.breaks
    assert (problem.seq, problem.entry_id, problem.problem) == (21, rows[20]["id"], "hash")
    assert report.branches == {"SH01": 21}
    assert check(db, batch).breaks == report.breaks  # the connection is usable again


def test_entries_written_now_hash_as_they_always_did(db: Database) -> None:
    for i in range(3):
        reg = build.registration(build.new_marker(), id=f"reg-{i}", branch="SH01")
        with db.unit_of_work() as uow:
            uow.apply(
                lifecycles.submit_registration(reg, build.ctx()),
                audit=AuditSpec(
                    action="registration.submitted", values={"applicant.name": reg.applicant.name}
                ),
            )
            uow.commit()
    with db.engine.connect() as conn:
        stored = [
            dict(row)
            for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings()
        ]
    prev = GENESIS
    for row in stored:
        assert row["hash"] == legacy_hash(prev, row)
        prev = row["hash"]
    assert db.verify_audit().ok

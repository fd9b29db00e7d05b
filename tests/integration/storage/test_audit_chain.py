"""The audit chain catches every kind of tampering, and names the entry, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from dossier.core import lifecycles
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.schema import audit_heads, audit_log
from tests.support import storage as build


@pytest.fixture
def chained(db: Database) -> Database:
    """Two branches, five entries each, written by separate units of work."""
    for i in range(5):
        for branch in ("SH01", "BJ02"):
            reg = build.registration(build.new_marker(), id=f"{branch}-{i}", branch=branch)
            with db.unit_of_work() as uow:
                uow.apply(
                    lifecycles.submit_registration(reg, build.ctx()),
                    audit=AuditSpec(
                        action="registration.submitted",
                        values={"applicant.name": reg.applicant.name},
                    ),
                )
                uow.commit()
    report = db.verify_audit()
    assert report.ok
    assert report.branches == {"BJ02": 5, "SH01": 5}
    return db


def entry(db: Database, branch: str, seq: int) -> dict[str, object]:
    with db.engine.connect() as conn:
        row = conn.execute(
            select(audit_log).where(audit_log.c.branch == branch, audit_log.c.seq == seq)
        ).mappings()
        return dict(row.one())


def tamper(db: Database, statement: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]


def only_break(db: Database) -> tuple[str, int | None, str | None, str]:
    report = db.verify_audit()
    assert not report.ok
    (problem,) = report.breaks
    assert report.branches["BJ02"] == 5  # the other branch is checked and fine
    return problem.branch, problem.seq, problem.entry_id, problem.problem


def test_entries_carry_keyed_value_hashes_not_values(chained: Database) -> None:
    row = entry(chained, "SH01", 1)
    assert row["fields"] == ["applicant.name"]
    (digest,) = row["value_hashes"].values()  # type: ignore[attr-defined]
    assert len(digest) == 64
    assert row["prev_hash"] == "0" * 64


def test_changing_one_byte_is_caught(chained: Database) -> None:
    victim = entry(chained, "SH01", 3)
    actor = str(victim["actor"])
    forged = actor[:-1] + chr(ord(actor[-1]) ^ 1)
    tamper(chained, update(audit_log).where(audit_log.c.id == victim["id"]).values(actor=forged))
    assert only_break(chained) == ("SH01", 3, victim["id"], "hash")


def test_changing_a_value_hash_is_caught(chained: Database) -> None:
    victim = entry(chained, "SH01", 2)
    tamper(
        chained,
        update(audit_log)
        .where(audit_log.c.id == victim["id"])
        .values(value_hashes={"applicant.name": "f" * 64}),
    )
    assert only_break(chained) == ("SH01", 2, victim["id"], "hash")


def test_deleting_one_entry_is_caught(chained: Database) -> None:
    victim, follower = entry(chained, "SH01", 2), entry(chained, "SH01", 3)
    tamper(chained, delete(audit_log).where(audit_log.c.id == victim["id"]))
    assert only_break(chained) == ("SH01", 2, follower["id"], "seq")


def test_deleting_and_renumbering_is_caught(chained: Database) -> None:
    victim = entry(chained, "SH01", 2)
    later = [entry(chained, "SH01", seq) for seq in (3, 4, 5)]
    tamper(chained, delete(audit_log).where(audit_log.c.id == victim["id"]))
    for row in later:  # close the gap, as a careful forger would
        seq = int(row["seq"])  # type: ignore[call-overload]
        tamper(chained, update(audit_log).where(audit_log.c.id == row["id"]).values(seq=seq - 1))
    assert only_break(chained) == ("SH01", 2, later[0]["id"], "prev_hash")


def test_swapping_two_entries_is_caught(chained: Database) -> None:
    second, fourth = entry(chained, "SH01", 2), entry(chained, "SH01", 4)
    moves = ((second["id"], -2), (fourth["id"], 2), (second["id"], 4))
    for entry_id, seq in moves:  # via a free seq: (branch, seq) is unique
        tamper(chained, update(audit_log).where(audit_log.c.id == entry_id).values(seq=seq))
    assert only_break(chained) == ("SH01", 2, fourth["id"], "prev_hash")


def test_truncating_the_tail_is_caught(chained: Database) -> None:
    last = entry(chained, "SH01", 5)
    tamper(chained, delete(audit_log).where(audit_log.c.id == last["id"]))
    assert only_break(chained) == ("SH01", 5, None, "head")


def test_truncating_the_tail_and_rewinding_only_the_head_seq_is_caught(chained: Database) -> None:
    last = entry(chained, "SH01", 5)
    tamper(chained, delete(audit_log).where(audit_log.c.id == last["id"]))
    tamper(chained, update(audit_heads).where(audit_heads.c.branch == "SH01").values(seq=4))
    assert only_break(chained) == ("SH01", 4, None, "head")


def test_deleting_the_head_is_caught(chained: Database) -> None:
    tamper(chained, delete(audit_heads).where(audit_heads.c.branch == "SH01"))
    assert only_break(chained) == ("SH01", None, None, "no_head")


def test_verify_one_branch(chained: Database) -> None:
    tamper(chained, delete(audit_heads).where(audit_heads.c.branch == "SH01"))
    assert chained.verify_audit("BJ02").ok
    assert not chained.verify_audit("SH01").ok

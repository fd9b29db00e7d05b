"""The read trail (查阅记录) is chained per branch and `verify` catches tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from dossier.storage.db import Database
from dossier.storage.read_trail import seal, unsealed
from dossier.storage.schema import read_trail


def _read(db: Database, branch: str, number: str, actor: str = "web:officer") -> None:
    with db.unit_of_work() as uow:
        uow.reads.record(
            branch=branch,
            actor=actor,
            roles=["enrolment_officer"],
            student_number=number,
            kinds=["personal", "contact"],
            request_id="r-1",
        )
        uow.commit()


@pytest.fixture
def trail(db: Database) -> Database:
    for i in range(4):
        for branch in ("SH01", "BJ02"):
            _read(db, branch, f"{branch}-26-00000{i}-X")
    with db.unit_of_work() as uow:  # inserted unsealed: the chainer seals them
        assert unsealed(uow.connection, "SH01") == 4
        assert [e.seq for e in seal(uow.connection, "SH01", limit=3)] == [1, 2, 3]
        assert len(seal(uow.connection, "SH01")) == 1
        assert len(seal(uow.connection, "BJ02")) == 4
        uow.commit()
    report = db.verify_read_trail()
    assert report.ok, report.breaks
    assert report.branches == {"BJ02": 4, "SH01": 4}
    return db


def test_entries_hold_kinds_channel_and_no_values(trail: Database) -> None:
    with trail.unit_of_work() as uow:
        (entry,) = uow.reads.for_student("SH01-26-000002-X")
        assert entry.kinds == ("personal", "contact")
        assert entry.channel == "web"
        assert entry.roles == ("enrolment_officer",)
        assert len(uow.reads.for_actor("web:officer", branches=["SH01"])) == 4
        since = datetime.now(UTC) - timedelta(hours=1)
        assert uow.reads.distinct_students("web:officer", "SH01", since, since) == (4, 4)


def test_an_edited_entry_is_caught(trail: Database) -> None:
    with trail.engine.begin() as conn:
        conn.execute(
            update(read_trail)
            .where(read_trail.c.branch == "SH01", read_trail.c.seq == 2)
            .values(actor="web:someone-else")
        )
    report = trail.verify_read_trail()
    (problem,) = report.breaks
    assert (problem.branch, problem.seq, problem.problem) == ("SH01", 2, "hash")


def test_a_deleted_entry_is_caught(trail: Database) -> None:
    with trail.engine.begin() as conn:
        entry_id = conn.execute(
            select(read_trail.c.id).where(read_trail.c.branch == "BJ02", read_trail.c.seq == 3)
        ).scalar_one()
        conn.execute(delete(read_trail).where(read_trail.c.id == entry_id))
    (problem,) = trail.verify_read_trail().breaks
    assert (problem.branch, problem.seq, problem.problem) == ("BJ02", 3, "seq")


def test_alerts_open_once_per_window(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as uow:
        first = uow.read_alerts.open(
            branch="SH01",
            actor="a",
            rule="hourly",
            window="2026-12-03T10",
            count=31,
            threshold=30,
            at=now,
        )
        again = uow.read_alerts.open(
            branch="SH01",
            actor="a",
            rule="hourly",
            window="2026-12-03T10",
            count=32,
            threshold=30,
            at=now,
        )
        uow.commit()
    assert first is not None
    assert again is None
    with db.unit_of_work() as uow:
        uow.read_alerts.acknowledge(first.id, by="auditor", comment="checked", at=now)
        uow.commit()
    with db.unit_of_work() as uow:
        (alert,) = uow.read_alerts.listed(["SH01"])
        assert alert.comment == "checked"
        assert alert.acknowledged_by == "auditor"
        assert uow.read_alerts.listed(["SH01"], open_only=True) == []

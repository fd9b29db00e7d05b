"""Unit of work: all or nothing; stale writes conflict; audit and outbox share its transaction."""

from __future__ import annotations

import attrs
import pytest
from sqlalchemy import func, select

from dossier.core import lifecycles
from dossier.core.enums import StudentStatus
from dossier.core.errors import Conflict
from dossier.core.records import LegalHold
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.schema import metadata
from tests.support import storage as build


class Boom(Exception):
    pass


def row_counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
        }


def test_an_exception_inside_leaves_nothing_written(db: Database) -> None:
    assert db.indexer  # the chain-wide index key exists before any unit of work
    before = row_counts(db)
    reg = build.registration(build.new_marker())

    def admit_then_fail() -> None:
        with db.unit_of_work() as uow:
            uow.apply(
                lifecycles.submit_registration(reg, build.ctx()),
                audit=AuditSpec(action="registration.submitted", values={"who": reg.applicant}),
            )
            number = uow.numbers.next("SH01", 2026)
            accepted = lifecycles.accept_registration(reg, build.ctx(), number)
            uow.apply(accepted, audit=AuditSpec(action="registration.accepted"))
            uow.apply(lifecycles.admit(accepted.record, build.ctx()), AuditSpec(action="admitted"))
            uow.audit.flush()  # even entries already chained into the log go with the rollback
            raise Boom

    with pytest.raises(Boom):
        admit_then_fail()
    after = row_counts(db)
    # the student-number counter may move on (numbers are never reused); nothing else does
    after.pop("student_number_counters")
    before.pop("student_number_counters")
    assert after == before
    assert all(n == 0 for name, n in after.items() if name != "data_keys")
    assert after["data_keys"] == 1  # the index root only


def test_leaving_without_commit_rolls_back(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.registrations.add(build.registration(build.new_marker(), id="reg-x"))
    with db.unit_of_work() as uow:
        assert uow.registrations.find() == []


def test_commit_writes_record_audit_and_outbox_together(db: Database) -> None:
    reg = build.registration(build.new_marker())
    transition = lifecycles.submit_registration(reg, build.ctx())
    with db.unit_of_work() as uow:
        uow.apply(transition, audit=AuditSpec(action="registration.submitted"))
        uow.commit()
    counts = row_counts(db)
    assert (counts["registrations"], counts["audit_log"], counts["outbox"]) == (1, 1, 1)
    with db.unit_of_work() as uow:
        (message,) = uow.outbox.pending()
        assert message.event_id == transition.events[0].event_id
        assert message.subject == "dossier.events.SH01.registration.submitted"
        (entry,) = uow.audit.entries("SH01")
        assert (entry.actor, entry.subject) == ("officer-1", reg.id)


def test_stale_version_raises_conflict_and_keeps_the_winner(db: Database) -> None:
    reg = build.registration(build.new_marker())
    with db.unit_of_work() as uow:
        uow.registrations.add(reg)
        uow.commit()
    first = lifecycles.reject_registration(reg, build.ctx(actor="a"))
    second = lifecycles.withdraw_registration(reg, build.ctx(actor="b"))
    with db.unit_of_work() as uow:
        uow.apply(first, audit=AuditSpec(action="registration.rejected"))
        uow.commit()
    with db.unit_of_work() as uow:
        with pytest.raises(Conflict) as caught:
            uow.apply(second, audit=AuditSpec(action="registration.withdrawn"))
        assert caught.value.params == {
            "kind": "registration",
            "ref": reg.id,
            "expected": 1,
            "actual": 2,
        }
    with db.unit_of_work() as uow:
        assert uow.registrations.get(reg.id) == first.record
        assert len(uow.outbox.pending()) == 1


def test_concurrent_units_of_work_conflict_on_a_dossier(db: Database) -> None:
    number = "SH01-26-000001-W"
    with db.unit_of_work() as uow:
        uow.students.add(build.dossier(build.new_marker(), number))
        uow.commit()
    with db.unit_of_work() as uow:
        current = uow.students.get(number)
    suspend = lifecycles.change_status(current, StudentStatus.SUSPENDED, build.ctx())
    complete = lifecycles.change_status(current, StudentStatus.COMPLETED, build.ctx())
    with db.unit_of_work() as uow:
        uow.apply(suspend, audit=AuditSpec(action="student.status_changed"))
        uow.commit()
    with db.unit_of_work() as uow, pytest.raises(Conflict):
        uow.apply(complete, audit=AuditSpec(action="student.status_changed"))


def test_unversioned_records_conflict_against_the_version_read(db: Database) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite has one writer: two write transactions are never open at once")
    hold = LegalHold(
        id="h1", student_number="S", branch="SH01", reason="r", set_by="x", set_at=build.AT
    )
    with db.unit_of_work() as uow:
        uow.legal_holds.add(hold)
        uow.commit()
    with db.unit_of_work() as slow:
        stale = slow.legal_holds.get("h1")
        with db.unit_of_work() as fast:
            fresh = fast.legal_holds.get("h1")
            fast.legal_holds.update(attrs.evolve(fresh, lifted_at=build.AT, lifted_by="y"))
            fast.commit()
        with pytest.raises(Conflict):
            slow.legal_holds.update(attrs.evolve(stale, reason="changed"))


def test_updating_an_unversioned_record_needs_a_read_first(db: Database) -> None:
    hold = LegalHold(
        id="h1", student_number="S", branch="SH01", reason="r", set_by="x", set_at=build.AT
    )
    with db.unit_of_work() as uow:
        uow.legal_holds.add(hold)
        uow.commit()
    with db.unit_of_work() as uow, pytest.raises(RuntimeError):
        uow.legal_holds.update(hold)


def test_audit_and_outbox_rows_vanish_with_a_rollback(db: Database) -> None:
    reg = build.registration(build.new_marker())
    with db.unit_of_work() as uow:
        uow.apply(lifecycles.submit_registration(reg, build.ctx()), AuditSpec(action="submitted"))
        uow.audit.flush()
        counts = {
            name: uow.connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
            if name in {"audit_log", "audit_heads", "outbox", "registrations"}
        }
        assert counts == {"audit_log": 1, "audit_heads": 1, "outbox": 1, "registrations": 1}
        uow.rollback()
    after = row_counts(db)
    assert (after["audit_log"], after["audit_heads"], after["outbox"]) == (0, 0, 0)
    assert db.verify_audit().ok


def test_outbox_pending_and_mark_sent(db: Database) -> None:
    events = []
    with db.unit_of_work() as uow:
        for i in range(5):
            reg = build.registration(build.new_marker(), id=f"reg-{i}")
            transition = lifecycles.submit_registration(reg, build.ctx())
            uow.apply(transition, audit=AuditSpec(action="registration.submitted"))
            events.extend(transition.events)
        uow.commit()
    with db.unit_of_work() as uow:
        pending = uow.outbox.pending(limit=3)
        assert [m.event_id for m in pending] == [e.event_id for e in events[:3]]
        assert [m.seq for m in pending] == sorted(m.seq for m in pending)
        assert uow.outbox.mark_sent([m.event_id for m in pending]) == 3
        assert uow.outbox.mark_sent([pending[0].event_id]) == 0
        uow.commit()
    with db.unit_of_work() as uow:
        assert [m.event_id for m in uow.outbox.pending()] == [e.event_id for e in events[3:]]

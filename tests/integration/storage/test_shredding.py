"""Crypto-shredding: nothing personal in clear, ever; after `shred`, nothing recoverable at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from dossier.core import lifecycles
from dossier.core.errors import Destroyed
from dossier.storage.audit import AuditSpec
from dossier.storage.blind_index import IndexKind
from dossier.storage.db import Database
from dossier.storage.errors import KeyUnavailable
from dossier.storage.schema import data_keys, registrations, students
from tests.support import storage as build


def file_student(db: Database, marker: str, *, branch: str = "SH01") -> tuple[str, str]:
    """Register, admit, and file a change request — every personal field carrying ``marker``."""
    reg = build.registration(marker, branch=branch)
    ctx = build.ctx()
    with db.unit_of_work() as uow:
        values = {"applicant": reg.applicant, "guardian": reg.guardian, "needs": reg.needs}
        uow.apply(
            lifecycles.submit_registration(reg, ctx),
            audit=AuditSpec(action="registration.submitted", values=values),
        )
        number = uow.numbers.next(branch, 2026)
        accepted = lifecycles.accept_registration(reg, ctx, number)
        uow.apply(accepted, audit=AuditSpec(action="registration.accepted"))
        admitted = lifecycles.admit(accepted.record, ctx)
        uow.apply(admitted, audit=AuditSpec(action="student.admitted", values=values))
        change = build.change_request(marker, number, branch=branch)
        uow.apply(
            lifecycles.submit_change(change, ctx),
            audit=AuditSpec(
                action="change.submitted", values={c.field: c.after for c in change.changes}
            ),
        )
        uow.commit()
    return number, reg.id


def assert_absent(dump: bytes, *needles: str) -> None:
    for needle in needles:
        assert needle.encode() not in dump
        assert needle.encode().hex().encode() not in dump  # bytea renders as hex


def test_personal_data_is_never_stored_in_clear(db: Database) -> None:
    marker = build.new_marker()
    number, registration_id = file_student(db, marker)
    with db.unit_of_work() as uow:  # it is all there, for those holding the key …
        assert marker in uow.students.get(number).personal.name
        assert marker in uow.registrations.get(registration_id).applicant.email  # type: ignore[operator]
    assert_absent(build.raw_dump(db), marker)  # … and nowhere in clear


def test_audit_and_outbox_never_carry_personal_data(db: Database) -> None:
    marker = build.new_marker()
    file_student(db, marker)
    tables = build.table_rows_as_text(db)
    assert tables["audit_log"]
    assert tables["outbox"]
    assert marker not in tables["audit_log"] + tables["outbox"]


def test_after_shred_nothing_is_recoverable(db: Database) -> None:
    marker, other = build.new_marker(), build.new_marker()
    number, registration_id = file_student(db, marker)
    kept_number, _ = file_student(db, other)
    with db.engine.connect() as conn:
        key_id = conn.execute(
            select(students.c.key_id).where(students.c.student_number == number)
        ).scalar_one()
        wrapped = conn.execute(select(data_keys.c.wrapped).where(data_keys.c.id == key_id)).one()[0]
    with db.unit_of_work() as uow:
        person = uow.students.get(number).personal
        assert uow.students.find_by_blind_index(IndexKind.PHONE, person.phone) == [number]
        tombstone = uow.shred(number, certificate_id="cert-1", actor="operator", at=build.AT)
        uow.commit()
    if db.dialect == "sqlite":  # shred checkpointed the WAL itself: no old page lingers there
        wal = Path(f"{make_url(db.url).database}-wal")
        assert not wal.exists() or wrapped not in wal.read_bytes()

    with db.unit_of_work() as uow:
        with pytest.raises(Destroyed) as caught:
            uow.students.get(number)
        assert caught.value.params == {"student_number": number, "destroyed_on": "2026-03-02"}
        assert uow.students.tombstone(number) == tombstone
        assert (tombstone.branch, tombstone.certificate_id) == ("SH01", "cert-1")
        with pytest.raises(Destroyed):
            uow.registrations.get(registration_id)
        with pytest.raises(Destroyed):
            uow.change_requests.for_student(number)
        with pytest.raises(Destroyed):
            uow.students.data_key(number)
        with pytest.raises(KeyUnavailable):
            uow.session.keys.get(key_id)
        assert uow.students.find_by_blind_index(IndexKind.PHONE, person.phone) == []
        assert uow.registrations.find_by_blind_index(IndexKind.PHONE, person.phone) == []
        assert other in uow.students.get(kept_number).personal.name  # others are untouched

    with db.engine.connect() as conn:
        reg_row = conn.execute(
            select(registrations.c.key_id, registrations.c.personal_ct).where(
                registrations.c.id == registration_id
            )
        ).one()
        assert tuple(reg_row) == (None, None)
    dump = build.raw_dump(db)
    assert_absent(dump, marker)
    assert wrapped not in dump  # the wrapped key is gone from the files too (secure_delete)
    assert wrapped.hex().encode() not in dump
    assert db.verify_audit().ok


def test_shred_is_idempotent(db: Database) -> None:
    number, _ = file_student(db, build.new_marker())
    with db.unit_of_work() as uow:
        first = uow.shred(number, certificate_id="c1", actor="op", at=build.AT)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.shred(number, certificate_id="c2", actor="op") == first
        uow.commit()

"""Bulk admission for imports: the same rows, keys, indexes, audit and outbox as one by one."""

from __future__ import annotations

import attrs
import pytest
from sqlalchemy import func, select

from dossier.core.enums import Channel, RegistrationStatus
from dossier.core.errors import IllegalTransition
from dossier.core.records import Registration
from dossier.storage.blind_index import IndexKind
from dossier.storage.bulk import BulkAdmitter
from dossier.storage.db import Database
from dossier.storage.schema import outbox, students
from tests.support import storage as build

COUNT = 300  # above the COPY threshold: PostgreSQL takes the COPY path


def imports(marker: str, count: int = COUNT) -> list[Registration]:
    return [
        attrs.evolve(build.registration(f"{marker}-{i}"), id=f"imp-{i}", channel=Channel.IMPORT)
        for i in range(count)
    ]


def test_bulk_admission_writes_everything_the_single_path_writes(db: Database) -> None:
    marker = build.new_marker()
    registrations = imports(marker)
    with db.unit_of_work() as uow:
        dossiers = BulkAdmitter(uow).admit(registrations, build.ctx())
        uow.commit()
    numbers = [d.student_number for d in dossiers]
    assert len(set(numbers)) == COUNT
    assert numbers[0].startswith("SH01-26-000001")
    with db.unit_of_work() as uow:
        for registration, dossier in zip(registrations[::37], dossiers[::37], strict=True):
            assert uow.students.get(dossier.student_number) == dossier
            stored = uow.registrations.get(registration.id)
            assert stored.status is RegistrationStatus.ACCEPTED
            assert stored.student_number == dossier.student_number
            assert uow.students.key_id(dossier.student_number) == uow.registrations.key_id(
                registration.id
            )
            phone = registration.applicant.phone
            assert uow.students.find_by_blind_index(IndexKind.PHONE, phone) == [
                dossier.student_number
            ]
            assert uow.registrations.find_by_blind_index(IndexKind.PHONE, phone) == [
                registration.id
            ]
        (entry,) = uow.audit.for_student(dossiers[5].student_number)
        assert set(entry.value_hashes) >= {"personal.name", "personal.phone"}
        pending = uow.outbox.pending(limit=3 * COUNT)
        assert len(pending) == 2 * COUNT
        assert [m.seq for m in pending] == sorted(m.seq for m in pending)
    report = db.verify_audit()
    assert report.ok
    assert report.branches == {"SH01": COUNT}
    assert marker not in "".join(build.table_rows_as_text(db).values())


def test_bulk_admission_rolls_back_whole(db: Database) -> None:
    with db.unit_of_work() as uow:
        BulkAdmitter(uow).admit(imports(build.new_marker(), 60), build.ctx())
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(students)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0


def test_bulk_admission_refuses_registrations_already_decided(db: Database) -> None:
    regs = imports(build.new_marker(), 3)
    regs[1] = attrs.evolve(regs[1], status=RegistrationStatus.REJECTED)
    with db.unit_of_work() as uow, pytest.raises(IllegalTransition):
        BulkAdmitter(uow).admit(regs, build.ctx())

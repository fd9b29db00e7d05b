"""Duplicate detection (查重) over encrypted values, across every branch of the chain."""

from __future__ import annotations

import attrs

from dossier.core.enums import IdDocumentType
from dossier.core.records import IdDocument
from dossier.storage.blind_index import IndexKind
from dossier.storage.db import Database
from tests.support import storage as build


def test_duplicates_are_found_across_branches_on_normalised_values(db: Database) -> None:
    marker = build.new_marker()
    shanghai = build.registration(marker, branch="SH01")
    person = shanghai.applicant
    beijing = attrs.evolve(
        build.registration(build.new_marker(), branch="BJ02"),
        applicant=attrs.evolve(
            person,
            name=f"  {person.name.upper()} ",
            id_document=IdDocument(type=person.id_document.type, number=f"e-{marker}".upper()),
        ),
    )
    with db.unit_of_work() as uow:
        uow.registrations.add(shanghai)
        uow.registrations.add(beijing)
        uow.students.add(build.dossier(marker, "SH01-26-000001-W", registration_id=shanghai.id))
        uow.commit()
    both = sorted([shanghai.id, beijing.id])
    with db.unit_of_work() as uow:
        regs = uow.registrations
        assert sorted(regs.find_by_blind_index(IndexKind.PHONE, person.phone)) == both
        assert sorted(regs.find_by_blind_index(IndexKind.ID_DOCUMENT, person.id_document)) == both
        triple = (person.name.lower(), person.birth_date, person.phone)
        assert sorted(regs.find_by_blind_index(IndexKind.NAME_BIRTH_PHONE, triple)) == both
        assert uow.students.find_by_blind_index(IndexKind.PHONE, person.phone) == [
            "SH01-26-000001-W"
        ]
        other_type = IdDocument(type=IdDocumentType.HKID, number=person.id_document.number)
        assert regs.find_by_blind_index(IndexKind.ID_DOCUMENT, other_type) == []
        assert regs.find_by_blind_index(IndexKind.PHONE, "+8613800000000") == []


def test_index_follows_updates(db: Database) -> None:
    reg = build.registration(build.new_marker())
    with db.unit_of_work() as uow:
        uow.registrations.add(reg)
        uow.commit()
    moved = attrs.evolve(
        reg, applicant=attrs.evolve(reg.applicant, phone="+8613100000000"), version=2
    )
    with db.unit_of_work() as uow:
        uow.registrations.update(moved)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.registrations.find_by_blind_index(IndexKind.PHONE, reg.applicant.phone) == []
        assert uow.registrations.find_by_blind_index(IndexKind.PHONE, "+86 131 0000 0000") == [
            reg.id
        ]

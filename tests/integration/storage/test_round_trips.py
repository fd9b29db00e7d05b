"""Every record goes in and comes back equal, on both engines."""

from __future__ import annotations

import uuid
from datetime import timedelta

import attrs
import pytest

from dossier.core.enums import ChangeStatus, DestructionStatus, StudentStatus
from dossier.core.errors import NotFound
from dossier.core.records import DestructionRequest, Feedback, LegalHold
from dossier.storage.db import Database
from tests.support import storage as build

NUMBER = "SH01-26-000001-W"


def _admit(db: Database, marker: str, number: str = NUMBER) -> None:
    reg = build.registration(marker)
    with db.unit_of_work() as uow:
        uow.registrations.add(reg)
        uow.students.add(build.dossier(marker, number, registration_id=reg.id))
        uow.commit()


def test_registration_round_trip(db: Database) -> None:
    reg = build.registration(build.new_marker())
    with db.unit_of_work() as uow:
        uow.registrations.add(reg)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.registrations.get(reg.id) == reg


def test_registration_without_guardian_or_documents(db: Database) -> None:
    reg = attrs.evolve(build.registration(build.new_marker()), guardian=None, documents=())
    with db.unit_of_work() as uow:
        uow.registrations.add(reg)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.registrations.get(reg.id) == reg


def test_dossier_round_trip_with_every_child(db: Database) -> None:
    marker = build.new_marker()
    dossier = build.dossier(marker, NUMBER)
    with db.unit_of_work() as uow:
        uow.students.add(dossier)
        uow.commit()
    with db.unit_of_work() as uow:
        got = uow.students.get(NUMBER)
        assert got == dossier
        assert got.admitted_at.tzinfo is not None
        assert uow.consents.get(dossier.consents[0].id) == dossier.consents[0]
        assert uow.consents.active(NUMBER, dossier.consents[0].purpose)


def test_dossier_update_replaces_children(db: Database) -> None:
    marker = build.new_marker()
    _admit(db, marker)
    with db.unit_of_work() as uow:
        current = uow.students.get(NUMBER)
        moved = attrs.evolve(
            current,
            status=StudentStatus.SUSPENDED,
            payments=current.payments[:0],
            enrolments=current.enrolments[::-1],
            personal=attrs.evolve(current.personal, address=None),
            version=current.version + 1,
        )
        uow.students.update(moved)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.students.get(NUMBER) == moved
        assert uow.students.numbers(status=StudentStatus.SUSPENDED) == [NUMBER]


def test_change_request_round_trip_and_update(db: Database) -> None:
    marker = build.new_marker()
    _admit(db, marker)
    change = build.change_request(marker, NUMBER)
    with db.unit_of_work() as uow:
        uow.change_requests.add(change)
        uow.commit()
    approved = attrs.evolve(
        change,
        status=ChangeStatus.APPROVED,
        reviewed_by="approver-1",
        reviewed_at=build.AT + timedelta(hours=1),
        review_comment="fine",
        approved_fields=("personal.phone",),
        version=2,
    )
    with db.unit_of_work() as uow:
        assert uow.change_requests.get(change.id) == change
        uow.change_requests.update(approved)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.change_requests.get(change.id) == approved
        assert uow.change_requests.for_student(NUMBER) == [approved]
        assert uow.change_requests.find(branch="SH01", status=ChangeStatus.APPROVED) == [approved]


def test_destruction_request_round_trip(db: Database) -> None:
    request = DestructionRequest(
        id="dst-1",
        student_number=NUMBER,
        branch="SH01",
        reason="completed the course",
        requested_by="student-self",
        requested_at=build.AT,
    )
    executed = attrs.evolve(
        request,
        status=DestructionStatus.APPROVED,
        reviewed_by="manager",
        reviewed_at=build.AT,
        review_reason="ok",
        executed_at=build.AT,
        certificate_id="cert-1",
        version=2,
    )
    with db.unit_of_work() as uow:
        uow.destruction_requests.add(request)
        uow.destruction_requests.update(executed)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.destruction_requests.get("dst-1") == executed
        assert uow.destruction_requests.find(status=DestructionStatus.APPROVED) == [executed]


def test_legal_hold_round_trip_and_lift(db: Database) -> None:
    hold = LegalHold(
        id="hold-1",
        student_number=NUMBER,
        branch="SH01",
        reason="fee dispute",
        set_by="legal",
        set_at=build.AT,
    )
    with db.unit_of_work() as uow:
        uow.legal_holds.add(hold)
        uow.commit()
    with db.unit_of_work() as uow:
        got = uow.legal_holds.get("hold-1")
        assert got == hold
        lifted = attrs.evolve(got, lifted_by="legal", lifted_at=build.AT, lift_reason="settled")
        uow.legal_holds.update(lifted)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.legal_holds.get("hold-1") == lifted
        assert uow.legal_holds.for_student(NUMBER, active_only=True) == []


def test_feedback_round_trip(db: Database) -> None:
    item = Feedback(
        id=str(uuid.uuid4()),
        branch="BJ02",
        topic="process",
        text="the form is long",
        submitted_at=build.AT,
    )
    with db.unit_of_work() as uow:
        uow.feedback.add(item)
        uow.commit()
    with db.unit_of_work() as uow:
        answered = attrs.evolve(
            uow.feedback.get(item.id), response="thanks", responded_by="m", responded_at=build.AT
        )
        uow.feedback.update(answered)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.feedback.find(branch="BJ02") == [answered]


def test_tombstone_and_audit_event_round_trip(db: Database) -> None:
    _admit(db, build.new_marker())
    with db.unit_of_work() as uow:
        tombstone = uow.shred(NUMBER, certificate_id="cert-9", actor="operator", at=build.AT)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.students.tombstone(NUMBER) == tombstone
        (event,) = uow.audit.for_student(NUMBER)
        assert uow.audit.entries("SH01") == [event]
        assert (event.action, event.actor, event.at, event.subject) == (
            "student.shredded",
            "operator",
            build.AT,
            "cert-9",
        )


@pytest.mark.parametrize("kind", ["registrations", "students", "change_requests"])
def test_missing_records_raise_not_found(db: Database, kind: str) -> None:
    with db.unit_of_work() as uow, pytest.raises(NotFound):
        getattr(uow, kind).get("nope")

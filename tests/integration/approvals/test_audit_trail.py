"""A student's audit trail (``audit.trail``): actions, actors, times, field names — no values."""

from __future__ import annotations

import pytest

from dossier.approvals.handlers import Approvals
from dossier.core import wire
from dossier.core.commands import ChangeStudentStatus
from dossier.core.contracts.approvals import AuditTrail
from dossier.core.enums import StudentStatus
from dossier.core.errors import AccessDenied, NotFound, ValidationError
from dossier.core.policy import Role
from dossier.messaging.client import service_for
from dossier.storage.db import Database
from tests.integration.approvals.conftest import (
    APPROVER,
    DESK,
    ID_MARKER,
    NAME_MARKER,
    OFFICER,
    OTHER_BRANCH_APPROVER,
    admit_student,
    caller,
    student,
)


def test_the_trail_lists_what_was_done_to_the_student_without_any_value(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    other = admit_student(db, n=1)
    approvals.change_status(
        OFFICER,
        ChangeStudentStatus(student_number=number, target=StudentStatus.SUSPENDED, reason="休学"),
    )
    trail = approvals.audit_trail(DESK, AuditTrail(student_number=number))
    assert (trail.student_number, trail.branch, trail.total) == (number, "SH01", 2)
    assert [(line.action, line.actor) for line in trail.items] == [
        ("student.admitted", "officer-1"),
        ("student.status_changed", "officer-1"),
    ]
    assert trail.items[1].fields == ("status",)
    assert trail.items[0].at <= trail.items[1].at
    text = wire.dumps(trail).decode()
    for absent in (NAME_MARKER, ID_MARKER, "value_hashes", other):
        assert absent not in text

    assert approvals.audit_trail(student(number), AuditTrail(student_number=number)).total == 2
    assert approvals.audit_trail(APPROVER, AuditTrail(student_number=number, limit=1)).items == (
        trail.items[1],
    )


def test_the_trail_is_hidden_like_the_dossier(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    with pytest.raises(NotFound):
        approvals.audit_trail(OTHER_BRANCH_APPROVER, AuditTrail(student_number=number))
    with pytest.raises(NotFound):
        approvals.audit_trail(student("SH01-26-000999-X"), AuditTrail(student_number=number))
    with pytest.raises(AccessDenied):
        approvals.audit_trail(caller("auditor-1", Role.AUDITOR), AuditTrail(student_number=number))
    with pytest.raises(ValidationError):
        approvals.audit_trail(OFFICER, AuditTrail(student_number=number, limit=0))


def test_the_client_routes_the_trail_to_approvals() -> None:
    assert service_for("audit.trail") == "approvals"
    assert service_for("audit.verify") == "retention"

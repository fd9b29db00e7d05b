"""Domain events: what happened, published on ``dossier.events.<branch>.<type>``.

Events leave the storage boundary, so they carry references (ids, student
numbers, field *names*, statuses) and never personal values.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from attrs import field, frozen

from dossier.core.enums import (
    ChangeStatus,
    Channel,
    ConsentPurpose,
    DestructionStatus,
    RegistrationStatus,
    StudentStatus,
)


def new_id() -> str:
    return str(uuid.uuid4())


@frozen(kw_only=True)
class DomainEvent:
    type: ClassVar[str] = "event"

    branch: str
    occurred_at: datetime
    actor: str
    event_id: str = field(factory=new_id)


@frozen(kw_only=True)
class RegistrationSubmitted(DomainEvent):
    type: ClassVar[str] = "registration.submitted"
    registration_id: str
    channel: Channel


@frozen(kw_only=True)
class RegistrationDecided(DomainEvent):
    """Accepted (with the new student number), rejected or withdrawn."""

    type: ClassVar[str] = "registration.decided"
    registration_id: str
    status: RegistrationStatus
    student_number: str | None = None


@frozen(kw_only=True)
class StudentAdmitted(DomainEvent):
    type: ClassVar[str] = "student.admitted"
    student_number: str
    registration_id: str | None


@frozen(kw_only=True)
class StudentStatusChanged(DomainEvent):
    type: ClassVar[str] = "student.status_changed"
    student_number: str
    from_status: StudentStatus
    to_status: StudentStatus
    effective_date: date


@frozen(kw_only=True)
class StudentRecordChanged(DomainEvent):
    """Courses, payments, documents or personal details changed; names the fields only."""

    type: ClassVar[str] = "student.record_changed"
    student_number: str
    fields: tuple[str, ...]


@frozen(kw_only=True)
class ChangeRequestMoved(DomainEvent):
    type: ClassVar[str] = "change.moved"
    change_id: str
    student_number: str
    status: ChangeStatus
    fields: tuple[str, ...]


@frozen(kw_only=True)
class DestructionRequestMoved(DomainEvent):
    type: ClassVar[str] = "destruction.moved"
    request_id: str
    student_number: str
    status: DestructionStatus


@frozen(kw_only=True)
class ConsentChanged(DomainEvent):
    type: ClassVar[str] = "consent.changed"
    consent_id: str
    student_number: str
    purpose: ConsentPurpose
    active: bool


ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    RegistrationSubmitted,
    RegistrationDecided,
    StudentAdmitted,
    StudentStatusChanged,
    StudentRecordChanged,
    ChangeRequestMoved,
    DestructionRequestMoved,
    ConsentChanged,
)

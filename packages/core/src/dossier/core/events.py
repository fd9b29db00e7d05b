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
    FindingStatus,
    RegistrationStatus,
    ReviewRunStatus,
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


@frozen(kw_only=True)
class LegalHoldChanged(DomainEvent):
    """A legal hold (法律保留) was set (``active``) or lifted; the reason stays in the record."""

    type: ClassVar[str] = "hold.changed"
    hold_id: str
    student_number: str
    active: bool


@frozen(kw_only=True)
class DisclosureRecorded(DomainEvent):
    """Student data went to a third party under a consent; names the fields, not the recipient."""

    type: ClassVar[str] = "disclosure.recorded"
    disclosure_id: str
    student_number: str
    purpose: ConsentPurpose
    fields: tuple[str, ...]


@frozen(kw_only=True)
class FeedbackChanged(DomainEvent):
    """流程反馈 submitted or answered; topic and text stay in the record."""

    type: ClassVar[str] = "feedback.changed"
    feedback_id: str
    responded: bool


@frozen(kw_only=True)
class DestructionVerified(DomainEvent):
    """销毁核验: after execution every store was re-read; ``ok`` when nothing readable remains."""

    type: ClassVar[str] = "destruction.verified"
    request_id: str
    certificate_id: str
    student_number: str
    ok: bool


@frozen(kw_only=True)
class ReviewRunMoved(DomainEvent):
    """定期审核: a branch's run of ``quarter`` (``2026Q4``) started, completed or signed off."""

    type: ClassVar[str] = "review.run_moved"
    run_id: str
    quarter: str
    status: ReviewRunStatus
    findings: int


@frozen(kw_only=True)
class ReviewFindingMoved(DomainEvent):
    """A finding of the review was resolved or waived; the reviewer's note stays in the record."""

    type: ClassVar[str] = "review.finding_moved"
    run_id: str
    finding_id: str
    student_number: str
    rule: str
    status: FindingStatus


ALL_EVENTS: tuple[type[DomainEvent], ...] = (
    RegistrationSubmitted,
    RegistrationDecided,
    StudentAdmitted,
    StudentStatusChanged,
    StudentRecordChanged,
    ChangeRequestMoved,
    DestructionRequestMoved,
    ConsentChanged,
    LegalHoldChanged,
    DisclosureRecorded,
    FeedbackChanged,
    DestructionVerified,
    ReviewRunMoved,
    ReviewFindingMoved,
)

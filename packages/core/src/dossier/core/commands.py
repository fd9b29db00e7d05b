"""Commands: what a caller asks a service to do. Frozen, wire-ready, tagged by ``type``.

A command carries input exactly as submitted; the handlers validate it with
the branch's rules and the access policy before anything is written.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from attrs import frozen

from dossier.core.attachments import Attachment
from dossier.core.enums import (
    Channel,
    ConsentGiver,
    ConsentPurpose,
    Decision,
    PaymentMethod,
    StudentStatus,
)
from dossier.core.records import (
    FieldChange,
    Guardian,
    LearningNeeds,
    PersonalDetails,
)


@frozen(kw_only=True)
class Command:
    type: ClassVar[str] = "command"


@frozen(kw_only=True)
class SubmitRegistration(Command):
    """提交《学员报名表》 online, at the front desk, or from an import."""

    type: ClassVar[str] = "registration.submit"
    branch: str
    channel: Channel
    applicant: PersonalDetails
    needs: LearningNeeds
    guardian: Guardian | None = None
    guardian_consent: bool = False
    attachments: tuple[Attachment, ...] = ()


@frozen(kw_only=True)
class ReviewRegistration(Command):
    """审核报名: accept (admit, assign a student number) or reject, with a reason.

    Acceptance is refused while probable duplicates exist, unless the reviewer
    has looked at them and says so with ``allow_duplicates``.
    """

    type: ClassVar[str] = "registration.review"
    registration_id: str
    decision: Decision
    reason: str
    allow_duplicates: bool = False


@frozen(kw_only=True)
class WithdrawRegistration(Command):
    """The applicant or the desk withdraws a registration before it is decided (撤回报名)."""

    type: ClassVar[str] = "registration.withdraw"
    registration_id: str
    reason: str


@frozen(kw_only=True)
class ChangeStudentStatus(Command):
    """档案分类: move a dossier to another status, with reason and effective date."""

    type: ClassVar[str] = "status.change"
    student_number: str
    target: StudentStatus
    reason: str
    effective_date: date | None = None


@frozen(kw_only=True)
class EnrolCourse(Command):
    """Enrol the student in a course (选课)."""

    type: ClassVar[str] = "course.enrol"
    student_number: str
    course_code: str
    course_name: str
    starts_on: date
    ends_on: date | None = None


@frozen(kw_only=True)
class EndCourse(Command):
    """End a course enrolment: completed or dropped."""

    type: ClassVar[str] = "course.end"
    student_number: str
    enrolment_id: str
    ended_on: date
    reason: str


@frozen(kw_only=True)
class RecordPayment(Command):
    """Record a payment (缴费记录) with its receipt reference."""

    type: ClassVar[str] = "payment.record"
    student_number: str
    amount_minor: int
    currency: str
    method: PaymentMethod
    receipt_ref: str
    paid_at: datetime


@frozen(kw_only=True)
class SubmitChange(Command):
    """《信息变更申请表》: the fields to change, why, and the evidence."""

    type: ClassVar[str] = "change.submit"
    student_number: str
    changes: tuple[FieldChange, ...]
    reason: str
    attachments: tuple[Attachment, ...] = ()


@frozen(kw_only=True)
class ReviewChange(Command):
    """Approve all fields (``fields`` None), a subset, or reject — never one's own request."""

    type: ClassVar[str] = "change.review"
    change_id: str
    decision: Decision
    comment: str
    fields: tuple[str, ...] | None = None


@frozen(kw_only=True)
class RebaseChange(Command):
    """重新核对: re-validate a stale request against the current dossier and refresh its
    before-values and base version; it stays submitted for a fresh decision."""

    type: ClassVar[str] = "change.rebase"
    change_id: str
    comment: str


@frozen(kw_only=True)
class AnswerChange(Command):
    """The student confirms an applied change, or disputes it with a reason."""

    type: ClassVar[str] = "change.answer"
    change_id: str
    token: str
    confirm: bool
    reason: str = ""


@frozen(kw_only=True)
class SubmitDestruction(Command):
    """《资料销毁申请表》: only for completed or withdrawn students."""

    type: ClassVar[str] = "destruction.submit"
    student_number: str
    reason: str


@frozen(kw_only=True)
class ReviewDestruction(Command):
    """Approve or reject a destruction request (审批销毁); never the requester."""

    type: ClassVar[str] = "destruction.review"
    request_id: str
    decision: Decision
    reason: str


@frozen(kw_only=True)
class SetLegalHold(Command):
    """Keep a student's records past a destruction request (法律保留), with the ground."""

    type: ClassVar[str] = "hold.set"
    student_number: str
    reason: str


@frozen(kw_only=True)
class LiftLegalHold(Command):
    """Lift a legal hold, with a reason."""

    type: ClassVar[str] = "hold.lift"
    hold_id: str
    reason: str


@frozen(kw_only=True)
class RecordConsent(Command):
    """Record a consent (同意) for a purpose, the guardian's for under-14s."""

    type: ClassVar[str] = "consent.record"
    student_number: str
    purpose: ConsentPurpose
    given_by: ConsentGiver


@frozen(kw_only=True)
class WithdrawConsent(Command):
    """Withdraw a consent; disclosures for its purpose are refused from then on."""

    type: ClassVar[str] = "consent.withdraw"
    consent_id: str


@frozen(kw_only=True)
class RecordDisclosure(Command):
    """Any export to a third party: checked against consent, then logged (未经同意不得泄露)."""

    type: ClassVar[str] = "disclosure.record"
    student_number: str
    recipient: str
    purpose: ConsentPurpose
    fields: tuple[str, ...]


@frozen(kw_only=True)
class SubmitFeedback(Command):
    """Feedback on the process (流程反馈), from a student or staff, optionally anonymous."""

    type: ClassVar[str] = "feedback.submit"
    branch: str
    topic: str
    text: str
    anonymous: bool = False


@frozen(kw_only=True)
class RespondFeedback(Command):
    """A manager answers a piece of feedback (流程反馈回复)."""

    type: ClassVar[str] = "feedback.respond"
    feedback_id: str
    response: str


ALL_COMMANDS: tuple[type[Command], ...] = (
    SubmitRegistration,
    ReviewRegistration,
    WithdrawRegistration,
    ChangeStudentStatus,
    EnrolCourse,
    EndCourse,
    RecordPayment,
    SubmitChange,
    ReviewChange,
    RebaseChange,
    AnswerChange,
    SubmitDestruction,
    ReviewDestruction,
    SetLegalHold,
    LiftLegalHold,
    RecordConsent,
    WithdrawConsent,
    RecordDisclosure,
    SubmitFeedback,
    RespondFeedback,
)


IMPORT_JOB_IDS = uuid.UUID("a4e1d2c3-0b7f-4e59-8d21-6f3b9c0e7d42")
"""Namespace of the ids of import jobs started over NATS."""


def import_job_id(actor_id: str, idempotency_key: str) -> str:
    """The id of the import job that ``import.start`` makes for this actor and idempotency
    key: a retried request finds its job, and a client (the web console) can follow the job
    before the request answers, which it does only when the import ends."""
    return str(uuid.uuid5(IMPORT_JOB_IDS, f"{actor_id}\x1f{idempotency_key}"))

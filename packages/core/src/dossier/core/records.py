"""The records of a student's dossier (学员档案), as frozen attrs classes.

Records are values: a lifecycle transition returns a new record, never mutates
one. Attribute validators enforce the shape every record must have whatever
the branch; the branch-specific rules (ID numbers, phones, ages…) run through
the plugin hooks and report every problem at once (see `dossier.core.plugins`).
Fields marked *personal* are stored encrypted by `dossier.storage`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from attrs import field, frozen, validators

from dossier.core.enums import (
    ChangeStatus,
    Channel,
    ConsentGiver,
    ConsentPurpose,
    DestructionStatus,
    DocumentKind,
    EnrolmentStatus,
    Gender,
    IdDocumentType,
    PaymentMethod,
    RegistrationStatus,
    Severity,
    StudentStatus,
)

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")

_text = validators.instance_of(str)
_opt_text = validators.optional(validators.instance_of(str))


def _aware(_instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{getattr(attribute, 'name', 'timestamp')} must be timezone-aware")


@frozen(kw_only=True)
class IdDocument:
    """Proof of identity (证件). *personal*."""

    type: IdDocumentType
    number: str = field(validator=_text)


@frozen(kw_only=True)
class PersonalDetails:
    """个人信息. Every field is *personal*."""

    name: str = field(validator=_text)
    birth_date: date
    id_document: IdDocument
    phone: str = field(validator=_text)
    gender: Gender = Gender.UNDISCLOSED
    email: str | None = field(default=None, validator=_opt_text)
    address: str | None = field(default=None, validator=_opt_text)
    passport_name: str | None = field(default=None, validator=_opt_text)
    """The name as printed in the passport (``ZHANG WEI``), beside the name as written; optional.
    Added after the first release: a sealed record without it reads as None."""


@frozen(kw_only=True)
class Guardian:
    """监护人, required for minors. Every field is *personal*."""

    name: str = field(validator=_text)
    relation: str = field(validator=_text)
    phone: str = field(validator=_text)
    id_document: IdDocument | None = None


@frozen(kw_only=True)
class LearningNeeds:
    """学习需求: what the student wants to learn, from where, and when."""

    target_language: str = field(validator=_text)
    current_level: str = ""
    goals: str = ""
    preferred_schedule: str = ""


@frozen(kw_only=True)
class DocumentRef:
    """A filed document (registration form, ID proof, receipt…), content-addressed by SHA-256."""

    kind: DocumentKind
    sha256: str = field(validator=validators.matches_re(SHA256_HEX))
    size: int = field(validator=validators.ge(0))
    media_type: str = field(validator=validators.matches_re(MEDIA_TYPE))


@frozen(kw_only=True)
class Registration:
    """报名: the 《学员报名表》 as submitted, and what the review decided."""

    id: str = field(validator=validators.min_len(1))
    branch: str
    channel: Channel
    applicant: PersonalDetails
    needs: LearningNeeds
    submitted_at: datetime = field(validator=_aware)
    guardian: Guardian | None = None
    guardian_consent: bool = False
    documents: tuple[DocumentRef, ...] = ()
    status: RegistrationStatus = RegistrationStatus.SUBMITTED
    decided_at: datetime | None = field(default=None, validator=_aware)
    decided_by: str | None = None
    decision_reason: str | None = None
    student_number: str | None = None
    version: int = 1


@frozen(kw_only=True)
class StatusChange:
    """One line of the status history: who moved the dossier where, why, from when."""

    from_status: StudentStatus | None
    to_status: StudentStatus
    actor: str
    reason: str
    effective_date: date
    recorded_at: datetime = field(validator=_aware)


@frozen(kw_only=True)
class CourseEnrolment:
    """选课: one course the student takes."""

    id: str
    course_code: str = field(validator=validators.min_len(1))
    course_name: str
    starts_on: date
    ends_on: date | None = None
    status: EnrolmentStatus = EnrolmentStatus.ACTIVE
    ended_reason: str | None = None


@frozen(kw_only=True)
class Payment:
    """缴费记录. ``amount_minor`` is in the currency's minor unit (分 for CNY)."""

    id: str
    amount_minor: int = field(validator=validators.gt(0))
    currency: str = field(validator=validators.matches_re(CURRENCY))
    method: PaymentMethod
    receipt_ref: str
    paid_at: datetime = field(validator=_aware)
    recorded_by: str


@frozen(kw_only=True)
class Consent:
    """同意: the student (or, under 14, the guardian) agreed to a purpose; may be withdrawn."""

    id: str
    student_number: str
    purpose: ConsentPurpose
    given_by: ConsentGiver
    granted_at: datetime = field(validator=_aware)
    recorded_by: str
    withdrawn_at: datetime | None = field(default=None, validator=_aware)
    withdrawn_by: str | None = None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


@frozen(kw_only=True)
class StudentDossier:
    """学员档案: the admitted student's electronic record."""

    student_number: str
    branch: str
    personal: PersonalDetails
    needs: LearningNeeds
    status: StudentStatus
    admitted_at: datetime = field(validator=_aware)
    registration_id: str | None = None
    guardian: Guardian | None = None
    history: tuple[StatusChange, ...] = ()
    enrolments: tuple[CourseEnrolment, ...] = ()
    payments: tuple[Payment, ...] = ()
    documents: tuple[DocumentRef, ...] = ()
    consents: tuple[Consent, ...] = ()
    version: int = 1


@frozen(kw_only=True)
class Tombstone:
    """What remains of a destroyed dossier: no personal data, only the fact and its certificate."""

    student_number: str
    branch: str
    destroyed_at: datetime = field(validator=_aware)
    certificate_id: str


@frozen(kw_only=True)
class FieldChange:
    """One field of a change request: its dotted path and the values before and after.

    Values are text as entered; ``dossier.core.changes`` parses them per field.
    ``before`` and ``after`` are *personal* when the field is.
    """

    field: str
    after: str | None
    before: str | None = None


@frozen(kw_only=True)
class ChangeRequest:
    """信息变更申请: 《信息变更申请表》 and its review, application and confirmation."""

    id: str
    student_number: str
    branch: str
    changes: tuple[FieldChange, ...] = field(validator=validators.min_len(1))
    reason: str
    requested_by: str
    requested_at: datetime = field(validator=_aware)
    dossier_version: int
    documents: tuple[DocumentRef, ...] = ()
    status: ChangeStatus = ChangeStatus.SUBMITTED
    reviewed_by: str | None = None
    reviewed_at: datetime | None = field(default=None, validator=_aware)
    review_comment: str | None = None
    approved_fields: tuple[str, ...] = ()
    applied_at: datetime | None = field(default=None, validator=_aware)
    answered_at: datetime | None = field(default=None, validator=_aware)
    dispute_reason: str | None = None
    version: int = 1


@frozen(kw_only=True)
class DestructionRequest:
    """资料销毁申请: only for completed or withdrawn students; executed by retention."""

    id: str
    student_number: str
    branch: str
    reason: str
    requested_by: str
    requested_at: datetime = field(validator=_aware)
    status: DestructionStatus = DestructionStatus.SUBMITTED
    reviewed_by: str | None = None
    reviewed_at: datetime | None = field(default=None, validator=_aware)
    review_reason: str | None = None
    executed_at: datetime | None = field(default=None, validator=_aware)
    certificate_id: str | None = None
    version: int = 1


@frozen(kw_only=True)
class LegalHold:
    """法律保留: blocks destruction (disputed fees, an authority's records request) until lifted."""

    id: str
    student_number: str
    branch: str
    reason: str
    set_by: str
    set_at: datetime = field(validator=_aware)
    lifted_by: str | None = None
    lifted_at: datetime | None = field(default=None, validator=_aware)
    lift_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None


@frozen(kw_only=True)
class Disclosure:
    """披露记录: student data given to a third party, under the consent for ``purpose``.

    ``fields`` names what was disclosed (``personal.name``, ``enrolments``…),
    never the values; ``recipient`` is the third party (an exam board, a school).
    """

    id: str
    student_number: str
    branch: str
    recipient: str = field(validator=validators.min_len(1))
    purpose: ConsentPurpose
    fields: tuple[str, ...] = field(validator=validators.min_len(1))
    disclosed_at: datetime = field(validator=_aware)
    disclosed_by: str


@frozen(kw_only=True)
class Feedback:
    """流程反馈 from a student or staff member; ``submitted_by`` is None when anonymous."""

    id: str
    branch: str
    topic: str = field(validator=validators.min_len(1))
    text: str
    submitted_at: datetime = field(validator=_aware)
    submitted_by: str | None = None
    response: str | None = None
    responded_by: str | None = None
    responded_at: datetime | None = field(default=None, validator=_aware)


@frozen(kw_only=True)
class ReviewFinding:
    """One finding of the quarterly review (定期审核): which student, which rule, what to do."""

    student_number: str
    rule: str
    severity: Severity
    suggested_action: str
    detail: Mapping[str, str | int] = field(factory=dict)


@frozen(kw_only=True)
class AuditEvent:
    """审计记录: who did what, when, to which student — field names and value hashes only.

    ``value_hashes`` maps a field name to a keyed hash of its new value, so an
    auditor can tell *that* a value changed and match it, never read it.
    The chain (previous hash, own hash) is storage's concern.
    """

    id: str
    at: datetime = field(validator=_aware)
    actor: str
    action: str
    branch: str
    student_number: str | None = None
    subject: str | None = None
    fields: tuple[str, ...] = ()
    value_hashes: Mapping[str, str] = field(factory=dict)

"""Record builders shared by the unit tests: valid defaults, any field overridable.

The personal values are distinctive markers (``PERSONAL_MARKERS``) so a test can
assert that no event, message or log line carries them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from dossier.core.commands import SubmitRegistration
from dossier.core.enums import (
    Channel,
    DestructionStatus,
    DocumentKind,
    Gender,
    IdDocumentType,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.lifecycle import Context
from dossier.core.records import (
    ChangeRequest,
    DestructionRequest,
    DocumentRef,
    FieldChange,
    Guardian,
    IdDocument,
    LearningNeeds,
    LegalHold,
    PersonalDetails,
    Registration,
    StatusChange,
    StudentDossier,
)
from dossier.core.student_number import DEFAULT_FORMAT

BRANCH = "SH01"
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
EFFECTIVE = date(2026, 3, 16)
STUDENT_NUMBER = DEFAULT_FORMAT.format(BRANCH, 26, 123)
OTHER_STUDENT_NUMBER = DEFAULT_FORMAT.format(BRANCH, 26, 124)

NAME = "Zhang Weiqiang"
PHONE = "+8613812345678"
ID_NUMBER = "110105199912310014"  # born 1999-12-31, like the builders' birth date
EMAIL = "weiqiang.zhang@example.cn"
ADDRESS = "上海市黄浦区南京东路100号"
GUARDIAN_NAME = "Zhang Jianguo"
GUARDIAN_PHONE = "+8613987654321"
PERSONAL_MARKERS = (NAME, PHONE, ID_NUMBER, EMAIL, ADDRESS, GUARDIAN_NAME, GUARDIAN_PHONE)
"""Every personal value the builders put into records."""

REQUESTER = "staff-requester"
APPROVER = "staff-approver"


def ctx(
    actor: str = APPROVER,
    reason: str = "reason given",
    at: datetime = AT,
    effective: date | None = EFFECTIVE,
) -> Context:
    return Context(actor=actor, reason=reason, at=at, effective=effective)


def document(kind: DocumentKind = DocumentKind.REGISTRATION_FORM, fill: str = "a") -> DocumentRef:
    return DocumentRef(kind=kind, sha256=fill * 64, size=1024, media_type="application/pdf")


def personal(**overrides: Any) -> PersonalDetails:
    values: dict[str, Any] = {
        "name": NAME,
        "birth_date": date(1999, 12, 31),
        "id_document": IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number=ID_NUMBER),
        "phone": PHONE,
        "gender": Gender.MALE,
        "email": EMAIL,
        "address": ADDRESS,
    }
    values.update(overrides)
    return PersonalDetails(**values)


def needs(**overrides: Any) -> LearningNeeds:
    values: dict[str, Any] = {
        "target_language": "en",
        "current_level": "B1",
        "goals": "IELTS 7",
        "preferred_schedule": "weekends",
    }
    values.update(overrides)
    return LearningNeeds(**values)


def guardian(**overrides: Any) -> Guardian:
    values: dict[str, Any] = {
        "name": GUARDIAN_NAME,
        "relation": "father",
        "phone": GUARDIAN_PHONE,
    }
    values.update(overrides)
    return Guardian(**values)


def registration(**overrides: Any) -> Registration:
    values: dict[str, Any] = {
        "id": "reg-1",
        "branch": BRANCH,
        "channel": Channel.FRONT_DESK,
        "applicant": personal(),
        "needs": needs(),
        "submitted_at": AT,
        "guardian": guardian(),
        "guardian_consent": True,
        "documents": (document(), document(DocumentKind.ID_PROOF, "b")),
        "status": RegistrationStatus.SUBMITTED,
    }
    values.update(overrides)
    return Registration(**values)


def submission(**overrides: Any) -> SubmitRegistration:
    """A valid ``registration.submit`` body (提交报名): the builders' adult applicant, with a
    guardian, at the front desk of ``BRANCH``."""
    values: dict[str, Any] = {
        "branch": BRANCH,
        "channel": Channel.FRONT_DESK,
        "applicant": personal(),
        "needs": needs(),
        "guardian": guardian(),
        "guardian_consent": True,
    }
    values.update(overrides)
    return SubmitRegistration(**values)


def dossier(status: StudentStatus = StudentStatus.ENROLLED, **overrides: Any) -> StudentDossier:
    values: dict[str, Any] = {
        "student_number": STUDENT_NUMBER,
        "branch": BRANCH,
        "personal": personal(),
        "needs": needs(),
        "status": status,
        "admitted_at": AT,
        "registration_id": "reg-1",
        "guardian": None,
        "history": (
            StatusChange(
                from_status=None,
                to_status=StudentStatus.ENROLLED,
                actor="staff-officer",
                reason="admitted",
                effective_date=AT.date(),
                recorded_at=AT,
            ),
        ),
        "version": 3,
    }
    values.update(overrides)
    return StudentDossier(**values)


def field_change(path: str, after: str | None, before: str | None = None) -> FieldChange:
    return FieldChange(field=path, after=after, before=before)


def change_request(**overrides: Any) -> ChangeRequest:
    values: dict[str, Any] = {
        "id": "chg-1",
        "student_number": STUDENT_NUMBER,
        "branch": BRANCH,
        "changes": (
            field_change("personal.phone", "+8613800000000", PHONE),
            field_change("personal.address", "北京市朝阳区1号", ADDRESS),
            field_change("needs.goals", "TOEFL 100", "IELTS 7"),
        ),
        "reason": "moved house",
        "requested_by": REQUESTER,
        "requested_at": AT,
        "dossier_version": 3,
        "documents": (document(DocumentKind.CHANGE_EVIDENCE, "c"),),
        "version": 2,
    }
    values.update(overrides)
    return ChangeRequest(**values)


def destruction_request(**overrides: Any) -> DestructionRequest:
    values: dict[str, Any] = {
        "id": "dst-1",
        "student_number": STUDENT_NUMBER,
        "branch": BRANCH,
        "reason": "course finished, please delete my data",
        "requested_by": REQUESTER,
        "requested_at": AT,
        "status": DestructionStatus.SUBMITTED,
        "version": 2,
    }
    values.update(overrides)
    return DestructionRequest(**values)


def legal_hold(*, lifted: bool = False, **overrides: Any) -> LegalHold:
    values: dict[str, Any] = {
        "id": "hold-1",
        "student_number": STUDENT_NUMBER,
        "branch": BRANCH,
        "reason": "fee dispute",
        "set_by": "staff-legal",
        "set_at": AT,
    }
    if lifted:
        values.update(lifted_by="staff-legal", lifted_at=LATER, lift_reason="settled")
    values.update(overrides)
    return LegalHold(**values)

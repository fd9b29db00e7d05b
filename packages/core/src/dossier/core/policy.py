"""Access policy (访问控制): who may do what, for which branch, on whose record.

One table, `GRANTS`, says which roles may perform each operation. Staff roles
are scoped to the branches in their token (``"*"`` means every branch); admin
and auditor are chain-wide. Students act only on their own record. Deciding
a request one made oneself is refused (four-eyes, 双人审核). `authorize` returns
a `Verdict`; `require` raises `AccessDenied`. The tests run the full matrix
role × operation × own/other branch from this table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from attrs import field, frozen

from dossier.core.errors import AccessDenied, NotFound


class Role(StrEnum):
    STUDENT = "student"
    FRONT_DESK = "front_desk"
    ENROLMENT_OFFICER = "enrolment_officer"
    APPROVER = "approver"
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


CHAIN_WIDE_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})
ALL_BRANCHES = "*"


class Operation(StrEnum):
    REGISTRATION_SUBMIT = "registration.submit"
    REGISTRATION_READ = "registration.read"
    REGISTRATION_REVIEW = "registration.review"
    REGISTRATION_WITHDRAW = "registration.withdraw"
    REGISTRATION_STATUS = "registration.status"
    DOSSIER_READ = "dossier.read"
    DOSSIER_SEARCH = "dossier.search"
    DOSSIER_EXPORT = "dossier.export"
    COURSE_MANAGE = "course.manage"
    PAYMENT_RECORD = "payment.record"
    DOCUMENT_ADD = "document.add"
    DOCUMENT_READ = "document.read"
    IMPORT_RUN = "import.run"
    STATUS_CHANGE = "status.change"
    CHANGE_SUBMIT = "change.submit"
    CHANGE_READ = "change.read"
    CHANGE_REVIEW = "change.review"
    CHANGE_ANSWER = "change.answer"
    DESTRUCTION_SUBMIT = "destruction.submit"
    DESTRUCTION_READ = "destruction.read"
    DESTRUCTION_REVIEW = "destruction.review"
    DESTRUCTION_EXECUTE = "destruction.execute"
    CERTIFICATE_READ = "certificate.read"
    HOLD_MANAGE = "hold.manage"
    CONSENT_MANAGE = "consent.manage"
    CONSENT_READ = "consent.read"
    DISCLOSURE_RECORD = "disclosure.record"
    FEEDBACK_SUBMIT = "feedback.submit"
    FEEDBACK_MANAGE = "feedback.manage"
    REVIEW_RUN = "review.run"
    REVIEW_READ = "review.read"
    REVIEW_RESOLVE = "review.resolve"
    REVIEW_SIGN_OFF = "review.sign_off"
    BACKUP_MANAGE = "backup.manage"
    BACKUP_RESTORE = "backup.restore"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    TOKEN_ISSUE = "token.issue"  # noqa: S105 - an operation name, not a secret
    BRANCH_ADMIN = "branch.admin"
    CONFIDENTIALITY_PUBLISH = "confidentiality.publish"
    CONFIDENTIALITY_READ = "confidentiality.read"
    CONFIDENTIALITY_ACKNOWLEDGE = "confidentiality.acknowledge"
    TRAINING_RECORD = "training.record"
    TRAINING_STATUS = "training.status"
    READ_TRAIL_OWN = "read_trail.own"
    READ_TRAIL_READ = "read_trail.read"
    READ_ALERT_READ = "read_alert.read"
    READ_ALERT_ACKNOWLEDGE = "read_alert.acknowledge"


_R = Role
_O = Operation
_STAFF_READERS = {_R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.APPROVER, _R.REVIEWER, _R.ADMIN}

GRANTS: Mapping[Operation, frozenset[Role]] = {
    op: frozenset(roles)
    for op, roles in {
        _O.REGISTRATION_SUBMIT: {_R.STUDENT, _R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.REGISTRATION_READ: {_R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.APPROVER, _R.ADMIN},
        _O.REGISTRATION_REVIEW: {_R.ENROLMENT_OFFICER, _R.APPROVER, _R.ADMIN},
        _O.REGISTRATION_WITHDRAW: {_R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.ADMIN},
        # the applicant (an applicant token is a branch's student role), and the desk helping
        _O.REGISTRATION_STATUS: {_R.STUDENT, _R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.DOSSIER_READ: {_R.STUDENT, *_STAFF_READERS},
        _O.DOSSIER_SEARCH: _STAFF_READERS,
        _O.DOSSIER_EXPORT: {_R.STUDENT, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.COURSE_MANAGE: {_R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.PAYMENT_RECORD: {_R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.DOCUMENT_ADD: {_R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.DOCUMENT_READ: {_R.STUDENT, *_STAFF_READERS},
        _O.IMPORT_RUN: {_R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.STATUS_CHANGE: {_R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.CHANGE_SUBMIT: {_R.STUDENT, _R.FRONT_DESK, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.CHANGE_READ: {_R.STUDENT, _R.ENROLMENT_OFFICER, _R.APPROVER, _R.ADMIN},
        _O.CHANGE_REVIEW: {_R.APPROVER, _R.ADMIN},
        _O.CHANGE_ANSWER: {_R.STUDENT},
        _O.DESTRUCTION_SUBMIT: {_R.STUDENT, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.DESTRUCTION_READ: {
            _R.STUDENT,
            _R.ENROLMENT_OFFICER,
            _R.APPROVER,
            _R.OPERATOR,
            _R.AUDITOR,
            _R.ADMIN,
        },
        _O.DESTRUCTION_REVIEW: {_R.APPROVER, _R.ADMIN},
        _O.DESTRUCTION_EXECUTE: {_R.OPERATOR, _R.ADMIN},
        _O.CERTIFICATE_READ: {_R.APPROVER, _R.OPERATOR, _R.AUDITOR, _R.ADMIN},
        _O.HOLD_MANAGE: {_R.APPROVER, _R.ADMIN},
        _O.CONSENT_MANAGE: {_R.STUDENT, _R.ENROLMENT_OFFICER, _R.ADMIN},
        _O.CONSENT_READ: {
            _R.STUDENT,
            _R.FRONT_DESK,
            _R.ENROLMENT_OFFICER,
            _R.APPROVER,
            _R.AUDITOR,
            _R.ADMIN,
        },
        _O.DISCLOSURE_RECORD: {_R.ENROLMENT_OFFICER, _R.APPROVER, _R.ADMIN},
        _O.FEEDBACK_SUBMIT: set(Role),
        _O.FEEDBACK_MANAGE: {_R.APPROVER, _R.ADMIN},
        _O.REVIEW_RUN: {_R.REVIEWER, _R.OPERATOR, _R.ADMIN},
        _O.REVIEW_READ: {_R.REVIEWER, _R.APPROVER, _R.OPERATOR, _R.AUDITOR, _R.ADMIN},
        _O.REVIEW_RESOLVE: {_R.REVIEWER, _R.ADMIN},
        _O.REVIEW_SIGN_OFF: {_R.REVIEWER, _R.ADMIN},
        _O.BACKUP_MANAGE: {_R.OPERATOR, _R.ADMIN},
        _O.BACKUP_RESTORE: {_R.OPERATOR, _R.ADMIN},
        _O.AUDIT_READ: {_R.AUDITOR, _R.ADMIN},
        _O.AUDIT_VERIFY: {_R.AUDITOR, _R.OPERATOR, _R.ADMIN},
        _O.TOKEN_ISSUE: {_R.ADMIN},
        _O.BRANCH_ADMIN: {_R.ADMIN},
        # 保密承诺与培训: the branch manager publishes and records, every staff role reads and
        # acknowledges, the auditor checks who is due
        _O.CONFIDENTIALITY_PUBLISH: {_R.APPROVER, _R.ADMIN},
        _O.CONFIDENTIALITY_READ: set(Role) - {_R.STUDENT},
        _O.CONFIDENTIALITY_ACKNOWLEDGE: set(Role) - {_R.STUDENT},
        _O.TRAINING_RECORD: {_R.APPROVER, _R.ADMIN},
        _O.TRAINING_STATUS: {_R.APPROVER, _R.AUDITOR, _R.ADMIN},
        # 查阅记录: the student sees who viewed their record; the auditor per student and per
        # staff member; misuse alerts for the branch manager and the auditor, acknowledged by
        # the auditor
        _O.READ_TRAIL_OWN: {_R.STUDENT},
        _O.READ_TRAIL_READ: {_R.AUDITOR, _R.ADMIN},
        _O.READ_ALERT_READ: {_R.APPROVER, _R.AUDITOR, _R.ADMIN},
        _O.READ_ALERT_ACKNOWLEDGE: {_R.AUDITOR, _R.ADMIN},
    }.items()
}

FOUR_EYES = frozenset({Operation.CHANGE_REVIEW, Operation.DESTRUCTION_REVIEW})
"""Operations that decide a request: never by the person who made it."""

SELF_SERVICE_ONLY_OWN = frozenset(op for op, roles in GRANTS.items() if Role.STUDENT in roles) - {
    Operation.REGISTRATION_SUBMIT,
    Operation.REGISTRATION_STATUS,
    Operation.FEEDBACK_SUBMIT,
}
"""Operations a student may perform only on their own record. An applicant has none yet:
they submit, and check their registration with its reference and their birth date."""


UNMASKED_ONLY = frozenset({Operation.DOCUMENT_READ, Operation.DOSSIER_EXPORT})
"""Operations that hand over personal data that cannot be masked (documents, the export): refused
to an actor limited to masked data (``policy_not_acknowledged``)."""


def _roles(values: Iterable[Role]) -> frozenset[Role]:
    return frozenset(values)


def _branches(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@frozen(kw_only=True)
class Actor:
    """Who is calling: from a verified actor token. ``student_number`` only for students."""

    id: str
    roles: frozenset[Role] = field(converter=_roles)
    branches: frozenset[str] = field(converter=_branches, factory=frozenset)
    student_number: str | None = None
    masked_only: bool = False
    """Limited to masked personal data: a staff member who has not acknowledged their
    branch's current confidentiality policy (the token's ``lim`` claim)."""

    def covers(self, branch: str | None) -> bool:
        if ALL_BRANCHES in self.branches:
            return True
        return branch is not None and branch in self.branches


@frozen(kw_only=True)
class Subject:
    """What the operation touches: whose record, and who made the request being decided."""

    student_number: str | None = None
    requested_by: str | None = None


@frozen
class Verdict:
    allowed: bool
    operation: Operation
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _role_allows(
    role: Role, actor: Actor, operation: Operation, branch: str | None, subject: Subject
) -> str | None:
    """None when this role lets the actor do it; otherwise the reason it does not."""
    if role not in GRANTS[operation]:
        return "role_not_permitted"
    if role is Role.STUDENT:
        if operation in SELF_SERVICE_ONLY_OWN and (
            actor.student_number is None or subject.student_number != actor.student_number
        ):
            return "not_own_record"
        return None
    if role in CHAIN_WIDE_ROLES or actor.covers(branch):
        return None
    return "branch_out_of_scope"


_PRECEDENCE = ("branch_out_of_scope", "not_own_record", "role_not_permitted")


def authorize(
    actor: Actor, operation: Operation, branch: str | None, subject: Subject | None = None
) -> Verdict:
    """May ``actor`` perform ``operation`` for ``branch`` (None: chain-wide) on ``subject``?"""
    subject = subject or Subject()
    if (
        operation in FOUR_EYES
        and subject.requested_by is not None
        and subject.requested_by == actor.id
    ):
        return Verdict(False, operation, "self_approval")
    reasons = {_role_allows(role, actor, operation, branch, subject) for role in actor.roles}
    if None in reasons:
        if actor.masked_only and operation in UNMASKED_ONLY:
            return Verdict(False, operation, "policy_not_acknowledged")
        return Verdict(True, operation)
    reason = next((r for r in _PRECEDENCE if r in reasons), "role_not_permitted")
    return Verdict(False, operation, reason)


def require(
    actor: Actor, operation: Operation, branch: str | None, subject: Subject | None = None
) -> None:
    verdict = authorize(actor, operation, branch, subject)
    if not verdict.allowed:
        raise AccessDenied(operation.value, verdict.reason or "role_not_permitted")


def within_reach(actor: Actor, branch: str | None, subject: Subject | None = None) -> bool:
    """Whether any of the actor's roles reaches records of ``branch`` (and, for a student,
    this student's) at all, whatever the operation."""
    subject = subject or Subject()
    for role in actor.roles:
        if role is Role.STUDENT:
            if actor.student_number is not None and subject.student_number == actor.student_number:
                return True
        elif role in CHAIN_WIDE_ROLES or actor.covers(branch):
            return True
    return False


def reveal(
    actor: Actor,
    operation: Operation,
    branch: str | None,
    kind: str,
    ref: str,
    subject: Subject | None = None,
) -> None:
    """Allowed; or `NotFound` for a record out of the actor's reach (another branch, another
    student's); or `AccessDenied` (the role, four-eyes) for a record within it.

    Reach is judged before the role, so an actor whose role lacks the operation cannot
    tell an existing record of another branch (denied) from a number nobody has (not
    found): student numbers are sequential, and either answer would say which exist.
    """
    verdict = authorize(actor, operation, branch, subject)
    if verdict.allowed:
        return
    if not within_reach(actor, branch, subject) or verdict.reason in {
        "branch_out_of_scope",
        "not_own_record",
    }:
        raise NotFound(kind, ref)
    raise AccessDenied(operation.value, verdict.reason or "role_not_permitted")

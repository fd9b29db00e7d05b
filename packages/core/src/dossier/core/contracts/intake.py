"""What intake answers to: the queries and commands beyond core's, and the views it returns.

Views are what leaves the service: personal values in them are already
masked for the caller's role (`dossier.core.plugins.BranchRules.mask`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from attrs import frozen

from dossier.core.commands import (
    EndCourse,
    EnrolCourse,
    RecordPayment,
    ReviewRegistration,
    SubmitRegistration,
    WithdrawRegistration,
)
from dossier.core.contracts.base import ATTACHMENT_MAX_BYTES, Contract, Declare
from dossier.core.enums import (
    Channel,
    DocumentKind,
    EnrolmentStatus,
    PaymentMethod,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.policy import Operation
from dossier.core.records import DocumentRef, LearningNeeds
from dossier.core.views import GuardianView, PersonView

# -- queries and intake-only commands ---------------------------------------------------


@frozen(kw_only=True)
class GetRegistration:
    """One registration as submitted, with its documents and probable duplicates (masked)."""

    type: ClassVar[str] = "registration.get"
    registration_id: str


@frozen(kw_only=True)
class CheckRegistration:
    """An applicant checks where their registration stands (报名进度查询): the reference on
    their receipt and their birth date. The answer is the status only; an unknown reference
    and a wrong birth date answer the same ``not_found``."""

    type: ClassVar[str] = "registration.status"
    registration_id: str
    birth_date: date


@frozen(kw_only=True)
class ListRegistrations:
    """The review queue (待审核): a branch's registrations, oldest first."""

    type: ClassVar[str] = "registration.list"
    branch: str
    status: RegistrationStatus = RegistrationStatus.SUBMITTED
    channel: Channel | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    limit: int = 50
    after: str | None = None


@frozen(kw_only=True)
class GetDossier:
    """A student's dossier (学员档案): details masked by role, courses, payments, documents."""

    type: ClassVar[str] = "dossier.get"
    student_number: str


@frozen(kw_only=True)
class SearchDossiers:
    """Find students of a branch by number, or (through blind indexes) by phone or name."""

    type: ClassVar[str] = "dossier.search"
    branch: str
    student_number: str | None = None
    phone: str | None = None
    name: str | None = None
    birth_date: date | None = None


@frozen(kw_only=True)
class AddDocument:
    """File a document (证件、收据…); ``content`` is base64, at most a few hundred KiB over NATS."""

    type: ClassVar[str] = "document.add"
    student_number: str
    kind: DocumentKind
    media_type: str
    content: str
    sha256: str | None = None
    """Optional: the SHA-256 the sender computed; content that does not hash to it is refused."""


@frozen(kw_only=True)
class GetDocument:
    """One document of a dossier, decrypted (the read is audited)."""

    type: ClassVar[str] = "document.get"
    student_number: str
    sha256: str


# -- imports (批量导入, `dossier.intake.imports`) ----------------------------------------


class ImportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ImportState(StrEnum):
    """An import job's state: strict jobs validate every row before importing any."""

    VALIDATING = "validating"
    IMPORTING = "importing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"


@frozen(kw_only=True)
class StartImport:
    """Import a file of existing students; ``content`` is the file, base64 (under ~650 KiB)."""

    type: ClassVar[str] = "import.start"
    branch: str
    format: ImportFormat
    content: str
    source_system: str
    strict: bool = False


@frozen(kw_only=True)
class GetImportStatus:
    """An import job's progress and report as last committed."""

    type: ClassVar[str] = "import.status"
    job_id: str


@frozen(kw_only=True)
class ResumeImport:
    """Continue an interrupted import after its last committed chunk: the same file again."""

    type: ClassVar[str] = "import.resume"
    job_id: str
    content: str


# -- views ------------------------------------------------------------------------------


@frozen(kw_only=True)
class DuplicateHint:
    """A probable duplicate found chain-wide: which identifier matched, and where."""

    matched_on: str
    registration_id: str | None = None
    student_number: str | None = None


@frozen(kw_only=True)
class RegistrationReceipt:
    registration_id: str
    branch: str
    status: RegistrationStatus
    submitted_at: datetime


@frozen(kw_only=True)
class RegistrationStatusView:
    """Where a registration stands, and nothing personal."""

    registration_id: str
    status: RegistrationStatus


@frozen(kw_only=True)
class RegistrationView:
    registration_id: str
    branch: str
    channel: Channel
    status: RegistrationStatus
    submitted_at: datetime
    applicant: PersonView
    needs: LearningNeeds
    guardian: GuardianView | None
    guardian_consent: bool
    documents: tuple[DocumentRef, ...]
    duplicates: tuple[DuplicateHint, ...]
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    student_number: str | None = None
    version: int = 1


@frozen(kw_only=True)
class RegistrationSummary:
    registration_id: str
    branch: str
    channel: Channel
    status: RegistrationStatus
    submitted_at: datetime
    name: str
    phone: str


@frozen(kw_only=True)
class RegistrationPage:
    items: tuple[RegistrationSummary, ...]
    next_after: str | None


@frozen(kw_only=True)
class ReviewOutcome:
    """What a review decided; on acceptance, the new student number (学号)."""

    registration_id: str
    status: RegistrationStatus
    student_number: str | None = None


@frozen(kw_only=True)
class StatusLine:
    from_status: StudentStatus | None
    to_status: StudentStatus
    actor: str
    reason: str
    effective_date: date
    recorded_at: datetime


@frozen(kw_only=True)
class EnrolmentView:
    id: str
    course_code: str
    course_name: str
    starts_on: date
    ends_on: date | None
    status: EnrolmentStatus


@frozen(kw_only=True)
class PaymentView:
    id: str
    amount_minor: int
    currency: str
    method: PaymentMethod
    receipt_ref: str
    paid_at: datetime


@frozen(kw_only=True)
class DossierView:
    student_number: str
    branch: str
    status: StudentStatus
    admitted_at: datetime
    personal: PersonView
    guardian: GuardianView | None
    needs: LearningNeeds
    enrolments: tuple[EnrolmentView, ...]
    payments: tuple[PaymentView, ...]
    documents: tuple[DocumentRef, ...]
    history: tuple[StatusLine, ...]
    version: int
    masked_because: str | None = None
    """Why personal values are masked for this caller beyond their role's masking:
    ``policy_not_acknowledged`` (the branch's confidentiality policy is not acknowledged)."""


@frozen(kw_only=True)
class DossierChanged:
    """The answer to a change of a dossier: what changed and the new version — no personal
    values, since answers are kept (in clear) for idempotent retries."""

    student_number: str
    version: int
    change: str


@frozen(kw_only=True)
class DossierSummary:
    student_number: str
    branch: str
    status: StudentStatus
    name: str
    phone: str


@frozen(kw_only=True)
class SearchResult:
    items: tuple[DossierSummary, ...]


@frozen(kw_only=True)
class DocumentContent:
    ref: DocumentRef
    content: str


@frozen(kw_only=True)
class ImportProblemView:
    """One problem of an import: where (row as a spreadsheet counts it, column), never the value."""

    row: int
    column: str
    cell: str
    rule: str
    message: str
    params: dict[str, str]


@frozen(kw_only=True)
class ImportReport:
    """An import job's validation report and progress; ``problems`` is capped (see omitted)."""

    job_id: str
    branch: str
    state: ImportState
    source_system: str
    strict: bool
    rows_total: int
    rows_done: int
    valid: int
    invalid: int
    imported: int
    problems: tuple[ImportProblemView, ...]
    problems_omitted: int
    started_at: datetime
    updated_at: datetime


# -- the endpoints ---------------------------------------------------------------------------

_O = Operation
_ = Declare("intake")
BIG = ATTACHMENT_MAX_BYTES

CONTRACTS: tuple[Contract, ...] = (
    # registration (报名 → 审核 → 录取)
    _(
        SubmitRegistration,
        _O.REGISTRATION_SUBMIT,
        RegistrationReceipt,
        changes=True,
        max_bytes=BIG,
    ),
    _(ListRegistrations, _O.REGISTRATION_READ, RegistrationPage, changes=False),
    _(GetRegistration, _O.REGISTRATION_READ, RegistrationView, changes=False),
    _(CheckRegistration, _O.REGISTRATION_STATUS, RegistrationStatusView, changes=False),
    _(ReviewRegistration, _O.REGISTRATION_REVIEW, ReviewOutcome, changes=True),
    _(WithdrawRegistration, _O.REGISTRATION_WITHDRAW, ReviewOutcome, changes=True),
    # the dossier (学员档案): details, courses, payments, documents
    _(GetDossier, _O.DOSSIER_READ, DossierView, changes=False),
    _(SearchDossiers, _O.DOSSIER_SEARCH, SearchResult, changes=False),
    _(EnrolCourse, _O.COURSE_MANAGE, DossierChanged, changes=True),
    _(EndCourse, _O.COURSE_MANAGE, DossierChanged, changes=True),
    _(RecordPayment, _O.PAYMENT_RECORD, DossierChanged, changes=True),
    _(AddDocument, _O.DOCUMENT_ADD, DocumentRef, changes=True, max_bytes=BIG),
    _(GetDocument, _O.DOCUMENT_READ, DocumentContent, changes=False),
    # bulk import (批量导入)
    _(StartImport, _O.IMPORT_RUN, ImportReport, changes=True, max_bytes=BIG, progress=True),
    _(ResumeImport, _O.IMPORT_RUN, ImportReport, changes=True, max_bytes=BIG, progress=True),
    _(GetImportStatus, _O.IMPORT_RUN, ImportReport, changes=False),
)

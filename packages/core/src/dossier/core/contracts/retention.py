"""What the retention use cases answer to: commands, queries and the views they return.

Each body carries its verb as ``type`` (``review.start`` …), the way the other
services' bodies do, so the NATS service maps ``dossier.retention.<verb>``
onto a use case in one line. Nothing here carries personal data: student
numbers, rule codes, field names, document digests, actor ids and notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from attrs import field, frozen

from dossier.core.contracts.base import Contract, Declare
from dossier.core.enums import FindingStatus, ReviewRunStatus, Severity
from dossier.core.policy import Operation

# -- quarterly review (定期审核) ----------------------------------------------------------------


@frozen(kw_only=True)
class StartReview:
    """Start (or resume) the review of a branch for ``quarter`` (``2026Q4``; None: the current
    quarter in the branch's time zone) and run it to completion. ``job_id``: where the run's
    progress events go (``dossier.progress.retention.review-start.<job_id>``; default: the
    request id)."""

    type: ClassVar[str] = "review.start"
    branch: str
    quarter: str | None = None
    job_id: str | None = None


@frozen(kw_only=True)
class GetReviewRun:
    """One quarterly review run and its counts."""

    type: ClassVar[str] = "review.get"
    run_id: str


@frozen(kw_only=True)
class ListReviewRuns:
    """A branch's quarterly review runs, newest first."""

    type: ClassVar[str] = "review.list"
    branch: str


@frozen(kw_only=True)
class ListFindings:
    """The work list of a run (审核清单), by student number; ``after`` is a finding id."""

    type: ClassVar[str] = "review.findings"
    run_id: str
    status: FindingStatus | None = None
    rule: str | None = None
    after: str | None = None
    limit: int = 100


@frozen(kw_only=True)
class ResolveFinding:
    """处理: the reviewer fixed what the finding points at (or had it fixed); ``note`` says how."""

    type: ClassVar[str] = "review.resolve"
    finding_id: str
    note: str


@frozen(kw_only=True)
class WaiveFinding:
    """豁免: the finding needs no action; ``note`` says why."""

    type: ClassVar[str] = "review.waive"
    finding_id: str
    note: str


@frozen(kw_only=True)
class SignOffReview:
    """签署: the reviewer signs the completed run off; refused while findings are open."""

    type: ClassVar[str] = "review.sign_off"
    run_id: str
    note: str


@frozen(kw_only=True)
class ExportReview:
    """One row per finding of a run, as CSV."""

    type: ClassVar[str] = "review.export"
    run_id: str


@frozen(kw_only=True)
class ReviewReport:
    """The readable report (HTML) over the runs of ``branches`` (empty: every branch the caller
    may read), counts per rule and per branch and a chart of findings over the quarters."""

    type: ClassVar[str] = "review.report"
    branches: tuple[str, ...] = ()


@frozen(kw_only=True)
class RuleCount:
    rule: str
    count: int


@frozen(kw_only=True)
class RunView:
    id: str
    branch: str
    quarter: str
    status: ReviewRunStatus
    started_at: datetime
    finished_at: datetime | None
    dossiers: int
    findings: int
    open: int
    by_rule: tuple[RuleCount, ...]
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    sign_off_note: str | None = None


@frozen(kw_only=True)
class RunPage:
    items: tuple[RunView, ...]


@frozen(kw_only=True)
class FindingView:
    id: str
    run_id: str
    student_number: str
    rule: str
    severity: Severity
    suggested_action: str
    detail: dict[str, str | int]
    status: FindingStatus
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


@frozen(kw_only=True)
class FindingPage:
    items: tuple[FindingView, ...]
    next_after: str | None = None


@frozen(kw_only=True)
class Export:
    """A document to hand over: CSV or HTML text and the name to save it under."""

    media_type: str
    filename: str
    content: str


# -- destruction (资料销毁) ---------------------------------------------------------------------


@frozen(kw_only=True)
class ExecuteDestruction:
    """Execute an approved destruction request (idempotent: the certificate, once issued)."""

    type: ClassVar[str] = "destruction.execute"
    request_id: str


@frozen(kw_only=True)
class GetCertificate:
    """A destruction certificate (销毁证明)."""

    type: ClassVar[str] = "certificate.get"
    certificate_id: str


@frozen(kw_only=True)
class ListCertificates:
    """The destruction certificates (销毁证明) of a branch, newest first; ``after`` an id."""

    type: ClassVar[str] = "certificate.list"
    branch: str
    after: str | None = None
    limit: int = 50


@frozen(kw_only=True)
class CertificatePage:
    items: tuple[Certificate, ...]
    next_after: str | None = None


# -- certificates (销毁证明) --------------------------------------------------------------


@frozen(kw_only=True)
class DestroyedData:
    """What was destroyed: sealed fields by record, index digests, keys, document digests."""

    dossier_fields: tuple[str, ...]
    registrations: tuple[str, ...]
    registration_fields: tuple[str, ...]
    change_requests: tuple[str, ...]
    change_request_fields: tuple[str, ...]
    blind_indexes: int
    data_keys: tuple[str, ...]
    documents: tuple[str, ...]
    """SHA-256 of each document (every version of each object under the owners is deleted)."""
    idempotency_answers: int = 0
    """Stored answers to retried requests that mentioned the student, deleted."""


@frozen(kw_only=True)
class KeptRecord:
    """What was kept (保留内容): a table, how many of the student's rows, the columns whose
    values remain (none personal), the columns erased in place, and on which ground."""

    what: str
    count: int
    fields: tuple[str, ...]
    ground: str
    pseudonymised: bool = True
    erased: tuple[str, ...] = ()
    """Columns of the kept rows emptied at destruction: free text becomes ``[erased]``,
    sealed blobs, key ids and digests NULL (empty on certificates issued before this field)."""


@frozen(kw_only=True)
class Check:
    """One verification check; ``remaining`` counts what was found that should not be there."""

    name: str
    ok: bool
    remaining: int = 0


@frozen(kw_only=True)
class Verification:
    ok: bool
    checked_at: datetime
    checks: tuple[Check, ...]
    object_versions_deleted: int


@frozen(kw_only=True)
class Certificate:
    """销毁证明."""

    id: str
    request_id: str
    student_number: str
    branch: str
    approver: str
    responsible_person: str
    executed_at: datetime
    method: str
    destroyed: DestroyedData
    kept: tuple[KeptRecord, ...]
    created_at: datetime
    verification: Verification | None = None


# -- backups and audit verification -------------------------------------------------------


@frozen(kw_only=True)
class CreateBackup:
    """``job_id``: where the progress events go
    (``dossier.progress.retention.backup-create.<job_id>``; default: the request id)."""

    type: ClassVar[str] = "backup.create"
    incremental: bool = False
    job_id: str | None = None


@frozen(kw_only=True)
class ListBackups:
    """Every backup in the backup store, with its size and retention."""

    type: ClassVar[str] = "backup.list"


@frozen(kw_only=True)
class VerifyBackup:
    """Check every part of a backup against its manifest (progress events)."""

    type: ClassVar[str] = "backup.verify"
    backup_id: str
    job_id: str | None = None


@frozen(kw_only=True)
class VerifyAudit:
    """Walk the audit chains and the read trail's (one branch, or all) and report the first
    break of each."""

    type: ClassVar[str] = "audit.verify"
    branch: str | None = None


@frozen(kw_only=True)
class BackupSummary:
    id: str
    kind: str
    base: str | None
    created_at: str
    parts: int
    bytes: int
    rows: int
    objects: int
    retain_until: str | None


@frozen(kw_only=True)
class BackupList:
    items: tuple[BackupSummary, ...]


@frozen(kw_only=True)
class BackupCheck:
    backup_id: str
    ok: bool
    parts: int
    rows: int
    objects: int
    problem: str | None


@frozen(kw_only=True)
class ChainBreakView:
    branch: str
    seq: int | None
    entry_id: str | None
    problem: str


@frozen(kw_only=True)
class AuditCheck:
    ok: bool
    entries: dict[str, int]
    breaks: tuple[ChainBreakView, ...]
    read_trail_ok: bool = True
    """The read trail's chains (查阅记录), checked beside the audit log's."""
    read_trail_entries: dict[str, int] = field(factory=dict)
    read_trail_breaks: tuple[ChainBreakView, ...] = ()


# -- the endpoints ---------------------------------------------------------------------------

_O = Operation
_ = Declare("retention")

CONTRACTS: tuple[Contract, ...] = (
    # quarterly review (定期审核)
    _(StartReview, _O.REVIEW_RUN, RunView, changes=True, progress=True),
    _(GetReviewRun, _O.REVIEW_READ, RunView, changes=False),
    _(ListReviewRuns, _O.REVIEW_READ, RunPage, changes=False),
    _(ListFindings, _O.REVIEW_READ, FindingPage, changes=False),
    _(ResolveFinding, _O.REVIEW_RESOLVE, FindingView, changes=True),
    _(WaiveFinding, _O.REVIEW_RESOLVE, FindingView, changes=True),
    _(SignOffReview, _O.REVIEW_SIGN_OFF, RunView, changes=True),
    _(ExportReview, _O.REVIEW_READ, Export, changes=False),
    _(ReviewReport, _O.REVIEW_READ, Export, changes=False),
    # destruction (资料销毁) and its certificates (销毁证明)
    _(ExecuteDestruction, _O.DESTRUCTION_EXECUTE, Certificate, changes=True),
    _(GetCertificate, _O.CERTIFICATE_READ, Certificate, changes=False),
    _(ListCertificates, _O.CERTIFICATE_READ, CertificatePage, changes=False),
    # backups (备份) and audit verification
    _(CreateBackup, _O.BACKUP_MANAGE, BackupSummary, changes=True, progress=True),
    _(ListBackups, _O.BACKUP_MANAGE, BackupList, changes=False),
    _(VerifyBackup, _O.BACKUP_MANAGE, BackupCheck, changes=False, progress=True),
    _(VerifyAudit, _O.AUDIT_VERIFY, AuditCheck, changes=False),
)

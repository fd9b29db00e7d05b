"""What the retention use cases answer to: commands, queries and the views they return.

Each body carries its verb as ``type`` (``review.start`` …), the way the other
services' bodies do, so the NATS service maps ``dossier.retention.<verb>``
onto a use case in one line. Nothing here carries personal data: student
numbers, rule codes, field names, document digests, actor ids and notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from attrs import frozen

from dossier.core.enums import FindingStatus, ReviewRunStatus, Severity
from dossier.retention.certificates import Certificate

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
    type: ClassVar[str] = "review.get"
    run_id: str


@frozen(kw_only=True)
class ListReviewRuns:
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

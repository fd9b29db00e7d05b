"""What the approvals service answers to: queries and commands beyond core's, and its views.

Views are what leaves the service: personal values in them are already
masked for the caller's role (`dossier.core.plugins.BranchRules.mask`).
Changing requests answer with receipts that carry no personal value (ids,
statuses, field names): the first answer to an idempotency key is kept in
the database in clear, so it must hold nothing personal. Read the details
with the matching ``get``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from attrs import frozen

from dossier.core.commands import (
    AnswerChange,
    ChangeStudentStatus,
    LiftLegalHold,
    RebaseChange,
    RecordConsent,
    RecordDisclosure,
    RespondFeedback,
    ReviewChange,
    ReviewDestruction,
    SetLegalHold,
    SubmitChange,
    SubmitDestruction,
    SubmitFeedback,
    WithdrawConsent,
)
from dossier.core.contracts.base import ATTACHMENT_MAX_BYTES, Contract, Declare
from dossier.core.contracts.intake import StatusLine
from dossier.core.contracts.read_trail import ReadLine
from dossier.core.enums import (
    ChangeStatus,
    ConsentGiver,
    ConsentPurpose,
    DestructionStatus,
    StudentStatus,
)
from dossier.core.policy import Operation
from dossier.core.records import (
    CourseEnrolment,
    DocumentRef,
    LearningNeeds,
    Payment,
)
from dossier.core.views import GuardianView, PersonView

# -- change requests (信息变更) -----------------------------------------------------------


@frozen(kw_only=True)
class GetChange:
    """One change request with its field changes (values masked by role)."""

    type: ClassVar[str] = "change.get"
    change_id: str


@frozen(kw_only=True)
class ListChanges:
    """A branch's change requests, oldest first (the approver's queue: status ``submitted``).

    A student lists their own only: ``student_number`` must be theirs.
    """

    type: ClassVar[str] = "change.list"
    branch: str
    status: ChangeStatus | None = None
    student_number: str | None = None
    limit: int = 50
    after: str | None = None


@frozen(kw_only=True)
class ListUnconfirmed:
    """Applied changes the student has neither confirmed nor disputed for longer than the
    branch's ``unconfirmed_change_days``: to follow up (催办)."""

    type: ClassVar[str] = "change.unconfirmed"
    branch: str


@frozen(kw_only=True)
class ConfirmChange:
    """The student confirms an applied change with the code from their notification."""

    type: ClassVar[str] = "change.confirm"
    change_id: str
    token: str


@frozen(kw_only=True)
class DisputeChange:
    """The student disputes an applied change (with the code and a reason): back to review."""

    type: ClassVar[str] = "change.dispute"
    change_id: str
    token: str
    reason: str


@frozen(kw_only=True)
class ListNotifications:
    """A student's notifications (变更通知), newest first. The student sees their confirmation
    code; staff see the same text with the code blanked out."""

    type: ClassVar[str] = "notification.list"
    student_number: str
    limit: int = 50


# -- status (档案分类) ----------------------------------------------------------------------


@frozen(kw_only=True)
class StatusHistory:
    """The dossier's classification and its full history (档案分类记录)."""

    type: ClassVar[str] = "status.history"
    student_number: str


@frozen(kw_only=True)
class AuditTrail:
    """The audit entries about one student (审计记录): what was done, by whom, when, to which
    fields — never a value nor a value's hash. Guarded like the dossier itself (``dossier.read``).
    """

    type: ClassVar[str] = "audit.trail"
    student_number: str
    limit: int = 200
    """The newest ``limit`` entries (1–200), in the order they were chained."""


# -- destruction requests (资料销毁) and legal holds (法律保留) -------------------------------


@frozen(kw_only=True)
class GetDestruction:
    """One destruction request and where it stands."""

    type: ClassVar[str] = "destruction.get"
    request_id: str


@frozen(kw_only=True)
class ListDestructions:
    """A branch's destruction requests, or one student's (``student_number``), oldest first."""

    type: ClassVar[str] = "destruction.list"
    branch: str
    status: DestructionStatus | None = None
    student_number: str | None = None


@frozen(kw_only=True)
class ListHolds:
    """A student's legal holds, active only or all."""

    type: ClassVar[str] = "hold.list"
    student_number: str
    active_only: bool = False


# -- consents, disclosures, export (未经学员同意不得泄露) -------------------------------------


@frozen(kw_only=True)
class ListConsents:
    """A student's consents, for one purpose or all."""

    type: ClassVar[str] = "consent.list"
    student_number: str
    purpose: ConsentPurpose | None = None


@frozen(kw_only=True)
class ListDisclosures:
    """Who received the student's data, when, for what (the recipients, PIPL Art. 45)."""

    type: ClassVar[str] = "disclosure.list"
    student_number: str


@frozen(kw_only=True)
class ExportDossier:
    """The student's own copy of their data (PIPL Art. 45, GDPR Art. 15), documents included.

    Answered by approvals (which keeps consents and disclosures). Bounded by the NATS
    message size (1 MiB by default), so documents must stay small.
    """

    type: ClassVar[str] = "dossier.export"
    student_number: str


# -- feedback (流程反馈) ----------------------------------------------------------------------


@frozen(kw_only=True)
class ListFeedback:
    """A branch's feedback, newest first, for the people who answer it."""

    type: ClassVar[str] = "feedback.list"
    branch: str
    unanswered_only: bool = False
    limit: int = 50


@frozen(kw_only=True)
class CountFeedback:
    """Feedback per topic in a period (``submitted_from`` inclusive, ``submitted_to`` not), for
    the quarterly report (季度报告)."""

    type: ClassVar[str] = "feedback.counts"
    branch: str
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None


# -- views: change requests --------------------------------------------------------------


@frozen(kw_only=True)
class ChangeReceipt:
    """What a changing request on a change request answers: references and status only."""

    change_id: str
    student_number: str
    branch: str
    status: ChangeStatus
    fields: tuple[str, ...]
    approved_fields: tuple[str, ...]
    dossier_version: int
    version: int


@frozen(kw_only=True)
class FieldChangeView:
    """One field, before and after, masked for the caller's role."""

    field: str
    before: str | None
    after: str | None
    approved: bool


@frozen(kw_only=True)
class ChangeView:
    """信息变更申请 as the reviewer (or the student) sees it, field by field.

    ``stale``: the dossier changed since the request was based on it
    (``dossier_version`` ≠ ``current_dossier_version``); approving it is
    refused until it is re-based.
    """

    change_id: str
    student_number: str
    branch: str
    status: ChangeStatus
    reason: str
    requested_by: str
    requested_at: datetime
    changes: tuple[FieldChangeView, ...]
    documents: tuple[DocumentRef, ...]
    dossier_version: int
    current_dossier_version: int
    stale: bool
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_comment: str | None = None
    approved_fields: tuple[str, ...] = ()
    applied_at: datetime | None = None
    answered_at: datetime | None = None
    dispute_reason: str | None = None
    version: int = 1


@frozen(kw_only=True)
class ChangeSummary:
    change_id: str
    student_number: str
    branch: str
    status: ChangeStatus
    fields: tuple[str, ...]
    requested_by: str
    requested_at: datetime
    applied_at: datetime | None = None
    version: int = 1


@frozen(kw_only=True)
class ChangePage:
    items: tuple[ChangeSummary, ...]
    next_after: str | None = None


@frozen(kw_only=True)
class NotificationView:
    """A notification as queued; it names the student number and nothing personal."""

    notification_id: str
    student_number: str
    kind: str
    channel: str
    text: str
    created_at: datetime
    change_id: str | None = None
    answerable: bool = False
    """Carries a confirmation code that has not been used yet."""
    code: str | None = None
    """The unused confirmation code, to the student themselves only (as in ``text``), so a page
    can answer with it without the student copying it; None for staff and once used."""


@frozen(kw_only=True)
class NotificationPage:
    items: tuple[NotificationView, ...]


# -- views: status ------------------------------------------------------------------------


@frozen(kw_only=True)
class StatusView:
    """The dossier's classification and its full history (档案分类记录)."""

    student_number: str
    branch: str
    status: StudentStatus
    history: tuple[StatusLine, ...]
    version: int


@frozen(kw_only=True)
class AuditLine:
    at: datetime
    actor: str
    action: str
    subject: str | None
    """The record the entry is about besides the student (a change request's id…), if any."""
    fields: tuple[str, ...]


@frozen(kw_only=True)
class AuditTrailView:
    student_number: str
    branch: str
    items: tuple[AuditLine, ...]
    total: int
    """How many entries the student has; ``items`` holds the newest ``limit`` of them."""


# -- views: destruction and holds ------------------------------------------------------------


@frozen(kw_only=True)
class HoldView:
    hold_id: str
    student_number: str
    branch: str
    active: bool
    reason: str
    set_by: str
    set_at: datetime
    lifted_by: str | None = None
    lifted_at: datetime | None = None
    lift_reason: str | None = None


@frozen(kw_only=True)
class HoldPage:
    items: tuple[HoldView, ...]


@frozen(kw_only=True)
class DestructionView:
    """资料销毁申请 and whether a legal hold stands in the way of its execution.

    ``on_hold`` is shown to everyone who may read the request; the holds
    themselves (their reasons) to staff only.
    """

    request_id: str
    student_number: str
    branch: str
    status: DestructionStatus
    reason: str
    requested_by: str
    requested_at: datetime
    on_hold: bool
    holds: tuple[HoldView, ...] = ()
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None
    executed_at: datetime | None = None
    certificate_id: str | None = None
    version: int = 1


@frozen(kw_only=True)
class DestructionPage:
    items: tuple[DestructionView, ...]


# -- views: consents, disclosures, export ---------------------------------------------------


@frozen(kw_only=True)
class ConsentView:
    consent_id: str
    student_number: str
    purpose: ConsentPurpose
    given_by: ConsentGiver
    granted_at: datetime
    recorded_by: str
    active: bool
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None


@frozen(kw_only=True)
class ConsentPage:
    items: tuple[ConsentView, ...]


@frozen(kw_only=True)
class DisclosureView:
    disclosure_id: str
    student_number: str
    recipient: str
    purpose: ConsentPurpose
    fields: tuple[str, ...]
    disclosed_at: datetime
    disclosed_by: str


@frozen(kw_only=True)
class DisclosurePage:
    items: tuple[DisclosureView, ...]


@frozen(kw_only=True)
class ExportedDocument:
    ref: DocumentRef
    content: str
    """Base64 of the document's bytes."""


@frozen(kw_only=True)
class DossierExport:
    """个人信息副本: everything the school holds about the student, as JSON."""

    exported_at: datetime
    student_number: str
    branch: str
    status: StudentStatus
    admitted_at: datetime
    personal: PersonView
    guardian: GuardianView | None
    needs: LearningNeeds
    enrolments: tuple[CourseEnrolment, ...]
    payments: tuple[Payment, ...]
    history: tuple[StatusLine, ...]
    consents: tuple[ConsentView, ...]
    change_requests: tuple[ChangeView, ...]
    destruction_requests: tuple[DestructionView, ...]
    disclosures: tuple[DisclosureView, ...]
    documents: tuple[ExportedDocument, ...]
    missing_documents: tuple[DocumentRef, ...] = ()
    """Documents on record whose content could not be found in the object store."""
    reads: tuple[ReadLine, ...] = ()
    """Who in the school viewed the record (查阅记录), newest first, as the student sees it."""


# -- views: feedback ------------------------------------------------------------------------


@frozen(kw_only=True)
class FeedbackReceipt:
    feedback_id: str
    branch: str
    topic: str


@frozen(kw_only=True)
class FeedbackView:
    feedback_id: str
    branch: str
    topic: str
    text: str
    submitted_at: datetime
    submitted_by: str | None = None
    response: str | None = None
    responded_by: str | None = None
    responded_at: datetime | None = None


@frozen(kw_only=True)
class FeedbackPage:
    items: tuple[FeedbackView, ...]


@frozen(kw_only=True)
class TopicCount:
    topic: str
    total: int
    answered: int


@frozen(kw_only=True)
class FeedbackCounts:
    branch: str
    total: int
    topics: tuple[TopicCount, ...]
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None


# -- the endpoints ---------------------------------------------------------------------------

_O = Operation
_ = Declare("approvals")

CONTRACTS: tuple[Contract, ...] = (
    # change requests (信息变更)
    _(SubmitChange, _O.CHANGE_SUBMIT, ChangeReceipt, changes=True, max_bytes=ATTACHMENT_MAX_BYTES),
    _(GetChange, _O.CHANGE_READ, ChangeView, changes=False),
    _(ListChanges, _O.CHANGE_READ, ChangePage, changes=False),
    _(ReviewChange, _O.CHANGE_REVIEW, ChangeReceipt, changes=True),
    _(RebaseChange, _O.CHANGE_REVIEW, ChangeReceipt, changes=True),
    _(AnswerChange, _O.CHANGE_ANSWER, ChangeReceipt, changes=True),
    _(ConfirmChange, _O.CHANGE_ANSWER, ChangeReceipt, changes=True),
    _(DisputeChange, _O.CHANGE_ANSWER, ChangeReceipt, changes=True),
    _(ListUnconfirmed, _O.CHANGE_READ, ChangePage, changes=False),
    _(ListNotifications, _O.CHANGE_READ, NotificationPage, changes=False),
    # status (档案分类) and the audit trail (审计记录)
    _(ChangeStudentStatus, _O.STATUS_CHANGE, StatusView, changes=True),
    _(StatusHistory, _O.DOSSIER_READ, StatusView, changes=False),
    _(AuditTrail, _O.DOSSIER_READ, AuditTrailView, changes=False),
    # destruction requests (资料销毁) and legal holds (法律保留)
    _(SubmitDestruction, _O.DESTRUCTION_SUBMIT, DestructionView, changes=True),
    _(ReviewDestruction, _O.DESTRUCTION_REVIEW, DestructionView, changes=True),
    _(GetDestruction, _O.DESTRUCTION_READ, DestructionView, changes=False),
    _(ListDestructions, _O.DESTRUCTION_READ, DestructionPage, changes=False),
    _(SetLegalHold, _O.HOLD_MANAGE, HoldView, changes=True),
    _(LiftLegalHold, _O.HOLD_MANAGE, HoldView, changes=True),
    _(ListHolds, _O.HOLD_MANAGE, HoldPage, changes=False),
    # consents, disclosures, the student's export (未经学员同意不得泄露)
    _(RecordConsent, _O.CONSENT_MANAGE, ConsentView, changes=True),
    _(WithdrawConsent, _O.CONSENT_MANAGE, ConsentView, changes=True),
    _(ListConsents, _O.CONSENT_READ, ConsentPage, changes=False),
    _(RecordDisclosure, _O.DISCLOSURE_RECORD, DisclosureView, changes=True),
    _(ListDisclosures, _O.CONSENT_READ, DisclosurePage, changes=False),
    _(ExportDossier, _O.DOSSIER_EXPORT, DossierExport, changes=False),
    # feedback (流程反馈)
    _(SubmitFeedback, _O.FEEDBACK_SUBMIT, FeedbackReceipt, changes=True),
    _(ListFeedback, _O.FEEDBACK_MANAGE, FeedbackPage, changes=False),
    _(RespondFeedback, _O.FEEDBACK_MANAGE, FeedbackView, changes=True),
    _(CountFeedback, _O.FEEDBACK_MANAGE, FeedbackCounts, changes=False),
)

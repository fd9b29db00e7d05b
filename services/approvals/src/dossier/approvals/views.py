"""Records → views, masked for the caller's role by the branch's rules.

The masking helper is this service's own copy of intake's (a service never
imports another service): the most privileged role the caller holds decides.
"""

from __future__ import annotations

from collections.abc import Iterable

from dossier.core.contracts.approvals import (
    ChangeReceipt,
    ChangeSummary,
    ChangeView,
    ConsentView,
    DestructionView,
    DisclosureView,
    FeedbackView,
    FieldChangeView,
    HoldView,
    StatusView,
)
from dossier.core.contracts.intake import StatusLine
from dossier.core.enums import ChangeStatus
from dossier.core.policy import Actor
from dossier.core.records import (
    ChangeRequest,
    Consent,
    DestructionRequest,
    Disclosure,
    Feedback,
    FieldChange,
    LegalHold,
    StatusChange,
    StudentDossier,
)
from dossier.core.views import Masker, student_only

# -- change requests -------------------------------------------------------------------------


def change_receipt(change: ChangeRequest) -> ChangeReceipt:
    return ChangeReceipt(
        change_id=change.id,
        student_number=change.student_number,
        branch=change.branch,
        status=change.status,
        fields=tuple(c.field for c in change.changes),
        approved_fields=change.approved_fields,
        dossier_version=change.dossier_version,
        version=change.version,
    )


def _field_view(change: FieldChange, approved: Iterable[str], mask: Masker) -> FieldChangeView:
    return FieldChangeView(
        field=change.field,
        before=mask.change_value(change.field, change.before),
        after=mask.change_value(change.field, change.after),
        approved=change.field in set(approved),
    )


def change_view(change: ChangeRequest, current_version: int, mask: Masker) -> ChangeView:
    return ChangeView(
        change_id=change.id,
        student_number=change.student_number,
        branch=change.branch,
        status=change.status,
        reason=change.reason,
        requested_by=change.requested_by,
        requested_at=change.requested_at,
        changes=tuple(_field_view(c, change.approved_fields, mask) for c in change.changes),
        documents=change.documents,
        dossier_version=change.dossier_version,
        current_dossier_version=current_version,
        stale=is_stale(change, current_version),
        reviewed_by=change.reviewed_by,
        reviewed_at=change.reviewed_at,
        review_comment=change.review_comment,
        approved_fields=change.approved_fields,
        applied_at=change.applied_at,
        answered_at=change.answered_at,
        dispute_reason=change.dispute_reason,
        version=change.version,
    )


def is_stale(change: ChangeRequest, current_version: int) -> bool:
    """Still to be decided, and based on another version of the dossier than the current one."""
    return change.status is ChangeStatus.SUBMITTED and change.dossier_version != current_version


def change_summary(change: ChangeRequest) -> ChangeSummary:
    return ChangeSummary(
        change_id=change.id,
        student_number=change.student_number,
        branch=change.branch,
        status=change.status,
        fields=tuple(c.field for c in change.changes),
        requested_by=change.requested_by,
        requested_at=change.requested_at,
        applied_at=change.applied_at,
        version=change.version,
    )


# -- status, destruction, holds -------------------------------------------------------------


def status_line(line: StatusChange) -> StatusLine:
    return StatusLine(
        from_status=line.from_status,
        to_status=line.to_status,
        actor=line.actor,
        reason=line.reason,
        effective_date=line.effective_date,
        recorded_at=line.recorded_at,
    )


def status_view(dossier: StudentDossier) -> StatusView:
    return StatusView(
        student_number=dossier.student_number,
        branch=dossier.branch,
        status=dossier.status,
        history=tuple(status_line(line) for line in dossier.history),
        version=dossier.version,
    )


def hold_view(hold: LegalHold) -> HoldView:
    return HoldView(
        hold_id=hold.id,
        student_number=hold.student_number,
        branch=hold.branch,
        active=hold.active,
        reason=hold.reason,
        set_by=hold.set_by,
        set_at=hold.set_at,
        lifted_by=hold.lifted_by,
        lifted_at=hold.lifted_at,
        lift_reason=hold.lift_reason,
    )


def destruction_view(
    request: DestructionRequest, holds: Iterable[LegalHold], actor: Actor
) -> DestructionView:
    holds = tuple(holds)
    return DestructionView(
        request_id=request.id,
        student_number=request.student_number,
        branch=request.branch,
        status=request.status,
        reason=request.reason,
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        on_hold=any(h.active for h in holds),
        holds=() if student_only(actor) else tuple(hold_view(h) for h in holds),
        reviewed_by=request.reviewed_by,
        reviewed_at=request.reviewed_at,
        review_reason=request.review_reason,
        executed_at=request.executed_at,
        certificate_id=request.certificate_id,
        version=request.version,
    )


# -- consents, disclosures, feedback --------------------------------------------------------


def consent_view(consent: Consent) -> ConsentView:
    return ConsentView(
        consent_id=consent.id,
        student_number=consent.student_number,
        purpose=consent.purpose,
        given_by=consent.given_by,
        granted_at=consent.granted_at,
        recorded_by=consent.recorded_by,
        active=consent.active,
        withdrawn_at=consent.withdrawn_at,
        withdrawn_by=consent.withdrawn_by,
    )


def disclosure_view(disclosure: Disclosure) -> DisclosureView:
    return DisclosureView(
        disclosure_id=disclosure.id,
        student_number=disclosure.student_number,
        recipient=disclosure.recipient,
        purpose=disclosure.purpose,
        fields=disclosure.fields,
        disclosed_at=disclosure.disclosed_at,
        disclosed_by=disclosure.disclosed_by,
    )


def feedback_view(item: Feedback) -> FeedbackView:
    return FeedbackView(
        feedback_id=item.id,
        branch=item.branch,
        topic=item.topic,
        text=item.text,
        submitted_at=item.submitted_at,
        submitted_by=item.submitted_by,
        response=item.response,
        responded_by=item.responded_by,
        responded_at=item.responded_at,
    )

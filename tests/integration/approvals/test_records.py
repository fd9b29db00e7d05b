"""Status (档案分类), destruction and holds, consents and disclosures, the student's export,
feedback (流程反馈): in-process, on both engines."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import orjson
import pytest
from sqlalchemy import select

from dossier.approvals.feedback import ANONYMOUS
from dossier.approvals.handlers import Approvals
from dossier.core import wire
from dossier.core.attachments import Attachment
from dossier.core.commands import (
    ChangeStudentStatus,
    LiftLegalHold,
    RecordConsent,
    RecordDisclosure,
    RespondFeedback,
    ReviewDestruction,
    SetLegalHold,
    SubmitChange,
    SubmitDestruction,
    SubmitFeedback,
    WithdrawConsent,
)
from dossier.core.contracts.approvals import (
    CountFeedback,
    ExportDossier,
    GetDestruction,
    ListConsents,
    ListDestructions,
    ListDisclosures,
    ListFeedback,
    ListHolds,
    StatusHistory,
)
from dossier.core.enums import (
    ConsentGiver,
    ConsentPurpose,
    Decision,
    DestructionStatus,
    DocumentKind,
    StudentStatus,
)
from dossier.core.errors import (
    AccessDenied,
    ConsentRequired,
    GuardRefused,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from dossier.core.policy import Role
from dossier.core.records import FieldChange
from dossier.storage.db import Database
from dossier.storage.schema import audit_log, disclosures, feedback, idempotency_keys, outbox
from tests.integration.approvals.conftest import (
    APPROVER,
    APPROVER_2,
    DESK,
    NAME_MARKER,
    OFFICER,
    OFFICER_APPROVER,
    OTHER_BRANCH_APPROVER,
    START,
    admit_student,
    audit_actions,
    caller,
    delta,
    event_types,
    keyed,
    student,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"evidence"


def withdraw(approvals: Approvals, number: str) -> None:
    approvals.change_status(
        OFFICER,
        ChangeStudentStatus(
            student_number=number,
            target=StudentStatus.WITHDRAWN,
            reason="退学",
            effective_date=date(2026, 3, 31),
        ),
    )


# -- status (档案分类) -----------------------------------------------------------------------


def test_status_changes_are_classified_with_reason_and_date_and_kept_in_history(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    before = (audit_actions(db), event_types(db))
    withdraw(approvals, number)
    approvals.change_status(
        OFFICER,
        ChangeStudentStatus(student_number=number, target=StudentStatus.ENROLLED, reason="复学"),
    )
    history = approvals.status_history(student(number), StatusHistory(student_number=number))
    assert [(h.from_status, h.to_status, h.reason) for h in history.history] == [
        (None, StudentStatus.ENROLLED, "admitted"),
        (StudentStatus.ENROLLED, StudentStatus.WITHDRAWN, "退学"),
        (StudentStatus.WITHDRAWN, StudentStatus.ENROLLED, "复学"),
    ]
    assert history.history[1].effective_date == date(2026, 3, 31)
    assert (history.status, history.version) == (StudentStatus.ENROLLED, 3)
    assert delta(before[0], audit_actions(db)) == {"student.status_changed": 2}
    assert delta(before[1], event_types(db)) == {"student.status_changed": 2}

    with pytest.raises(IllegalTransition):  # already enrolled: never a silent no-op
        approvals.change_status(
            OFFICER,
            ChangeStudentStatus(student_number=number, target=StudentStatus.ENROLLED, reason="x"),
        )
    with pytest.raises(GuardRefused) as destroy:
        approvals.change_status(
            OFFICER,
            ChangeStudentStatus(student_number=number, target=StudentStatus.DESTROYED, reason="x"),
        )
    assert destroy.value.reason == "destruction_needs_request"
    with pytest.raises(AccessDenied):
        approvals.change_status(
            APPROVER,
            ChangeStudentStatus(student_number=number, target=StudentStatus.COMPLETED, reason="x"),
        )


# -- destruction (资料销毁) and legal holds -----------------------------------------------------


def test_destruction_is_refused_while_enrolled(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    before = audit_actions(db)
    with pytest.raises(GuardRefused) as refused:
        approvals.submit_destruction(
            student(number), SubmitDestruction(student_number=number, reason="请删除我的资料")
        )
    assert (refused.value.code, refused.value.reason) == (
        "transition_refused",
        "not_destroyable_status",
    )
    assert audit_actions(db) == before


def test_destruction_of_a_withdrawn_student_four_eyes_holds_and_the_approval_event(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    withdraw(approvals, number)
    request = approvals.submit_destruction(
        OFFICER_APPROVER, SubmitDestruction(student_number=number, reason="学员申请销毁")
    )
    assert request.status is DestructionStatus.SUBMITTED
    with pytest.raises(GuardRefused) as again:
        approvals.submit_destruction(
            student(number), SubmitDestruction(student_number=number, reason="再次申请")
        )
    assert again.value.reason == "destruction_under_way"

    hold = approvals.set_hold(APPROVER, SetLegalHold(student_number=number, reason="学费争议"))
    staff = approvals.get_destruction(APPROVER, GetDestruction(request_id=request.request_id))
    assert staff.on_hold
    assert [h.reason for h in staff.holds] == ["学费争议"]
    mine = approvals.get_destruction(student(number), GetDestruction(request_id=request.request_id))
    assert mine.on_hold
    assert mine.holds == ()  # the reason of a hold is for staff

    review = ReviewDestruction(
        request_id=request.request_id, decision=Decision.APPROVE, reason="符合条件"
    )
    before = (audit_actions(db), event_types(db))
    for decision in Decision:
        deciding = ReviewDestruction(request_id=request.request_id, decision=decision, reason="x")
        with pytest.raises(AccessDenied) as self_approval:
            approvals.review_destruction(OFFICER_APPROVER, deciding)
        assert self_approval.value.reason == "self_approval"
        with pytest.raises(NotFound):
            approvals.review_destruction(OTHER_BRANCH_APPROVER, deciding)
    with pytest.raises(NotFound):
        approvals.lift_hold(OTHER_BRANCH_APPROVER, LiftLegalHold(hold_id=hold.hold_id, reason="x"))
    with pytest.raises(NotFound):
        approvals.set_hold(OTHER_BRANCH_APPROVER, SetLegalHold(student_number=number, reason="x"))
    assert (audit_actions(db), event_types(db)) == before
    assert (
        approvals.get_destruction(APPROVER, GetDestruction(request_id=request.request_id)).status
        is DestructionStatus.SUBMITTED
    )

    approved = approvals.review_destruction(APPROVER, review)  # a hold does not block approval
    assert approved.status is DestructionStatus.APPROVED
    assert approved.on_hold
    with db.engine.connect() as conn:
        moved = [
            orjson.loads(p)
            for p in conn.execute(
                select(outbox.c.payload).where(outbox.c.type == "destruction.moved")
            ).scalars()
        ]
    assert [m["status"] for m in moved] == ["submitted", "approved"]
    assert moved[1]["request_id"] == request.request_id

    lifted = approvals.lift_hold(APPROVER_2, LiftLegalHold(hold_id=hold.hold_id, reason="已结清"))
    assert not lifted.active
    with pytest.raises(IllegalTransition):
        approvals.lift_hold(APPROVER_2, LiftLegalHold(hold_id=hold.hold_id, reason="again"))
    assert not approvals.get_destruction(
        APPROVER, GetDestruction(request_id=request.request_id)
    ).on_hold
    holds = approvals.list_holds(APPROVER, ListHolds(student_number=number))
    assert [(h.hold_id, h.active) for h in holds.items] == [(hold.hold_id, False)]
    listed = approvals.list_destructions(
        APPROVER, ListDestructions(branch="SH01", status=DestructionStatus.APPROVED)
    )
    assert [r.request_id for r in listed.items] == [request.request_id]
    assert delta(before[0], audit_actions(db)) == {
        "destruction.approved": 1,
        "hold.lifted": 1,
    }
    assert db.verify_audit().ok


def test_rejecting_a_destruction_request_needs_a_reason(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    withdraw(approvals, number)
    request = approvals.submit_destruction(
        student(number), SubmitDestruction(student_number=number, reason="请销毁")
    )
    with pytest.raises(ValidationError):
        approvals.review_destruction(
            APPROVER,
            ReviewDestruction(request_id=request.request_id, decision=Decision.REJECT, reason=""),
        )
    rejected = approvals.review_destruction(
        APPROVER,
        ReviewDestruction(
            request_id=request.request_id, decision=Decision.REJECT, reason="尚有未结费用"
        ),
    )
    assert rejected.status is DestructionStatus.REJECTED


# -- consents and disclosures (未经学员同意不得泄露) ---------------------------------------------


def test_disclosure_needs_an_active_consent_and_is_logged(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    disclose = RecordDisclosure(
        student_number=number,
        recipient="剑桥考试中心",
        purpose=ConsentPurpose.EXAM_BOARD,
        fields=("personal.name", "personal.birth_date", "enrolments"),
    )
    before = (audit_actions(db), event_types(db))
    with pytest.raises(ConsentRequired) as refused:
        approvals.record_disclosure(OFFICER, disclose)
    assert refused.value.code == "consent_required"
    assert (audit_actions(db), event_types(db)) == before

    consent = approvals.record_consent(
        student(number),
        RecordConsent(
            student_number=number,
            purpose=ConsentPurpose.EXAM_BOARD,
            given_by=ConsentGiver.STUDENT,
        ),
    )
    with pytest.raises(GuardRefused) as twice:
        approvals.record_consent(
            OFFICER,
            RecordConsent(
                student_number=number,
                purpose=ConsentPurpose.EXAM_BOARD,
                given_by=ConsentGiver.STUDENT,
            ),
        )
    assert twice.value.reason == "consent_already_active"
    logged = approvals.record_disclosure(OFFICER, disclose)
    assert logged.fields == disclose.fields
    with db.engine.connect() as conn:
        rows = conn.execute(select(disclosures)).mappings().all()
        entry = (
            conn.execute(select(audit_log).where(audit_log.c.action == "disclosure.recorded"))
            .mappings()
            .one()
        )
    assert [(r["student_number"], r["recipient"], r["purpose"]) for r in rows] == [
        (number, "剑桥考试中心", "exam_board")
    ]
    assert list(entry["fields"]) == list(disclose.fields)
    assert entry["actor"] == OFFICER.actor.id

    seen = approvals.list_disclosures(student(number), ListDisclosures(student_number=number))
    assert [d.recipient for d in seen.items] == ["剑桥考试中心"]

    approvals.withdraw_consent(student(number), WithdrawConsent(consent_id=consent.consent_id))
    with pytest.raises(ConsentRequired):
        approvals.record_disclosure(OFFICER, disclose)
    listed = approvals.list_consents(
        DESK, ListConsents(student_number=number, purpose=ConsentPurpose.EXAM_BOARD)
    )
    assert [(c.consent_id, c.active) for c in listed.items] == [(consent.consent_id, False)]
    with pytest.raises(IllegalTransition):
        approvals.withdraw_consent(OFFICER, WithdrawConsent(consent_id=consent.consent_id))
    assert delta(before[0], audit_actions(db)) == {
        "consent.recorded": 1,
        "disclosure.recorded": 1,
        "consent.withdrawn": 1,
    }
    assert delta(before[1], event_types(db)) == {"consent.changed": 2, "disclosure.recorded": 1}


def test_under_14_only_the_guardian_consents(approvals: Approvals, db: Database) -> None:
    number = admit_student(db, birth_date=date(2016, 1, 1))
    with pytest.raises(ValidationError) as own:
        approvals.record_consent(
            OFFICER,
            RecordConsent(
                student_number=number, purpose=ConsentPurpose.PHOTOS, given_by=ConsentGiver.STUDENT
            ),
        )
    assert [(p.field, p.rule) for p in own.value.problems()] == [
        ("given_by", "guardian_consent_required")
    ]
    with pytest.raises(ValidationError) as claimed:  # a student cannot record a guardian's consent
        approvals.record_consent(
            student(number),
            RecordConsent(
                student_number=number,
                purpose=ConsentPurpose.PHOTOS,
                given_by=ConsentGiver.GUARDIAN,
            ),
        )
    assert claimed.value.problems()[0].rule == "not_allowed_value"
    granted = approvals.record_consent(
        OFFICER,
        RecordConsent(
            student_number=number, purpose=ConsentPurpose.PHOTOS, given_by=ConsentGiver.GUARDIAN
        ),
    )
    assert granted.given_by is ConsentGiver.GUARDIAN


def test_disclosure_fields_must_be_known_names(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    with pytest.raises(ValidationError) as refused:
        approvals.record_disclosure(
            OFFICER,
            RecordDisclosure(
                student_number=number,
                recipient="x",
                purpose=ConsentPurpose.THIRD_PARTY,
                fields=("personal.name", "password"),
            ),
        )
    assert [(p.field, p.rule) for p in refused.value.problems()] == [("fields[1]", "unknown_field")]


# -- the student's export (个人信息副本) -----------------------------------------------------------


def test_the_student_exports_their_own_data_with_documents(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    other = admit_student(db, n=1)
    approvals.submit_change(
        student(number),
        SubmitChange(
            student_number=number,
            changes=(FieldChange(field="needs.goals", after="TOEFL 100"),),
            reason="目标变了",
            attachments=(
                Attachment(
                    kind=DocumentKind.CHANGE_EVIDENCE,
                    media_type="image/png",
                    content=base64.b64encode(PNG).decode(),
                ),
            ),
        ),
    )
    before = audit_actions(db)
    exported = approvals.export_dossier(student(number), ExportDossier(student_number=number))
    assert exported.personal.name == f"王{NAME_MARKER}"  # unmasked for the student
    assert exported.personal.phone == "+8613800130000"
    assert [c.changes[0].after for c in exported.change_requests] == ["TOEFL 100"]
    assert [base64.b64decode(d.content) for d in exported.documents] == [PNG]
    assert exported.missing_documents == ()
    body = orjson.loads(wire.dumps(exported))
    assert body["student_number"] == number
    assert delta(before, audit_actions(db)) == {"dossier.exported": 1}

    with pytest.raises(NotFound):
        approvals.export_dossier(student(number), ExportDossier(student_number=other))
    with pytest.raises(AccessDenied):
        approvals.export_dossier(APPROVER, ExportDossier(student_number=number))


# -- feedback (流程反馈) ------------------------------------------------------------------------


def test_feedback_anonymous_leaves_no_trace_of_its_sender(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    me = keyed(student(number))
    receipt = approvals.submit_feedback(
        me,
        SubmitFeedback(branch="SH01", topic="change_request", text="流程太慢", anonymous=True),
    )
    signed = approvals.submit_feedback(
        keyed(DESK), SubmitFeedback(branch="SH01", topic="registration", text="表格太长")
    )
    with db.engine.connect() as conn:
        row = conn.execute(select(feedback).where(feedback.c.id == receipt.feedback_id)).one()
        actors = set(conn.execute(select(audit_log.c.actor)).scalars())
        payloads = " ".join(conn.execute(select(outbox.c.payload)).scalars())
        ledger = set(conn.execute(select(idempotency_keys.c.actor)).scalars())
    assert row.submitted_by is None
    assert me.actor.id not in actors | ledger
    assert me.actor.id not in payloads
    assert ANONYMOUS in actors
    assert ledger == {ANONYMOUS, DESK.actor.id}

    with pytest.raises(AccessDenied):
        approvals.list_feedback(student(number), ListFeedback(branch="SH01"))
    answered = approvals.respond_feedback(
        APPROVER, RespondFeedback(feedback_id=signed.feedback_id, response="已简化")
    )
    assert (answered.response, answered.responded_by) == ("已简化", APPROVER.actor.id)
    with pytest.raises(IllegalTransition):
        approvals.respond_feedback(
            APPROVER, RespondFeedback(feedback_id=signed.feedback_id, response="again")
        )
    with pytest.raises(NotFound):
        approvals.respond_feedback(
            OTHER_BRANCH_APPROVER,
            RespondFeedback(feedback_id=receipt.feedback_id, response="x"),
        )
    open_items = approvals.list_feedback(
        APPROVER, ListFeedback(branch="SH01", unanswered_only=True)
    )
    assert [f.feedback_id for f in open_items.items] == [receipt.feedback_id]

    counts = approvals.count_feedback(
        caller("admin-1", Role.ADMIN, branch="*"),
        CountFeedback(
            branch="SH01",
            submitted_from=START,
            submitted_to=START + timedelta(days=90),
        ),
    )
    assert counts.total == 2
    assert [(t.topic, t.total, t.answered) for t in counts.topics] == [
        ("change_request", 1, 0),
        ("registration", 1, 1),
    ]
    assert db.verify_audit().ok

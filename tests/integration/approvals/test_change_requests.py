"""信息变更 in-process on both engines: submit → four-eyes review → applied → confirm or dispute."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import func, select

from dossier.approvals.handlers import Approvals, Caller
from dossier.core.attachments import Attachment
from dossier.core.commands import RebaseChange, ReviewChange, SubmitChange
from dossier.core.contracts.approvals import (
    ConfirmChange,
    DisputeChange,
    GetChange,
    ListChanges,
    ListNotifications,
    ListUnconfirmed,
)
from dossier.core.enums import ChangeStatus, Decision, DocumentKind, Locale
from dossier.core.errors import (
    AccessDenied,
    GuardRefused,
    IllegalTransition,
    NotFound,
    StaleChange,
    ValidationError,
)
from dossier.core.records import FieldChange
from dossier.storage.db import Database
from dossier.storage.schema import change_requests, idempotency_keys, notifications, students
from tests.integration.approvals.conftest import (
    APPROVER,
    APPROVER_2,
    ID_MARKER,
    NAME_MARKER,
    OFFICER,
    OFFICER_APPROVER,
    OTHER_BRANCH_APPROVER,
    Clock,
    admit_student,
    audit_actions,
    delta,
    event_types,
    keyed,
    student,
)

NEW_PHONE = "+8613911112222"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"household-register"
CODE = re.compile(r"[A-Za-z0-9_-]{24}")


def phone_change(number: str, phone: str = NEW_PHONE, **extra: object) -> SubmitChange:
    return SubmitChange(
        student_number=number,
        changes=(FieldChange(field="personal.phone", after=phone),),
        reason="换了手机号",
        **extra,  # type: ignore[arg-type]
    )


def code_of(approvals: Approvals, number: str) -> str:
    """The confirmation code, as the student reads it in their newest notification."""
    page = approvals.list_notifications(student(number), ListNotifications(student_number=number))
    found = CODE.findall(page.items[0].text)
    assert len(found) == 1, page.items[0].text
    return str(found[0])


def state(db: Database) -> dict[str, object]:
    """Row counts and versions: what must not move when a request is refused."""
    with db.engine.connect() as conn:
        versions = sorted(conn.execute(select(students.c.version)).scalars())
        changes = sorted(
            (r.status, r.version)
            for r in conn.execute(select(change_requests.c.status, change_requests.c.version))
        )
        sent = conn.execute(select(func.count()).select_from(notifications)).scalar_one()
    return {
        "versions": versions,
        "changes": changes,
        "notifications": sent,
        "audit": audit_actions(db),
        "events": event_types(db),
    }


def test_submitted_by_the_student_approved_by_another_applied_and_confirmed(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    me = student(number)
    before = (audit_actions(db), event_types(db))
    evidence = Attachment(
        kind=DocumentKind.CHANGE_EVIDENCE,
        media_type="image/png",
        content=base64.b64encode(PNG).decode(),
    )
    receipt = approvals.submit_change(me, phone_change(number, attachments=(evidence,)))
    assert receipt.status is ChangeStatus.SUBMITTED
    assert receipt.fields == ("personal.phone",)
    assert receipt.dossier_version == 1

    view = approvals.get_change(APPROVER, GetChange(change_id=receipt.change_id))
    assert [(c.field, c.before, c.after) for c in view.changes] == [
        ("personal.phone", "+8613800130000", "+8613911112222")
    ]
    assert view.documents[0].kind is DocumentKind.CHANGE_EVIDENCE
    assert not view.stale
    queue = approvals.list_changes(
        APPROVER, ListChanges(branch="SH01", status=ChangeStatus.SUBMITTED)
    )
    assert [c.change_id for c in queue.items] == [receipt.change_id]

    reviewed = approvals.review_change(
        APPROVER,
        ReviewChange(change_id=receipt.change_id, decision=Decision.APPROVE, comment="核实无误"),
    )
    assert reviewed.status is ChangeStatus.APPLIED
    assert reviewed.dossier_version == 2  # the base is now the version the change produced
    with db.unit_of_work() as uow:
        dossier = uow.students.get(number)
    assert (dossier.personal.phone, dossier.version) == (NEW_PHONE, 2)

    confirmed = approvals.confirm_change(
        me, ConfirmChange(change_id=receipt.change_id, token=code_of(approvals, number))
    )
    assert confirmed.status is ChangeStatus.CONFIRMED

    assert delta(before[0], audit_actions(db)) == {
        "change.submitted": 1,
        "change.approved": 1,
        "student.record_changed": 1,
        "change.applied": 1,
        "change.confirmed": 1,
    }
    assert delta(before[1], event_types(db)) == {"change.moved": 4, "student.record_changed": 1}
    assert db.verify_audit().ok


def test_the_code_is_one_time_and_only_the_students(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    other = admit_student(db, n=1)
    change = approvals.submit_change(OFFICER, phone_change(number))
    approvals.review_change(
        APPROVER, ReviewChange(change_id=change.change_id, decision=Decision.APPROVE, comment="")
    )
    code = code_of(approvals, number)

    staff_view = approvals.list_notifications(OFFICER, ListNotifications(student_number=number))
    assert code not in staff_view.items[0].text
    assert "••••••" in staff_view.items[0].text
    with db.engine.connect() as conn:
        stored = " ".join(conn.execute(select(notifications.c.text)).scalars())
        hashes = list(conn.execute(select(notifications.c.token_hash)).scalars())
    assert code not in stored
    assert all(h is None or len(h) == 64 for h in hashes)

    for wrong in ("A" * 24, code.lower() if code.lower() != code else code.upper()):
        with pytest.raises(AccessDenied) as refused:
            approvals.confirm_change(
                student(number), ConfirmChange(change_id=change.change_id, token=wrong)
            )
        assert refused.value.reason == "confirmation_token_invalid"
    with pytest.raises(NotFound):  # another student: the change is not theirs to see
        approvals.confirm_change(
            student(other), ConfirmChange(change_id=change.change_id, token=code)
        )
    with pytest.raises(AccessDenied):  # staff cannot answer for the student
        approvals.confirm_change(OFFICER, ConfirmChange(change_id=change.change_id, token=code))

    approvals.confirm_change(student(number), ConfirmChange(change_id=change.change_id, token=code))
    with pytest.raises(AccessDenied) as reused:
        approvals.confirm_change(
            student(number), ConfirmChange(change_id=change.change_id, token=code)
        )
    assert reused.value.reason == "confirmation_token_invalid"
    assert CODE.findall(code_of_any(approvals, number)) == []  # a used code is not shown again


def code_of_any(approvals: Approvals, number: str) -> str:
    page = approvals.list_notifications(student(number), ListNotifications(student_number=number))
    return page.items[0].text


def test_a_malformed_phone_is_refused_at_submission_and_nothing_is_written(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    before = state(db)
    with pytest.raises(ValidationError) as refused:
        approvals.submit_change(
            student(number),
            SubmitChange(
                student_number=number,
                changes=(
                    FieldChange(field="personal.phone", after="12345"),
                    FieldChange(field="personal.email", after="not-an-email"),
                    FieldChange(field="status", after="completed"),
                ),
                reason=" ",
            ),
        )
    assert {(p.field, p.rule) for p in refused.value.problems()} == {
        ("personal.phone", "phone_format"),
        ("personal.email", "email_format"),
        ("status", "not_changeable"),
        ("reason", "required"),
    }
    assert all("12345" not in p.message(loc) for p in refused.value.problems() for loc in Locale)
    assert state(db) == before


def test_a_student_submits_for_their_own_dossier_only(approvals: Approvals, db: Database) -> None:
    mine, theirs = admit_student(db), admit_student(db, n=1)
    before = state(db)
    with pytest.raises(NotFound):
        approvals.submit_change(student(mine), phone_change(theirs))
    assert state(db) == before


@pytest.mark.parametrize("decision", list(Decision))
def test_four_eyes_and_branch_scope_refuse_a_decision_and_change_nothing(
    approvals: Approvals, db: Database, decision: Decision
) -> None:
    number = admit_student(db)
    change = approvals.submit_change(OFFICER_APPROVER, phone_change(number))
    before = state(db)
    review = ReviewChange(change_id=change.change_id, decision=decision, comment="ok")

    with pytest.raises(AccessDenied) as self_approval:
        approvals.review_change(keyed(OFFICER_APPROVER), review)
    assert self_approval.value.reason == "self_approval"
    with pytest.raises(NotFound):
        approvals.review_change(OTHER_BRANCH_APPROVER, review)
    with pytest.raises(AccessDenied) as officer:
        approvals.review_change(OFFICER, review)
    assert officer.value.reason == "role_not_permitted"
    assert state(db) == before

    outcome = approvals.review_change(APPROVER, review)
    assert outcome.status in {ChangeStatus.APPLIED, ChangeStatus.REJECTED}


def test_core_four_eyes_guard_holds_even_without_the_policy_check(
    approvals: Approvals, db: Database
) -> None:
    """Defence in depth: the lifecycle refuses the requester as decider on its own."""
    from dossier.core.lifecycle import Context
    from dossier.core.lifecycles import approve_change

    number = admit_student(db)
    change = approvals.submit_change(OFFICER_APPROVER, phone_change(number))
    with db.unit_of_work() as uow:
        record = uow.change_requests.get(change.change_id)
    ctx = Context(actor=OFFICER_APPROVER.actor.id, reason="mine", at=record.requested_at)
    with pytest.raises(GuardRefused) as refused:
        approve_change(record, ctx)
    assert refused.value.reason == "four_eyes"


def test_a_stale_change_is_refused_then_rebased_and_approved(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    first = approvals.submit_change(student(number), phone_change(number))
    second = approvals.submit_change(
        student(number),
        SubmitChange(
            student_number=number,
            changes=(FieldChange(field="personal.email", after="wang.new@example.cn"),),
            reason="新邮箱",
        ),
    )
    approvals.review_change(
        APPROVER, ReviewChange(change_id=first.change_id, decision=Decision.APPROVE, comment="")
    )
    assert approvals.get_change(APPROVER, GetChange(change_id=second.change_id)).stale

    before = state(db)
    approve = ReviewChange(change_id=second.change_id, decision=Decision.APPROVE, comment="ok")
    with pytest.raises(StaleChange) as stale:
        approvals.review_change(APPROVER, approve)
    assert stale.value.code == "stale_change"
    assert stale.value.params == {"ref": second.change_id, "based_on": 1, "current": 2}
    assert state(db) == before

    rebased = approvals.rebase_change(
        APPROVER_2, RebaseChange(change_id=second.change_id, comment="重新核对")
    )
    assert (rebased.status, rebased.dossier_version) == (ChangeStatus.SUBMITTED, 2)
    view = approvals.get_change(APPROVER, GetChange(change_id=second.change_id))
    assert not view.stale
    assert view.changes[0].before == "wang0@example.cn"

    assert approvals.review_change(keyed(APPROVER), approve).status is ChangeStatus.APPLIED
    with db.unit_of_work() as uow:
        dossier = uow.students.get(number)
    assert (dossier.personal.phone, dossier.personal.email) == (NEW_PHONE, "wang.new@example.cn")
    assert dossier.version == 3
    assert db.verify_audit().ok


def test_rebasing_a_change_the_dossier_already_holds_says_so(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    first = approvals.submit_change(student(number), phone_change(number))
    twin = approvals.submit_change(student(number), phone_change(number))
    approvals.review_change(
        APPROVER, ReviewChange(change_id=first.change_id, decision=Decision.APPROVE, comment="")
    )
    with pytest.raises(ValidationError) as unchanged:
        approvals.rebase_change(APPROVER, RebaseChange(change_id=twin.change_id, comment=""))
    assert [(p.field, p.rule) for p in unchanged.value.problems()] == [
        ("personal.phone", "unchanged")
    ]
    rejected = approvals.review_change(
        APPROVER, ReviewChange(change_id=twin.change_id, decision=Decision.REJECT, comment="重复")
    )
    assert rejected.status is ChangeStatus.REJECTED
    with pytest.raises(IllegalTransition):
        approvals.rebase_change(APPROVER, RebaseChange(change_id=twin.change_id, comment=""))


def test_a_disputed_change_goes_back_to_review_and_rejecting_it_reverts(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    change = approvals.submit_change(OFFICER, phone_change(number))
    approvals.review_change(
        APPROVER, ReviewChange(change_id=change.change_id, decision=Decision.APPROVE, comment="")
    )
    disputed = approvals.dispute_change(
        student(number),
        DisputeChange(
            change_id=change.change_id, token=code_of(approvals, number), reason="不是我申请的"
        ),
    )
    assert disputed.status is ChangeStatus.DISPUTED
    queue = approvals.list_changes(
        APPROVER, ListChanges(branch="SH01", status=ChangeStatus.DISPUTED)
    )
    assert [c.change_id for c in queue.items] == [change.change_id]
    view = approvals.get_change(APPROVER, GetChange(change_id=change.change_id))
    assert view.dispute_reason == "不是我申请的"

    before = audit_actions(db)
    rejected = approvals.review_change(
        APPROVER_2,
        ReviewChange(change_id=change.change_id, decision=Decision.REJECT, comment="撤销变更"),
    )
    assert rejected.status is ChangeStatus.REJECTED
    with db.unit_of_work() as uow:
        dossier = uow.students.get(number)
    assert (dossier.personal.phone, dossier.version) == ("+8613800130000", 3)
    assert delta(before, audit_actions(db)) == {"change.rejected": 1, "student.record_reverted": 1}
    kinds = [
        n.kind
        for n in approvals.list_notifications(
            student(number), ListNotifications(student_number=number)
        ).items
    ]
    assert kinds == ["change_rejected", "change_applied"]


def test_upholding_a_disputed_change_sends_a_new_code(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    change = approvals.submit_change(OFFICER, phone_change(number))
    approvals.review_change(
        APPROVER, ReviewChange(change_id=change.change_id, decision=Decision.APPROVE, comment="")
    )
    first_code = code_of(approvals, number)
    approvals.dispute_change(
        student(number),
        DisputeChange(change_id=change.change_id, token=first_code, reason="号码不对"),
    )
    upheld = approvals.review_change(
        APPROVER_2,
        ReviewChange(change_id=change.change_id, decision=Decision.APPROVE, comment="已电话核实"),
    )
    assert upheld.status is ChangeStatus.APPLIED
    with db.unit_of_work() as uow:
        assert uow.students.get(number).version == 2  # nothing written again
    second_code = code_of(approvals, number)
    assert second_code != first_code
    with pytest.raises(AccessDenied):
        approvals.confirm_change(
            student(number), ConfirmChange(change_id=change.change_id, token=first_code)
        )
    confirmed = approvals.confirm_change(
        student(number), ConfirmChange(change_id=change.change_id, token=second_code)
    )
    assert confirmed.status is ChangeStatus.CONFIRMED


def test_approving_a_subset_applies_only_those_fields(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    change = approvals.submit_change(
        student(number),
        SubmitChange(
            student_number=number,
            changes=(
                FieldChange(field="personal.phone", after=NEW_PHONE),
                FieldChange(field="needs.goals", after="TOEFL 100"),
            ),
            reason="更新",
        ),
    )
    approvals.review_change(
        APPROVER,
        ReviewChange(
            change_id=change.change_id,
            decision=Decision.APPROVE,
            comment="只批准目标",
            fields=("needs.goals",),
        ),
    )
    with db.unit_of_work() as uow:
        dossier = uow.students.get(number)
    assert (dossier.personal.phone, dossier.needs.goals) == ("+8613800130000", "TOEFL 100")
    view = approvals.get_change(student(number), GetChange(change_id=change.change_id))
    assert [(c.field, c.approved) for c in view.changes] == [
        ("personal.phone", False),
        ("needs.goals", True),
    ]


def test_unconfirmed_changes_are_listed_after_the_branch_s_days(
    approvals: Approvals, db: Database, clock: Clock
) -> None:
    number = admit_student(db)
    change = approvals.submit_change(OFFICER, phone_change(number))
    approvals.review_change(
        APPROVER, ReviewChange(change_id=change.change_id, decision=Decision.APPROVE, comment="")
    )
    assert approvals.unconfirmed_changes(OFFICER, ListUnconfirmed(branch="SH01")).items == ()
    clock.advance(days=15)
    overdue = approvals.unconfirmed_changes(OFFICER, ListUnconfirmed(branch="SH01"))
    assert [c.change_id for c in overdue.items] == [change.change_id]


def test_notifications_carry_no_personal_data(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    for n, decision in enumerate((Decision.APPROVE, Decision.REJECT)):
        change = approvals.submit_change(
            student(number), phone_change(number, phone=f"+861391111{n:04d}")
        )
        approvals.review_change(
            keyed(APPROVER),
            ReviewChange(change_id=change.change_id, decision=decision, comment="x"),
        )
    with db.engine.connect() as conn:
        texts = list(conn.execute(select(notifications.c.text)).scalars())
    shown = approvals.list_notifications(student(number), ListNotifications(student_number=number))
    texts += [item.text for item in shown.items]
    assert len(texts) == 4
    for text in texts:
        for marker in (NAME_MARKER, ID_MARKER, "13911110000", "13800130000", "wang0@"):
            assert marker not in text
        assert number in text


def test_a_retried_submission_with_one_key_files_one_request(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    me = keyed(student(number))
    answers = {approvals.submit_change(me, phone_change(number)).change_id for _ in range(3)}
    assert len(answers) == 1
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(change_requests)).scalar_one() == 1
        kept = b"".join(
            bytes(r) for r in conn.execute(select(idempotency_keys.c.response)).scalars()
        )
    assert NEW_PHONE.encode() not in kept  # receipts hold no personal value


def test_other_branches_read_as_not_found(approvals: Approvals, db: Database) -> None:
    number = admit_student(db)
    change = approvals.submit_change(OFFICER, phone_change(number))
    with pytest.raises(NotFound):
        approvals.get_change(OTHER_BRANCH_APPROVER, GetChange(change_id=change.change_id))
    with pytest.raises(AccessDenied):
        approvals.list_changes(OTHER_BRANCH_APPROVER, ListChanges(branch="SH01"))
    mine = Caller(OTHER_BRANCH_APPROVER.actor, None)
    assert approvals.list_changes(mine, ListChanges(branch="BJ01")).items == ()


def test_the_notification_names_its_code_to_the_student_only(
    approvals: Approvals, db: Database
) -> None:
    number = admit_student(db)
    change = approvals.submit_change(OFFICER, phone_change(number))
    approvals.review_change(
        APPROVER, ReviewChange(change_id=change.change_id, decision=Decision.APPROVE, comment="")
    )
    mine = approvals.list_notifications(student(number), ListNotifications(student_number=number))
    code = mine.items[0].code
    assert code is not None
    assert code == code_of(approvals, number)  # the code in the text
    assert mine.items[0].change_id == change.change_id
    staff = approvals.list_notifications(OFFICER, ListNotifications(student_number=number))
    assert staff.items[0].code is None
    approvals.confirm_change(student(number), ConfirmChange(change_id=change.change_id, token=code))
    used = approvals.list_notifications(student(number), ListNotifications(student_number=number))
    assert used.items[0].code is None
    assert not used.items[0].answerable

"""报名 → 审核 → 录取 in-process, on both engines: submit, review, duplicates, withdraw, read.

Every changing use case is checked for what it writes in its one transaction (the
record, its audit entry, its events), for what it writes when repeated under the
same idempotency key (nothing), and for what it writes when refused (nothing).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dossier.core.commands import ReviewRegistration, WithdrawRegistration
from dossier.core.contracts.intake import (
    DuplicateHint,
    GetRegistration,
    ListRegistrations,
)
from dossier.core.enums import (
    Channel,
    Decision,
    DocumentKind,
    IdDocumentType,
    Locale,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.errors import AccessDenied, IllegalTransition, NotFound, ValidationError
from dossier.core.lifecycle import Context
from dossier.core.lifecycles import submit_registration
from dossier.core.plugins import PluginHost
from dossier.core.records import DocumentRef, IdDocument
from dossier.core.student_number import DEFAULT_FORMAT, check_character, is_valid
from dossier.intake.handlers import Intake, ProbableDuplicates
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import IdempotencyKeyReused
from dossier.storage.objects import LocalObjectStore
from dossier.storage.schema import audit_log
from tests.integration.intake.conftest import BRANCHES, OFFICER, START, Clock
from tests.integration.intake.handler_helpers import (
    ADMIN,
    APPROVER,
    DESK,
    DESK_BJ,
    OFFICER_BJ,
    PNG,
    REVIEWER,
    admitted,
    applicant,
    approve,
    attachment,
    audit_actions,
    delta,
    event_types,
    kept_answers,
    keyed,
    mobile,
    passport,
    reject,
    snapshot,
    student,
    submission,
    submitted,
)
from tests.support import builders
from tests.support.builders import guardian, needs


def stored(db: Database, registration_id: str) -> Any:
    with db.unit_of_work() as uow:
        return uow.registrations.get(registration_id)


def stored_count(db: Database) -> int:
    return len(snapshot(db)["registrations"])


def problems(error: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in error.value.problems()}


# -- 提交报名 ----------------------------------------------------------------------------------


def test_a_submission_is_stored_normalised_with_one_audit_entry_and_one_event(
    intake: Intake, db: Database, clock: Clock
) -> None:
    before = snapshot(db)
    form = submission(
        1,
        applicant=applicant(
            1,
            phone="139 0000 0001",
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number="e10000001"),
        ),
    )
    receipt = intake.submit_registration(DESK, form)

    assert receipt.status is RegistrationStatus.SUBMITTED
    assert (receipt.branch, receipt.submitted_at) == ("SH01", clock.now)
    registration = stored(db, receipt.registration_id)
    assert registration.applicant.phone == "+8613900000001"
    assert registration.applicant.id_document.number == "E10000001"
    assert registration.channel is Channel.FRONT_DESK
    assert registration.documents == (
        DocumentRef(
            kind=DocumentKind.ID_PROOF,
            sha256=hashlib.sha256(PNG).hexdigest(),
            size=len(PNG),
            media_type="image/png",
        ),
    )
    assert delta(before["audit"], audit_actions(db)) == {"registration.submitted": 1}
    assert delta(before["events"], event_types(db)) == {"registration.submitted": 1}
    with db.engine.connect() as conn:
        entry = conn.execute(select(audit_log)).mappings().one()
    assert (entry["branch"], entry["actor"], entry["subject"]) == (
        "SH01",
        DESK.actor.id,
        receipt.registration_id,
    )
    assert db.verify_audit().ok


def test_every_problem_of_a_form_is_reported_at_once_by_field_path_and_nothing_is_written(
    intake: Intake, db: Database
) -> None:
    before = snapshot(db)
    form = submission(
        applicant=applicant(
            name="X1",
            phone="12345",
            email="not-an-email",
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number="!!"),
        ),
        needs=needs(target_language="   "),
        guardian=guardian(phone="999"),
    )
    with pytest.raises(ValidationError) as refused:
        intake.submit_registration(keyed(DESK), form)
    assert problems(refused) == {
        ("applicant.name", "name_characters"),
        ("applicant.phone", "phone_format"),
        ("applicant.email", "email_format"),
        ("applicant.id_document", "id_number_format"),
        ("needs.target_language", "required"),
        ("guardian.phone", "phone_format"),
    }
    for problem in refused.value.problems():
        for locale in Locale:
            message = problem.message(locale)
            assert "12345" not in message
            assert "not-an-email" not in message
    assert snapshot(db) == before


def test_a_minor_needs_a_guardian_and_under_fourteen_their_consent(
    intake: Intake, db: Database
) -> None:
    child = applicant(birth_date=date(2015, 5, 1))
    with pytest.raises(ValidationError) as refused:
        intake.submit_registration(DESK, submission(applicant=child))
    assert problems(refused) == {
        ("guardian", "guardian_required"),
        ("guardian_consent", "guardian_consent_required"),
    }
    with pytest.raises(ValidationError) as no_consent:
        intake.submit_registration(DESK, submission(applicant=child, guardian=guardian()))
    assert problems(no_consent) == {("guardian_consent", "guardian_consent_required")}
    assert stored_count(db) == 0

    receipt = intake.submit_registration(
        DESK, submission(applicant=child, guardian=guardian(), guardian_consent=True)
    )
    assert stored(db, receipt.registration_id).guardian.name == builders.GUARDIAN_NAME


def test_bad_attachments_are_reported_by_index_and_nothing_is_filed(
    intake: Intake, db: Database, tmp_path: Path
) -> None:
    files_before = sorted(p for p in (tmp_path / "objects").rglob("*") if p.is_file())
    before = snapshot(db)
    attachments = (
        attachment(media_type="text/html"),
        attachment(data=b"<script>alert(1)</script>"),
        attachment(sha256="0" * 64),
        attachment(data=b"%PDF-1.7\n", media_type="application/pdf"),  # this one is fine
    )
    with pytest.raises(ValidationError) as refused:
        intake.submit_registration(DESK, submission(attachments=attachments))
    assert problems(refused) == {
        ("attachments[0].media_type", "not_allowed_value"),
        ("attachments[1].content", "content_type_mismatch"),
        ("attachments[2].sha256", "hash_mismatch"),
    }
    assert snapshot(db) == before
    assert sorted(p for p in (tmp_path / "objects").rglob("*") if p.is_file()) == files_before


def test_attachment_and_field_problems_are_reported_together(intake: Intake) -> None:
    form = submission(
        applicant=applicant(phone="12345"), attachments=(attachment(sha256="0" * 64),)
    )
    with pytest.raises(ValidationError) as refused:
        intake.submit_registration(DESK, form)
    assert problems(refused) == {
        ("attachments[0].sha256", "hash_mismatch"),
        ("applicant.phone", "phone_format"),
    }


def test_an_unknown_branch_is_a_problem_of_the_branch_field(intake: Intake, db: Database) -> None:
    with pytest.raises(ValidationError) as refused:
        intake.submit_registration(ADMIN, submission(branch="GZ01"))
    assert [(p.field, p.rule, dict(p.params)) for p in refused.value.problems()] == [
        ("branch", "not_allowed_value", {"allowed": "BJ01, SH01"})
    ]
    assert stored_count(db) == 0


def test_a_student_registers_online_only_and_staff_never_as_an_import(
    intake: Intake, db: Database
) -> None:
    with pytest.raises(ValidationError) as at_desk:
        intake.submit_registration(student(), submission(channel=Channel.FRONT_DESK))
    assert problems(at_desk) == {("channel", "not_allowed_value")}
    with pytest.raises(ValidationError) as as_import:
        intake.submit_registration(DESK, submission(channel=Channel.IMPORT))
    assert problems(as_import) == {("channel", "not_allowed_value")}
    assert stored_count(db) == 0

    online = intake.submit_registration(student(), submission(channel=Channel.ONLINE))
    assert stored(db, online.registration_id).channel is Channel.ONLINE


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        (APPROVER, "role_not_permitted"),
        (REVIEWER, "role_not_permitted"),
        (DESK_BJ, "branch_out_of_scope"),
    ],
)
def test_who_may_not_submit_for_the_branch_is_denied_and_nothing_is_written(
    intake: Intake, db: Database, who: Any, reason: str
) -> None:
    before = snapshot(db)
    with pytest.raises(AccessDenied) as denied:
        intake.submit_registration(keyed(who), submission())
    assert (denied.value.operation, denied.value.reason) == ("registration.submit", reason)
    assert snapshot(db) == before


class BrokenStore(DocumentStore):
    """An object store that fails as the attachments are filed (after the record is written)."""

    def put(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("object store unavailable")


def test_a_failure_while_filing_the_attachments_writes_no_record_no_entry_no_event(
    intake: Intake, db: Database, clock: Clock, tmp_path: Path
) -> None:
    store = LocalObjectStore(tmp_path / "broken")
    store.ensure_bucket("documents")
    broken = Intake(db, BRANCHES, BrokenStore(store, "documents"), PluginHost({}), clock)
    before = snapshot(db)
    retry = keyed(DESK)
    with pytest.raises(OSError, match="unavailable"):
        broken.submit_registration(retry, submission())
    assert snapshot(db) == before

    receipt = intake.submit_registration(retry, submission())  # the key was not spent
    assert stored(db, receipt.registration_id).status is RegistrationStatus.SUBMITTED


# -- idempotency ------------------------------------------------------------------------------


def test_one_key_sent_three_times_registers_once_and_answers_the_same(
    intake: Intake, db: Database
) -> None:
    retry = keyed(DESK)
    first = intake.submit_registration(retry, submission())
    after_first = snapshot(db)
    again = [intake.submit_registration(retry, submission()) for _ in range(2)]
    assert again == [first, first]
    assert snapshot(db) == after_first
    assert after_first["answers"] == 1
    assert audit_actions(db) == {"registration.submitted": 1}
    assert event_types(db) == {"registration.submitted": 1}


def test_a_key_reused_for_another_form_is_refused_and_changes_nothing(
    intake: Intake, db: Database
) -> None:
    retry = keyed(DESK)
    intake.submit_registration(retry, submission(1))
    after_first = snapshot(db)
    with pytest.raises(IdempotencyKeyReused) as reused:
        intake.submit_registration(retry, submission(2))
    assert reused.value.code == "idempotency_key_reused"
    with pytest.raises(IdempotencyKeyReused):  # another verb under the same key
        intake.withdraw_registration(
            retry, WithdrawRegistration(registration_id="reg-x", reason="x")
        )
    assert snapshot(db) == after_first


def test_a_refused_request_does_not_spend_its_key(intake: Intake, db: Database) -> None:
    retry = keyed(DESK)
    with pytest.raises(ValidationError):
        intake.submit_registration(retry, submission(applicant=applicant(phone="12345")))
    receipt = intake.submit_registration(retry, submission())
    assert stored(db, receipt.registration_id).applicant.phone == mobile(0)


def test_keys_are_per_actor(intake: Intake, db: Database) -> None:
    key = "the-same-key-0001"
    mine = intake.submit_registration(keyed(DESK, key), submission(1))
    theirs = intake.submit_registration(keyed(OFFICER, key), submission(2))
    assert mine.registration_id != theirs.registration_id
    assert stored_count(db) == 2


# -- 审核: accept ------------------------------------------------------------------------------


def test_acceptance_assigns_a_valid_number_and_admits_in_one_transaction(
    intake: Intake, db: Database
) -> None:
    registration_id = intake.submit_registration(DESK, submission()).registration_id
    assert (
        intake.get_registration(
            OFFICER, GetRegistration(registration_id=registration_id)
        ).duplicates
        == ()
    )
    before = snapshot(db)

    outcome = intake.review_registration(keyed(OFFICER), approve(registration_id))

    assert outcome.status is RegistrationStatus.ACCEPTED
    assert outcome.student_number is not None
    parsed = DEFAULT_FORMAT.parse(outcome.student_number)
    assert (parsed.prefix, parsed.year, parsed.sequence) == ("SH01", 26, 1)
    registration = stored(db, registration_id)
    assert registration.status is RegistrationStatus.ACCEPTED
    assert (registration.student_number, registration.decided_by) == (
        outcome.student_number,
        OFFICER.actor.id,
    )
    assert registration.decision_reason == "documents checked"
    with db.unit_of_work() as uow:
        dossier = uow.students.get(outcome.student_number)
    assert (dossier.status, dossier.registration_id, dossier.branch) == (
        StudentStatus.ENROLLED,
        registration_id,
        "SH01",
    )
    assert dossier.personal == registration.applicant
    assert delta(before["audit"], audit_actions(db)) == {
        "registration.accepted": 1,
        "student.admitted": 1,
    }
    assert delta(before["events"], event_types(db)) == {
        "registration.decided": 1,
        "student.admitted": 1,
    }
    assert db.verify_audit().ok
    # its own dossier is not a duplicate of the registration it came from
    view = intake.get_registration(OFFICER, GetRegistration(registration_id=registration_id))
    assert (view.status, view.student_number, view.duplicates) == (
        RegistrationStatus.ACCEPTED,
        outcome.student_number,
        (),
    )


def test_student_numbers_are_unique_consecutive_per_branch_and_carry_a_check_character(
    intake: Intake,
) -> None:
    shanghai = [admitted(intake, n) for n in range(3)]
    beijing = admitted(intake, 9, branch="BJ01")
    parsed = [DEFAULT_FORMAT.parse(n) for n in shanghai]
    assert [(p.prefix, p.sequence) for p in parsed] == [("SH01", 1), ("SH01", 2), ("SH01", 3)]
    assert (DEFAULT_FORMAT.parse(beijing).prefix, DEFAULT_FORMAT.parse(beijing).sequence) == (
        "BJ01",
        1,
    )
    for number in [*shanghai, beijing]:
        assert is_valid(number)
        payload = number[:-2].replace("-", "")
        assert number[-1] == check_character(payload)
        typo = number[:-3] + ("1" if number[-3] != "1" else "2") + number[-2:]
        assert not is_valid(typo)


def test_the_year_of_a_number_is_the_branchs_local_year(
    db: Database, documents: DocumentStore
) -> None:
    new_year_in_shanghai = Clock(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 January
    intake = Intake(db, BRANCHES, documents, PluginHost({}), clock=new_year_in_shanghai)
    number = admitted(intake)
    assert DEFAULT_FORMAT.parse(number).year == 27


def test_acceptance_without_a_proof_of_identity_is_refused_and_spends_no_number(
    intake: Intake, db: Database
) -> None:
    bare = intake.submit_registration(DESK, submission(1, attachments=())).registration_id
    before = snapshot(db)
    with pytest.raises(ValidationError) as refused:
        intake.review_registration(keyed(OFFICER), approve(bare))
    assert [(p.field, p.rule, dict(p.params)) for p in refused.value.problems()] == [
        ("documents", "document_required", {"kind": "id_proof"})
    ]
    assert snapshot(db) == before
    number = admitted(intake, 2)
    assert DEFAULT_FORMAT.parse(number).sequence == 1


def test_acceptance_checks_the_form_again_with_the_branchs_rules(
    intake: Intake, db: Database
) -> None:
    """A registration stored by another way (older rules, an import) is validated at review."""
    planted = builders.registration(
        id="reg-planted",
        applicant=builders.personal(phone="12345", email="nope"),
        submitted_at=START,
    )
    with db.unit_of_work() as uow:
        uow.apply(
            submit_registration(planted, Context(actor="import", reason="x", at=START)),
            AuditSpec(action="registration.submitted"),
        )
        uow.commit()
    before = snapshot(db)
    with pytest.raises(ValidationError) as refused:
        intake.review_registration(OFFICER, approve("reg-planted"))
    assert problems(refused) == {
        ("applicant.phone", "phone_format"),
        ("applicant.email", "email_format"),
    }
    assert snapshot(db) == before


def test_an_accepted_registration_is_not_reviewed_again(intake: Intake, db: Database) -> None:
    registration_id = submitted(intake)
    intake.review_registration(OFFICER, approve(registration_id))
    before = snapshot(db)
    for decision in (approve(registration_id), reject(registration_id)):
        with pytest.raises(IllegalTransition) as illegal:
            intake.review_registration(keyed(APPROVER), decision)
        assert illegal.value.state == "accepted"
    assert snapshot(db) == before


def test_a_repeated_acceptance_answers_the_same_number_and_admits_once(
    intake: Intake, db: Database
) -> None:
    registration_id = submitted(intake)
    retry = keyed(OFFICER)
    first = intake.review_registration(retry, approve(registration_id))
    after_first = snapshot(db)
    assert intake.review_registration(retry, approve(registration_id)) == first
    assert snapshot(db) == after_first
    assert after_first["students"] == [1]
    with pytest.raises(IdempotencyKeyReused):
        intake.review_registration(retry, approve(registration_id, allow_duplicates=True))
    assert snapshot(db) == after_first
    answers = kept_answers(db)
    assert first.student_number is not None
    assert first.student_number.encode() in answers
    for personal in (builders.NAME, mobile(0), passport(0).number):
        assert personal.encode() not in answers


# -- 审核: reject, access ----------------------------------------------------------------------


def test_a_rejection_keeps_the_reason_admits_nobody_and_is_final(
    intake: Intake, db: Database
) -> None:
    registration_id = submitted(intake)
    before = snapshot(db)
    outcome = intake.review_registration(keyed(APPROVER), reject(registration_id, "证件照片模糊"))
    assert (outcome.status, outcome.student_number) == (RegistrationStatus.REJECTED, None)
    registration = stored(db, registration_id)
    assert (registration.decision_reason, registration.decided_by) == (
        "证件照片模糊",
        APPROVER.actor.id,
    )
    assert snapshot(db)["students"] == []
    assert delta(before["audit"], audit_actions(db)) == {"registration.rejected": 1}
    assert delta(before["events"], event_types(db)) == {"registration.decided": 1}
    with pytest.raises(IllegalTransition):
        intake.review_registration(OFFICER, approve(registration_id))
    assert stored(db, registration_id).status is RegistrationStatus.REJECTED


@pytest.mark.parametrize("decision", list(Decision))
def test_review_access_another_branch_is_not_found_whatever_the_role(
    intake: Intake, db: Database, decision: Decision
) -> None:
    registration_id = submitted(intake)
    review = ReviewRegistration(registration_id=registration_id, decision=decision, reason="r")
    before = snapshot(db)

    with pytest.raises(AccessDenied) as desk:
        intake.review_registration(keyed(DESK), review)
    assert (desk.value.operation, desk.value.reason) == (
        "registration.review",
        "role_not_permitted",
    )
    for elsewhere in (OFFICER_BJ, DESK_BJ):  # DESK_BJ lacks the role too: still not found
        with pytest.raises(NotFound) as hidden:
            intake.review_registration(keyed(elsewhere), review)
        assert (hidden.value.kind, hidden.value.ref) == ("registration", registration_id)
    with pytest.raises(NotFound):
        intake.review_registration(
            OFFICER, ReviewRegistration(registration_id="reg-nobody", decision=decision, reason="r")
        )
    assert snapshot(db) == before

    assert intake.review_registration(ADMIN, review).status in {
        RegistrationStatus.ACCEPTED,
        RegistrationStatus.REJECTED,
    }


# -- probable duplicates (查重), chain-wide -------------------------------------------------------


def test_the_same_id_document_in_another_branch_holds_acceptance_until_allowed(
    intake: Intake, db: Database
) -> None:
    in_beijing = submitted(intake, 1, branch="BJ01")
    same_passport = applicant(
        2, id_document=IdDocument(type=IdDocumentType.PASSPORT, number="e 1000 0001")
    )
    in_shanghai = intake.submit_registration(
        DESK, submission(2, applicant=same_passport)
    ).registration_id

    view = intake.get_registration(OFFICER, GetRegistration(registration_id=in_shanghai))
    assert view.duplicates == (DuplicateHint(matched_on="id_document", registration_id=in_beijing),)
    before = snapshot(db)
    with pytest.raises(ProbableDuplicates) as held:
        intake.review_registration(keyed(OFFICER), approve(in_shanghai))
    assert (held.value.code, held.value.params) == ("probable_duplicates", {"count": 1})
    assert snapshot(db) == before

    outcome = intake.review_registration(
        keyed(OFFICER), approve(in_shanghai, allow_duplicates=True)
    )
    assert outcome.status is RegistrationStatus.ACCEPTED
    # rejecting needs no look at the duplicates
    other = intake.submit_registration(DESK, submission(3, applicant=same_passport))
    assert (
        intake.review_registration(OFFICER, reject(other.registration_id)).status
        is RegistrationStatus.REJECTED
    )


def test_the_same_name_birth_date_and_phone_as_a_student_elsewhere_is_found(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake, 1, branch="BJ01")
    with db.unit_of_work() as uow:
        beijing_registration = uow.students.get(number).registration_id
    same_person = applicant(
        2, name="zhang   weiqiang", phone="+86 139-0000-0001"
    )  # another passport; name and phone written differently
    in_shanghai = intake.submit_registration(
        DESK, submission(2, applicant=same_person)
    ).registration_id

    hints = intake.get_registration(
        OFFICER, GetRegistration(registration_id=in_shanghai)
    ).duplicates
    assert {(h.registration_id, h.student_number) for h in hints} == {
        (beijing_registration, None),
        (None, number),
    }
    with pytest.raises(ProbableDuplicates) as held:
        intake.review_registration(OFFICER, approve(in_shanghai))
    assert held.value.params == {"count": 2}
    assert intake.review_registration(
        OFFICER, approve(in_shanghai, allow_duplicates=True)
    ).student_number not in {None, number}


def test_a_hint_names_the_strongest_identifier_that_matched(intake: Intake) -> None:
    first = submitted(intake, 1)
    sibling = applicant(2, name="Zhang Weiming", birth_date=date(2003, 4, 4), phone=mobile(1))
    same_person = applicant(3, phone=mobile(1))
    sibling_id = submitted(intake, 2, applicant=sibling)
    same_id = submitted(intake, 3, applicant=same_person)

    def labels(registration_id: str) -> dict[str | None, str]:
        view = intake.get_registration(OFFICER, GetRegistration(registration_id=registration_id))
        return {h.registration_id: h.matched_on for h in view.duplicates}

    assert labels(sibling_id)[first] == "phone"
    assert labels(same_id)[first] == "name_birth_phone"


def test_different_people_are_no_duplicates(intake: Intake) -> None:
    first = submitted(intake, 1)
    second = submitted(intake, 2)
    for registration_id in (first, second):
        view = intake.get_registration(OFFICER, GetRegistration(registration_id=registration_id))
        assert view.duplicates == ()
    assert (
        intake.review_registration(OFFICER, approve(second)).status is RegistrationStatus.ACCEPTED
    )


# -- withdraw ---------------------------------------------------------------------------------


def test_a_withdrawal_is_recorded_once_and_ends_the_registration(
    intake: Intake, db: Database
) -> None:
    registration_id = submitted(intake)
    before = snapshot(db)
    retry = keyed(DESK)
    withdraw = WithdrawRegistration(registration_id=registration_id, reason="申请人来电取消")
    outcome = intake.withdraw_registration(retry, withdraw)
    assert intake.withdraw_registration(retry, withdraw) == outcome
    assert outcome.status is RegistrationStatus.WITHDRAWN
    assert stored(db, registration_id).decision_reason == "申请人来电取消"
    assert delta(before["audit"], audit_actions(db)) == {"registration.withdrawn": 1}
    assert delta(before["events"], event_types(db)) == {"registration.decided": 1}

    after = snapshot(db)
    with pytest.raises(IllegalTransition):
        intake.review_registration(OFFICER, approve(registration_id))
    with pytest.raises(IllegalTransition):
        intake.withdraw_registration(keyed(DESK), withdraw)
    assert snapshot(db) == after


def test_withdrawal_access(intake: Intake, db: Database) -> None:
    registration_id = submitted(intake)
    accepted = submitted(intake, 1)
    intake.review_registration(OFFICER, approve(accepted))
    before = snapshot(db)
    withdraw = WithdrawRegistration(registration_id=registration_id, reason="x")

    with pytest.raises(AccessDenied) as approver:
        intake.withdraw_registration(APPROVER, withdraw)
    assert approver.value.reason == "role_not_permitted"
    for elsewhere in (DESK_BJ, OFFICER_BJ):
        with pytest.raises(NotFound):
            intake.withdraw_registration(elsewhere, withdraw)
    with pytest.raises(NotFound):  # a student reaches no registration
        intake.withdraw_registration(student(), withdraw)
    with pytest.raises(IllegalTransition):  # once admitted, it is the dossier's status that moves
        intake.withdraw_registration(
            OFFICER, WithdrawRegistration(registration_id=accepted, reason="x")
        )
    assert snapshot(db) == before


# -- reading registrations, masked by role ------------------------------------------------------


def test_the_front_desk_sees_a_registration_masked_and_the_officer_in_clear(
    intake: Intake,
) -> None:
    form = submission(1, guardian=guardian())
    registration_id = intake.submit_registration(DESK, form).registration_id
    query = GetRegistration(registration_id=registration_id)

    clear = intake.get_registration(OFFICER, query).applicant
    assert (clear.name, clear.phone, clear.id_number) == (builders.NAME, mobile(1), "E10000001")
    assert (clear.birth_date, clear.email, clear.address) == (
        "1999-12-31",
        builders.EMAIL,
        builders.ADDRESS,
    )
    assert intake.get_registration(APPROVER, query).applicant == clear

    desk_view = intake.get_registration(DESK, query)
    masked = desk_view.applicant
    assert (masked.name, masked.phone, masked.id_number) == (
        "Z**** W*******",
        "139****0001",
        "E10****01",
    )
    assert (masked.birth_date, masked.email, masked.address) == (
        "1999-**-**",
        "w***@example.cn",
        "上海市黄浦区****",
    )
    assert desk_view.guardian is not None
    assert (desk_view.guardian.name, desk_view.guardian.phone) == ("Z**** J******", "139****4321")
    assert (masked.gender, masked.id_document_type) == (clear.gender, clear.id_document_type)
    shown = repr(desk_view)
    for personal in (*builders.PERSONAL_MARKERS, mobile(1), "E10000001", "1999-12-31"):
        assert personal not in shown


def test_reading_a_registration_another_branch_is_not_found(intake: Intake) -> None:
    query = GetRegistration(registration_id=submitted(intake))
    for elsewhere in (OFFICER_BJ, DESK_BJ, student("SH01-26-000001-W")):
        with pytest.raises(NotFound):
            intake.get_registration(elsewhere, query)
    with pytest.raises(AccessDenied) as reviewer:
        intake.get_registration(REVIEWER, query)
    assert reviewer.value.reason == "role_not_permitted"
    with pytest.raises(NotFound):
        intake.get_registration(OFFICER, GetRegistration(registration_id="reg-nobody"))


def test_the_review_queue_filters_pages_oldest_first_and_masks_for_the_desk(
    intake: Intake, clock: Clock
) -> None:
    times: list[datetime] = []
    ids: list[str] = []
    for n, channel in enumerate([Channel.FRONT_DESK, Channel.ONLINE, Channel.FRONT_DESK]):
        who = student() if channel is Channel.ONLINE else DESK
        ids.append(intake.submit_registration(who, submission(n, channel=channel)).registration_id)
        times.append(clock.now)
        clock.advance(hours=1)
    rejected = submitted(intake, 3)
    intake.review_registration(OFFICER, reject(rejected))
    submitted(intake, 4, branch="BJ01")

    def listed(who: Any = OFFICER, **filters: Any) -> list[str]:
        page = intake.list_registrations(who, ListRegistrations(branch="SH01", **filters))
        return [item.registration_id for item in page.items]

    assert listed() == ids
    assert listed(channel=Channel.ONLINE) == [ids[1]]
    assert listed(status=RegistrationStatus.REJECTED) == [rejected]
    assert listed(submitted_from=times[1]) == ids[1:]
    assert listed(submitted_to=times[1]) == ids[:1]

    first = intake.list_registrations(OFFICER, ListRegistrations(branch="SH01", limit=2))
    assert ([i.registration_id for i in first.items], first.next_after) == (ids[:2], ids[1])
    rest = intake.list_registrations(
        OFFICER, ListRegistrations(branch="SH01", limit=2, after=first.next_after)
    )
    assert ([i.registration_id for i in rest.items], rest.next_after) == (ids[2:], None)

    desk_page = intake.list_registrations(DESK, ListRegistrations(branch="SH01"))
    assert [(i.name, i.phone) for i in desk_page.items] == [
        ("Z**** W*******", f"139****{n:04d}") for n in range(3)
    ]
    officer_page = intake.list_registrations(OFFICER, ListRegistrations(branch="SH01"))
    assert [i.phone for i in officer_page.items] == [mobile(n) for n in range(3)]


def test_the_review_queue_refuses_bad_limits_other_branches_and_roles(intake: Intake) -> None:
    for limit in (0, 201):
        with pytest.raises(ValidationError) as bad:
            intake.list_registrations(OFFICER, ListRegistrations(branch="SH01", limit=limit))
        assert problems(bad) == {("limit", "not_allowed_value")}
    with pytest.raises(ValidationError) as unknown:
        intake.list_registrations(OFFICER, ListRegistrations(branch="XX01"))
    assert problems(unknown) == {("branch", "not_allowed_value")}
    with pytest.raises(AccessDenied) as elsewhere:
        intake.list_registrations(OFFICER_BJ, ListRegistrations(branch="SH01"))
    assert elsewhere.value.reason == "branch_out_of_scope"
    with pytest.raises(AccessDenied) as reviewer:
        intake.list_registrations(REVIEWER, ListRegistrations(branch="SH01"))
    assert reviewer.value.reason == "role_not_permitted"

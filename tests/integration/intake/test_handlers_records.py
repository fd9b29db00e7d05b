"""学员档案 in-process, on both engines: read and search (masked by role), courses, payments,
documents. Each change of a dossier bumps its version and writes one audit entry and one
``student.record_changed`` event in its transaction; refusals write nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dossier.core.caller import Caller
from dossier.core.commands import EndCourse, EnrolCourse, RecordPayment
from dossier.core.contracts.intake import (
    AddDocument,
    DossierChanged,
    GetDocument,
    GetDossier,
    SearchDossiers,
)
from dossier.core.enums import (
    DocumentKind,
    EnrolmentStatus,
    PaymentMethod,
    StudentStatus,
)
from dossier.core.errors import AccessDenied, NotFound, ValidationError
from dossier.core.policy import Actor, Role
from dossier.core.records import DocumentRef
from dossier.core.views import PersonView
from dossier.intake.handlers import Intake
from dossier.storage.db import Database
from dossier.storage.idempotency import IdempotencyKeyReused
from dossier.storage.schema import audit_log, outbox
from tests.integration.intake.conftest import OFFICER
from tests.integration.intake.handler_helpers import (
    APPROVER,
    DESK,
    DESK_BJ,
    OFFICER_BJ,
    PDF,
    PNG,
    REVIEWER,
    admitted,
    audit_actions,
    delta,
    event_types,
    kept_answers,
    keyed,
    mobile,
    outbox_payloads,
    passport,
    snapshot,
    student,
)
from tests.support import builders
from tests.support.builders import guardian

OPERATOR = Caller(Actor(id="operator-1", roles=frozenset({Role.OPERATOR}), branches={"SH01"}))
DESK_AND_OFFICER = Caller(
    Actor(
        id="manager-1",
        roles=frozenset({Role.FRONT_DESK, Role.ENROLMENT_OFFICER}),
        branches={"SH01"},
    )
)
PAID_AT = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
NOBODY = "SH01-26-999999-0"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def problems(error: pytest.ExceptionInfo[ValidationError]) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in error.value.problems()}


def dossier_of(db: Database, number: str) -> Any:
    with db.unit_of_work() as uow:
        return uow.students.get(number)


def course(number: str, code: str = "IELTS-A", **changes: Any) -> EnrolCourse:
    values: dict[str, Any] = {
        "student_number": number,
        "course_code": code,
        "course_name": "IELTS Academic",
        "starts_on": date(2026, 4, 1),
        "ends_on": date(2026, 6, 30),
    }
    values.update(changes)
    return EnrolCourse(**values)


def payment(number: str, **changes: Any) -> RecordPayment:
    values: dict[str, Any] = {
        "student_number": number,
        "amount_minor": 880_000,
        "currency": "CNY",
        "method": PaymentMethod.WECHAT_PAY,
        "receipt_ref": "WX-0001",
        "paid_at": PAID_AT,
    }
    values.update(changes)
    return RecordPayment(**values)


def receipt_document(number: str, data: bytes = PDF, **changes: Any) -> AddDocument:
    values: dict[str, Any] = {
        "student_number": number,
        "kind": DocumentKind.PAYMENT_RECEIPT,
        "media_type": "application/pdf",
        "content": b64(data),
    }
    values.update(changes)
    return AddDocument(**values)


def last_entry(db: Database, action: str) -> Any:
    with db.engine.connect() as conn:
        return (
            conn.execute(
                select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.seq)
            )
            .mappings()
            .all()[-1]
        )


def stored_files(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "objects").rglob("*") if p.is_file())


# -- reading a dossier, masked by role ----------------------------------------------------------


MASKED = PersonView(
    name="Z**** W*******",
    gender="male",
    birth_date="1999-**-**",
    id_document_type="passport",
    id_number="E10****01",
    phone="139****0001",
    email="w***@example.cn",
    address="上海市黄浦区****",
)


def test_officers_and_the_student_see_the_dossier_in_clear_desk_and_reviewer_masked(
    intake: Intake,
) -> None:
    number = admitted(intake, 1, guardian=guardian())
    query = GetDossier(student_number=number)

    view = intake.get_dossier(OFFICER, query)
    assert (view.status, view.version, view.branch) == (StudentStatus.ENROLLED, 1, "SH01")
    assert [(h.from_status, h.to_status) for h in view.history] == [(None, StudentStatus.ENROLLED)]
    assert [d.kind for d in view.documents] == [DocumentKind.ID_PROOF]
    clear = view.personal
    assert (clear.name, clear.phone, clear.id_number, clear.birth_date) == (
        builders.NAME,
        mobile(1),
        "E10000001",
        "1999-12-31",
    )
    for who in (student(number), APPROVER, DESK_AND_OFFICER):
        assert intake.get_dossier(who, query).personal == clear

    for who in (DESK, REVIEWER):
        masked = intake.get_dossier(who, query)
        assert masked.personal == MASKED
        assert masked.guardian is not None
        assert (masked.guardian.name, masked.guardian.phone) == ("Z**** J******", "139****4321")
        shown = repr(masked)
        for personal in (*builders.PERSONAL_MARKERS, mobile(1), "E10000001"):
            assert personal not in shown


def test_a_dossier_out_of_reach_is_not_found_whatever_the_role(intake: Intake) -> None:
    number = admitted(intake)
    other = admitted(intake, 1)
    query = GetDossier(student_number=number)
    operator_elsewhere = Caller(
        Actor(id="operator-bj", roles=frozenset({Role.OPERATOR}), branches={"BJ01"})
    )
    for who in (OFFICER_BJ, DESK_BJ, student(other), operator_elsewhere):
        with pytest.raises(NotFound) as hidden:
            intake.get_dossier(who, query)
        assert (hidden.value.kind, hidden.value.ref) == ("student", number)
    with pytest.raises(AccessDenied) as operator:  # in reach, but not the operator's to read
        intake.get_dossier(OPERATOR, query)
    assert (operator.value.operation, operator.value.reason) == (
        "dossier.read",
        "role_not_permitted",
    )
    for missing in (NOBODY, "not-a-number"):
        with pytest.raises(NotFound):
            intake.get_dossier(OFFICER, GetDossier(student_number=missing))


# -- search -----------------------------------------------------------------------------------


def test_search_finds_by_phone_by_name_birth_date_and_phone_and_by_number(intake: Intake) -> None:
    numbers = [admitted(intake, n) for n in range(3)]
    beijing = admitted(intake, 9, branch="BJ01")

    def found(who: Caller = OFFICER, **query: Any) -> list[str]:
        result = intake.search(who, SearchDossiers(branch="SH01", **query))
        return [item.student_number for item in result.items]

    assert found(phone="139 0000 0001") == [numbers[1]]
    assert found(
        phone="+86 139-0000-0002", name="zhang  WEIQIANG", birth_date=date(1999, 12, 31)
    ) == [numbers[2]]
    assert found(phone=mobile(2), name=builders.NAME, birth_date=date(1999, 12, 30)) == []
    assert found(phone=mobile(2), name="Li Lei", birth_date=date(1999, 12, 31)) == []
    assert found(student_number=numbers[0]) == [numbers[0]]
    assert found(student_number=NOBODY) == []
    # another branch's students are not found from here, by number or by phone
    assert found(student_number=beijing) == []
    assert found(phone=mobile(9)) == []
    assert [
        i.student_number
        for i in intake.search(OFFICER_BJ, SearchDossiers(branch="BJ01", phone=mobile(9))).items
    ] == [beijing]

    desk = intake.search(DESK, SearchDossiers(branch="SH01", phone=mobile(1))).items
    assert [(i.student_number, i.name, i.phone, i.status) for i in desk] == [
        (numbers[1], "Z**** W*******", "139****0001", StudentStatus.ENROLLED)
    ]
    officer = intake.search(OFFICER, SearchDossiers(branch="SH01", phone=mobile(1))).items
    assert [(i.name, i.phone) for i in officer] == [(builders.NAME, mobile(1))]


def test_search_refuses_names_without_a_phone_bad_values_other_branches_and_students(
    intake: Intake,
) -> None:
    number = admitted(intake)

    def search(who: Caller = OFFICER, branch: str = "SH01", **query: Any) -> Any:
        return intake.search(who, SearchDossiers(branch=branch, **query))

    with pytest.raises(ValidationError) as name_only:
        search(name=builders.NAME, birth_date=date(1999, 12, 31))
    assert problems(name_only) == {("phone", "required")}
    with pytest.raises(ValidationError) as bad_phone:
        search(phone="12345")
    assert problems(bad_phone) == {("phone", "phone_format")}
    with pytest.raises(ValidationError) as bad_name:
        search(phone=mobile(0), name="X1", birth_date=date(1999, 12, 31))
    assert problems(bad_name) == {("name", "name_characters")}
    with pytest.raises(ValidationError) as unknown:
        search(branch="GZ01", phone=mobile(0))
    assert problems(unknown) == {("branch", "not_allowed_value")}

    with pytest.raises(AccessDenied) as elsewhere:
        search(OFFICER_BJ, phone=mobile(0))
    assert elsewhere.value.reason == "branch_out_of_scope"
    for who in (student(number), OPERATOR):
        with pytest.raises(AccessDenied) as denied:
            search(who, student_number=number)
        assert (denied.value.operation, denied.value.reason) == (
            "dossier.search",
            "role_not_permitted",
        )


# -- courses (选课) ------------------------------------------------------------------------------


def test_an_enrolment_bumps_the_version_with_one_entry_and_one_event(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake)
    before = snapshot(db)

    changed = intake.enrol_course(keyed(OFFICER), course(number))

    assert changed == DossierChanged(student_number=number, version=2, change="course.enrolled")
    view = intake.get_dossier(OFFICER, GetDossier(student_number=number))
    assert view.version == 2
    assert [(e.course_code, e.starts_on, e.ends_on, e.status) for e in view.enrolments] == [
        ("IELTS-A", date(2026, 4, 1), date(2026, 6, 30), EnrolmentStatus.ACTIVE)
    ]
    assert delta(before["audit"], audit_actions(db)) == {"course.enrolled": 1}
    assert delta(before["events"], event_types(db)) == {"student.record_changed": 1}
    entry = last_entry(db, "course.enrolled")
    assert (entry["student_number"], entry["actor"], list(entry["fields"])) == (
        number,
        OFFICER.actor.id,
        ["course"],
    )
    with db.engine.connect() as conn:
        row = (
            conn.execute(select(outbox).where(outbox.c.type == "student.record_changed"))
            .mappings()
            .one()
        )
    event = json.loads(row["payload"])
    assert (event["student_number"], event["fields"], row["branch"]) == (number, ["course"], "SH01")
    assert db.verify_audit().ok


def test_ending_a_course_ends_that_enrolment_only(intake: Intake, db: Database) -> None:
    number = admitted(intake)
    intake.enrol_course(OFFICER, course(number, "IELTS-A"))
    intake.enrol_course(OFFICER, course(number, "SPK-1", ends_on=None))
    ielts, speaking = intake.get_dossier(OFFICER, GetDossier(student_number=number)).enrolments

    changed = intake.end_course(
        keyed(OFFICER),
        EndCourse(
            student_number=number, enrolment_id=ielts.id, ended_on=date(2026, 5, 15), reason="搬家"
        ),
    )

    assert changed == DossierChanged(student_number=number, version=4, change="course.ended")
    ended, untouched = dossier_of(db, number).enrolments
    assert (ended.id, ended.status, ended.ends_on, ended.ended_reason) == (
        ielts.id,
        EnrolmentStatus.ENDED,
        date(2026, 5, 15),
        "搬家",
    )
    assert (untouched.id, untouched.status, untouched.ends_on) == (
        speaking.id,
        EnrolmentStatus.ACTIVE,
        None,
    )
    assert audit_actions(db)["course.ended"] == 1

    before = snapshot(db)
    with pytest.raises(NotFound) as unknown:
        intake.end_course(
            OFFICER,
            EndCourse(
                student_number=number,
                enrolment_id="enr-nope",
                ended_on=date(2026, 5, 15),
                reason="x",
            ),
        )
    assert (unknown.value.kind, unknown.value.ref) == ("enrolment", "enr-nope")
    assert snapshot(db) == before


def test_a_course_cannot_end_before_it_started(intake: Intake, db: Database) -> None:
    number = admitted(intake)
    intake.enrol_course(OFFICER, course(number, starts_on=date(2026, 4, 1)))
    (enrolment,) = intake.get_dossier(OFFICER, GetDossier(student_number=number)).enrolments
    before = snapshot(db)
    with pytest.raises(ValidationError) as refused:
        intake.end_course(
            OFFICER,
            EndCourse(
                student_number=number,
                enrolment_id=enrolment.id,
                ended_on=date(2026, 1, 1),
                reason="x",
            ),
        )
    assert problems(refused) == {("ended_on", "invalid_date")}
    assert snapshot(db) == before


def test_every_problem_of_an_enrolment_is_reported_and_nothing_is_written(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake)
    before = snapshot(db)
    with pytest.raises(ValidationError) as blank:
        intake.enrol_course(OFFICER, course(number, "", ends_on=date(2026, 3, 31)))
    assert problems(blank) == {("course_code", "required"), ("ends_on", "invalid_date")}
    with pytest.raises(ValidationError) as long:
        intake.enrol_course(OFFICER, course(number, "C" * 65, ends_on=date(2026, 3, 31)))
    assert [(p.field, p.rule, dict(p.params)) for p in long.value.problems()] == [
        ("course_code", "too_long", {"max": 64}),
        ("ends_on", "invalid_date", {}),
    ]
    intake.enrol_course(OFFICER, course(number, "C" * 64))  # the column's width is allowed
    assert snapshot(db)["students"] == [2]
    assert delta(before["audit"], audit_actions(db)) == {"course.enrolled": 1}


def test_course_access_another_branch_is_not_found(intake: Intake, db: Database) -> None:
    number = admitted(intake)
    other = admitted(intake, 1)
    intake.enrol_course(OFFICER, course(number))
    (enrolment,) = intake.get_dossier(OFFICER, GetDossier(student_number=number)).enrolments
    end = EndCourse(
        student_number=number, enrolment_id=enrolment.id, ended_on=date(2026, 5, 1), reason="x"
    )
    before = snapshot(db)

    for who in (DESK, student(number)):
        with pytest.raises(AccessDenied) as denied:
            intake.enrol_course(keyed(who), course(number, "X-1"))
        assert (denied.value.operation, denied.value.reason) == (
            "course.manage",
            "role_not_permitted",
        )
        with pytest.raises(AccessDenied):
            intake.end_course(keyed(who), end)
    for who in (OFFICER_BJ, DESK_BJ, student(other)):
        with pytest.raises(NotFound):
            intake.enrol_course(keyed(who), course(number, "X-1"))
        with pytest.raises(NotFound):
            intake.end_course(keyed(who), end)
    with pytest.raises(NotFound):
        intake.enrol_course(OFFICER, course(NOBODY))
    assert snapshot(db) == before


def test_a_repeated_enrolment_enrols_once_but_a_request_without_a_key_is_not_deduplicated(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake)
    retry = keyed(OFFICER)
    first = intake.enrol_course(retry, course(number))
    after_first = snapshot(db)
    assert intake.enrol_course(retry, course(number)) == first
    assert snapshot(db) == after_first
    with pytest.raises(IdempotencyKeyReused):
        intake.enrol_course(retry, course(number, "TOEFL"))
    assert snapshot(db) == after_first

    intake.enrol_course(OFFICER, course(number))
    intake.enrol_course(OFFICER, course(number))
    assert [e.course_code for e in dossier_of(db, number).enrolments] == ["IELTS-A"] * 3


# -- payments (缴费) -----------------------------------------------------------------------------


def test_a_payment_is_recorded_with_its_recorder_and_the_currency_in_capitals(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake)
    before = snapshot(db)
    changed = intake.record_payment(keyed(DESK), payment(number, currency="cny"))
    assert changed == DossierChanged(student_number=number, version=2, change="payment.recorded")
    view = intake.get_dossier(OFFICER, GetDossier(student_number=number))
    assert [
        (p.amount_minor, p.currency, p.method, p.receipt_ref, p.paid_at) for p in view.payments
    ] == [(880_000, "CNY", PaymentMethod.WECHAT_PAY, "WX-0001", PAID_AT)]
    assert dossier_of(db, number).payments[0].recorded_by == DESK.actor.id
    assert delta(before["audit"], audit_actions(db)) == {"payment.recorded": 1}
    assert delta(before["events"], event_types(db)) == {"student.record_changed": 1}
    assert list(last_entry(db, "payment.recorded")["fields"]) == ["payment"]


def test_every_problem_of_a_payment_is_reported_and_nothing_is_written(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake)
    before = snapshot(db)
    for amount in (0, -100):
        with pytest.raises(ValidationError) as refused:
            intake.record_payment(
                keyed(DESK),
                payment(number, amount_minor=amount, currency="RMBY", receipt_ref="R" * 129),
            )
        assert problems(refused) == {
            ("amount_minor", "not_allowed_value"),
            ("currency", "wrong_type"),
            ("receipt_ref", "too_long"),
        }
    with pytest.raises(ValidationError) as digits:
        intake.record_payment(DESK, payment(number, currency="156"))
    assert problems(digits) == {("currency", "wrong_type")}
    assert snapshot(db) == before


def test_an_amount_beyond_the_columns_range_is_a_validation_problem(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake)
    with pytest.raises(ValidationError) as refused:
        intake.record_payment(DESK, payment(number, amount_minor=2**63))
    assert problems(refused) == {("amount_minor", "not_allowed_value")}


def test_payment_access_and_a_repeated_payment(intake: Intake, db: Database) -> None:
    number = admitted(intake)
    before = snapshot(db)
    for who in (APPROVER, REVIEWER, student(number)):
        with pytest.raises(AccessDenied) as denied:
            intake.record_payment(keyed(who), payment(number))
        assert denied.value.reason == "role_not_permitted"
    for who in (DESK_BJ, OFFICER_BJ):
        with pytest.raises(NotFound):
            intake.record_payment(keyed(who), payment(number))
    assert snapshot(db) == before

    retry = keyed(DESK)
    first = intake.record_payment(retry, payment(number))
    assert intake.record_payment(retry, payment(number)) == first
    with pytest.raises(IdempotencyKeyReused):
        intake.record_payment(retry, payment(number, amount_minor=1))
    assert len(dossier_of(db, number).payments) == 1
    assert audit_actions(db)["payment.recorded"] == 1


# -- documents (证件、收据) ------------------------------------------------------------------------


def test_a_document_is_filed_sealed_listed_once_and_read_back(
    intake: Intake, db: Database, tmp_path: Path
) -> None:
    number = admitted(intake)
    before = snapshot(db)

    ref = intake.add_document(keyed(DESK), receipt_document(number, sha256=sha(PDF)))

    assert ref == DocumentRef(
        kind=DocumentKind.PAYMENT_RECEIPT,
        sha256=sha(PDF),
        size=len(PDF),
        media_type="application/pdf",
    )
    view = intake.get_dossier(OFFICER, GetDossier(student_number=number))
    assert (view.version, [d.kind for d in view.documents]) == (
        2,
        [DocumentKind.ID_PROOF, DocumentKind.PAYMENT_RECEIPT],
    )
    assert delta(before["audit"], audit_actions(db)) == {"document.added": 1}
    assert delta(before["events"], event_types(db)) == {"student.record_changed": 1}
    fetched = intake.get_document(OFFICER, GetDocument(student_number=number, sha256=sha(PDF)))
    assert (fetched.ref, base64.b64decode(fetched.content)) == (ref, PDF)
    for path in stored_files(tmp_path):
        assert b"receipt receipt" not in path.read_bytes()

    after_first = snapshot(db)
    assert intake.add_document(keyed(OFFICER), receipt_document(number)) == ref  # same content
    assert snapshot(db)["students"] == after_first["students"]
    assert snapshot(db)["audit"] == after_first["audit"]


def test_the_registrations_attachment_is_read_through_the_dossier(intake: Intake) -> None:
    number = admitted(intake)
    other = admitted(intake, 1)
    query = GetDocument(student_number=number, sha256=sha(PNG))
    for who in (OFFICER, REVIEWER, student(number)):
        fetched = intake.get_document(who, query)
        assert (fetched.ref.kind, base64.b64decode(fetched.content)) == (DocumentKind.ID_PROOF, PNG)

    with pytest.raises(NotFound) as unknown:
        intake.get_document(OFFICER, GetDocument(student_number=number, sha256=sha(b"other")))
    assert unknown.value.kind == "document"
    for who in (OFFICER_BJ, DESK_BJ, student(other)):
        with pytest.raises(NotFound):
            intake.get_document(who, query)
    with pytest.raises(AccessDenied):
        intake.get_document(OPERATOR, query)


def test_a_bad_document_is_refused_with_its_problem_and_nothing_is_filed(
    intake: Intake, db: Database, tmp_path: Path
) -> None:
    number = admitted(intake)
    before, files = snapshot(db), stored_files(tmp_path)
    cases = [
        (
            receipt_document(number, data=b"MZ\x90\x00 not a pdf"),
            ("content", "content_type_mismatch"),
        ),
        (receipt_document(number, sha256=sha(b"something else")), ("sha256", "hash_mismatch")),
        (receipt_document(number, media_type="text/plain"), ("media_type", "not_allowed_value")),
        (receipt_document(number, data=b""), ("content", "required")),
    ]
    for command, expected in cases:
        with pytest.raises(ValidationError) as refused:
            intake.add_document(keyed(DESK), command)
        assert problems(refused) == {expected}
    assert snapshot(db) == before
    assert stored_files(tmp_path) == files


def test_document_access_another_branch_is_not_found(
    intake: Intake, db: Database, tmp_path: Path
) -> None:
    number = admitted(intake)
    other = admitted(intake, 1)
    before, files = snapshot(db), stored_files(tmp_path)
    for who in (REVIEWER, APPROVER, student(number)):
        with pytest.raises(AccessDenied) as denied:
            intake.add_document(keyed(who), receipt_document(number))
        assert (denied.value.operation, denied.value.reason) == (
            "document.add",
            "role_not_permitted",
        )
    for who in (OFFICER_BJ, DESK_BJ, student(other)):
        with pytest.raises(NotFound):
            intake.add_document(keyed(who), receipt_document(number))
    assert snapshot(db) == before
    assert stored_files(tmp_path) == files


# -- what leaves the transaction ------------------------------------------------------------------


def test_events_audit_values_and_kept_answers_hold_no_personal_values(
    intake: Intake, db: Database
) -> None:
    number = admitted(intake, guardian=guardian())
    intake.enrol_course(keyed(OFFICER), course(number))
    intake.record_payment(keyed(DESK), payment(number))
    intake.add_document(keyed(DESK), receipt_document(number))

    with db.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.type, outbox.c.branch).order_by(outbox.c.seq)).all()
        audit_text = repr(conn.execute(select(audit_log)).all())
    assert [tuple(r) for r in rows] == [
        ("registration.submitted", "SH01"),
        ("registration.decided", "SH01"),
        ("student.admitted", "SH01"),
        *[("student.record_changed", "SH01")] * 3,
    ]
    personal = (*builders.PERSONAL_MARKERS, mobile(0), "13900000000", passport(0).number)
    payloads, answers = outbox_payloads(db), kept_answers(db)
    assert number in payloads
    assert answers
    for value in personal:
        assert value not in payloads
        assert value not in audit_text
        assert value.encode() not in answers
    assert db.verify_audit().ok

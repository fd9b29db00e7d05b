"""The default rules plugin, always through `PluginHost(...).rules_for(branch)` (`BranchRules`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest

from dossier.core.branch import Branch
from dossier.core.enums import (
    Channel,
    ConsentGiver,
    ConsentPurpose,
    DocumentKind,
    DocumentStage,
    EnrolmentStatus,
    IdDocumentType,
    Locale,
    Severity,
    StudentStatus,
)
from dossier.core.errors import Problem, ValidationError
from dossier.core.hookspecs import FieldKind, Notice
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.policy import Role
from dossier.core.records import (
    Consent,
    CourseEnrolment,
    DocumentRef,
    FieldChange,
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
    Registration,
    ReviewFinding,
    StatusChange,
    StudentDossier,
)
from dossier.core.rules import default
from dossier.core.student_number import DEFAULT_FORMAT

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
SH = Branch(code="SH01", name="上海一校")
SH_EN = Branch(code="SH02", name="上海二校", locale=Locale.EN)
HOST = PluginHost({})
ADULT_BORN = date(1995, 3, 14)
STUDENT_NUMBER = DEFAULT_FORMAT.format("SH01", 26, 123)


def rules(branch: Branch = SH) -> BranchRules:
    return HOST.rules_for(branch)


GB_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def prc_id(born: date, region: str = "310104", sequence: str = "123") -> str:
    """A valid 居民身份证 number (check character from the GB 11643 table)."""
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    total = sum(int(d) * w for d, w in zip(first17, GB_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def years_ago(years: int, days: int = 0) -> date:
    return TODAY.replace(year=TODAY.year - years) + timedelta(days=days)


def person(**overrides: Any) -> PersonalDetails:
    born = overrides.pop("birth_date", ADULT_BORN)
    fields: dict[str, Any] = {
        "name": "张伟",
        "birth_date": born,
        "id_document": IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number=prc_id(born)),
        "phone": "138 0013 8000",
        "email": "Zhang.Wei@Example.COM",
        "address": "上海市徐汇区漕溪北路 88 号",
    }
    fields.update(overrides)
    return PersonalDetails(**fields)


def guardian(**overrides: Any) -> Guardian:
    fields: dict[str, Any] = {"name": "张建国", "relation": "父亲", "phone": "13912345678"}
    fields.update(overrides)
    return Guardian(**fields)


def registration(**overrides: Any) -> Registration:
    fields: dict[str, Any] = {
        "id": "REG-1",
        "branch": "SH01",
        "channel": Channel.ONLINE,
        "applicant": person(),
        "needs": LearningNeeds(target_language="English", current_level="B1", goals="IELTS 7"),
        "submitted_at": NOW - timedelta(days=1),
    }
    fields.update(overrides)
    return Registration(**fields)


def id_proof() -> DocumentRef:
    return DocumentRef(
        kind=DocumentKind.ID_PROOF, sha256="ab" * 32, size=1024, media_type="image/jpeg"
    )


def dossier(**overrides: Any) -> StudentDossier:
    fields: dict[str, Any] = {
        "student_number": STUDENT_NUMBER,
        "branch": "SH01",
        "personal": person(phone="+8613800138000"),
        "needs": LearningNeeds(target_language="English"),
        "status": StudentStatus.ENROLLED,
        "admitted_at": NOW - timedelta(days=300),
        "documents": (id_proof(),),
        "enrolments": (
            CourseEnrolment(
                id="E1", course_code="EN-B1", course_name="English B1", starts_on=date(2026, 9, 1)
            ),
        ),
    }
    fields.update(overrides)
    return StudentDossier(**fields)


def problems_of(call: Callable[[], object]) -> set[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {(p.field, p.rule) for p in caught.value.problems()}


# -- registrations -----------------------------------------------------------------------


def test_plugin_host_registers_the_default_rules_by_itself() -> None:
    assert rules().plugin_names == ("default",)


def test_a_valid_registration_passes_and_comes_back_normalised() -> None:
    submitted = registration(
        applicant=person(
            name="  张  伟 ",
            id_document=IdDocument(
                type=IdDocumentType.PRC_RESIDENT_ID, number="11010519491231002x".lower()
            ),
            birth_date=date(1949, 12, 31),
            phone="+86 138-0013-8000",
        ),
        needs=LearningNeeds(target_language=" English ", goals="IELTS 7\r\n周末班"),
    )
    accepted = rules().validate_registration(submitted, TODAY)
    assert accepted.applicant.name == "张伟"  # no space between Han characters
    assert accepted.applicant.phone == "+8613800138000"
    assert accepted.applicant.email == "Zhang.Wei@example.com"
    assert accepted.applicant.id_document.number == "11010519491231002X"
    assert accepted.needs.target_language == "English"
    assert accepted.needs.goals == "IELTS 7\n周末班"
    assert accepted.id == submitted.id


def test_blank_optional_contact_details_become_absent() -> None:
    accepted = rules().validate_registration(
        registration(applicant=person(email="  ", address="")), TODAY
    )
    assert accepted.applicant.email is None
    assert accepted.applicant.address is None


def test_a_registration_reports_all_its_problems_at_once() -> None:
    submitted = registration(
        applicant=person(
            name="张3",
            birth_date=years_ago(10),
            id_document=IdDocument(
                type=IdDocumentType.PRC_RESIDENT_ID, number=prc_id(years_ago(10))[:-1] + "Y"
            ),
            phone="010-12345678",
            email="zhang@@example.com",
            address="路" * 201,
        ),
        needs=LearningNeeds(target_language="", goals="IELTS\u202e7"),
    )
    assert problems_of(lambda: rules().validate_registration(submitted, TODAY)) == {
        ("applicant.name", "name_characters"),
        ("applicant.id_document", "id_number_format"),
        ("applicant.phone", "phone_not_mobile"),  # a Beijing landline
        ("applicant.email", "email_format"),
        ("applicant.address", "too_long"),
        ("needs.target_language", "required"),
        ("needs.goals", "control_characters"),
        ("guardian", "guardian_required"),
        ("guardian_consent", "guardian_consent_required"),
    }


def test_guardian_fields_are_checked_too() -> None:
    submitted = registration(
        guardian=guardian(name="Dad 2", relation=" ", phone="12345"),
    )
    assert problems_of(lambda: rules().validate_registration(submitted, TODAY)) == {
        ("guardian.name", "name_characters"),
        ("guardian.relation", "required"),
        ("guardian.phone", "phone_format"),
    }


def test_a_minor_needs_a_guardian() -> None:
    born = years_ago(17)
    minor = registration(applicant=person(birth_date=born))
    assert problems_of(lambda: rules().validate_registration(minor, TODAY)) == {
        ("guardian", "guardian_required")
    }
    with_guardian = attrs.evolve(minor, guardian=guardian())
    assert rules().validate_registration(with_guardian, TODAY).guardian is not None


def test_eighteen_today_is_an_adult_and_a_day_short_is_not() -> None:
    adult = registration(applicant=person(birth_date=years_ago(18)))
    assert rules().validate_registration(adult, TODAY).guardian is None
    nearly = registration(applicant=person(birth_date=years_ago(18, days=1)))
    assert problems_of(lambda: rules().validate_registration(nearly, TODAY)) == {
        ("guardian", "guardian_required")
    }


def test_under_fourteen_needs_the_guardians_consent() -> None:
    child = registration(applicant=person(birth_date=years_ago(13)), guardian=guardian())
    assert problems_of(lambda: rules().validate_registration(child, TODAY)) == {
        ("guardian_consent", "guardian_consent_required")
    }
    consented = attrs.evolve(child, guardian_consent=True)
    assert rules().validate_registration(consented, TODAY).guardian_consent is True
    fourteen = registration(applicant=person(birth_date=years_ago(14)), guardian=guardian())
    assert rules().validate_registration(fourteen, TODAY).guardian is not None


def test_guardian_rules_carry_the_age_thresholds() -> None:
    child = registration(applicant=person(birth_date=years_ago(8)))
    with pytest.raises(ValidationError) as caught:
        rules().validate_registration(child, TODAY)
    params = {p.rule: dict(p.params) for p in caught.value.problems()}
    assert params == {"guardian_required": {"age": 18}, "guardian_consent_required": {"age": 14}}


def test_stated_birth_date_must_match_the_prc_id() -> None:
    mismatch = registration(
        applicant=person(
            birth_date=date(1995, 3, 15),
            id_document=IdDocument(
                type=IdDocumentType.PRC_RESIDENT_ID, number=prc_id(date(1995, 3, 14))
            ),
        )
    )
    assert problems_of(lambda: rules().validate_registration(mismatch, TODAY)) == {
        ("applicant.birth_date", "id_birth_date_mismatch")
    }


def test_no_mismatch_is_claimed_when_the_id_itself_is_invalid() -> None:
    bad_id = prc_id(date(1990, 1, 1))[:-1] + ("0" if prc_id(date(1990, 1, 1))[-1] != "0" else "1")
    submitted = registration(
        applicant=person(
            birth_date=ADULT_BORN,
            id_document=IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number=bad_id),
        )
    )
    assert problems_of(lambda: rules().validate_registration(submitted, TODAY)) == {
        ("applicant.id_document", "id_number_checksum")
    }


def test_no_age_rules_fire_on_a_future_birth_date() -> None:
    tomorrow = TODAY + timedelta(days=1)
    submitted = registration(applicant=person(birth_date=tomorrow, id_document=passport()))
    assert problems_of(lambda: rules().validate_registration(submitted, TODAY)) == {
        ("applicant.birth_date", "birth_date_future")
    }


def passport(number: str = "e 1234 5678") -> IdDocument:
    return IdDocument(type=IdDocumentType.PASSPORT, number=number)


# -- single fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "number"),
    [
        (passport(), "E12345678"),
        (IdDocument(type=IdDocumentType.HK_MACAO_PERMIT, number="c1234 5678"), "C12345678"),
        (IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number="110105 19491231 002x"), None),
    ],
)
def test_mainland_documents_are_accepted_and_normalised(
    document: IdDocument, number: str | None
) -> None:
    checked = rules().check_field(FieldKind.ID_DOCUMENT, "applicant.id_document", document, TODAY)
    assert checked.problems == ()
    assert checked.value == IdDocument(type=document.type, number=number or "11010519491231002X")


@pytest.mark.parametrize("kind", [IdDocumentType.HKID, IdDocumentType.OTHER])
def test_hkid_and_other_documents_are_not_accepted_by_default(kind: IdDocumentType) -> None:
    document = IdDocument(type=kind, number="A123456(3)")
    checked = rules().check_field(FieldKind.ID_DOCUMENT, "applicant.id_document", document, TODAY)
    assert checked.problems == (
        Problem("applicant.id_document", "id_type_not_accepted", {"document": kind.value}),
    )
    assert checked.value == document


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (FieldKind.PERSON_NAME, 42, "text"),
        (FieldKind.PHONE, 13800138000, "text"),
        (FieldKind.BIRTH_DATE, "1995-03-14", "date"),
        (FieldKind.BIRTH_DATE, datetime(1995, 3, 14, tzinfo=UTC), "date"),
        (FieldKind.ID_DOCUMENT, "passport:E12345678", "identity_document"),
        (FieldKind.FREE_TEXT, None, "text"),
    ],
)
def test_values_of_the_wrong_type_are_reported(
    kind: FieldKind, value: object, expected: str
) -> None:
    checked = rules().check_field(kind, "x.y", value, TODAY)
    assert checked.problems == (Problem("x.y", "wrong_type", {"expected": expected}),)


def test_free_text_is_only_required_where_the_record_needs_it() -> None:
    assert rules().check_field(FieldKind.FREE_TEXT, "needs.goals", "  ", TODAY).value == ""
    checked = rules().check_field(FieldKind.FREE_TEXT, "guardian.relation", "  ", TODAY)
    assert checked.problems == (Problem("guardian.relation", "required"),)


# -- change requests ---------------------------------------------------------------------


def test_a_change_of_birth_date_must_agree_with_the_prc_id() -> None:
    current = dossier()
    changes = [FieldChange(field="personal.birth_date", after="1995-03-15")]
    assert problems_of(lambda: rules().validate_change(current, changes, TODAY)) == {
        ("personal.birth_date", "id_birth_date_mismatch")
    }


def test_a_new_prc_id_must_agree_with_the_current_birth_date() -> None:
    current = dossier()
    new_id = prc_id(date(1995, 4, 14), region="110105")
    changes = [FieldChange(field="personal.id_document", after=f"prc_resident_id:{new_id}")]
    assert problems_of(lambda: rules().validate_change(current, changes, TODAY)) == {
        ("personal.id_document", "id_birth_date_mismatch")
    }


def test_birth_date_and_id_changed_together_consistently_pass_normalised() -> None:
    current = dossier()
    born = date(1996, 5, 20)
    changes = [
        FieldChange(field="personal.birth_date", after=born.isoformat()),
        FieldChange(field="personal.id_document", after=f"prc_resident_id:{prc_id(born).lower()}"),
        FieldChange(field="personal.phone", after="139 1234 5678"),
    ]
    values = rules().validate_change(current, changes, TODAY)
    assert values == {
        "personal.birth_date": born,
        "personal.id_document": IdDocument(
            type=IdDocumentType.PRC_RESIDENT_ID, number=prc_id(born)
        ),
        "personal.phone": "+8613912345678",
    }


def test_a_passport_holder_may_change_the_birth_date_freely() -> None:
    current = dossier(personal=person(id_document=passport("E12345678")))
    changes = [FieldChange(field="personal.birth_date", after="1995-03-15")]
    assert rules().validate_change(current, changes, TODAY) == {
        "personal.birth_date": date(1995, 3, 15)
    }


def test_change_field_rules_report_every_problem() -> None:
    changes = [
        FieldChange(field="personal.phone", after="12345"),
        FieldChange(field="personal.name", after="张\u200b伟"),
        FieldChange(field="personal.id_document", after="hkid:A123456(3)"),
        FieldChange(field="personal.gender", after="female"),
    ]
    assert problems_of(lambda: rules().validate_change(dossier(), changes, TODAY)) == {
        ("personal.phone", "phone_format"),
        ("personal.name", "control_characters"),
        ("personal.id_document", "id_type_not_accepted"),
    }


# -- formats and documents ---------------------------------------------------------------


def test_student_number_format_is_the_chain_default() -> None:
    fmt = rules().student_number_format()
    assert fmt is DEFAULT_FORMAT
    assert fmt.parse(STUDENT_NUMBER).sequence == 123


@pytest.mark.parametrize(
    ("stage", "required"),
    [
        (DocumentStage.ADMISSION, {DocumentKind.ID_PROOF}),
        (DocumentStage.REGISTRATION, set()),
        (DocumentStage.CHANGE, set()),
        (DocumentStage.DESTRUCTION, set()),
    ],
)
def test_only_admission_requires_an_id_proof(
    stage: DocumentStage, required: set[DocumentKind]
) -> None:
    assert rules().required_documents(stage) == required


# -- quarterly review --------------------------------------------------------------------


def rules_found(findings: Iterable[ReviewFinding]) -> set[str]:
    return {finding.rule for finding in findings}


def test_a_complete_adult_dossier_has_no_findings() -> None:
    assert rules().review(dossier(), TODAY) == []


def test_missing_id_proof_is_a_warning() -> None:
    findings = rules().review(dossier(documents=()), TODAY)
    assert [(f.rule, f.severity, f.student_number) for f in findings] == [
        ("missing_id_proof", Severity.WARNING, STUDENT_NUMBER)
    ]


def guardian_consent(**overrides: Any) -> Consent:
    fields: dict[str, Any] = {
        "id": "C1",
        "student_number": STUDENT_NUMBER,
        "purpose": ConsentPurpose.PROCESSING,
        "given_by": ConsentGiver.GUARDIAN,
        "granted_at": NOW - timedelta(days=100),
        "recorded_by": "staff-1",
    }
    fields.update(overrides)
    return Consent(**fields)


def test_minor_without_guardian_is_an_error() -> None:
    minor = dossier(personal=person(birth_date=years_ago(16), phone="+8613800138000"))
    findings = rules().review(minor, TODAY)
    assert [(f.rule, f.severity, dict(f.detail)) for f in findings] == [
        ("minor_without_guardian", Severity.ERROR, {"age": 18})
    ]
    assert rules().review(attrs.evolve(minor, guardian=guardian()), TODAY) == []


@pytest.mark.parametrize(
    ("consents", "flagged"),
    [
        ((), True),
        ((guardian_consent(),), False),
        ((guardian_consent(withdrawn_at=NOW - timedelta(days=1), withdrawn_by="g"),), True),
        ((guardian_consent(given_by=ConsentGiver.STUDENT),), True),
        ((guardian_consent(purpose=ConsentPurpose.MARKETING),), True),
    ],
)
def test_under_fourteen_needs_an_active_processing_consent_from_the_guardian(
    consents: tuple[Consent, ...], flagged: bool
) -> None:
    child = dossier(
        personal=person(birth_date=years_ago(12), phone="+8613800138000"),
        guardian=guardian(phone="+8613912345678"),
        consents=consents,
    )
    findings = rules().review(child, TODAY)
    expected = {"minor_without_guardian_consent"} if flagged else set()
    assert rules_found(findings) == expected
    assert all(f.severity is Severity.ERROR for f in findings)


def test_phones_that_no_longer_pass_the_rules_are_flagged() -> None:
    stale = dossier(
        personal=person(phone="+8612000138000"), guardian=guardian(phone="+8614000000000")
    )
    findings = rules().review(stale, TODAY)
    assert [(f.rule, f.severity, dict(f.detail)) for f in findings] == [
        ("invalid_contact", Severity.WARNING, {"path": "personal.phone"}),
        ("invalid_contact", Severity.WARNING, {"path": "guardian.phone"}),
    ]


def test_numbers_of_other_countries_are_left_to_their_plugin() -> None:
    assert rules().review(dossier(personal=person(phone="+85291234567")), TODAY) == []


def ended(
    course: str, ends_on: date | None = None, status: EnrolmentStatus = EnrolmentStatus.ENDED
) -> CourseEnrolment:
    return CourseEnrolment(
        id=course,
        course_code=course,
        course_name=course,
        starts_on=date(2025, 9, 1),
        ends_on=ends_on,
        status=status,
    )


@pytest.mark.parametrize(
    ("enrolments", "flagged"),
    [
        ((ended("A"), ended("B")), True),
        ((ended("A"), ended("B", status=EnrolmentStatus.ACTIVE)), False),
        ((ended("A", status=EnrolmentStatus.ACTIVE, ends_on=date(2026, 11, 27)),), True),
        ((ended("A", status=EnrolmentStatus.ACTIVE, ends_on=TODAY),), False),
        ((), False),
    ],
)
def test_enrolled_students_whose_courses_all_ended_should_be_completed(
    enrolments: tuple[CourseEnrolment, ...], flagged: bool
) -> None:
    findings = rules().review(dossier(enrolments=enrolments), TODAY)
    assert [(f.rule, f.suggested_action) for f in findings] == (
        [("enrolled_without_active_course", "mark_completed")] if flagged else []
    )


def status_change(to: StudentStatus, effective: date) -> StatusChange:
    return StatusChange(
        from_status=StudentStatus.ENROLLED,
        to_status=to,
        actor="staff-1",
        reason="课程结束",
        effective_date=effective,
        recorded_at=NOW,
    )


@pytest.mark.parametrize("status", [StudentStatus.COMPLETED, StudentStatus.WITHDRAWN])
@pytest.mark.parametrize(
    ("effective", "flagged"),
    [(date(2023, 11, 27), True), (date(2023, 11, 28), False), (date(2024, 6, 1), False)],
)
def test_retention_period_passed_after_the_last_status_change(
    status: StudentStatus, effective: date, flagged: bool
) -> None:
    closed = dossier(
        status=status,
        history=(
            status_change(StudentStatus.SUSPENDED, date(2020, 1, 1)),
            status_change(status, effective),
        ),
    )
    findings = rules().review(closed, TODAY)
    expected = (
        [
            (
                "retention_period_passed",
                Severity.INFO,
                "eligible_for_destruction_on_request",
                {"retention_years": 3},
            )
        ]
        if flagged
        else []
    )
    assert [(f.rule, f.severity, f.suggested_action, dict(f.detail)) for f in findings] == expected


def test_retention_follows_the_branch_setting() -> None:
    closed = dossier(
        status=StudentStatus.COMPLETED,
        history=(status_change(StudentStatus.COMPLETED, date(2025, 11, 1)),),
    )
    one_year = Branch(code="SH03", name="上海三校", retention_years=1)
    assert rules_found(rules(one_year).review(closed, TODAY)) == {"retention_period_passed"}
    assert rules().review(closed, TODAY) == []


def test_retention_from_29_february_ends_on_1_march() -> None:
    assert default.add_years(date(2024, 2, 29), 3) == date(2027, 3, 1)
    assert default.add_years(date(2024, 2, 28), 3) == date(2027, 2, 28)


def test_review_findings_are_rendered_in_both_locales() -> None:
    catalogue = rules().catalogue
    for rule in default.MESSAGES:
        for locale in Locale:
            text = catalogue.render(
                rule, locale, "", {"age": 18, "path": "x", "retention_years": 3}
            )
            assert text != rule
            assert "{" not in text
    assert "未满18周岁" in catalogue.render("minor_without_guardian", Locale.ZH_CN, "", {"age": 18})
    assert "under 18" in catalogue.render("minor_without_guardian", Locale.EN, "", {"age": 18})


# -- masking -----------------------------------------------------------------------------

MASKED_ROLES = [Role.FRONT_DESK, Role.REVIEWER, Role.OPERATOR, Role.AUDITOR]


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        (FieldKind.PHONE, "+8613800138000", "138****8000"),
        (FieldKind.PHONE, "+85291234567", "+852****4567"),
        (FieldKind.ID_DOCUMENT, "11010519491231002X", "110*************2X"),
        (
            FieldKind.ID_DOCUMENT,
            "prc_resident_id:11010519491231002X",
            "prc_resident_id:110*************2X",
        ),
        (FieldKind.ID_DOCUMENT, "E12345678", "E12****78"),
        (FieldKind.PERSON_NAME, "张三丰", "张**"),
        (FieldKind.PERSON_NAME, "John Smith", "J*** S****"),
        (FieldKind.EMAIL, "john.doe@example.com", "j***@example.com"),
        (FieldKind.ADDRESS, "上海市徐汇区漕溪北路 88 号", "上海市徐汇区****"),
        (FieldKind.BIRTH_DATE, "2001-05-17", "2001-**-**"),
        (FieldKind.FREE_TEXT, "IELTS 7", "IELTS 7"),
    ],
)
@pytest.mark.parametrize("role", MASKED_ROLES)
def test_staff_outside_enrolment_see_masked_values(
    role: Role, kind: FieldKind, value: str, masked: str
) -> None:
    assert rules().mask(kind, value, role) == masked


@pytest.mark.parametrize("role", [Role.STUDENT, Role.ENROLMENT_OFFICER, Role.APPROVER, Role.ADMIN])
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (FieldKind.PHONE, "+8613800138000"),
        (FieldKind.ID_DOCUMENT, "11010519491231002X"),
        (FieldKind.PERSON_NAME, "张三丰"),
        (FieldKind.BIRTH_DATE, "2001-05-17"),
    ],
)
def test_students_and_deciding_staff_see_values_in_clear(
    role: Role, kind: FieldKind, value: str
) -> None:
    assert rules().mask(kind, value, role) == value


def test_masks_never_show_a_short_value_whole() -> None:
    assert rules().mask(FieldKind.ADDRESS, "北京", Role.AUDITOR) == "北****"
    assert rules().mask(FieldKind.ID_DOCUMENT, "X1234", Role.AUDITOR) == "X***4"


# -- notices -----------------------------------------------------------------------------


def test_change_applied_asks_to_confirm_or_dispute_with_the_token_in_the_branch_locale() -> None:
    notice = Notice(student_number=STUDENT_NUMBER, kind="change_applied", token="tok-4711")
    [zh] = rules().notify(notice, ["sms", "outbox"])
    [en] = rules(SH_EN).notify(notice, ["outbox"])
    assert zh.channel == en.channel == "outbox"
    for delivery in (zh, en):
        assert STUDENT_NUMBER in delivery.text
        assert "tok-4711" in delivery.text
    assert "确认" in zh.text
    assert "异议" in zh.text
    assert "confirm" in en.text
    assert "dispute" in en.text


@pytest.mark.parametrize(
    ("kind", "zh_word", "en_word"),
    [
        ("change_rejected", "未获批准", "not approved"),
        ("destruction_executed", "销毁", "destroyed"),
        ("registration_accepted", "学号为", "student number is"),
        ("something_new", "新的通知", "news"),
    ],
)
def test_each_notice_kind_has_its_text(kind: str, zh_word: str, en_word: str) -> None:
    notice = Notice(student_number=STUDENT_NUMBER, kind=kind)
    [zh] = rules().notify(notice, ["outbox"])
    [en] = rules(SH_EN).notify(notice, ["outbox"])
    assert zh_word in zh.text
    assert en_word in en.text
    assert STUDENT_NUMBER in zh.text
    assert STUDENT_NUMBER in en.text


def test_only_the_outbox_channel_is_served() -> None:
    notice = Notice(student_number=STUDENT_NUMBER, kind="registration_accepted")
    assert rules().notify(notice, ["sms", "email"]) == []


def test_notices_never_carry_their_params() -> None:
    notice = Notice(
        student_number=STUDENT_NUMBER,
        kind="change_applied",
        token="tok-1",
        params={"phone": "13800138000", "name": "张伟"},
    )
    [delivery] = rules().notify(notice, ["outbox"])
    assert "13800138000" not in delivery.text
    assert "张伟" not in delivery.text


# -- messages never quote values ---------------------------------------------------------

MARKER = "QZXMARKER"


def test_no_message_contains_the_submitted_value() -> None:
    submitted = registration(
        applicant=person(
            name=f"{MARKER} 7",
            birth_date=years_ago(30),
            id_document=IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number=MARKER),
            phone=MARKER,
            email=f"{MARKER}@@example.com",
            address=MARKER * 30,
        ),
        guardian=guardian(name=f"{MARKER}!", relation=f"{MARKER}\x07", phone=f"+86{MARKER}"),
        needs=LearningNeeds(target_language=MARKER * 60, goals=f"{MARKER}\u202e"),
    )
    with pytest.raises(ValidationError) as caught:
        rules().validate_registration(submitted, TODAY)
    problems = caught.value.problems()
    assert {problem.field for problem in problems} == {
        "applicant.name",
        "applicant.id_document",
        "applicant.phone",
        "applicant.email",
        "applicant.address",
        "guardian.name",
        "guardian.relation",
        "guardian.phone",
        "needs.target_language",
        "needs.goals",
    }
    messages = [
        problem.message(locale, rules().catalogue) for problem in problems for locale in Locale
    ]
    messages += [caught.value.message(locale) for locale in Locale]
    assert all(MARKER not in message for message in messages)
    assert all(MARKER not in str(problem.params) for problem in problems)


def test_id_problems_name_the_document_type_in_both_locales() -> None:
    checked = rules().check_field(
        FieldKind.ID_DOCUMENT, "applicant.id_document", passport("E1"), TODAY
    )
    [problem] = checked.problems
    assert problem.message(Locale.EN, rules().catalogue) == (
        "ID document is not a well-formed passport number."
    )
    assert problem.message(Locale.ZH_CN, rules().catalogue) == ("证件不是格式正确的护照号码。")

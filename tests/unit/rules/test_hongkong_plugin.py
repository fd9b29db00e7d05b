"""The example ``hongkong`` branch plugin: per-branch rules layered over the default ones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

import dossier.core.rules.hongkong
from dossier.core.branch import Branch
from dossier.core.enums import Channel, IdDocumentType, Locale, StudentStatus
from dossier.core.errors import Problem, ValidationError
from dossier.core.hookspecs import FieldCheck, FieldKind
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.records import (
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
    Registration,
    StudentDossier,
)
from dossier.core.student_number import DEFAULT_FORMAT

TODAY = date(2026, 11, 28)
HOST = PluginHost({"hongkong": dossier.core.rules.hongkong})
HK = Branch(code="HK01", name="香港校区", plugins=("hongkong",))
HK_EN = Branch(code="HK02", name="Hong Kong Island", locale=Locale.EN, plugins=("hongkong",))
SH = Branch(code="SH01", name="上海一校")


def rules(branch: Branch = HK) -> BranchRules:
    return HOST.rules_for(branch)


def hkid(number: str = "A123456(3)") -> IdDocument:
    return IdDocument(type=IdDocumentType.HKID, number=number)


def registration(**applicant: Any) -> Registration:
    fields: dict[str, Any] = {
        "name": "陳大文",
        "birth_date": date(1990, 6, 1),
        "id_document": hkid(),
        "phone": "9123 4567",
    }
    fields.update(applicant)
    return Registration(
        id="REG-HK-1",
        branch=HK.code,
        channel=Channel.FRONT_DESK,
        applicant=PersonalDetails(**fields),
        needs=LearningNeeds(target_language="Mandarin"),
        submitted_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
    )


def test_the_plugin_is_asked_before_the_default_rules() -> None:
    assert rules().plugin_names == ("default", "hongkong")
    assert rules(SH).plugin_names == ("default",)


@pytest.mark.parametrize(
    ("number", "normalised"),
    [("A123456(3)", "A1234563"), ("g123456a", "G123456A"), ("AB987654(3)", "AB9876543")],
)
def test_hk_branch_accepts_a_valid_hkid_normalised(number: str, normalised: str) -> None:
    checked = rules().check_field(
        FieldKind.ID_DOCUMENT, "applicant.id_document", hkid(number), TODAY
    )
    assert checked.problems == ()
    assert checked.value == hkid(normalised)


def test_hk_branch_refuses_a_wrong_check_digit_with_its_own_rule() -> None:
    checked = rules().check_field(
        FieldKind.ID_DOCUMENT, "applicant.id_document", hkid("A123456(4)"), TODAY
    )
    assert [(p.field, p.rule) for p in checked.problems] == [
        ("applicant.id_document", "hkid_checksum")
    ]


def test_a_branch_without_the_plugin_refuses_the_same_hkid() -> None:
    checked = rules(SH).check_field(FieldKind.ID_DOCUMENT, "applicant.id_document", hkid(), TODAY)
    assert checked.problems == (
        Problem("applicant.id_document", "id_type_not_accepted", {"document": "hkid"}),
    )


@pytest.mark.parametrize("phone", ["9123 4567", "+852 9123 4567", "00852-9123-4567", "91234567"])
def test_hk_branch_accepts_hong_kong_phones(phone: str) -> None:
    checked = rules().check_field(FieldKind.PHONE, "applicant.phone", phone, TODAY)
    assert checked == FieldCheck("+85291234567")


def test_sh_branch_takes_hong_kong_phones_with_their_country_code_only() -> None:
    with_code = rules(SH).check_field(FieldKind.PHONE, "applicant.phone", "+852 9123 4567", TODAY)
    assert with_code == FieldCheck("+85291234567")
    bare = rules(SH).check_field(FieldKind.PHONE, "applicant.phone", "9123 4567", TODAY)
    assert bare.problems == (
        Problem("applicant.phone", "phone_format", {"expected": "+86 131 2345 6789"}),
    )


def test_a_bad_hong_kong_number_is_refused_with_the_hong_kong_example() -> None:
    checked = rules().check_field(FieldKind.PHONE, "applicant.phone", "+852 1234 5678", TODAY)
    assert checked.problems == (
        Problem("applicant.phone", "phone_format", {"expected": "+852 5123 4567"}),
    )


@pytest.mark.parametrize("phone", ["1234 5678", "0123 4567", "62345"])
def test_an_eight_digit_string_is_hong_kong_only_when_valid_there(phone: str) -> None:
    checked = rules().check_field(FieldKind.PHONE, "applicant.phone", phone, TODAY)
    assert [p.rule for p in checked.problems] == ["phone_format"]


def test_a_hong_kong_landline_is_a_guardians_phone_but_not_the_students() -> None:
    landline = "2123 4567"
    student = rules().check_field(FieldKind.PHONE, "applicant.phone", landline, TODAY)
    assert [p.rule for p in student.problems] == ["phone_not_mobile"]
    checked = rules().check_field(FieldKind.GUARDIAN_PHONE, "guardian.phone", landline, TODAY)
    assert checked == FieldCheck("+85221234567")


@pytest.mark.parametrize("phone", ["138 0013 8000", "+86 138 0013 8000", "0086 13800138000"])
def test_mainland_mobiles_still_work_on_the_hk_branch(phone: str) -> None:
    checked = rules().check_field(FieldKind.PHONE, "applicant.phone", phone, TODAY)
    assert checked.value == "+8613800138000"
    assert checked.problems == ()


def test_mainland_documents_still_work_on_the_hk_branch() -> None:
    permit = IdDocument(type=IdDocumentType.HK_MACAO_PERMIT, number="c1234 5678")
    checked = rules().check_field(FieldKind.ID_DOCUMENT, "applicant.id_document", permit, TODAY)
    assert checked.value == IdDocument(type=IdDocumentType.HK_MACAO_PERMIT, number="C12345678")


def test_a_hong_kong_registration_passes_on_the_hk_branch_only() -> None:
    submitted = registration()
    accepted = rules().validate_registration(submitted, TODAY)
    assert accepted.applicant.id_document == hkid("A1234563")
    assert accepted.applicant.phone == "+85291234567"
    with pytest.raises(ValidationError) as caught:
        rules(SH).validate_registration(submitted, TODAY)
    assert {(p.field, p.rule) for p in caught.value.problems()} == {
        ("applicant.id_document", "id_type_not_accepted"),
        ("applicant.phone", "phone_format"),
    }


def test_the_review_leaves_hong_kong_numbers_alone() -> None:
    accepted = rules().validate_registration(registration(), TODAY)
    student = StudentDossier(
        student_number=DEFAULT_FORMAT.format("HK01", 26, 1),
        branch=HK.code,
        personal=accepted.applicant,
        needs=accepted.needs,
        status=StudentStatus.ENROLLED,
        admitted_at=datetime(2026, 11, 28, tzinfo=UTC),
        guardian=Guardian(name="陳太", relation="母親", phone="+85221234567"),
    )
    assert {f.rule for f in rules().review(student, TODAY)} == {"missing_id_proof"}


@pytest.mark.parametrize(
    ("rule", "params", "zh", "en"),
    [
        ("hkid_format", {"expected": "A123456(7)"}, "香港身份证", "Hong Kong identity card"),
        ("hkid_checksum", {}, "校验位", "check digit"),
    ],
)
def test_the_plugins_rules_render_in_both_locales_on_its_branch(
    rule: str, params: dict[str, str], zh: str, en: str
) -> None:
    problem = Problem("applicant.id_document", rule, params)
    zh_text = problem.message(Locale.ZH_CN, rules().catalogue)
    en_text = problem.message(Locale.EN, rules(HK_EN).catalogue)
    assert zh in zh_text
    assert en in en_text
    assert "证件" in zh_text
    assert "applicant.id_document" not in zh_text + en_text
    assert "{" not in zh_text + en_text
    # a branch without the plugin has no text for the rule: only the bare code
    assert problem.message(Locale.EN, rules(SH).catalogue) == f"ID document: {rule}"


def test_hkid_messages_do_not_quote_the_number() -> None:
    for number in ("Z999999(9)", "Z99999"):
        checked = rules().check_field(FieldKind.ID_DOCUMENT, "id", hkid(number), TODAY)
        [problem] = checked.problems
        for locale in Locale:
            assert "99999" not in problem.message(locale, rules().catalogue)

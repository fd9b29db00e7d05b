"""Reading import files: headings, cells, rows and the branch's rules — no database, no disk."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest

from dossier.core.branch import Branch
from dossier.core.contracts.intake import ImportFormat
from dossier.core.enums import Gender, IdDocumentType, Locale, StudentStatus
from dossier.core.messages import DEFAULT_CATALOGUE
from dossier.core.plugins import PluginHost
from dossier.intake.imports.checks import CheckedRow, RowChecker, column_of
from dossier.intake.imports.parsing import parse_row
from dossier.intake.imports.sheets import (
    COLUMNS,
    FileUnreadable,
    Header,
    SheetRow,
    cell_text,
    column_letter,
    map_header,
    open_table,
    read_sheet,
)
from dossier.storage.repositories.import_jobs import ImportProblem

ENGLISH = [
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_number",
    "phone",
    "email",
    "address",
    "target_language",
    "current_level",
    "goals",
    "preferred_schedule",
    "guardian_name",
    "guardian_relation",
    "guardian_phone",
    "guardian_consent",
    "status",
    "admitted_on",
]
CHINESE = [
    "姓名",
    "性别",
    "出生日期",
    "证件类型",
    "证件号码",
    "手机",
    "邮箱",
    "地址",
    "目标语言",
    "当前水平",
    "学习目标",
    "上课时间",
    "监护人姓名",
    "监护人关系",
    "监护人手机",
    "监护人同意",
    "状态",
    "入学日期",
]
TODAY = date(2026, 6, 1)
AT = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
SH01 = Branch(code="SH01", name="Shanghai")


def good(**changes: str) -> dict[str, str]:
    row = {
        "name": "王小明",
        "gender": "male",
        "birth_date": "1995-03-04",
        "id_type": "passport",
        "id_number": "E12345678",
        "phone": "13912345678",
        "email": "",
        "address": "",
        "target_language": "en",
        "current_level": "B1",
        "goals": "IELTS 7",
        "preferred_schedule": "weekends",
        "guardian_name": "",
        "guardian_relation": "",
        "guardian_phone": "",
        "guardian_consent": "",
        "status": "completed",
        "admitted_on": "2021-09-01",
    }
    row.update(changes)
    return row


def sheet(rows: list[dict[str, str]], headings: list[str] = ENGLISH) -> tuple[Header, list[Any]]:
    header = map_header(SheetRow(1, tuple(headings)))
    data = [SheetRow(n, tuple(r[c] for c in ENGLISH)) for n, r in enumerate(rows, start=2)]
    return header, data


def checker(header: Header, branch: Branch = SH01) -> RowChecker:
    return RowChecker(PluginHost({}).rules_for(branch), header, TODAY, AT)


def check(row: dict[str, str]) -> CheckedRow:
    header, (data,) = sheet([row])
    return checker(header).check(parse_row(header, data), "reg-1")


def where(problems: tuple[ImportProblem, ...]) -> set[tuple[int, str, str]]:
    return {(p.row, p.column, p.rule) for p in problems}


# -- headings ------------------------------------------------------------------------------


def test_english_and_chinese_headings_map_to_the_same_columns() -> None:
    english = map_header(SheetRow(1, tuple(ENGLISH)))
    chinese = map_header(SheetRow(1, tuple(CHINESE)))
    assert english.columns == chinese.columns == tuple(ENGLISH)
    assert english.problems == chinese.problems == ()
    assert [c.heading_zh for c in COLUMNS] == CHINESE


def test_headings_ignore_case_spacing_and_width() -> None:
    header = map_header(SheetRow(1, (" Name ", "Birth Date", "ID-type", "ｉｄ＿ｎｕｍｂｅｒ")))
    assert header.columns == ("name", "birth_date", "id_type", "id_number")


def test_unknown_repeated_and_missing_columns_are_header_problems_by_position() -> None:
    header = map_header(SheetRow(1, ("姓名", "MARKER-heading", "name", "", "phone")))
    assert header.columns == ("name", None, None, None, "phone")
    assert {(p.row, p.column, p.rule, p.cell) for p in header.problems} >= {
        (1, "B", "unknown_column", "B1"),
        (1, "name", "duplicate_column", "C1"),
        (1, "birth_date", "missing_column", ""),
        (1, "admitted_on", "missing_column", ""),
    }
    assert "MARKER" not in repr(header.problems)


def test_optional_columns_may_be_left_out() -> None:
    required = [c.name for c in COLUMNS if c.required]
    header = map_header(SheetRow(1, tuple(required)))
    assert header.problems == ()
    parsed = parse_row(
        header,
        SheetRow(2, ("王小明", "1995-03-04", "护照", "E1234567", "13912345678", "en", "2021-9-1")),
    )
    assert parsed.problems == ()
    assert parsed.values["gender"] is Gender.UNDISCLOSED
    assert parsed.values["status"] is StudentStatus.ENROLLED
    assert parsed.values["id_type"] is IdDocumentType.PASSPORT
    assert parsed.values["admitted_on"] == date(2021, 9, 1)


def test_column_letters_and_problem_paths() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]
    assert column_of("applicant.phone", "phone_format") == "phone"
    assert column_of("applicant.id_document", "id_number_format") == "id_number"
    assert column_of("applicant.id_document", "id_type_not_accepted") == "id_type"
    assert column_of("guardian", "guardian_required") == "guardian_name"
    assert column_of("guardian.phone", "phone_format") == "guardian_phone"
    assert column_of("documents", "document_required") == "documents"


# -- reading files ----------------------------------------------------------------------------


def csv_bytes(lines: list[str], bom: bool = False) -> io.BytesIO:
    text = "\r\n".join(lines) + "\r\n"
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


@pytest.mark.parametrize("bom", [False, True])
def test_csv_with_or_without_bom_reads_the_same(bom: bool) -> None:
    data = csv_bytes(["姓名,phone", '"王, 小明",139'], bom=bom)
    header, rows = open_table(data, ImportFormat.CSV)
    assert header.columns == ("name", "phone")
    assert [r.cells for r in rows] == [("王, 小明", "139")]


def test_blank_rows_are_skipped_but_keep_the_spreadsheet_numbering() -> None:
    data = csv_bytes(["", "name,phone", "a,1", ",", "", "b,2"])
    header, rows = open_table(data, ImportFormat.CSV)
    assert header.row == 2
    assert [(r.number, r.cells) for r in rows] == [(3, ("a", "1")), (6, ("b", "2"))]


def test_a_file_that_is_not_utf8_is_one_problem_naming_no_value() -> None:
    data = io.BytesIO("姓名,phone\n王小明,139\n".encode("gbk"))
    with pytest.raises(FileUnreadable) as raised:
        list(read_sheet(data, ImportFormat.CSV))
    assert (raised.value.problem.column, raised.value.problem.rule) == ("file", "not_utf8")


def test_an_empty_file_has_no_header() -> None:
    with pytest.raises(FileUnreadable) as raised:
        open_table(csv_bytes(["", " , "]), ImportFormat.CSV)
    assert raised.value.problem.rule == "no_header"


def test_a_damaged_xlsx_file_is_unreadable() -> None:
    with pytest.raises(FileUnreadable) as raised:
        open_table(io.BytesIO(b"PK\x03\x04 not really a workbook"), ImportFormat.XLSX)
    assert raised.value.problem.rule == "unreadable_file"


def test_xlsx_first_sheet_with_dates_numbers_and_blank_rows() -> None:
    book = openpyxl.Workbook()
    first = book.active
    first.append(["姓名", "出生日期", "手机", "证件号码", "状态"])
    first.append(["王小明", datetime(1995, 3, 4), 13912345678, "E1234567", "在读"])
    first.append([None, None, None, None, None])
    first.append(["李雷", date(1996, 1, 2), 13912345679.0, 12345678, "已结课"])
    book.create_sheet("ignored").append(["name"])
    data = io.BytesIO()
    book.save(data)

    header, rows = open_table(data, ImportFormat.XLSX)
    assert header.columns == ("name", "birth_date", "phone", "id_number", "status")
    read = [(r.number, r.cells) for r in rows]
    assert read == [
        (2, ("王小明", "1995-03-04", "13912345678", "E1234567", "在读")),
        (4, ("李雷", "1996-01-02", "13912345679", "12345678", "已结课")),
    ]
    parsed = parse_row(header, SheetRow(*read[1]))
    assert parsed.values["birth_date"] == date(1996, 1, 2)
    assert parsed.values["status"] is StudentStatus.COMPLETED


def test_cell_text() -> None:
    assert cell_text(None) == ""
    assert cell_text("  x ") == "x"
    assert cell_text(True) == "yes"
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text(1.5) == "1.5"
    assert cell_text(datetime(2020, 1, 2)) == "2020-01-02"


# -- rows -----------------------------------------------------------------------------------


def test_a_good_row_becomes_a_normalised_import_registration() -> None:
    checked = check(good(phone="139 1234 5678", gender="女"))
    assert checked.ok
    assert checked.registration is not None
    assert checked.registration.channel.value == "import"
    assert checked.registration.applicant.phone == "+8613912345678"
    assert checked.registration.applicant.gender is Gender.FEMALE
    assert checked.status is StudentStatus.COMPLETED
    assert checked.admitted_on == date(2021, 9, 1)


def test_parsing_problems_are_reported_by_row_and_column() -> None:
    header, data = sheet(
        [
            good(),
            good(birth_date="1995-02-30", gender="robot", status="destroyed"),
            good(id_type="", admitted_on="yesterday", guardian_consent="maybe"),
        ]
    )
    problems = [parse_row(header, row).problems for row in data]
    assert problems[0] == ()
    assert where(problems[1]) == {
        (3, "birth_date", "invalid_date"),
        (3, "gender", "not_allowed_value"),
        (3, "status", "not_allowed_value"),
    }
    assert where(problems[2]) == {
        (4, "id_type", "required"),
        (4, "admitted_on", "invalid_date"),
        (4, "guardian_consent", "not_allowed_value"),
    }
    assert {p.cell for p in problems[1]} == {"C3", "B3", "Q3"}


def test_every_rule_problem_of_a_row_is_reported_at_once() -> None:
    checked = check(
        good(
            name="X1",
            phone="12345",
            email="not-an-email",
            birth_date="2020-01-01",
            admitted_on="2019-09-01",
        )
    )
    assert not checked.ok
    assert where(checked.problems) == {
        (2, "name", "name_characters"),
        (2, "phone", "phone_format"),
        (2, "email", "email_format"),
        (2, "guardian_name", "guardian_required"),
        (2, "guardian_consent", "guardian_consent_required"),
        (2, "admitted_on", "before_birth_date"),
    }


def test_cells_that_parse_still_get_their_field_rules_when_others_do_not() -> None:
    checked = check(good(birth_date="someday", phone="12345", id_type="hkid"))
    assert checked.registration is None
    assert where(checked.problems) == {
        (2, "birth_date", "invalid_date"),
        (2, "phone", "phone_format"),
        (2, "id_type", "id_type_not_accepted"),
    }


def test_a_bad_status_does_not_hide_the_rules_of_the_registration() -> None:
    checked = check(good(status="graduated", phone="12345"))
    assert where(checked.problems) == {
        (2, "status", "not_allowed_value"),
        (2, "phone", "phone_format"),
    }


def test_guardian_cells_come_all_three_or_none() -> None:
    checked = check(good(guardian_name="王大明"))
    assert where(checked.problems) == {
        (2, "guardian_relation", "required"),
        (2, "guardian_phone", "required"),
    }
    minor = good(
        birth_date="2015-05-05",
        admitted_on="2024-09-01",
        guardian_name="王大明",
        guardian_relation="父亲",
        guardian_phone="13800138000",
        guardian_consent="是",
    )
    assert check(minor).ok


def test_admission_dates_in_the_future_are_refused() -> None:
    checked = check(good(admitted_on="2026-06-02"))
    assert where(checked.problems) == {(2, "admitted_on", "date_in_future")}


def test_a_value_without_a_heading_is_a_problem_of_its_cell() -> None:
    header = map_header(SheetRow(1, (*ENGLISH, "")))
    row = SheetRow(2, (*good().values(), "stray"))
    problems = parse_row(header, row).problems
    assert [(p.column, p.rule, p.cell) for p in problems] == [("S", "cell_without_header", "S2")]


# -- privacy -----------------------------------------------------------------------------------


def test_no_problem_names_a_cell_value() -> None:
    marker = "Zq9Mark"
    rows = [
        good(
            name=f"X{marker}1",
            gender=marker,
            birth_date=f"{marker}-01",
            id_type=marker,
            id_number=f"E{marker}",
            phone=f"139{marker}",
            email=f"{marker}@@",
            address="\u202e" + marker,
            target_language="\x07" + marker,
            guardian_name=marker,
            guardian_consent=marker,
            status=marker,
            admitted_on=marker,
        ),
        good(id_number=f"E{marker}", phone=f"+86 139 {marker}", goals="\x00" + marker * 300),
    ]
    header, data = sheet(rows)
    problems = [
        p for row in data for p in checker(header).check(parse_row(header, row), "r").problems
    ]
    assert len(problems) >= 12
    catalogue = PluginHost({}).rules_for(SH01).catalogue
    for problem in problems:
        for locale in Locale:
            text = problem.message(catalogue, locale)
            assert marker.casefold() not in text.casefold()
            assert text != f"{problem.column}: {problem.rule}"  # rendered, not the fallback
        assert marker.casefold() not in repr(problem).casefold()


def test_every_import_rule_has_both_languages() -> None:
    rules = {"unknown_column", "missing_column", "duplicate_in_file", "duplicate_in_chain"}
    for rule in rules:
        assert set(DEFAULT_CATALOGUE.templates[rule]) == set(Locale), rule

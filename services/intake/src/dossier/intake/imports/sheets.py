"""Reading an import file (`dossier.intake.imports`): CSV or XLSX rows, the header row and the
columns it names."""

from __future__ import annotations

import csv
import importlib
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from typing import Any, BinaryIO

from attrs import frozen

from dossier.core.contracts.intake import ImportFormat
from dossier.storage.repositories.import_jobs import ImportProblem

# -- columns -----------------------------------------------------------------------------


@frozen
class ColumnSpec:
    name: str
    heading_zh: str
    required: bool = False


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("name", "姓名", required=True),
    ColumnSpec("gender", "性别"),
    ColumnSpec("birth_date", "出生日期", required=True),
    ColumnSpec("id_type", "证件类型", required=True),
    ColumnSpec("id_number", "证件号码", required=True),
    ColumnSpec("phone", "手机", required=True),
    ColumnSpec("email", "邮箱"),
    ColumnSpec("address", "地址"),
    ColumnSpec("target_language", "目标语言", required=True),
    ColumnSpec("current_level", "当前水平"),
    ColumnSpec("goals", "学习目标"),
    ColumnSpec("preferred_schedule", "上课时间"),
    ColumnSpec("guardian_name", "监护人姓名"),
    ColumnSpec("guardian_relation", "监护人关系"),
    ColumnSpec("guardian_phone", "监护人手机"),
    ColumnSpec("guardian_consent", "监护人同意"),
    ColumnSpec("status", "状态"),
    ColumnSpec("admitted_on", "入学日期", required=True),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)


def heading_key(text: str) -> str:
    """How a heading is compared: NFKC, case folded, spaces and hyphens as one underscore."""
    return re.sub(r"[\s\-]+", "_", unicodedata.normalize("NFKC", text).strip().casefold())


HEADINGS: Mapping[str, str] = {
    heading_key(alias): spec.name for spec in COLUMNS for alias in (spec.name, spec.heading_zh)
}


def column_letter(index: int) -> str:
    """0 → ``A``, 25 → ``Z``, 26 → ``AA``: the column as a spreadsheet names it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class FileUnreadable(Exception):
    """The file cannot be read as a table at all; carries the one problem saying why."""

    def __init__(self, problem: ImportProblem) -> None:
        super().__init__(problem.rule)
        self.problem = problem


# -- reading the table ---------------------------------------------------------------------


@frozen
class SheetRow:
    number: int
    cells: tuple[str, ...]

    @property
    def blank(self) -> bool:
        return not any(self.cells)


def cell_text(value: object) -> str:
    """A cell as text: XLSX numbers without a spurious ``.0``, dates as ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_sheet(data: BinaryIO, fmt: ImportFormat) -> Iterator[SheetRow]:
    """Every row of the file, blank ones included, numbered as a spreadsheet shows them."""
    data.seek(0)
    return _csv_rows(data) if fmt is ImportFormat.CSV else _xlsx_rows(data)


def _csv_rows(data: BinaryIO) -> Iterator[SheetRow]:
    text = io.TextIOWrapper(data, encoding="utf-8-sig", newline="")
    number = 0
    try:
        for number, record in enumerate(csv.reader(text), start=1):
            yield SheetRow(number, tuple(cell.strip() for cell in record))
    except UnicodeDecodeError:
        problem = ImportProblem(row=number + 1, column="file", rule="not_utf8")
        raise FileUnreadable(problem) from None
    except csv.Error:
        raise FileUnreadable(
            ImportProblem(row=number + 1, column="file", rule="malformed_csv")
        ) from None
    finally:
        text.detach()  # the caller's stream stays open


def _xlsx_rows(data: BinaryIO) -> Iterator[SheetRow]:
    openpyxl: Any = importlib.import_module("openpyxl")  # untyped; loaded only for XLSX
    try:
        book = openpyxl.load_workbook(data, read_only=True, data_only=True)
    except Exception:  # a damaged or foreign file fails in many ways (zip, XML, keys)
        raise FileUnreadable(
            ImportProblem(row=0, column="file", rule="unreadable_file", params={"format": "XLSX"})
        ) from None
    try:
        sheet = book.worksheets[0]
        first = sheet.min_row or 1
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=first):
            yield SheetRow(number, tuple(cell_text(v) for v in values))
    finally:
        book.close()


@frozen
class Header:
    """The header row: the column name at each position (None: blank heading), its problems."""

    row: int
    columns: tuple[str | None, ...]
    problems: tuple[ImportProblem, ...] = ()

    def letter(self, name: str) -> str | None:
        return column_letter(self.columns.index(name)) if name in self.columns else None

    def cell(self, name: str, row: int) -> str:
        letter = self.letter(name)
        return f"{letter}{row}" if letter else ""


def map_header(row: SheetRow) -> Header:
    """Map each heading to its column; unknown, repeated and missing columns are problems."""
    columns: list[str | None] = []
    problems: list[ImportProblem] = []
    letters: dict[str, str] = {}
    for index, text in enumerate(row.cells):
        letter = column_letter(index)
        name = HEADINGS.get(heading_key(text)) if text else None
        if text and name is None:
            problems.append(
                ImportProblem(
                    row=row.number,
                    column=letter,
                    rule="unknown_column",
                    params={"column": letter},
                    cell=f"{letter}{row.number}",
                )
            )
        elif name is not None and name in letters:
            problems.append(
                ImportProblem(
                    row=row.number,
                    column=name,
                    rule="duplicate_column",
                    params={"column": letter, "first": letters[name]},
                    cell=f"{letter}{row.number}",
                )
            )
            name = None
        elif name is not None:
            letters[name] = letter
        columns.append(name)
    problems.extend(
        ImportProblem(row=row.number, column=spec.name, rule="missing_column")
        for spec in COLUMNS
        if spec.required and spec.name not in letters
    )
    return Header(row.number, tuple(columns), tuple(problems))


def open_table(data: BinaryIO, fmt: ImportFormat) -> tuple[Header, Iterator[SheetRow]]:
    """The header (the first non-blank row) and an iterator over the non-blank rows after it."""
    rows = read_sheet(data, fmt)
    for row in rows:
        if not row.blank:
            return map_header(row), (r for r in rows if not r.blank)
    raise FileUnreadable(ImportProblem(row=0, column="file", rule="no_header"))

"""Bulk import of existing students (批量导入) from CSV or XLSX: a migration from another system.

An enrolment officer or admin moves a branch's students in from the system
they used before. The file is a table with a header row; the columns, in any
order (English name or the Chinese heading; headings are matched ignoring
case, surrounding spaces, and spaces or hyphens inside English names):

- ``name`` 姓名 — required;
- ``gender`` 性别 — ``female``, ``male``, ``other``, ``undisclosed`` (女, 男, 其他, 保密);
  blank: undisclosed;
- ``birth_date`` 出生日期 — required, ``YYYY-MM-DD`` (also ``YYYY/M/D``, or an XLSX date);
- ``id_type`` 证件类型 — required: ``prc_resident_id``, ``passport``, ``hk_macao_permit``,
  ``hkid``, ``other`` (居民身份证, 护照, 往来港澳通行证, 香港身份证, 其他);
- ``id_number`` 证件号码, ``phone`` 手机 — required;
- ``email`` 邮箱, ``address`` 地址 — optional;
- ``target_language`` 目标语言 — required; ``current_level`` 当前水平, ``goals`` 学习目标,
  ``preferred_schedule`` 上课时间 — optional;
- ``guardian_name`` 监护人姓名, ``guardian_relation`` 监护人关系, ``guardian_phone`` 监护人手机 —
  all three or none;
- ``guardian_consent`` 监护人同意 — ``yes``/``no`` (是/否); blank: no;
- ``status`` 状态 — ``enrolled``, ``completed``, ``withdrawn``, ``suspended``
  (在读, 已结课, 退学, 休学); blank: enrolled;
- ``admitted_on`` 入学日期 — required, a date, not in the future nor before the birth date.

CSV files are UTF-8, with or without a byte-order mark; XLSX files are read
from their first sheet. Blank rows are skipped. A heading that is not one of
these columns, a column given twice or a required column missing rejects the
whole file (nothing is imported): a misspelt heading would otherwise lose data.

Every row goes through the branch's rules exactly as an online registration
(`BranchRules.validate_registration`), plus the parsing of its cells and two
duplicate checks — within the file (a later row with the same ID document, or
the same name + birth date + phone, as an earlier valid row) and against the
chain (the blind indexes of every student and every pending registration).
Problems name the row as a spreadsheet counts it (the header is row 1), the
column and the rule, never the value of a cell: the report goes to screens
and logs.

An import is a job (`Importer.import_file`, or ``import.start`` over NATS)
that works through the rows in chunks, one transaction each: the chunk's
students (through `dossier.storage.bulk.BulkAdmitter`: numbers, encryption,
blind indexes, an audit entry and the outbox events per student) and the
job's progress commit together. A killed import resumed with the same job
id continues after the last committed chunk, and every imported row's
registration id is derived from the job id and the row number, so no row can
be imported twice. By default the valid rows are imported and the others
reported; a *strict* job first validates the whole file and imports nothing
if any row is invalid.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import importlib
import io
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from zoneinfo import ZoneInfo

import attrs
from attrs import field, frozen
from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import import_job_id
from dossier.core.contracts.intake import (
    GetImportStatus,
    ImportFormat,
    ImportProblemView,
    ImportReport,
    ImportState,
    ResumeImport,
    StartImport,
)
from dossier.core.enums import (
    Channel,
    Gender,
    IdDocumentType,
    Locale,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.errors import (
    AccessDenied,
    NotFound,
    ParamValue,
    Problem,
    ValidationError,
)
from dossier.core.hookspecs import FieldKind
from dossier.core.lifecycle import Context
from dossier.core.messages import DEFAULT_CATALOGUE, Catalogue
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.policy import Actor, Operation, authorize
from dossier.core.records import (
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
    Registration,
    StudentDossier,
)
from dossier.intake.handlers import Intake, utc_now
from dossier.storage.audit import AuditSpec
from dossier.storage.blind_index import IndexKind
from dossier.storage.bulk import BulkAdmitter
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import IdempotencyKeyReused
from dossier.storage.repositories.registrations import KIND as REGISTRATION_OWNER
from dossier.storage.repositories.students import KIND as STUDENT_OWNER
from dossier.storage.schema import (
    blind_indexes,
    import_jobs,
    registrations,
    status_changes,
    students,
)
from dossier.storage.sql import snapshot
from dossier.storage.uow import UnitOfWork

CHUNK_SIZE = 1_000
"""Rows per transaction: big enough for COPY to pay off, small enough to lose little on a kill."""

MAX_PROBLEMS = 1_000
"""Problems kept and reported per job; the report counts the rest (``problems_omitted``)."""

SOURCE_SYSTEM_MAX = 64

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
DOSSIER_ONLY_COLUMNS = frozenset({"status", "admitted_on"})
"""Columns that are not part of the registration: it can be checked whatever they hold."""
GUARDIAN_COLUMNS = ("guardian_name", "guardian_relation", "guardian_phone")


def heading_key(text: str) -> str:
    """How a heading is compared: NFKC, case folded, spaces and hyphens as one underscore."""
    return re.sub(r"[\s\-]+", "_", unicodedata.normalize("NFKC", text).strip().casefold())


HEADINGS: Mapping[str, str] = {
    heading_key(alias): spec.name for spec in COLUMNS for alias in (spec.name, spec.heading_zh)
}

PATH_COLUMNS: Mapping[str, str] = {
    "applicant.name": "name",
    "applicant.gender": "gender",
    "applicant.birth_date": "birth_date",
    "applicant.id_document": "id_number",
    "applicant.phone": "phone",
    "applicant.email": "email",
    "applicant.address": "address",
    "needs.target_language": "target_language",
    "needs.current_level": "current_level",
    "needs.goals": "goals",
    "needs.preferred_schedule": "preferred_schedule",
    "guardian": "guardian_name",
    "guardian.name": "guardian_name",
    "guardian.relation": "guardian_relation",
    "guardian.phone": "guardian_phone",
    "guardian_consent": "guardian_consent",
}
"""Where a rule's problem (a path into the registration) is shown: the column it came from."""


def column_of(path: str, rule: str) -> str:
    """The file column a validation problem belongs to (its path when none fits)."""
    if rule == "id_type_not_accepted":
        return "id_type"
    prefix = path
    while prefix:
        if prefix in PATH_COLUMNS:
            return PATH_COLUMNS[prefix]
        prefix = prefix.rpartition(".")[0]
    return path


def column_letter(index: int) -> str:
    """0 → ``A``, 25 → ``Z``, 26 → ``AA``: the column as a spreadsheet names it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# -- problems and their messages -----------------------------------------------------------


@frozen(kw_only=True)
class ImportProblem:
    """Something wrong in the file: row (header = 1; 0 = the file), column, rule — no value."""

    row: int
    column: str
    rule: str
    params: Mapping[str, ParamValue] = field(factory=dict)
    cell: str = ""

    def message(self, catalogue: Catalogue, locale: Locale) -> str:
        return catalogue.render(self.rule, locale, self.column, self.params)


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


# -- parsing cells ---------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, rule: str, params: Mapping[str, ParamValue] | None = None) -> None:
        super().__init__(rule)
        self.rule = rule
        self.params = dict(params or {})


def _choice(options: Mapping[str, Any], default: Any = None) -> Callable[[str], Any]:
    allowed = ", ".join(k for k in options if k.isascii())
    keyed = {heading_key(k): v for k, v in options.items()}

    def parse(text: str) -> Any:
        if not text:
            if default is None:
                raise _Bad("required")
            return default
        try:
            return keyed[heading_key(text)]
        except KeyError:
            raise _Bad("not_allowed_value", {"allowed": allowed}) from None

    return parse


_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def _date(text: str) -> date:
    if not text:
        raise _Bad("required")
    match = _DATE.fullmatch(text)
    if match is None:
        raise _Bad("invalid_date")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise _Bad("invalid_date") from None


def _required(text: str) -> str:
    if not text:
        raise _Bad("required")
    return text


def _optional(text: str) -> str | None:
    return text or None


def _plain(text: str) -> str:
    return text


GENDERS: Mapping[str, Gender] = {
    **{g.value: g for g in Gender},
    "f": Gender.FEMALE,
    "m": Gender.MALE,
    "女": Gender.FEMALE,
    "男": Gender.MALE,
    "其他": Gender.OTHER,
    "保密": Gender.UNDISCLOSED,
}
ID_TYPES: Mapping[str, IdDocumentType] = {
    **{t.value: t for t in IdDocumentType},
    "居民身份证": IdDocumentType.PRC_RESIDENT_ID,
    "身份证": IdDocumentType.PRC_RESIDENT_ID,
    "护照": IdDocumentType.PASSPORT,
    "往来港澳通行证": IdDocumentType.HK_MACAO_PERMIT,
    "港澳通行证": IdDocumentType.HK_MACAO_PERMIT,
    "香港身份证": IdDocumentType.HKID,
    "其他": IdDocumentType.OTHER,
    "其他证件": IdDocumentType.OTHER,
}
CONSENT: Mapping[str, bool] = {
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "是": True,
    "否": False,
    "同意": True,
    "不同意": False,
}
IMPORTABLE_STATUSES: Mapping[str, StudentStatus] = {
    **{
        s.value: s
        for s in (
            StudentStatus.ENROLLED,
            StudentStatus.COMPLETED,
            StudentStatus.WITHDRAWN,
            StudentStatus.SUSPENDED,
        )
    },
    "在读": StudentStatus.ENROLLED,
    "已结课": StudentStatus.COMPLETED,
    "结课": StudentStatus.COMPLETED,
    "退学": StudentStatus.WITHDRAWN,
    "休学": StudentStatus.SUSPENDED,
}

PARSERS: Mapping[str, Callable[[str], Any]] = {
    "name": _required,
    "gender": _choice(GENDERS, Gender.UNDISCLOSED),
    "birth_date": _date,
    "id_type": _choice(ID_TYPES),
    "id_number": _required,
    "phone": _required,
    "email": _optional,
    "address": _optional,
    "target_language": _plain,
    "current_level": _plain,
    "goals": _plain,
    "preferred_schedule": _plain,
    "guardian_name": _plain,
    "guardian_relation": _plain,
    "guardian_phone": _plain,
    "guardian_consent": _choice(CONSENT, False),
    "status": _choice(IMPORTABLE_STATUSES, StudentStatus.ENROLLED),
    "admitted_on": _date,
}


@frozen(kw_only=True)
class ParsedRow:
    """A data row's cells as values (those that parsed), and its parsing problems.

    ``complete``: every value of the registration parsed (and the guardian is
    all there or absent), so a registration can be built and checked;
    problems that do not stop that (a bad status or admission date, a value
    without a heading) still make the row invalid.
    """

    number: int
    values: Mapping[str, Any]
    problems: tuple[ImportProblem, ...]
    complete: bool

    @property
    def has_guardian(self) -> bool:
        return any(self.values.get(name) for name in GUARDIAN_COLUMNS)


def parse_row(header: Header, row: SheetRow) -> ParsedRow:
    """Parse every cell of a data row; every problem, by column, none quoting a value."""
    texts: dict[str, str] = {}
    stray: list[ImportProblem] = []
    for index, text in enumerate(row.cells):
        name = header.columns[index] if index < len(header.columns) else None
        if name is not None:
            texts[name] = text
        elif text:
            letter = column_letter(index)
            stray.append(
                ImportProblem(
                    row=row.number,
                    column=letter,
                    rule="cell_without_header",
                    params={"column": letter},
                    cell=f"{letter}{row.number}",
                )
            )
    values: dict[str, Any] = {}
    problems: list[ImportProblem] = []
    for name, parse in PARSERS.items():
        try:
            values[name] = parse(texts.get(name, ""))
        except _Bad as bad:
            problems.append(_cell_problem(header, row.number, name, bad.rule, bad.params))
    if any(values.get(name) for name in GUARDIAN_COLUMNS):
        problems.extend(
            _cell_problem(header, row.number, name, "required")
            for name in GUARDIAN_COLUMNS
            if not values.get(name)
        )
    return ParsedRow(
        number=row.number,
        values=values,
        problems=tuple(problems + stray),
        complete=not any(p.column not in DOSSIER_ONLY_COLUMNS for p in problems),
    )


def _cell_problem(
    header: Header,
    row: int,
    column: str,
    rule: str,
    params: Mapping[str, ParamValue] | None = None,
) -> ImportProblem:
    return ImportProblem(
        row=row, column=column, rule=rule, params=dict(params or {}), cell=header.cell(column, row)
    )


# -- checking rows with the branch's rules ---------------------------------------------------


@frozen(kw_only=True)
class CheckedRow:
    """A row after every check. ``registration``: the normalised record when the branch's
    rules accept it (it then claims its identity within the file); ``ok``: no problem at all."""

    number: int
    registration: Registration | None
    status: StudentStatus
    admitted_on: date | None
    problems: tuple[ImportProblem, ...]
    identity: Mapping[IndexKind, str] = field(factory=dict)

    @property
    def ok(self) -> bool:
        return self.registration is not None and not self.problems

    def with_problem(self, problem: ImportProblem) -> CheckedRow:
        return attrs.evolve(self, problems=(*self.problems, problem))


FIELD_CHECKS: tuple[tuple[str, FieldKind, str], ...] = (
    ("name", FieldKind.PERSON_NAME, "applicant.name"),
    ("birth_date", FieldKind.BIRTH_DATE, "applicant.birth_date"),
    ("phone", FieldKind.PHONE, "applicant.phone"),
    ("email", FieldKind.EMAIL, "applicant.email"),
    ("address", FieldKind.ADDRESS, "applicant.address"),
    ("target_language", FieldKind.FREE_TEXT, "needs.target_language"),
    ("current_level", FieldKind.FREE_TEXT, "needs.current_level"),
    ("goals", FieldKind.FREE_TEXT, "needs.goals"),
    ("preferred_schedule", FieldKind.FREE_TEXT, "needs.preferred_schedule"),
)
GUARDIAN_CHECKS: tuple[tuple[str, FieldKind, str], ...] = (
    ("guardian_name", FieldKind.PERSON_NAME, "guardian.name"),
    ("guardian_relation", FieldKind.FREE_TEXT, "guardian.relation"),
    ("guardian_phone", FieldKind.PHONE, "guardian.phone"),
)


class RowChecker:
    """Runs a parsed row through the branch's rules, exactly as an online registration.

    A row whose cells all parsed becomes a `Registration` (channel ``import``)
    checked by ``validate_registration``. A row with cells that did not parse
    cannot become one: its other cells still get their field rules
    (``check_field``), so the report shows every problem of the row at once;
    the cross-field rules run once its cells parse.
    """

    def __init__(self, rules: BranchRules, header: Header, today: date, at: datetime) -> None:
        self.rules = rules
        self.header = header
        self.today = today
        self.at = at

    def check(self, parsed: ParsedRow, registration_id: str) -> CheckedRow:
        values = parsed.values
        problems = [*parsed.problems, *self._dates(parsed)]
        registration: Registration | None = None
        if parsed.complete:
            try:
                registration = self.rules.validate_registration(
                    self._draft(parsed, registration_id), self.today
                )
            except ValidationError as invalid:
                problems.extend(self._located(parsed.number, p) for p in invalid.problems())
        else:
            problems.extend(self._field_problems(parsed))
        return CheckedRow(
            number=parsed.number,
            registration=registration,
            status=values.get("status", StudentStatus.ENROLLED),
            admitted_on=values.get("admitted_on"),
            problems=tuple(problems),
        )

    def _draft(self, parsed: ParsedRow, registration_id: str) -> Registration:
        v = parsed.values
        guardian = (
            Guardian(
                name=v["guardian_name"], relation=v["guardian_relation"], phone=v["guardian_phone"]
            )
            if parsed.has_guardian
            else None
        )
        return Registration(
            id=registration_id,
            branch=self.rules.branch.code,
            channel=Channel.IMPORT,
            applicant=PersonalDetails(
                name=v["name"],
                birth_date=v["birth_date"],
                id_document=IdDocument(type=v["id_type"], number=v["id_number"]),
                phone=v["phone"],
                gender=v["gender"],
                email=v["email"],
                address=v["address"],
            ),
            needs=LearningNeeds(
                target_language=v["target_language"],
                current_level=v["current_level"],
                goals=v["goals"],
                preferred_schedule=v["preferred_schedule"],
            ),
            guardian=guardian,
            guardian_consent=v["guardian_consent"],
            submitted_at=self.at,
        )

    def _dates(self, parsed: ParsedRow) -> list[ImportProblem]:
        admitted = parsed.values.get("admitted_on")
        born = parsed.values.get("birth_date")
        if admitted is None:
            return []
        if admitted > self.today:
            return [self._cell(parsed.number, "admitted_on", "date_in_future")]
        if born is not None and admitted < born:
            return [self._cell(parsed.number, "admitted_on", "before_birth_date")]
        return []

    def _field_problems(self, parsed: ParsedRow) -> list[ImportProblem]:
        values = parsed.values
        checks = [*FIELD_CHECKS, *(GUARDIAN_CHECKS if parsed.has_guardian else ())]
        failed = {problem.column for problem in parsed.problems}
        found: list[Problem] = []
        for column, kind, path in checks:
            if values.get(column) is not None and column not in failed:  # blank optional: None
                checked = self.rules.check_field(kind, path, values[column], self.today)
                found.extend(checked.problems)
        if "id_type" in values and "id_number" in values:
            document = IdDocument(type=values["id_type"], number=values["id_number"])
            found.extend(
                self.rules.check_field(
                    FieldKind.ID_DOCUMENT, "applicant.id_document", document, self.today
                ).problems
            )
        return [self._located(parsed.number, p) for p in found]

    def _located(self, row: int, problem: Problem) -> ImportProblem:
        column = column_of(problem.field, problem.rule)
        return _cell_problem(self.header, row, column, problem.rule, problem.params)

    def _cell(self, row: int, column: str, rule: str) -> ImportProblem:
        return _cell_problem(self.header, row, column, rule)


# -- import jobs and where they are kept -----------------------------------------------------


@frozen(kw_only=True)
class ImportJob:
    """An import's identity, what it was asked to do, and how far it got (committed)."""

    id: str
    branch: str
    actor: str
    source_system: str
    format: ImportFormat
    strict: bool
    content_sha256: str
    state: ImportState
    rows_total: int
    created_at: datetime
    updated_at: datetime
    rows_done: int = 0
    valid: int = 0
    invalid: int = 0
    imported: int = 0
    problems: tuple[ImportProblem, ...] = ()
    problems_total: int = 0

    @property
    def finished(self) -> bool:
        return self.state in {ImportState.COMPLETED, ImportState.REJECTED, ImportState.FAILED}

    def noting(self, problems: Sequence[ImportProblem]) -> ImportJob:
        """With ``problems`` added; only the first `MAX_PROBLEMS` are kept, all are counted."""
        room = max(0, MAX_PROBLEMS - len(self.problems))
        return attrs.evolve(
            self,
            problems=(*self.problems, *problems[:room]),
            problems_total=self.problems_total + len(problems),
        )

    def advanced(
        self, rows: Sequence[CheckedRow], imported: int, at: datetime, *, count_validity: bool
    ) -> ImportJob:
        """After a committed chunk: rows done, imported, (in default mode) valid and invalid."""
        invalid = sum(not row.ok for row in rows)
        rows_done = self.rows_done + len(rows)
        moved = attrs.evolve(
            self,
            rows_done=rows_done,
            imported=self.imported + imported,
            valid=self.valid + (len(rows) - invalid if count_validity else 0),
            invalid=self.invalid + (invalid if count_validity else 0),
            state=ImportState.COMPLETED if rows_done >= self.rows_total else self.state,
            updated_at=at,
        )
        return moved.noting([p for row in rows for p in row.problems])


class ImportJobStore(Protocol):
    """Where import jobs are kept: in the caller's transaction, so progress commits with rows."""

    def add(self, conn: Connection, job: ImportJob) -> None: ...

    def get(self, conn: Connection, job_id: str, *, lock: bool = False) -> ImportJob | None:
        """The job, or None; ``lock``: held until the transaction ends (one runner at a time)."""

    def save(self, conn: Connection, job: ImportJob) -> None: ...


class SqlImportJobStore:
    """`ImportJobStore` on the ``import_jobs`` table, with SQLAlchemy Core on the caller's
    connection."""

    def add(self, conn: Connection, job: ImportJob) -> None:
        conn.execute(insert(import_jobs).values(id=job.id, **_job_values(job)))

    def get(self, conn: Connection, job_id: str, *, lock: bool = False) -> ImportJob | None:
        query = select(import_jobs).where(import_jobs.c.id == job_id)
        row = conn.execute(query.with_for_update() if lock else query).mappings().one_or_none()
        return None if row is None else _job_of(row)

    def save(self, conn: Connection, job: ImportJob) -> None:
        conn.execute(
            update(import_jobs).where(import_jobs.c.id == job.id).values(**_job_values(job))
        )


def _job_values(job: ImportJob) -> dict[str, Any]:
    return {
        "branch": job.branch,
        "actor": job.actor,
        "source_system": job.source_system,
        "format": job.format.value,
        "strict": job.strict,
        "content_sha256": job.content_sha256,
        "state": job.state.value,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "valid": job.valid,
        "invalid": job.invalid,
        "imported": job.imported,
        "problems_total": job.problems_total,
        "problems": [attrs.asdict(p) for p in job.problems],
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def _job_of(row: RowMapping) -> ImportJob:
    return ImportJob(
        id=row["id"],
        branch=row["branch"],
        actor=row["actor"],
        source_system=row["source_system"],
        format=ImportFormat(row["format"]),
        strict=bool(row["strict"]),
        content_sha256=row["content_sha256"],
        state=ImportState(row["state"]),
        rows_total=row["rows_total"],
        rows_done=row["rows_done"],
        valid=row["valid"],
        invalid=row["invalid"],
        imported=row["imported"],
        problems_total=row["problems_total"],
        problems=tuple(ImportProblem(**p) for p in row["problems"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# -- the use cases -----------------------------------------------------------------------------


@frozen(kw_only=True)
class ImportProgress:
    """What a caller hears after each chunk (validated, or committed). ``stage``, ``done`` and
    ``total`` read it as every long job's progress reads (the state, rows done, rows in the
    file), e.g. for `dossier.messaging.progress.JobProgress.update`."""

    job_id: str
    state: ImportState
    rows_total: int
    rows_done: int
    imported: int
    invalid: int

    @property
    def stage(self) -> str:
        return self.state.value

    @property
    def done(self) -> int:
        return self.rows_done

    @property
    def total(self) -> int | None:
        return self.rows_total or None


ProgressCallback = Callable[[ImportProgress], None]

IMPORT_AUDIT = AuditSpec(action="student.imported", fields=("status", "admitted_at"))
MATCHED_KINDS = (IndexKind.ID_DOCUMENT, IndexKind.NAME_BIRTH_PHONE)
MATCH_COLUMNS = {IndexKind.ID_DOCUMENT: "id_number", IndexKind.NAME_BIRTH_PHONE: "name"}
_REGISTRATION_IDS = uuid.UUID("5b0f3c1e-6f1a-4d0e-9a57-2c7d0e1f4a10")
"""Namespace of imported registrations' ids: uuid5(namespace, "<job id>/<row>")."""


@frozen(kw_only=True)
class _Request:
    branch: str
    format: ImportFormat
    source_system: str
    strict: bool


class _Run:
    """One pass over a job's file: the checker, and the identities the file has claimed."""

    def __init__(self, job: ImportJob, checker: RowChecker, digest: Callable[..., str]) -> None:
        self.job = job
        self.checker = checker
        self._digest = digest
        self._claimed: dict[str, int] = {}

    def rows(self, header: Header, rows: Iterable[SheetRow]) -> Iterator[CheckedRow]:
        for row in rows:
            parsed = parse_row(header, row)
            yield self._deduplicated(self.checker.check(parsed, self._registration_id(row.number)))

    def _registration_id(self, row: int) -> str:
        return str(uuid.uuid5(_REGISTRATION_IDS, f"{self.job.id}/{row}"))

    def _deduplicated(self, row: CheckedRow) -> CheckedRow:
        """A rule-valid row claims its identities; a later row with one of them is a duplicate."""
        if row.registration is None:
            return row
        applicant = row.registration.applicant
        identity = {
            IndexKind.ID_DOCUMENT: self._digest(IndexKind.ID_DOCUMENT, applicant.id_document),
            IndexKind.NAME_BIRTH_PHONE: self._digest(
                IndexKind.NAME_BIRTH_PHONE,
                (applicant.name, applicant.birth_date, applicant.phone),
            ),
        }
        row = attrs.evolve(row, identity=identity)
        duplicate: ImportProblem | None = None
        for kind, digest in identity.items():
            first = self._claimed.setdefault(digest, row.number)
            if first != row.number and duplicate is None:
                duplicate = _cell_problem(
                    self.checker.header,
                    row.number,
                    MATCH_COLUMNS[kind],
                    "duplicate_in_file",
                    {"first_row": first, "matched_on": kind.value},
                )
        return row if duplicate is None else row.with_problem(duplicate)


class Importer:
    """批量导入: the import use cases, beside `Intake` (same database, branches and rules)."""

    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        documents: DocumentStore,
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
        *,
        jobs: ImportJobStore | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.db = db
        self.branches = dict(branches)
        self.documents = documents  # imported students come without documents, for now
        self.plugins = plugins or PluginHost()
        self.clock = clock
        self.jobs: ImportJobStore = jobs or SqlImportJobStore()
        self.chunk_size = chunk_size

    @classmethod
    def beside(cls, intake: Intake, **options: Any) -> Importer:
        """An importer over the same database, branches, documents, rules and clock."""
        return cls(
            intake.db, intake.branches, intake.documents, intake.plugins, intake.clock, **options
        )

    # -- over NATS (content inline, base64) ----------------------------------------------

    def start(self, caller: Caller, command: StartImport) -> ImportReport:
        """``import.start``: the whole file in the request; returns the job's report, its
        messages in the caller's locale.

        With an idempotency key the job id is derived from actor and key, so
        a retried request continues (or reports) the same job. The caller's
        ``progress`` hears each chunk (the service publishes it on NATS, see
        `dossier.messaging.progress`).
        """
        data = io.BytesIO(_decoded(command.content))
        job_id = (
            import_job_id(caller.actor.id, caller.idempotency_key)
            if caller.idempotency_key
            else None
        )
        request = _Request(
            branch=command.branch,
            format=command.format,
            source_system=command.source_system,
            strict=command.strict,
        )
        progress = caller.progress
        job = self._start(caller, data, request, job_id, progress, from_key=job_id is not None)
        return self._report(job, caller.locale)

    def status(self, caller: Caller, query: GetImportStatus) -> ImportReport:
        """``import.status``: the job's progress and report as last committed."""
        with self.db.engine.connect() as conn:
            job = self._visible_job(conn, caller.actor, query.job_id)
        return self._report(job, caller.locale)

    def resume(self, caller: Caller, command: ResumeImport) -> ImportReport:
        """``import.resume``: continue after the last committed chunk (same file again)."""
        data = io.BytesIO(_decoded(command.content))
        job = self._resume(caller, command.job_id, data, caller.progress)
        return self._report(job, caller.locale)

    # -- in process (files of any size) -------------------------------------------------

    def import_file(
        self,
        caller: Caller,
        source: Path | BinaryIO,
        *,
        branch: str,
        format: ImportFormat,
        source_system: str,
        strict: bool = False,
        job_id: str | None = None,
        progress: ProgressCallback | None = None,
        locale: Locale | None = None,
    ) -> ImportReport:
        """Import a file (a path, or a binary stream) and report; ``progress`` hears each chunk.

        With ``job_id`` of an existing job this resumes it (the same file and
        settings are required); an exception from ``progress`` stops the
        import after the chunk it was told about, which stays committed.
        """
        request = _Request(branch=branch, format=format, source_system=source_system, strict=strict)
        with ExitStack() as stack:
            data = _seekable(source, stack)
            job = self._start(caller, data, request, job_id, progress, from_key=False)
        return self._report(job, locale)

    def resume_file(
        self,
        caller: Caller,
        job_id: str,
        source: Path | BinaryIO,
        *,
        progress: ProgressCallback | None = None,
        locale: Locale | None = None,
    ) -> ImportReport:
        with ExitStack() as stack:
            job = self._resume(caller, job_id, _seekable(source, stack), progress)
        return self._report(job, locale)

    # -- the steps ------------------------------------------------------------------------

    def _start(
        self,
        caller: Caller,
        data: BinaryIO,
        request: _Request,
        job_id: str | None,
        progress: ProgressCallback | None,
        *,
        from_key: bool,
    ) -> ImportJob:
        branch = self._branch(request.branch)
        self._require(caller.actor, branch.code)
        source_system = _source_system(request.source_system)
        request = attrs.evolve(request, source_system=source_system)
        sha = _sha256(data)
        existing = None
        if job_id is not None:
            with self.db.engine.connect() as conn:
                existing = self.jobs.get(conn, job_id)
        if existing is None:
            existing = self._create(caller, data, request, job_id or str(uuid.uuid4()), sha)
        elif not _same_request(existing, request, sha):
            if from_key:
                raise IdempotencyKeyReused()
            raise ValidationError([Problem("job_id", "different_file")])
        return self._continue(caller, existing, data, progress)

    def _resume(
        self, caller: Caller, job_id: str, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        with self.db.engine.connect() as conn:
            job = self._visible_job(conn, caller.actor, job_id)
        if _sha256(data) != job.content_sha256:
            raise ValidationError([Problem("content", "different_file")])
        return self._continue(caller, job, data, progress)

    def _create(
        self, caller: Caller, data: BinaryIO, request: _Request, job_id: str, sha: str
    ) -> ImportJob:
        """Survey the file (header, row count) and record the job with an audit entry."""
        now = self.clock()
        problems: tuple[ImportProblem, ...] = ()
        rows_total = 0
        try:
            header, rows = open_table(data, request.format)
            problems = header.problems
            rows_total = sum(1 for _ in rows)
        except FileUnreadable as unreadable:
            problems = (unreadable.problem,)
        if problems:
            state = ImportState.REJECTED
        elif rows_total == 0:
            state = ImportState.COMPLETED
        else:
            state = ImportState.VALIDATING if request.strict else ImportState.IMPORTING
        job = ImportJob(
            id=job_id,
            branch=request.branch,
            actor=caller.actor.id,
            source_system=request.source_system,
            format=request.format,
            strict=request.strict,
            content_sha256=sha,
            state=state,
            rows_total=rows_total,
            created_at=now,
            updated_at=now,
        ).noting(problems)
        try:
            with self.db.unit_of_work() as uow:
                self.jobs.add(uow.connection, job)
                uow.audit.record(
                    AuditSpec(action="import.started", fields=("rows_total", "source_system")),
                    branch=job.branch,
                    actor=caller.actor.id,
                    subject=job.id,
                    at=now,
                )
                uow.commit()
        except IntegrityError:  # the same job, started by a retry of the same request
            with self.db.engine.connect() as conn:
                found = self.jobs.get(conn, job_id)
            if found is None:
                raise
            return found
        return job

    def _continue(
        self, caller: Caller, job: ImportJob, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        if job.state is ImportState.VALIDATING:
            job = self._validate_all(job, data, progress)
        if job.state is ImportState.IMPORTING:
            job = self._import_rows(caller, job, data, progress)
        return job

    def _run(self, job: ImportJob, data: BinaryIO) -> tuple[_Run, Iterator[CheckedRow]]:
        branch = self._branch(job.branch)
        header, rows = open_table(data, job.format)
        now = self.clock()
        checker = RowChecker(self.plugins.rules_for(branch), header, self._today(branch), now)
        run = _Run(job, checker, self.db.indexer.digest)
        return run, run.rows(header, rows)

    def _validate_all(
        self, job: ImportJob, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        """Strict mode, first pass: every row checked (chain included), nothing written."""
        run, checked = self._run(job, data)
        header = run.checker.header
        seen = attrs.evolve(job, rows_done=0, valid=0, invalid=0)
        for chunk in _chunks(checked, self.chunk_size):
            with self.db.engine.connect() as conn, snapshot(conn).begin():
                rows = _with_chain_duplicates(conn, chunk, header)
            invalid = sum(not row.ok for row in rows)
            seen = attrs.evolve(
                seen,
                rows_done=seen.rows_done + len(rows),
                valid=seen.valid + len(rows) - invalid,
                invalid=seen.invalid + invalid,
            ).noting([p for row in rows for p in row.problems])
            _tell(progress, seen)
        state = ImportState.REJECTED if seen.invalid else ImportState.IMPORTING
        validated = attrs.evolve(
            job,
            state=state,
            valid=seen.valid,
            invalid=seen.invalid,
            problems=seen.problems,
            problems_total=seen.problems_total,
            updated_at=self.clock(),
        )
        with self.db.unit_of_work() as uow:
            self.jobs.save(uow.connection, validated)
            uow.commit()
        return validated

    def _import_rows(
        self, caller: Caller, job: ImportJob, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        """Chunk after chunk after the last committed one; the skipped rows are re-checked
        only so that the file's identities are claimed exactly as in an uninterrupted run."""
        run, checked = self._run(job, data)
        for _ in islice(checked, job.rows_done):
            pass
        for chunk in _chunks(checked, self.chunk_size):
            job, moved = self._commit_chunk(caller, run, job, chunk)
            if not moved:
                break  # another runner of the same job is ahead: it carries on
            _tell(progress, job)
            if job.state is not ImportState.IMPORTING:
                break
        return job

    def _commit_chunk(
        self, caller: Caller, run: _Run, job: ImportJob, chunk: Sequence[CheckedRow]
    ) -> tuple[ImportJob, bool]:
        """One transaction: the chunk's valid rows admitted, the job's progress saved."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            conn = uow.connection
            current = self.jobs.get(conn, job.id, lock=True)
            if current is None or current.rows_done != job.rows_done or current.finished:
                return (current or job), False
            rows = _with_chain_duplicates(conn, chunk, run.checker.header)
            good = [row for row in rows if row.ok]
            if job.strict and len(good) < len(rows):  # the chain changed since validation
                bad = len(rows) - len(good)
                failed = attrs.evolve(
                    current.noting([p for row in rows for p in row.problems]),
                    state=ImportState.FAILED,
                    valid=current.valid - bad,
                    invalid=current.invalid + bad,
                    updated_at=now,
                )
                self.jobs.save(conn, failed)
                uow.commit()
                return failed, True
            self._admit(uow, caller, run, good, now)
            moved = current.advanced(rows, len(good), now, count_validity=not job.strict)
            self.jobs.save(conn, moved)
            uow.commit()
        return moved, True

    def _admit(
        self, uow: UnitOfWork, caller: Caller, run: _Run, rows: Sequence[CheckedRow], now: datetime
    ) -> None:
        if not rows:
            return
        ctx = Context(
            actor=caller.actor.id, reason=f"imported from {run.job.source_system}", at=now
        )
        admitted = [row.registration for row in rows if row.registration is not None]
        dossiers = BulkAdmitter(uow).admit(
            admitted, ctx, rules=run.checker.rules, audit=IMPORT_AUDIT
        )
        zone = ZoneInfo(self._branch(run.job.branch).time_zone)
        _apply_file_terms(uow.connection, rows, dossiers, zone)

    # -- shared helpers ---------------------------------------------------------------------

    def _report(self, job: ImportJob, locale: Locale | None) -> ImportReport:
        branch = self.branches.get(job.branch)
        rules = self.plugins.rules_for(branch) if branch is not None else None
        catalogue = rules.catalogue if rules else DEFAULT_CATALOGUE
        language = locale or (branch.locale if branch else Locale.ZH_CN)
        return ImportReport(
            job_id=job.id,
            branch=job.branch,
            state=job.state,
            source_system=job.source_system,
            strict=job.strict,
            rows_total=job.rows_total,
            rows_done=job.rows_done,
            valid=job.valid,
            invalid=job.invalid,
            imported=job.imported,
            problems=tuple(
                ImportProblemView(
                    row=p.row,
                    column=p.column,
                    cell=p.cell,
                    rule=p.rule,
                    message=p.message(catalogue, language),
                    params={k: str(v) for k, v in p.params.items()},
                )
                for p in job.problems
            ),
            problems_omitted=job.problems_total - len(job.problems),
            started_at=job.created_at,
            updated_at=job.updated_at,
        )

    def _branch(self, code: str) -> Branch:
        branch = self.branches.get(code)
        if branch is None:
            allowed = ", ".join(sorted(self.branches))
            raise ValidationError([Problem("branch", "not_allowed_value", {"allowed": allowed})])
        return branch

    def _today(self, branch: Branch) -> date:
        return self.clock().astimezone(ZoneInfo(branch.time_zone)).date()

    def _require(self, actor: Actor, branch: str) -> None:
        verdict = authorize(actor, Operation.IMPORT_RUN, branch)
        if not verdict.allowed:
            raise AccessDenied(Operation.IMPORT_RUN.value, verdict.reason or "role_not_permitted")

    def _visible_job(self, conn: Connection, actor: Actor, job_id: str) -> ImportJob:
        """The job; another branch's job is not found (as every record outside one's scope)."""
        job = self.jobs.get(conn, job_id)
        if job is None:
            raise NotFound("import", job_id)
        verdict = authorize(actor, Operation.IMPORT_RUN, job.branch)
        if verdict.reason == "branch_out_of_scope":
            raise NotFound("import", job_id)
        if not verdict.allowed:
            raise AccessDenied(Operation.IMPORT_RUN.value, verdict.reason or "role_not_permitted")
        return job


# -- module helpers ------------------------------------------------------------------------------


def _tell(progress: ProgressCallback | None, job: ImportJob) -> None:
    if progress is not None:
        progress(
            ImportProgress(
                job_id=job.id,
                state=job.state,
                rows_total=job.rows_total,
                rows_done=job.rows_done,
                imported=job.imported,
                invalid=job.invalid,
            )
        )


def _chunks(rows: Iterable[CheckedRow], size: int) -> Iterator[list[CheckedRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _with_chain_duplicates(
    conn: Connection, rows: Sequence[CheckedRow], header: Header
) -> list[CheckedRow]:
    """Rows matching a student, or a pending registration, anywhere in the chain get a problem.

    One query per chunk over the blind indexes (ID document; name + birth
    date + phone). Phone alone is not a duplicate: families share phones.
    """
    wanted = {
        digest: kind
        for row in rows
        if row.ok
        for kind, digest in row.identity.items()
        if kind in MATCHED_KINDS
    }
    if not wanted:
        return list(rows)
    owner = registrations.c.id == blind_indexes.c.owner_id
    query = (
        select(blind_indexes.c.digest)
        .select_from(
            blind_indexes.outerjoin(
                registrations, and_(blind_indexes.c.owner_kind == REGISTRATION_OWNER, owner)
            )
        )
        .where(
            blind_indexes.c.kind.in_([k.value for k in MATCHED_KINDS]),
            blind_indexes.c.digest.in_(list(wanted)),
            or_(
                blind_indexes.c.owner_kind == STUDENT_OWNER,
                registrations.c.status == RegistrationStatus.SUBMITTED.value,
            ),
        )
    )
    found = set(conn.execute(query).scalars())
    return [_chain_checked(row, found, header) for row in rows]


def _chain_checked(row: CheckedRow, found: set[str], header: Header) -> CheckedRow:
    if not row.ok:
        return row
    for kind in MATCHED_KINDS:
        if row.identity.get(kind) in found:
            return row.with_problem(
                _cell_problem(
                    header,
                    row.number,
                    MATCH_COLUMNS[kind],
                    "duplicate_in_chain",
                    {"matched_on": kind.value},
                )
            )
    return row


def _apply_file_terms(
    conn: Connection,
    rows: Sequence[CheckedRow],
    dossiers: Sequence[StudentDossier],
    zone: ZoneInfo,
) -> None:
    """Give the new dossiers the status and admission date of the file, in the same transaction.

    The bulk path admits every student as enrolled, today; an imported
    student keeps the status and admission date of the old system, and the
    one history line says so (from nothing to that status, effective on the
    admission date, reason "imported from …"). Interim: to be replaced by a
    per-student shaping hook in `BulkAdmitter.admit`.
    """
    terms = [
        {
            "b_number": dossier.student_number,
            "b_status": row.status.value,
            "b_admitted_at": datetime.combine(row.admitted_on, time(0), zone),
            "b_effective": row.admitted_on,
        }
        for row, dossier in zip(rows, dossiers, strict=True)
        if row.admitted_on is not None
    ]
    if not terms:
        return
    conn.execute(
        update(students)
        .where(students.c.student_number == bindparam("b_number"))
        .values(
            status=bindparam("b_status"),
            admitted_at=bindparam("b_admitted_at", type_=students.c.admitted_at.type),
        ),
        terms,
    )
    conn.execute(
        update(status_changes)
        .where(
            status_changes.c.student_number == bindparam("b_number"),
            status_changes.c.position == 0,
        )
        .values(to_status=bindparam("b_status"), effective_date=bindparam("b_effective")),
        terms,
    )


def _same_request(job: ImportJob, request: _Request, sha: str) -> bool:
    return (
        job.branch == request.branch
        and job.format is request.format
        and job.source_system == request.source_system
        and job.strict == request.strict
        and job.content_sha256 == sha
    )


def _source_system(name: str) -> str:
    text = name.strip()
    if not text:
        raise ValidationError([Problem("source_system", "required")])
    if len(text) > SOURCE_SYSTEM_MAX:
        raise ValidationError([Problem("source_system", "too_long", {"max": SOURCE_SYSTEM_MAX})])
    if not text.isprintable():
        raise ValidationError([Problem("source_system", "control_characters")])
    return text


def _decoded(content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError([Problem("content", "wrong_type", {"expected": "base64"})]) from None


def _sha256(data: BinaryIO) -> str:
    data.seek(0)
    digest = hashlib.sha256()
    while block := data.read(1 << 20):
        digest.update(block)
    return digest.hexdigest()


def _seekable(source: Path | BinaryIO, stack: ExitStack) -> BinaryIO:
    """The file to read several times (hash, survey, import): opened, or buffered if need be."""
    if isinstance(source, Path):
        return stack.enter_context(source.open("rb"))
    if source.seekable():
        return source
    return io.BytesIO(source.read())

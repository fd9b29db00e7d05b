"""Parsing an import file's data rows (`dossier.intake.imports`): each cell as a value, every
problem by column, none quoting a value."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from attrs import frozen

from dossier.core.enums import Gender, IdDocumentType, StudentStatus
from dossier.core.errors import ParamValue
from dossier.intake.imports.sheets import Header, SheetRow, column_letter, heading_key
from dossier.storage.repositories.import_jobs import ImportProblem

DOSSIER_ONLY_COLUMNS = frozenset({"status", "admitted_on"})
"""Columns that are not part of the registration: it can be checked whatever they hold."""
GUARDIAN_COLUMNS = ("guardian_name", "guardian_relation", "guardian_phone")


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
            problems.append(cell_problem(header, row.number, name, bad.rule, bad.params))
    if any(values.get(name) for name in GUARDIAN_COLUMNS):
        problems.extend(
            cell_problem(header, row.number, name, "required")
            for name in GUARDIAN_COLUMNS
            if not values.get(name)
        )
    return ParsedRow(
        number=row.number,
        values=values,
        problems=tuple(problems + stray),
        complete=not any(p.column not in DOSSIER_ONLY_COLUMNS for p in problems),
    )


def cell_problem(
    header: Header,
    row: int,
    column: str,
    rule: str,
    params: Mapping[str, ParamValue] | None = None,
) -> ImportProblem:
    return ImportProblem(
        row=row, column=column, rule=rule, params=dict(params or {}), cell=header.cell(column, row)
    )

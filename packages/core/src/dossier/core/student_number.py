"""Student numbers (学号): ``SH01-26-000123-K`` — branch prefix, 2-digit year, sequence, check.

The check character is ISO 7064 MOD 37,36 (the hybrid system over digits and
Latin capitals), which detects every single-character substitution and most
adjacent transpositions. Storage assigns the sequence, exactly once; core only
formats and validates. Branches may replace the format through the
``dossier_student_number_format`` hook.
"""

from __future__ import annotations

import re
from typing import Protocol

from attrs import frozen

from dossier.core.errors import Problem, ValidationError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M = 36
_PREFIX = re.compile(r"[A-Z][A-Z0-9]{1,5}")
_PATTERN = re.compile(r"([A-Z][A-Z0-9]{1,5})-([0-9]{2})-([0-9]{6}|[1-9][0-9]{6,8})-([0-9A-Z])")
"""Canonical form only: ASCII digits, six-digit sequences zero-padded, longer ones not."""


def check_character(payload: str) -> str:
    """ISO 7064 MOD 37,36 check character of ``payload`` (digits and capitals only)."""
    p = _M
    for ch in payload:
        value = ALPHABET.find(ch)
        if value < 0:
            raise ValueError("student number payload must be digits and capital letters")
        p = (p + value) % _M or _M
        p = (p * 2) % (_M + 1)
    return ALPHABET[(_M + 1 - p) % _M]


@frozen
class StudentNumber:
    prefix: str
    year: int
    sequence: int
    check: str

    @property
    def text(self) -> str:
        return f"{self.prefix}-{self.year:02d}-{self.sequence:06d}-{self.check}"

    def __str__(self) -> str:
        return self.text


class StudentNumberFormat(Protocol):
    """What a branch's student-number scheme must offer (returned by the format hook)."""

    name: str

    def format(self, prefix: str, year: int, sequence: int) -> str: ...

    def parse(self, text: str, field: str = "student_number") -> StudentNumber: ...


class DefaultStudentNumberFormat:
    name = "default"

    def format(self, prefix: str, year: int, sequence: int) -> str:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError("prefix must be a capital letter and 1–5 capitals or digits")
        if not 0 <= year <= 99 or not 0 < sequence < 10**9:
            raise ValueError("year must be 0–99 and sequence 1–999,999,999")
        payload = f"{prefix}{year:02d}{sequence:06d}"
        return f"{prefix}-{year:02d}-{sequence:06d}-{check_character(payload)}"

    def parse(self, text: str, field: str = "student_number") -> StudentNumber:
        match = _PATTERN.fullmatch(text)
        if match is None:
            raise ValidationError([Problem(field, "student_number_format")])
        prefix, year, sequence, check = match.groups()
        if check_character(f"{prefix}{year}{sequence}") != check:
            raise ValidationError([Problem(field, "student_number_check")])
        return StudentNumber(prefix, int(year), int(sequence), check)


DEFAULT_FORMAT = DefaultStudentNumberFormat()


def is_valid(text: str, fmt: StudentNumberFormat = DEFAULT_FORMAT) -> bool:
    try:
        fmt.parse(text)
    except ValidationError:
        return False
    return True

"""Student numbers (学号): format/parse, and the ISO 7064 MOD 37,36 check character.

The check character is cross-checked against an implementation written here
from the standard's description of the hybrid system (ISO/IEC 7064, MOD 37,36):
with M = 36, start with P = M; for each character of value a, S = (P + a) mod M
(0 counts as M); the string including its check character is valid when the
last S equals 1, and otherwise P = 2·S mod (M + 1) feeds the next character.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.core.errors import ValidationError
from dossier.core.student_number import (
    ALPHABET,
    DEFAULT_FORMAT,
    StudentNumber,
    check_character,
    is_valid,
)

M = 36
CHARSET = string.digits + string.ascii_uppercase


def iso7064_valid(text_with_check: str) -> bool:
    """Verify a MOD 37,36 protected string, from the standard's recursion."""
    p = M
    for position, char in enumerate(text_with_check):
        s = (p + CHARSET.index(char)) % M or M
        if position == len(text_with_check) - 1:
            return s == 1
        p = (2 * s) % (M + 1)
    return False


def iso7064_check(payload: str) -> str:
    """The one character that makes ``payload`` + it verify; found by trying all 36."""
    fits = [char for char in CHARSET if iso7064_valid(payload + char)]
    assert len(fits) == 1, fits
    return fits[0]


prefixes = st.from_regex(r"\A[A-Z][A-Z0-9]{1,5}\Z", fullmatch=True)
years = st.integers(0, 99)
sequences = st.integers(1, 999_999_999)

SAMPLE = [
    ("SH01", 26, 123),
    ("BJ", 0, 1),
    ("GZ03", 99, 999_999),
    ("HK1", 26, 1_000_000),
    ("Z9Z9Z9", 7, 999_999_999),
    ("A0", 42, 424_242),
]
NOISE = string.ascii_lowercase + "-_ .,/:;'\"!?#*+()[]·Ａ\t"
UNICODE_DIGITS = "０７٣१"
"""Full-width (what a Chinese IME types), Arabic-Indic and Devanagari digits."""


def test_alphabet_is_digits_then_capitals() -> None:
    assert ALPHABET == CHARSET


def test_design_example_has_the_check_character_of_the_standard() -> None:
    expected = iso7064_check("SH0126000123")
    assert DEFAULT_FORMAT.format("SH01", 26, 123) == f"SH01-26-000123-{expected}"
    assert expected == "C"  # DESIGN.md §3 prints `SH01-26-000123-7`, which does not verify


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes, year=years, sequence=sequences)
def test_format_parse_round_trip(prefix: str, year: int, sequence: int) -> None:
    text = DEFAULT_FORMAT.format(prefix, year, sequence)
    parsed = DEFAULT_FORMAT.parse(text)
    assert parsed == StudentNumber(prefix, year, sequence, text[-1])
    assert parsed.text == text
    assert str(parsed) == text
    assert is_valid(text)
    payload = f"{prefix}{year:02d}{sequence:06d}"
    assert text[-1] == iso7064_check(payload) == check_character(payload)
    assert text == f"{prefix}-{year:02d}-{sequence:06d}-{text[-1]}"


@pytest.mark.parametrize(
    ("year", "sequence"),
    [(-1, 1), (100, 1), (26, 0), (26, -5), (26, 1_000_000_000)],
)
def test_format_refuses_out_of_range_parts(year: int, sequence: int) -> None:
    with pytest.raises(ValueError, match="year must be"):
        DEFAULT_FORMAT.format("SH01", year, sequence)


def test_check_character_refuses_a_payload_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="digits and capital letters"):
        check_character("sh0126000123")


@pytest.mark.parametrize("prefix", ["S", "1A", "ABCDEFG"])
def test_format_only_makes_numbers_parse_accepts(prefix: str) -> None:
    try:
        text = DEFAULT_FORMAT.format(prefix, 26, 1)
    except ValueError:
        return
    assert is_valid(text), text


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(f"SH01-26-0000123-{check_character('SH01260000123')}", id="zero-padded"),
        pytest.param(f"SH01-26-000123-{check_character('SH0126000123')}\n", id="newline"),
    ],
)
def test_a_number_has_only_one_spelling(spelling: str) -> None:
    try:
        parsed = DEFAULT_FORMAT.parse(spelling)
    except ValidationError:
        return
    assert parsed.text == spelling


def _rule_of(text: str) -> str | None:
    try:
        DEFAULT_FORMAT.parse(text, field="number")
    except ValidationError as error:
        (problem,) = error.problems()
        assert problem.field == "number"
        return problem.rule
    return None


@pytest.mark.parametrize(("prefix", "year", "sequence"), SAMPLE)
def test_every_single_character_substitution_is_detected(
    prefix: str, year: int, sequence: int
) -> None:
    text = DEFAULT_FORMAT.format(prefix, year, sequence)
    checked = 0
    for position, original in enumerate(text):
        for replacement in CHARSET + NOISE:
            if replacement == original:
                continue
            corrupted = text[:position] + replacement + text[position + 1 :]
            rule = _rule_of(corrupted)
            assert rule in {"student_number_check", "student_number_format"}, corrupted
            checked += 1
    assert checked == len(text) * (len(CHARSET + NOISE) - 1)


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_a_non_ascii_digit_is_a_validation_problem_not_a_crash(digit: str) -> None:
    text = DEFAULT_FORMAT.format("SH01", 26, 123)
    for position, original in enumerate(text):
        if original.isdigit():
            corrupted = text[:position] + digit + text[position + 1 :]
            # a ValidationError (or, if digits are folded to ASCII, a parse) — never a crash
            assert _rule_of(corrupted) in {"student_number_format", "student_number_check", None}


@pytest.mark.parametrize(("prefix", "year", "sequence"), SAMPLE)
def test_a_wrong_check_character_is_reported_as_such(prefix: str, year: int, sequence: int) -> None:
    text = DEFAULT_FORMAT.format(prefix, year, sequence)
    for replacement in CHARSET.replace(text[-1], ""):
        assert _rule_of(text[:-1] + replacement) == "student_number_check"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SH01-26-000123",
        "SH01-26-00012-C",
        "sh01-26-000123-C",
        "SH01 26 000123 C",
        "SH01-26-000123-C ",
    ],
)
def test_malformed_numbers_are_format_problems(text: str) -> None:
    assert _rule_of(text) == "student_number_format"
    assert not is_valid(text)


def test_adjacent_transpositions_are_almost_always_detected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng_sample = [DEFAULT_FORMAT.format(p, y, s) for p, y, s in SAMPLE]
    rng_sample += [DEFAULT_FORMAT.format("SH01", 26, n) for n in range(1, 3000, 7)]
    cases = detected = 0
    for text in rng_sample:
        for i in range(len(text) - 1):
            if text[i] == text[i + 1]:
                continue
            swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            cases += 1
            detected += not is_valid(swapped)
    rate = detected / cases
    with capsys.disabled():
        print(f"\nadjacent transpositions detected: {detected}/{cases} = {rate:.2%}")
    assert rate >= 0.95

"""Every message of the catalogue, for every field of every form, in both languages, speaks in
the form's own words: no dotted path, no snake_case code, no Python type name, no byte count.

The fields are found by walking the attrs classes of every request type in
`dossier.core.contracts` and every core command, recursively (lists as ``[0]``, ``[2]``);
the change request's own paths (``personal.phone``…) are added from `CHANGEABLE`. The
parameters are the ones the code really passes (``expected`` of ``wrong_type``, document kinds,
sizes in bytes…).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

import dossier.core.rules.hongkong
from dossier.core import wire
from dossier.core.attachments import MAX_ATTACHMENT_BYTES
from dossier.core.branch import Branch
from dossier.core.changes import CHANGEABLE
from dossier.core.commands import ALL_COMMANDS
from dossier.core.contracts import CATALOGUE
from dossier.core.enums import DocumentKind, Gender, IdDocumentType, Locale
from dossier.core.messages import Catalogue
from dossier.core.plugins import PluginHost

HK = Branch(code="HK01", name="Hong Kong", plugins=("hongkong",))
FULL: Catalogue = PluginHost({"hongkong": dossier.core.rules.hongkong}).rules_for(HK).catalogue


def _paths(cls: type, prefix: str = "", seen: tuple[type, ...] = ()) -> Iterator[str]:
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        path = f"{prefix}.{field.name}" if prefix else field.name
        yield from _paths_of_type(hints[field.name], path, (*seen, cls))


def _paths_of_type(kind: Any, path: str, seen: tuple[type, ...]) -> Iterator[str]:
    origin = typing.get_origin(kind)
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _paths_of_type(arg, path, seen)
        return
    if origin in (tuple, list):
        for index in (0, 2):
            yield from _paths_of_type(args[0], f"{path}[{index}]", seen)
        return
    yield path
    if isinstance(kind, type) and attrs.has(kind) and kind not in seen:
        yield from _paths(kind, path, seen)


FORMS = sorted({c.request for c in CATALOGUE} | set(ALL_COMMANDS), key=lambda t: t.__name__)
FIELDS = sorted(
    {path for form in FORMS for path in _paths(form)} | set(CHANGEABLE) | {"body", "documents"}
)

EXPECTED = sorted(
    {*wire._EXPECTED.values(), "object", "list", "another_type", "amount", "base64"}
    | {"identity_document", "id_document_text", "currency_code", "text", "date"}
)
"""Every ``expected`` of ``wrong_type`` that a form field can get (wire, rules, gateway)."""

SAMPLE_PARAMS: dict[str, list[dict[str, str | int]]] = {
    "wrong_type": [{"expected": e} for e in EXPECTED],
    "too_large": [{"max": MAX_ATTACHMENT_BYTES}, {"max": 20 * 1024 * 1024}],
    "payload_too_large": [{"max": 1024 * 1024}],
    "document_required": [{"kind": k.value} for k in DocumentKind if k is not DocumentKind.OTHER],
    "not_allowed_value": [
        {"allowed": ", ".join(g.value for g in Gender if g is not Gender.OTHER)},
        {"allowed": "online"},
    ],
    "id_number_format": [{"document": t.value} for t in IdDocumentType],
    "id_number_checksum": [{"document": IdDocumentType.PRC_RESIDENT_ID.value}],
    "id_number_region": [{"document": IdDocumentType.PRC_RESIDENT_ID.value}],
    "id_number_birth_date": [{"document": IdDocumentType.PRC_RESIDENT_ID.value}],
    "id_type_not_accepted": [{"document": IdDocumentType.HKID.value}],
    "phone_format": [{"expected": "+86 131 2345 6789"}],
    "phone_not_mobile": [{"expected": "+852 5123 4567"}],
    "hkid_format": [{"expected": "A123456(7)"}],
    "too_long": [{"max": 50}],
    "too_many": [{"max": 200}],
    "too_short": [{"min": 10}],
    "birth_date_implausible": [{"min": 2, "max": 100}],
    "probable_duplicates": [{"count": 2}],
    "guardian_required": [{"age": 18}],
    "guardian_consent_required": [{"age": 14}],
    "duplicate_column": [{"column": 3, "first": 2}],
    "duplicate_in_file": [
        {"first_row": 4, "matched_on": kind}
        for kind in ("id_document", "phone", "name_birth_phone")
    ],
    "duplicate_in_chain": [
        {"matched_on": kind} for kind in ("id_document", "phone", "name_birth_phone")
    ],
}
"""Parameters as the code passes them; a rule not listed renders with none."""

FIELD_RULES = sorted(
    rule
    for rule, by_locale in FULL.templates.items()
    if not rule.startswith(("term.", "field."))
    and any("{field}" in text for text in by_locale.values())
)

# ASCII word boundaries: 的 next to a path is a boundary, as a reader sees it
DOTTED = re.compile(r"\b[a-z_]+(?:\[\d+\])?\.[a-z_]+\b", re.ASCII)
SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b", re.ASCII)
TYPE_NAMES = re.compile(r"\b(?:str|int|bool|float|NoneType|datetime|dict|tuple)\b|YYYY", re.ASCII)
BYTES = re.compile(r"\d+\s*(?:bytes?|字节)|\b\d{5,}\b", re.ASCII)


def _rendered(rule: str) -> Iterator[tuple[str, Locale, str]]:
    for params in SAMPLE_PARAMS.get(rule, [{}]):
        for field in FIELDS:
            for locale in Locale:
                yield field, locale, FULL.render(rule, locale, field, params)


def test_the_forms_were_found() -> None:
    assert {"applicant.birth_date", "attachments[0].content", "amount_minor"} <= set(FIELDS)
    assert len(FIELDS) > 80
    assert len(FIELD_RULES) > 30


@pytest.mark.parametrize("field", FIELDS)
def test_every_field_of_every_form_has_a_label_in_both_languages(field: str) -> None:
    for locale in Locale:
        assert FULL.known_label(field, locale), (field, locale)


@pytest.mark.parametrize("rule", FIELD_RULES)
def test_every_message_for_every_field_speaks_in_words(rule: str) -> None:
    for field, locale, text in _rendered(rule):
        where = f"{rule} / {field} / {locale}: {text}"
        assert not DOTTED.search(text), where
        assert not SNAKE.search(text), where
        assert not TYPE_NAMES.search(text), where
        assert not BYTES.search(text), where
        assert "{" not in text, where
        assert field not in text or ("_" not in field and "." not in field), where


def test_the_checks_catch_what_the_issue_measured() -> None:
    """The patterns above do find the texts issue 14 quoted (so the test can fail)."""
    quoted = [
        "applicant.birth_date的类型应为a date (YYYY-MM-DD)。",
        "存在1条疑似重复记录；请核对后以allow_duplicates确认录取。",
        "此阶段需要提交id_proof类文件。",
        "attachments[0].content超过524288字节的上限。",
    ]
    for text in quoted:
        found = DOTTED.search(text) or SNAKE.search(text) or BYTES.search(text)
        assert found or TYPE_NAMES.search(text), text

"""Example branch plugin ``hongkong``: Hong Kong identity cards (香港身份证) and phone numbers.

Enabled per branch (``plugins = ["hongkong"]``), it is asked before the
default rules. It answers only for what is Hong Kong's and returns None for
everything else, so the default rules still handle mainland documents and
mobiles on the same branch:

* an ID document of type ``hkid`` is validated and normalised to
  ``A1234563`` (no parentheses) — the default rules refuse HKIDs;
* a phone written as a Hong Kong number (``+852``/``00852``/``852`` prefix, or
  exactly 8 digits) is validated and normalised to ``+85291234567``.
"""

from __future__ import annotations

from datetime import date

import attrs

from dossier.core.branch import Branch
from dossier.core.enums import IdDocumentType, Locale
from dossier.core.errors import Problem
from dossier.core.hookspecs import FieldCheck, FieldKind, hookimpl
from dossier.core.messages import Templates
from dossier.core.records import IdDocument
from dossier.core.rules import validators
from dossier.core.rules.validators import Invalid


def _check_hkid(path: str, document: IdDocument) -> FieldCheck:
    try:
        number = validators.hkid(document.number)
    except Invalid as invalid:
        return FieldCheck(document, (Problem(path, invalid.rule, invalid.params),))
    return FieldCheck(attrs.evolve(document, number=number))


def _check_phone(path: str, phone: str) -> FieldCheck:
    try:
        return FieldCheck(validators.hk_phone(phone))
    except Invalid as invalid:
        return FieldCheck(phone, (Problem(path, invalid.rule, invalid.params),))


@hookimpl
def dossier_check_field(
    branch: Branch, kind: FieldKind, path: str, value: object, today: date
) -> FieldCheck | None:
    """HKIDs and Hong Kong phone numbers; None (defer to the default rules) for anything else."""
    if (
        kind is FieldKind.ID_DOCUMENT
        and isinstance(value, IdDocument)
        and value.type is IdDocumentType.HKID
    ):
        return _check_hkid(path, value)
    if kind is FieldKind.PHONE and isinstance(value, str) and validators.looks_like_hk_phone(value):
        return _check_phone(path, value)
    return None


MESSAGES: Templates = {
    "hkid_format": {
        Locale.EN: "{field} is not a well-formed Hong Kong identity card number (like {expected}).",
        Locale.ZH_CN: "{field}不是格式正确的香港身份证号码（格式如{expected}）。",
    },
    "hkid_checksum": {
        Locale.EN: "{field}: the check digit of the Hong Kong identity card number is wrong.",
        Locale.ZH_CN: "{field}：香港身份证号码的校验位（括号内数字）不正确。",
    },
}


@hookimpl
def dossier_messages() -> Templates:
    return MESSAGES

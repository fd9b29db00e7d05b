"""Example branch plugin ``hongkong``: Hong Kong identity cards (香港身份证) and phone numbers.

Enabled per branch (``plugins = ["hongkong"]``), it is asked before the
default rules. It answers only for what is Hong Kong's and returns None for
everything else, so the default rules still handle mainland documents and
mobiles on the same branch:

* an ID document of type ``hkid`` is validated and normalised to
  ``A1234563`` (no parentheses) — the default rules refuse HKIDs;
* phones (the student's and the guardian's) go through the same library as the
  default rules (libphonenumber), read as Hong Kong numbers when written
  without a country code: ``9123 4567`` is ``+85291234567`` only because it is
  a valid Hong Kong mobile (``1234 5678`` is refused, and so are pagers). A
  mainland number written without ``+86`` (``138 0013 8000``, which cannot be a
  Hong Kong number) is read as mainland, since many students are; the hint
  shows a Hong Kong example whatever the branch's ``phone_region``.
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


HK = "HK"
MAINLAND = "CN"


def _check_phone(path: str, phone: str, *, mobile: bool) -> FieldCheck:
    try:
        return FieldCheck(validators.phone(phone, HK, mobile=mobile))
    except Invalid as invalid:
        if invalid.rule == "phone_format":
            try:
                return FieldCheck(validators.phone(phone, MAINLAND, mobile=mobile))
            except Invalid:
                pass
        return FieldCheck(phone, (Problem(path, invalid.rule, invalid.params),))


@hookimpl
def dossier_check_field(
    branch: Branch, kind: FieldKind, path: str, value: object, today: date
) -> FieldCheck | None:
    """HKIDs and phone numbers; None (defer to the default rules) for anything else."""
    if (
        kind is FieldKind.ID_DOCUMENT
        and isinstance(value, IdDocument)
        and value.type is IdDocumentType.HKID
    ):
        return _check_hkid(path, value)
    if kind in (FieldKind.PHONE, FieldKind.GUARDIAN_PHONE) and isinstance(value, str):
        return _check_phone(path, value, mobile=kind is FieldKind.PHONE)
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

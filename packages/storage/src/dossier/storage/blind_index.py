"""Blind indexes: equality look-ups on encrypted values (查重) without storing the values.

A blind index is HMAC-SHA256 over the *normalised* value, keyed with a
per-kind sub-key (HKDF) of the chain-wide index root key (see
`dossier.storage.keys`). The database holds only the digests, so it can
answer "which registrations share this ID number" across every branch, but
a digest cannot be reversed or checked against a guess without the key.

Normalisation makes equal things equal: Unicode NFKC, case folded, spacing
collapsed; phones keep their digits and a leading ``+`` (core's validation
already brings them to E.164); ID numbers drop spaces and hyphens and are
qualified by the document type.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from dossier.core.records import IdDocument, PersonalDetails
from dossier.storage import crypto

_SPACES = re.compile(r"\s+")
_NOT_PHONE = re.compile(r"[^0-9+]")
_ID_NOISE = re.compile(r"[\s\-]")


class IndexKind(StrEnum):
    ID_DOCUMENT = "id_document"
    PHONE = "phone"
    NAME_BIRTH_PHONE = "name_birth_phone"


IndexValue = IdDocument | str | tuple[str, date, str]
"""What each kind indexes: an `IdDocument`, a phone, or (name, birth date, phone)."""


def normalise_text(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def normalise_phone(phone: str) -> str:
    digits = _NOT_PHONE.sub("", unicodedata.normalize("NFKC", phone))
    return digits[:1] + digits[1:].replace("+", "")


def normalise_id(document: IdDocument) -> str:
    number = _ID_NOISE.sub("", unicodedata.normalize("NFKC", document.number)).upper()
    return f"{document.type.value}:{number}"


def normalise(kind: IndexKind, value: IndexValue) -> str:
    """The canonical text of ``value`` for ``kind``; `TypeError` if the value does not fit."""
    if kind is IndexKind.ID_DOCUMENT and isinstance(value, IdDocument):
        return normalise_id(value)
    if kind is IndexKind.PHONE and isinstance(value, str):
        return normalise_phone(value)
    if kind is IndexKind.NAME_BIRTH_PHONE and isinstance(value, tuple):
        name, birth, phone = value
        return "\x1f".join((normalise_text(name), birth.isoformat(), normalise_phone(phone)))
    raise TypeError(f"a {kind.value} index takes a different kind of value")


def values_of(person: PersonalDetails) -> dict[IndexKind, IndexValue]:
    """The indexed values of an applicant or student."""
    return {
        IndexKind.ID_DOCUMENT: person.id_document,
        IndexKind.PHONE: person.phone,
        IndexKind.NAME_BIRTH_PHONE: (person.name, person.birth_date, person.phone),
    }


class BlindIndexer:
    """Computes blind-index digests under the chain's index root key."""

    def __init__(self, root_key: bytes) -> None:
        self._keys = {
            kind: crypto.derive_key(root_key, f"dossier/blind-index/{kind.value}")
            for kind in IndexKind
        }

    def digest(self, kind: IndexKind, value: IndexValue) -> str:
        return crypto.keyed_hash(self._keys[kind], normalise(kind, value).encode("utf-8"))

    def digests(self, person: PersonalDetails) -> dict[IndexKind, str]:
        return {kind: self.digest(kind, value) for kind, value in values_of(person).items()}

"""Which dossier fields a change request (信息变更) may touch, and how a change is applied.

Paths are dotted (``personal.phone``); values travel as text and are parsed
here. Applying is pure: it returns a new dossier and never touches one that
is not an approved field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import attrs

from dossier.core.enums import Gender, IdDocumentType
from dossier.core.errors import Problem
from dossier.core.hookspecs import FieldKind
from dossier.core.records import FieldChange, Guardian, IdDocument, StudentDossier

CHANGEABLE: Mapping[str, FieldKind] = {
    "personal.name": FieldKind.PERSON_NAME,
    "personal.birth_date": FieldKind.BIRTH_DATE,
    "personal.id_document": FieldKind.ID_DOCUMENT,
    "personal.phone": FieldKind.PHONE,
    "personal.email": FieldKind.EMAIL,
    "personal.address": FieldKind.ADDRESS,
    "personal.passport_name": FieldKind.PASSPORT_NAME,
    "personal.gender": FieldKind.FREE_TEXT,
    "guardian.name": FieldKind.PERSON_NAME,
    "guardian.relation": FieldKind.FREE_TEXT,
    "guardian.phone": FieldKind.GUARDIAN_PHONE,
    "needs.target_language": FieldKind.FREE_TEXT,
    "needs.current_level": FieldKind.FREE_TEXT,
    "needs.goals": FieldKind.FREE_TEXT,
    "needs.preferred_schedule": FieldKind.FREE_TEXT,
}
"""Every field a change request may name, with the kind of value it holds."""

OPTIONAL = frozenset({"personal.email", "personal.address", "personal.passport_name"})


def parse_value(path: str, text: str | None) -> tuple[object, list[Problem]]:
    """Turn the submitted text into the field's type (a date, an `IdDocument`…)."""
    if text is None or text == "":
        return None, [] if path in OPTIONAL else [Problem(path, "required")]
    if path == "personal.birth_date":
        try:
            return date.fromisoformat(text), []
        except ValueError:
            return None, [Problem(path, "invalid_date")]
    if path == "personal.gender":
        if text not in {g.value for g in Gender}:
            allowed = ", ".join(g.value for g in Gender)
            return None, [Problem(path, "not_allowed_value", {"allowed": allowed})]
        return Gender(text), []
    if path == "personal.id_document":
        kind, _, number = text.partition(":")
        if kind not in {t.value for t in IdDocumentType} or not number:
            return None, [Problem(path, "wrong_type", {"expected": "id_document_text"})]
        return IdDocument(type=IdDocumentType(kind), number=number), []
    return text, []


def current_value(dossier: StudentDossier, path: str) -> object:
    group, _, name = path.partition(".")
    holder: Any = {
        "personal": dossier.personal,
        "guardian": dossier.guardian,
        "needs": dossier.needs,
    }[group]
    return None if holder is None else getattr(holder, name)


def render_value(value: object) -> str | None:
    """The text form of a field value, as `FieldChange.before`/`after` hold it."""
    if value is None:
        return None
    if isinstance(value, IdDocument):
        return f"{value.type.value}:{value.number}"
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def apply_changes(
    dossier: StudentDossier, values: Mapping[str, object], *, bump: bool = True
) -> StudentDossier:
    """A new dossier with ``values`` (path → parsed value) set; the version bumped once."""
    groups: dict[str, dict[str, Any]] = {}
    for path, value in values.items():
        if path not in CHANGEABLE:
            raise KeyError(path)
        group, _, name = path.partition(".")
        groups.setdefault(group, {})[name] = value
    updates: dict[str, Any] = {}
    builders: dict[str, Callable[[dict[str, Any]], object]] = {
        "personal": lambda fields: attrs.evolve(dossier.personal, **fields),
        "needs": lambda fields: attrs.evolve(dossier.needs, **fields),
        "guardian": lambda fields: _guardian(dossier.guardian, fields),
    }
    for group, fields in groups.items():
        updates[group] = builders[group](fields)
    version = dossier.version + 1 if bump else dossier.version
    return attrs.evolve(dossier, version=version, **updates)


def _guardian(current: Guardian | None, fields: dict[str, Any]) -> Guardian:
    if current is None:
        return Guardian(**{"name": "", "relation": "", "phone": "", **fields})
    return attrs.evolve(current, **fields)


def describe_changes(
    dossier: StudentDossier,
    requested: Iterable[FieldChange],
    values: Mapping[str, object] | None = None,
) -> tuple[FieldChange, ...]:
    """The requested changes with ``before`` read from ``dossier`` and, where ``values`` (path →
    parsed, normalised value) has the path, ``after`` rendered from it."""
    return tuple(
        FieldChange(
            field=change.field,
            before=render_value(current_value(dossier, change.field)),
            after=render_value(values[change.field])
            if values is not None and change.field in values
            else change.after,
        )
        for change in requested
    )


def changed_paths(changes: Iterable[FieldChange]) -> tuple[str, ...]:
    return tuple(change.field for change in changes)

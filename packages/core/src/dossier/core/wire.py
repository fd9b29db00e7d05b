"""The wire format: one private cattrs converter (orjson preconf) for commands and events.

Unions of commands and of events are tagged by their ``type`` class variable.
Structuring is strict — unknown keys, wrong JSON types (``"5"`` for a number,
``1`` for a boolean) and malformed JSON are refused — and every problem is
reported as a `Problem` with its field path, never as a cattrs message
(which could echo the submitted value).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum, StrEnum
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.preconf.orjson import OrjsonConverter, make_converter
from cattrs.strategies import configure_tagged_union

from dossier.core.commands import ALL_COMMANDS, Command
from dossier.core.errors import Problem, ValidationError
from dossier.core.events import ALL_EVENTS, DomainEvent

T = TypeVar("T")
TAG = "type"

_EXPECTED: Mapping[type, str] = {
    str: "text",
    int: "an integer",
    bool: "true or false",
    float: "a number",
    date: "a date (YYYY-MM-DD)",
    datetime: "a timestamp with time zone (ISO 8601)",
}


class _NulCharacter(ValueError):
    """A NUL in a string: no field takes one, and PostgreSQL cannot even store it."""


def _strict(kind: type) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind and not (kind is float and type(value) is int):
            raise TypeError(kind.__name__)
        if isinstance(value, str) and "\x00" in value:
            raise _NulCharacter
        return value

    return structure


def _enum(value: Any, kind: type[Enum]) -> Enum:
    if not isinstance(value, str):
        raise TypeError(kind.__name__)
    return kind(value)


def _aware_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("datetime")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive datetime")
    return parsed


def _date(value: Any, _: Any) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise TypeError("date")
    return date.fromisoformat(value)


def _is_homogeneous_tuple(kind: Any) -> bool:
    args = get_args(kind)
    return get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis


def _list_only_tuple(kind: Any, converter: Any) -> Any:
    """A JSON array and nothing else becomes a tuple: a string is not a list of letters."""
    inner = homogenous_tuple_structure_factory(kind, converter)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError("list")
        return inner(value, kind)

    return structure


def _build() -> OrjsonConverter:
    converter = make_converter(forbid_extra_keys=True, detailed_validation=True)
    for kind in (str, int, bool, float):
        converter.register_structure_hook(kind, _strict(kind))
    for enum_base in (StrEnum, Enum):  # StrEnum precedes str in its members' MRO
        converter.register_structure_hook(enum_base, _enum)
    converter.register_structure_hook_factory(_is_homogeneous_tuple, _list_only_tuple)
    converter.register_structure_hook(datetime, _aware_datetime)
    converter.register_structure_hook(date, _date)
    converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
    converter.register_unstructure_hook(date, lambda value: value.isoformat())
    for members in (ALL_COMMANDS, ALL_EVENTS):
        union: Any = Union[members]  # noqa: UP007 - a runtime union of a tuple of classes
        configure_tagged_union(union, converter, tag_generator=_tag_of, tag_name=TAG)
    for cls in (*ALL_COMMANDS, *ALL_EVENTS):
        _register_tagged(converter, cls)
    return converter


def _tag_of(cls: type) -> str:
    return str(getattr(cls, TAG))


def _register_tagged(converter: OrjsonConverter, cls: type) -> None:
    """Each command/event serialises with its ``type`` tag, and accepts it back."""
    plain_unstructure: Any = converter.gen_unstructure_attrs_fromdict(cls)
    plain_structure: Any = converter.gen_structure_attrs_fromdict(cls)
    tag = _tag_of(cls)

    def unstructure(value: Any) -> dict[str, Any]:
        return {TAG: tag, **plain_unstructure(value)}

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError("object")
        body = dict(value)
        if body.pop(TAG, tag) != tag:
            raise ValidationError([Problem(TAG, "not_allowed_value", {"allowed": tag})])
        return plain_structure(body, cls)

    converter.register_unstructure_hook(cls, unstructure)
    converter.register_structure_hook(cls, structure)


_CONVERTER = _build()
COMMAND: Any = Union[ALL_COMMANDS]  # noqa: UP007
EVENT: Any = Union[ALL_EVENTS]  # noqa: UP007


def unstructure(value: Any) -> Any:
    return _CONVERTER.unstructure(value)


def dumps(value: Any) -> bytes:
    return _CONVERTER.dumps(value)


def structure(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from parsed JSON, or raise `ValidationError` listing every problem."""
    try:
        return _CONVERTER.structure(data, cls)
    except Exception as exc:  # every failure becomes field problems, never a traceback
        fallback = Problem("body", "wrong_type", {"expected": "an object"})
        raise ValidationError(_problems(exc, "", cls) or [fallback]) from None


def loads(raw: bytes | str, cls: type[T]) -> T:
    try:
        data = _CONVERTER.loads(raw, Any)
    except ValueError:  # orjson.JSONDecodeError
        raise ValidationError([Problem("body", "malformed_json")]) from None
    return structure(data, cls)


def _check_tag(data: Any, classes: tuple[type, ...]) -> None:
    tags = [_tag_of(cls) for cls in classes]
    if not isinstance(data, dict):
        raise ValidationError([Problem("body", "wrong_type", {"expected": "an object"})])
    if data.get(TAG) not in tags:
        raise ValidationError([Problem(TAG, "not_allowed_value", {"allowed": ", ".join(tags)})])


def command_from(data: Any) -> Command:
    _check_tag(data, ALL_COMMANDS)
    return structure(data, COMMAND)  # type: ignore[no-any-return]


def event_from(data: Any) -> DomainEvent:
    _check_tag(data, ALL_EVENTS)
    return structure(data, EVENT)  # type: ignore[no-any-return]


def _join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _problems(exc: BaseException, path: str, expected: Any) -> list[Problem]:
    where = path or "body"
    if isinstance(exc, ValidationError):
        return list(exc.problems())
    if isinstance(exc, ForbiddenExtraKeysError):
        return [Problem(_join(path, key), "unknown_field") for key in sorted(exc.extra_fields)]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        found: list[Problem] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                found += _problems(sub, _join(path, note.name), note.type)
            elif isinstance(note, IterableValidationNote):
                found += _problems(sub, _join(path, note.index), note.type)
        for sub in without:
            found += _problems(sub, path, expected)
        return found
    if isinstance(exc, KeyError):
        return [Problem(where, "required")]
    if isinstance(exc, _NulCharacter):
        return [Problem(where, "control_characters")]
    attribute = next((a for a in getattr(exc, "args", ()) if isinstance(a, attrs.Attribute)), None)
    if attribute is not None:
        return [Problem(_join(path, attribute.name), "invalid_value")]
    expected = _without_none(expected)
    if isinstance(expected, type) and issubclass(expected, Enum):
        allowed = ", ".join(str(m.value) for m in expected)
        return [Problem(where, "not_allowed_value", {"allowed": allowed})]
    name = _expected_name(expected)
    if isinstance(exc, ValueError) and name is None:
        return [Problem(where, "invalid_value")]
    return [Problem(where, "wrong_type", {"expected": name or "another type"})]


def _without_none(kind: Any) -> Any:
    """``T | None`` → ``T``: a wrong value for an optional field is judged against ``T``."""
    args = [arg for arg in get_args(kind) if arg is not type(None)]
    if get_origin(kind) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return kind


def _expected_name(kind: Any) -> str | None:
    if get_origin(kind) is tuple:
        return "a list"
    if isinstance(kind, type):
        if kind in _EXPECTED:
            return _EXPECTED[kind]
        if attrs.has(kind):
            return "an object"
    return None

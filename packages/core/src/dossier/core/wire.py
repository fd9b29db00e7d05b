"""The wire format: one private cattrs converter (orjson preconf) for commands and events.

Unions of commands and of events are tagged by their ``type`` class variable.
Structuring is strict — unknown keys, wrong JSON types (``"5"`` for a number,
``1`` for a boolean) and malformed JSON are refused — and every problem is
reported as a `Problem` with its field path, never as a cattrs message
(which could echo the submitted value).

A body that fails its shape raises `ShapeError`: besides its problems it
carries a `Partial`, the body's fields that did have their shape, so the
rules can still check those and one answer lists every problem
(`dossier.core.shape`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
UNKNOWN_FIELD = "unknown_field"

Path = tuple[str | int, ...]
"""A field's place in the body: keys and list indexes (``("changes", 2, "after")``)."""

_EXPECTED: Mapping[type, str] = {
    str: "text",
    int: "integer",
    bool: "boolean",
    float: "number",
    date: "date",
    datetime: "timestamp",
}
"""The ``expected`` parameter of ``wrong_type`` by type: a term of the message catalogue
(``date`` renders as 日期（如 2008-05-17）/ a date such as 2008-05-17)."""


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


def _build(*, strict_keys: bool = True) -> OrjsonConverter:
    converter = make_converter(forbid_extra_keys=strict_keys, detailed_validation=True)
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
_ANSWERS = _build(strict_keys=False)
"""Reads what a service answered: like `_CONVERTER`, but a key the reader does not know is
skipped, so a client keeps working when a newer service adds a field to a view (or a
branch edge answers with a receipt of its own)."""
COMMAND: Any = Union[ALL_COMMANDS]  # noqa: UP007
EVENT: Any = Union[ALL_EVENTS]  # noqa: UP007


def unstructure(value: Any) -> Any:
    return _CONVERTER.unstructure(value)


def dumps(value: Any) -> bytes:
    return _CONVERTER.dumps(value)


def structure(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from parsed JSON, or raise `ShapeError` listing every problem."""
    try:
        return _CONVERTER.structure(data, cls)
    except Exception as exc:  # every failure becomes field problems, never a traceback
        fallback = Problem("body", "wrong_type", {"expected": "object"})
        raise ShapeError(_located(exc, (), cls) or [((), fallback)], data, cls) from None


def read_answer(data: Any, cls: type[T]) -> T:
    """A service's answer (parsed JSON) as the view ``cls``; unknown keys are skipped."""
    try:
        return _ANSWERS.structure(data, cls)
    except Exception as exc:
        fallback = Problem("body", "wrong_type", {"expected": "object"})
        raise ShapeError(_located(exc, (), cls) or [((), fallback)], data, cls) from None


def loads(raw: bytes | str, cls: type[T]) -> T:
    try:
        data = _CONVERTER.loads(raw, Any)
    except ValueError:  # orjson.JSONDecodeError
        raise ValidationError([Problem("body", "malformed_json")]) from None
    return structure(data, cls)


def _check_tag(data: Any, classes: tuple[type, ...]) -> None:
    tags = [_tag_of(cls) for cls in classes]
    if not isinstance(data, dict):
        raise ValidationError([Problem("body", "wrong_type", {"expected": "object"})])
    if data.get(TAG) not in tags:
        raise ValidationError([Problem(TAG, "not_allowed_value", {"allowed": ", ".join(tags)})])


def command_from(data: Any) -> Command:
    _check_tag(data, ALL_COMMANDS)
    return structure(data, COMMAND)  # type: ignore[no-any-return]


def event_from(data: Any) -> DomainEvent:
    _check_tag(data, ALL_EVENTS)
    return structure(data, EVENT)  # type: ignore[no-any-return]


class ShapeError(ValidationError):
    """The body did not have its shape: its problems, and the `Partial` that did."""

    def __init__(self, located: Sequence[tuple[Path, Problem]], data: Any, cls: type) -> None:
        super().__init__(problem for _, problem in located)
        unknown = [at for at, problem in located if problem.rule == UNKNOWN_FIELD]
        failed = {at for at, problem in located if problem.rule != UNKNOWN_FIELD}
        for at in unknown:
            data = _without(data, at)
        self.partial = Partial(data, cls, frozenset(failed))


class Partial:
    """What a body that failed its shape still offers the rules: the fields that had theirs.

    Unknown keys are left out. A field is *well-shaped* when neither it, nor a
    field inside it, nor a field around it failed; only well-shaped fields are
    given out, structured as strictly as `structure` would, so a rule whose
    field failed its shape is skipped while every other rule still runs.
    """

    def __init__(self, data: Any, cls: type, failed: frozenset[Path]) -> None:
        self.data = data
        self.cls = cls
        self.failed = failed
        """The places of the shape problems (unknown keys aside); ``()`` is the whole body."""

    def ok(self, path: str) -> bool:
        """Whether the field at ``path`` (``applicant.phone``, ``changes[2]``) is well-shaped."""
        at = place_of(path)
        return not any(_related(at, failed) for failed in self.failed)

    def get(self, path: str, kind: type[T]) -> T | None:
        """The well-shaped value at ``path`` as ``kind``; None if it failed, is absent or null."""
        if not self.ok(path):
            return None
        value = _found(self.data, place_of(path))
        if value is None:
            return None
        try:
            return _CONVERTER.structure(value, kind)
        except Exception:  # not well-shaped after all (the failure was reported elsewhere)
            return None

    def items(self, path: str, kind: type[T]) -> list[tuple[int, T]]:
        """The well-shaped elements of the list at ``path``, by index; the others are skipped."""
        at = place_of(path)
        if any(failed == at[: len(failed)] for failed in self.failed):
            return []  # the list itself, or what holds it, failed
        found = _found(self.data, at)
        if not isinstance(found, list):
            return []
        return [
            (index, value)
            for index in range(len(found))
            if (value := self.get(f"{path}[{index}]", kind)) is not None
        ]

    def whole(self) -> Any:
        """The body, when unknown keys were its only problems (they are left out); else None."""
        return None if self.failed else self.get("", self.cls)


_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def place_of(path: str) -> Path:
    """``changes[2].after`` → ``("changes", 2, "after")``: the place a problem's field names."""
    return tuple(int(index) if index else name for index, name in _STEP.findall(path))


def _related(a: Path, b: Path) -> bool:
    """One place holds the other (or they are the same)."""
    return a[: len(b)] == b or b[: len(a)] == a


def _found(data: Any, at: Path) -> Any:
    for step in at:
        in_list = isinstance(step, int) and isinstance(data, list) and 0 <= step < len(data)
        in_object = isinstance(step, str) and isinstance(data, dict) and step in data
        if not (in_list or in_object):
            return None
        data = data[step]
    return data


def _without(data: Any, at: Path) -> Any:
    """``data`` without the key at ``at``; copies only what holds it."""
    if not at:
        return data
    step, rest = at[0], at[1:]
    if isinstance(data, dict) and isinstance(step, str) and step in data:
        copy = dict(data)
        if rest:
            copy[step] = _without(data[step], rest)
        else:
            del copy[step]
        return copy
    if isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data) and rest:
        items = list(data)
        items[step] = _without(data[step], rest)
        return items
    return data


def _join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _text(at: Path) -> str:
    path = ""
    for step in at:
        path = _join(path, step)
    return path


def _located(exc: BaseException, at: Path, expected: Any) -> list[tuple[Path, Problem]]:
    """Every problem of a structuring failure, with the place in the body it belongs to."""
    path = _text(at)
    where = path or "body"
    if isinstance(exc, ValidationError):  # raised by a hook: the whole value at ``at`` failed
        return [(at, problem) for problem in exc.problems()]
    if isinstance(exc, ForbiddenExtraKeysError):
        return [
            ((*at, key), Problem(_join(path, key), UNKNOWN_FIELD))
            for key in sorted(exc.extra_fields)
        ]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        found: list[tuple[Path, Problem]] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, AttributeValidationNote):
                found += _located(sub, (*at, note.name), note.type)
            elif isinstance(note, IterableValidationNote):
                found += _located(sub, (*at, note.index), note.type)
        for sub in without:
            found += _located(sub, at, expected)
        return found
    if isinstance(exc, KeyError):
        return [(at, Problem(where, "required"))]
    if isinstance(exc, _NulCharacter):
        return [(at, Problem(where, "control_characters"))]
    attribute = next((a for a in getattr(exc, "args", ()) if isinstance(a, attrs.Attribute)), None)
    if attribute is not None:
        return [((*at, attribute.name), Problem(_join(path, attribute.name), "invalid_value"))]
    expected = _without_none(expected)
    if isinstance(expected, type) and issubclass(expected, Enum):
        allowed = ", ".join(str(m.value) for m in expected)
        return [(at, Problem(where, "not_allowed_value", {"allowed": allowed}))]
    name = _expected_name(expected)
    if isinstance(exc, ValueError) and name is None:
        return [(at, Problem(where, "invalid_value"))]
    return [(at, Problem(where, "wrong_type", {"expected": name or "another_type"}))]


def _without_none(kind: Any) -> Any:
    """``T | None`` → ``T``: a wrong value for an optional field is judged against ``T``."""
    args = [arg for arg in get_args(kind) if arg is not type(None)]
    if get_origin(kind) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return kind


def _expected_name(kind: Any) -> str | None:
    if get_origin(kind) is tuple:
        return "list"
    if isinstance(kind, type):
        if kind in _EXPECTED:
            return _EXPECTED[kind]
        if attrs.has(kind):
            return "object"
    return None

"""JSON Schema (2020-12) of every request and view, generated from the attrs classes.

Written here rather than taken from a library: the schema must say exactly
what `dossier.core.wire` accepts — strict types, unknown keys refused, enums
by value, dates as ``YYYY-MM-DD``, timestamps with a zone, tuples as arrays,
``X | None`` as nullable — and no maintained library reads attrs classes
with cattrs' conventions (pydantic reads dataclasses, not attrs; the
attrs-jsonschema projects are unmaintained). It is ~150 lines of plain
recursion over ``attrs.fields`` and ``typing.get_type_hints``.

Each schema is self-contained: nested classes live under ``$defs`` and are
referenced by name, so a client in another language can take one schema
from ``$SRV.INFO`` and validate or build a body with it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, Union, get_args, get_origin

import attrs

from dossier.core.commands import ALL_COMMANDS
from dossier.core.contracts.base import Contract
from dossier.core.events import ALL_EVENTS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SCALARS: Mapping[type, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    date: {"type": "string", "format": "date"},
    datetime: {"type": "string", "format": "date-time"},
    bytes: {"type": "string", "contentEncoding": "base64"},
}


_TAGGED = frozenset((*ALL_COMMANDS, *ALL_EVENTS))


class _Builder:
    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.defs: dict[str, dict[str, Any]] = {}

    def of(self, kind: Any) -> dict[str, Any]:
        if kind is Any or kind is object:
            return {}
        if kind in _SCALARS:
            return dict(_SCALARS[kind])
        if isinstance(kind, type) and issubclass(kind, Enum):
            return self._ref(kind, lambda: {"type": "string", "enum": [m.value for m in kind]})
        if isinstance(kind, type) and attrs.has(kind):
            return self._ref(kind, lambda: self._object(kind))
        origin = get_origin(kind)
        args = get_args(kind)
        if origin in (Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            inner = (
                self.of(options[0])
                if len(options) == 1
                else {"anyOf": [self.of(a) for a in options]}
            )
            if len(options) == len(args):
                return inner
            return {"anyOf": [inner, {"type": "null"}]}
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.of(args[0])}
            return {"type": "array", "prefixItems": [self.of(a) for a in args], "items": False}
        if origin in (list, frozenset, set) or origin is typing.Sequence:
            return {"type": "array", "items": self.of(args[0]) if args else {}}
        if origin in (dict, Mapping) or origin is typing.Mapping:
            value = self.of(args[1]) if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": value}
        if origin is typing.Literal:
            return {"enum": list(args)}
        raise TypeError(f"no JSON Schema for {kind!r}")

    def _ref(self, kind: type, build: Any) -> dict[str, Any]:
        name = kind.__name__
        if name not in self.defs:
            self.defs[name] = {}  # a placeholder first: recursive types refer to themselves
            self.defs[name] = build()
        return {"$ref": f"#/$defs/{name}"}

    def _object(self, kind: type) -> dict[str, Any]:
        hints = typing.get_type_hints(kind)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(kind):
            name = field.alias or field.name
            properties[name] = self.of(hints[field.name])
            if field.default is attrs.NOTHING:
                required.append(name)
        if kind in _TAGGED:  # commands and events carry their ``type`` (optional in requests)
            properties = {"type": {"const": kind.type}, **properties}  # type: ignore[attr-defined]
            if kind in ALL_EVENTS:
                required.insert(0, "type")
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        if self.strict:
            out["additionalProperties"] = False
        doc = (kind.__doc__ or "").strip()
        if doc:
            out["description"] = " ".join(doc.split("\n\n", 1)[0].split())
        return out


def schema_of(kind: type, *, strict: bool = True) -> dict[str, Any]:
    """The JSON Schema of one attrs class: ``strict`` refuses unknown keys (requests are read
    strictly; views may grow new keys, so their schemas allow them)."""
    builder = _Builder(strict=strict)
    root = builder.of(kind)
    name = kind.__name__
    body = builder.defs.pop(name) if root == {"$ref": f"#/$defs/{name}"} else root
    out: dict[str, Any] = {"$schema": DIALECT, "title": name, **body}
    if builder.defs:
        out["$defs"] = builder.defs
    return out


def request_schema(contract: Contract) -> dict[str, Any]:
    return schema_of(contract.request, strict=True)


def response_schema(contract: Contract) -> dict[str, Any]:
    return schema_of(contract.result, strict=False)


ERROR_SCHEMA: dict[str, Any] = {
    "$schema": DIALECT,
    "title": "Error",
    "description": "Every failed request's body; the status is also in the "
    "Nats-Service-Error-Code header.",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id", "problems"],
            "properties": {
                "code": {"type": "string", "description": "stable code (docs/errors.md)"},
                "message": {"type": "string", "description": "in the request's locale"},
                "request_id": {"type": "string"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "rule", "message"],
                        "properties": {
                            "field": {"type": "string", "description": "path in the body"},
                            "rule": {"type": "string", "description": "stable rule code"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
"""The structured error of every endpoint (`dossier.messaging.replies.error_body`)."""

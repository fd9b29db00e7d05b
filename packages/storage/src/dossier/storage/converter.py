"""The storage boundary's own cattrs converter (never the global one).

It turns the personal parts of records into JSON bytes before they are sealed,
and back. Dates and timestamps travel as ISO 8601 text, enums as their values.
"""

from __future__ import annotations

from typing import Any, TypeVar

from cattrs.preconf.orjson import OrjsonConverter, make_converter

T = TypeVar("T")

_converter: OrjsonConverter = make_converter()


def to_json(value: Any) -> bytes:
    return _converter.dumps(value)


def from_json(data: bytes, cls: type[T]) -> T:
    return _converter.loads(data, cls)


def unstructure(value: Any) -> Any:
    return _converter.unstructure(value)

"""Hostile request bodies for every endpoint, as Hypothesis strategies, and the fuzzer's counts.

`payloads(example_body, max_bytes)` mixes: raw bytes (invalid UTF-8 among
them), random JSON of any shape, deep nesting, oversize bodies, and mutations
of a valid body — one leaf replaced by an SQL or template injection, control
and bidi characters, a huge string, a wrong type; a key dropped or an unknown
one added; a document's media type or content swapped. `STATS` counts what
ran (``bench/reliability.py`` can read it after a run).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from hypothesis import strategies as st

SQL = (
    "' OR '1'='1",
    "'; DROP TABLE students; --",
    '" OR 1=1 --',
    "1; SELECT pg_sleep(10); --",
    "%' AND 1=1 --",
    "$$; DELETE FROM audit_log; $$",
    "SH01-26-000001-X' UNION SELECT personal_ct FROM students --",
    "\\'; TRUNCATE outbox; --",
)
TEMPLATE = (
    "{{7*7}}",
    "${7*7}",
    "{student_number}",
    "{token}",
    "{0.__class__.__mro__}",
    "%s%s%s%n",
    "<%= 7*7 %>",
    "#{7*7}",
    "{field}{max}{",
    "}{",
)
CONTROL = (
    "\x00",
    "a\x00b",
    "\x07\x08\x1b[2J",
    "line\r\nInjected: header",
    '\n{"level":"error","message":"forged"}',
    "\u202eevil\u202c",
    "\u2066isolate\u2069",
    "\u200b\u200c\u200d",
    "\ufeffbom",
    "\uffff\U0010ffff",
    "\u0085\u2028\u2029",
)
MARKUP = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "../../../../etc/passwd",
    "students/../../backups/x",
    "C:\\Windows\\System32",
    "=cmd|' /C calc'!A0",
)
ODD = (
    "",
    " ",
    "ＳＨ０１",
    "İıßﬁ",
    "NaN",
    "1e309",
    "-0",
    "99999999999999999999999999",
    "null",
    "true",
    "SH01-26-000001-X",
)
HOSTILE_TEXT = (*SQL, *TEMPLATE, *CONTROL, *MARKUP, *ODD)
WRONG_TYPES: tuple[Any, ...] = (
    None,
    0,
    -1,
    2**63,
    2**64 + 1,
    1.5,
    1e308,
    True,
    False,
    [],
    [1, "a"],
    {},
    {"type": "x"},
    "",
)
MEDIA_TYPES = (
    "text/html",
    "application/x-msdownload",
    "application/pdf; charset=\u202e",
    "image/png\r\nX: y",
    "*/*",
    "",
    "image/" + "p" * 300,
)
CONTENTS = (
    "not base64 !!!",
    base64.b64encode(b"<html><script>alert(1)</script></html>").decode(),
    base64.b64encode(b"MZ\x90\x00" + b"\x00" * 60).decode(),
    base64.b64encode(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").decode(),
    "====",
    "",
)


CORPUS = (
    "'; DROP TABLE students; --",
    "{{7*7}}${7*7}{student_number}",
    "a\x00b\x1b[2J",
    "\u202eevil\u2066",
    "",
    "X" * 300,
    "界" * 30_000,
)
"""What every text field of every endpoint gets, whatever Hypothesis draws: an injection of
each kind, NUL and control characters, bidi overrides, nothing, too long for any column,
and too large for most endpoints."""


def corpus(example: dict[str, Any]) -> Iterator[bytes]:
    """``example`` with each text field in turn replaced by each `CORPUS` string."""
    for path, value in leaves(example):
        if path and path != ("type",) and isinstance(value, str):
            for text in CORPUS:
                yield _dumps(replaced(example, path, text))


@dataclass
class FuzzStats:
    """What the fuzzer sent and what came back, over the whole run."""

    cases: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    by_verb: Counter[str] = field(default_factory=Counter)
    accepted_changes: int = 0
    rejected_checked: int = 0
    failures: list[str] = field(default_factory=list)

    def record(self, verb: str, code: str) -> None:
        self.cases += 1
        self.by_code[code] += 1
        self.by_verb[verb] += 1


STATS = FuzzStats()


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of a JSON document, containers included."""
    yield path, value
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from leaves(inner, (*path, index))


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    if isinstance(document, dict):
        return {**document, head: replaced(document[head], tuple(rest), new)}
    copy = list(document)
    copy[head] = replaced(copy[head], tuple(rest), new)
    return copy


def removed(document: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        if isinstance(document, dict):
            return {k: v for k, v in document.items() if k != path[0]}
        return [v for i, v in enumerate(document) if i != path[0]]
    head, *rest = path
    return replaced(document, (head,), removed(document[head], tuple(rest)))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(HOSTILE_TEXT),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # integers beyond 64 bits: the standard library writes them
        return json.dumps(value, ensure_ascii=False).encode()


def _with_invalid_utf8(data: bytes, position: int, junk: bytes) -> bytes:
    position %= max(len(data), 1)
    return data[:position] + junk + data[position:]


def payloads(example: dict[str, Any], max_bytes: int) -> st.SearchStrategy[bytes]:
    """Hostile bodies around ``example`` (a valid body) for an endpoint of ``max_bytes``."""
    valid = _dumps(example)
    paths = [p for p, _ in leaves(example) if p and p != ("type",)]
    text_paths = [p for p, v in leaves(example) if p and isinstance(v, str) and p != ("type",)]
    hostile = (
        st.sampled_from(HOSTILE_TEXT)
        | st.text(min_size=1, max_size=200)
        | st.builds(
            lambda s, n: s * n,
            st.sampled_from(["A", "界", "\u202e", "'"]),
            st.integers(1000, 30_000),
        )
    )
    strategies: list[st.SearchStrategy[bytes]] = [
        st.binary(max_size=300),
        st.builds(
            _with_invalid_utf8,
            st.just(valid),
            st.integers(0, 10_000),
            st.sampled_from(
                [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x00"]
            ),
        ),
        JSON.map(_dumps),
        st.dictionaries(st.sampled_from([*example, "type", "extra"]), JSON, max_size=6).map(_dumps),
        st.integers(2, 4000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(2, 2000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.just(valid + b" trailing"),
        st.just(b'{"type": "' + b"x" * (max_bytes + 1) + b'"}'),
        st.just(b""),
        st.just(b"null"),
        st.just(b'"\\ud800"'),
    ]
    if paths:
        strategies += [
            st.builds(
                replaced, st.just(example), st.sampled_from(paths), st.sampled_from(WRONG_TYPES)
            ).map(_dumps),
            st.builds(removed, st.just(example), st.sampled_from(paths)).map(_dumps),
            st.builds(_nested_at, st.just(example), st.sampled_from(paths), st.integers(50, 3000)),
        ]
    if text_paths:
        strategies.append(
            st.builds(replaced, st.just(example), st.sampled_from(text_paths), hostile).map(_dumps)
        )
        strategies.append(  # every text field hostile at once
            st.lists(
                st.sampled_from(HOSTILE_TEXT), min_size=len(text_paths), max_size=len(text_paths)
            ).map(lambda texts: _dumps(_all_replaced(example, text_paths, texts)))
        )
    documents = [
        p for p, v in leaves(example) if isinstance(v, dict) and {"media_type", "content"} & set(v)
    ]
    if documents:  # a document's media type or content swapped, or far too large
        strategies.append(
            st.builds(
                _swapped,
                st.just(example),
                st.sampled_from(documents),
                st.sampled_from(MEDIA_TYPES),
                st.sampled_from(CONTENTS),
            )
        )
        strategies.append(
            st.builds(
                _swapped,
                st.just(example),
                st.sampled_from(documents),
                st.just("image/png"),
                st.just("A" * (max_bytes + 16)),
            )
        )
    return st.one_of(strategies)


def _swapped(example: Any, path: tuple[Any, ...], media_type: str, content: str) -> bytes:
    """The document at ``path`` with another media type and content (where it has them)."""
    document = dict(_at(example, path))
    for key, value in (("media_type", media_type), ("content", content)):
        if key in document:
            document[key] = value
    return _dumps(replaced(example, path, document))


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


NEST = "\u0000nest\u0000"


def _nested_at(example: Any, path: tuple[Any, ...], depth: int) -> bytes:
    """``example`` with the value at ``path`` replaced by arrays nested ``depth`` deep."""
    marker = orjson.dumps(NEST)
    return _dumps(replaced(example, path, NEST)).replace(marker, b"[" * depth + b"]" * depth)


def _all_replaced(example: Any, paths: list[tuple[Any, ...]], texts: list[str]) -> Any:
    out = example
    for path, text in zip(paths, texts, strict=True):
        out = replaced(out, path, text)
    return out

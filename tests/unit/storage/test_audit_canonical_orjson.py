"""`canonical` (orjson) writes the very bytes of the original ``json.dumps`` encoding."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.storage.audit import canonical

texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
"""Any text a database can hold (no lone surrogates)."""


def reference(entry: dict[str, Any]) -> bytes:
    doc = {name: value for name, value in entry.items() if name != "hash"}
    doc["at"] = doc["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(max_examples=400, deadline=None)
@given(
    actor=texts,
    subject=st.none() | texts,
    number=st.none() | texts,
    seq=st.integers(min_value=1, max_value=2**70),
    at=st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)),
    fields=st.lists(texts, max_size=4),
    hashes=st.dictionaries(texts, texts, max_size=4),
    odd=st.none() | st.floats(allow_nan=False) | st.booleans(),
)
def test_canonical_matches_json_dumps(
    actor: str,
    subject: str | None,
    number: str | None,
    seq: int,
    at: datetime,
    fields: list[str],
    hashes: dict[str, str],
    odd: float | bool | None,
) -> None:
    entry: dict[str, Any] = {
        "id": "e",
        "branch": "SH01",
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": "x",
        "student_number": number,
        "subject": subject,
        "fields": fields if odd is None else [*fields, odd],
        "value_hashes": hashes,
        "prev_hash": "0" * 64,
        "hash": "ignored",
    }
    assert canonical(entry) == reference(entry)

"""A declared SHA-256 must be the content's: damaged or swapped bytes are refused."""

from __future__ import annotations

import base64
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from dossier.core.attachments import Attachment, decode_attachment
from dossier.core.enums import DocumentKind

MAGIC = b"\x89PNG\r\n\x1a\n"


def attached(data: bytes, sha256: str | None) -> Attachment:
    return Attachment(
        kind=DocumentKind.ID_PROOF,
        media_type="image/png",
        content=base64.b64encode(data).decode(),
        sha256=sha256,
    )


@given(st.binary(max_size=2048), st.booleans())
def test_the_contents_own_hash_is_accepted_in_either_case(tail: bytes, upper: bool) -> None:
    data = MAGIC + tail
    digest = hashlib.sha256(data).hexdigest()
    decoded, problems = decode_attachment(attached(data, digest.upper() if upper else digest))
    assert (decoded, problems) == (data, [])


@given(st.binary(max_size=2048), st.text(max_size=80))
def test_any_other_declared_hash_is_refused_naming_the_field(tail: bytes, declared: str) -> None:
    data = MAGIC + tail
    if declared.lower() == hashlib.sha256(data).hexdigest():
        return
    decoded, problems = decode_attachment(attached(data, declared), "attachments[0]")
    assert decoded == b""
    assert [(p.field, p.rule) for p in problems] == [("attachments[0].sha256", "hash_mismatch")]


def test_no_declared_hash_checks_type_and_size_only() -> None:
    data = MAGIC + b"picture"
    assert decode_attachment(attached(data, None)) == (data, [])

"""Attachments (附件): documents uploaded with a form, checked before anything is stored.

A declared media type must be one Dossier accepts and must match the bytes
(magic numbers), so a script renamed ``photo.jpg`` is refused; size is capped.
A sender may declare the SHA-256 of the content it meant to send; bytes that do
not hash to it (damaged on the way, or swapped) are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from attrs import frozen

from dossier.core.enums import DocumentKind
from dossier.core.errors import Problem
from dossier.core.records import DocumentRef

MAX_ATTACHMENT_BYTES = 512 * 1024

MAGIC: Mapping[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
}
"""Accepted media types and the bytes their content must start with."""


@frozen(kw_only=True)
class Attachment:
    """A document as submitted: its kind, declared media type, and base64 content."""

    kind: DocumentKind
    media_type: str
    content: str
    sha256: str | None = None
    """Optional: the hex SHA-256 of the decoded content, as the sender computed it."""


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def decode_attachment(attachment: Attachment, path: str = "") -> tuple[bytes, list[Problem]]:
    """The attachment's bytes, or the problems that make it unacceptable (fields under ``path``)."""
    if attachment.media_type not in MAGIC:
        allowed = ", ".join(sorted(MAGIC))
        return b"", [Problem(_at(path, "media_type"), "not_allowed_value", {"allowed": allowed})]
    try:
        data = base64.b64decode(attachment.content, validate=True)
    except (binascii.Error, ValueError):
        return b"", [Problem(_at(path, "content"), "wrong_type", {"expected": "base64"})]
    if not data:
        return b"", [Problem(_at(path, "content"), "required")]
    if len(data) > MAX_ATTACHMENT_BYTES:
        return b"", [Problem(_at(path, "content"), "too_large", {"max": MAX_ATTACHMENT_BYTES})]
    if not data.startswith(MAGIC[attachment.media_type]) or (
        attachment.media_type == "image/webp" and data[8:12] != b"WEBP"
    ):
        return b"", [Problem(_at(path, "content"), "content_type_mismatch")]
    if attachment.sha256 is not None and not hmac.compare_digest(
        hashlib.sha256(data).hexdigest().encode(), attachment.sha256.lower().encode()
    ):
        return b"", [Problem(_at(path, "sha256"), "hash_mismatch")]
    return data, []


def reference(attachment: Attachment, data: bytes) -> DocumentRef:
    return DocumentRef(
        kind=attachment.kind,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        media_type=attachment.media_type,
    )

"""The object store contract shared by the local folder and S3 implementations.

Keys name objects inside a bucket and appear in error messages, so they must
never carry personal data: use student numbers and content hashes, not names.
Keys are ``/``-separated segments; empty, ``.`` and ``..`` segments, leading
or trailing ``/``, backslashes and control characters are refused by every
implementation, so the same keys work everywhere and nothing escapes a local
root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import BinaryIO, Protocol, runtime_checkable

from attrs import field, frozen

from dossier.core.errors import DossierError

MAX_KEY_BYTES = 1024
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_METADATA_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_FORBIDDEN_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@frozen
class ObjectInfo:
    """One version of an object (or a delete marker, in ``list_versions``).

    ``etag`` is an opaque content token: equal on one store means equal
    content, but it is not comparable across stores (SHA-256 locally, the
    server's ETag on S3). ``content_type``, ``metadata`` and ``retain_until``
    are filled by ``stat`` and ``put``; listings may leave them empty (S3 does).
    ``last_modified`` may be ``None`` on the result of ``put``.
    """

    key: str
    version_id: str | None
    size: int
    etag: str | None = None
    last_modified: datetime | None = None
    is_latest: bool = True
    is_delete_marker: bool = False
    content_type: str | None = None
    metadata: Mapping[str, str] = field(factory=dict, converter=_frozen_mapping)
    retain_until: datetime | None = None


class ObjectStoreError(DossierError):
    """An object store operation failed; ``reason`` is a short code, never data."""

    code = "object_store_error"
    rule = "object_store_error"
    status = 502

    def __init__(self, operation: str, reason: str, **params: str) -> None:
        self.operation = operation
        self.reason = reason
        super().__init__({"operation": operation, "reason": reason, **params})


class ObjectNotFound(ObjectStoreError):
    """No such object, version or bucket (a key whose latest version is a delete marker counts)."""

    code = "not_found"
    rule = "not_found"
    status = 404

    def __init__(self, bucket: str, key: str | None = None, *, kind: str = "object") -> None:
        self.bucket = bucket
        self.key = key
        self.ref = bucket if key is None else f"{bucket}/{key}"
        super().__init__("lookup", "not_found", kind=kind, ref=self.ref)


class BucketNotFound(ObjectNotFound):
    def __init__(self, bucket: str) -> None:
        super().__init__(bucket, kind="bucket")


class InvalidObjectKey(ObjectStoreError, ValueError):
    """A key or bucket name broke the naming rules; the message never repeats the name."""

    code = "invalid_object_key"
    rule = "invalid_object_key"
    status = 400

    def __init__(self, what: str, reason: str) -> None:
        super().__init__("validate", reason, what=what)


class IntegrityError(ObjectStoreError):
    """Stored bytes failed verification: wrong key, tampering, or corruption.

    ``ref`` names what failed (a content hash), never the content itself.
    """

    code = "integrity_error"
    rule = "integrity_error"
    status = 500

    def __init__(self, ref: str, reason: str) -> None:
        self.ref = ref
        super().__init__("verify", reason, ref=ref)


def validate_bucket(bucket: str) -> str:
    """Check an S3-style bucket name (3-63 of ``a-z0-9.-``), which is also a safe folder name."""
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise InvalidObjectKey("bucket", "must be 3-63 lowercase letters, digits, '.' or '-'")
    return bucket


def validate_key(key: str) -> str:
    if not key:
        raise InvalidObjectKey("key", "empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidObjectKey("key", "not valid Unicode") from None
    if size > MAX_KEY_BYTES:
        raise InvalidObjectKey("key", f"longer than {MAX_KEY_BYTES} bytes")
    if _FORBIDDEN_KEY_CHARS.search(key):
        raise InvalidObjectKey("key", "contains a control character or a backslash")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidObjectKey("key", "starts or ends with '/'")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidObjectKey("key", "contains an empty, '.' or '..' segment")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix may end with ``/`` or be empty, but is otherwise held to the key rules."""
    if prefix:
        validate_key(prefix.removesuffix("/"))
    return prefix


def validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """User metadata travels as HTTP headers: lowercase names, printable ASCII values."""
    checked: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        if not _METADATA_NAME_RE.fullmatch(name):
            raise InvalidObjectKey("metadata name", "must be lowercase letters, digits or '-'")
        if not value.isascii() or not value.isprintable():
            raise InvalidObjectKey("metadata value", "must be printable ASCII")
        checked[name] = value
    return checked


def validate_put(length: int | None, retain_until: datetime | None, content_type: str) -> None:
    if not content_type.isascii() or not content_type.isprintable() or len(content_type) > 255:
        raise ValueError("content_type must be printable ASCII, at most 255 characters")
    if length is not None and length < 0:
        raise ValueError("length must not be negative")
    if retain_until is not None and retain_until.utcoffset() is None:
        raise ValueError("retain_until must be timezone-aware")


@runtime_checkable
class ObjectStore(Protocol):
    """A versioned bucket/key store. Every method is synchronous and thread-safe.

    Errors: ``ObjectNotFound`` (``BucketNotFound`` for a missing bucket),
    ``InvalidObjectKey`` for a refused name, ``ObjectStoreError`` for the rest.
    """

    def ensure_bucket(
        self, bucket: str, *, versioning: bool = True, object_lock: bool = False
    ) -> bool:
        """Create the bucket if missing; return whether object lock is active on it.

        Never downgrades an existing bucket: versioning is switched on if asked,
        never off. Object lock can only be set at creation, so on an existing
        bucket the result tells the caller what it actually got. Object lock
        implies versioning.
        """
        ...

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes | BinaryIO,
        length: int | None = None,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        retain_until: datetime | None = None,
    ) -> ObjectInfo:
        """Store a new version. A stream is read for exactly ``length`` bytes (to EOF if None).

        ``retain_until`` (timezone-aware) needs object lock on the bucket, else
        ``ObjectStoreError``: check what ``ensure_bucket`` returned.
        """
        ...

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes: ...

    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
        """A stream of the content in bounded memory; close it (use ``with``)."""
        ...

    def stat(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo: ...

    def exists(self, bucket: str, key: str) -> bool:
        """Whether the key has a live latest version; a missing bucket still raises."""
        ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Latest live version of every key under ``prefix``, by key."""
        ...

    def list_versions(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every version and delete marker under ``prefix``: by key, newest first per key.

        Within a key, versions written in the same second may come in either
        order on S3 (listings carry timestamps, not sequence numbers); the
        latest is always first.
        """
        ...

    def delete_all_versions(self, bucket: str, key: str) -> int:
        """Remove every version and delete marker of ``key``; return how many went.

        Afterwards no version of the key can be read back. Idempotent: a key
        with nothing left returns 0. Destruction (crypto-shredding) relies on it.
        """
        ...

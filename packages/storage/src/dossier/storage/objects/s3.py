"""The object store on any S3-compatible server (MinIO in production), through the minio client.

Buckets are created versioned; object lock is requested at creation when
asked, and ``retain_until`` then puts each version under retention in
``retention_mode`` (GOVERNANCE by default).

Object lock and deletion: ``delete_all_versions`` sends
``x-amz-bypass-governance-retention: true`` on locked buckets, so versions
under GOVERNANCE retention are removed (the credentials need
``s3:BypassGovernanceRetention``). Versions under COMPLIANCE retention cannot
be removed by anyone before their date: the server refuses, the call raises
``ObjectStoreError`` (reason ``AccessDenied``) and the versions stay. That is
what COMPLIANCE is for; crypto-shredding still makes them unreadable.

Single-part uploads to locked buckets (up to 5 MiB, buffered to hash them)
carry ``x-amz-sdk-checksum-algorithm: SHA256`` and ``x-amz-checksum-sha256``:
S3 refuses retention headers on a PutObject without a checksum (moto too,
though it does not verify the value). Larger objects go multipart with the
retention headers on CreateMultipartUpload; a server that does not apply
them there (moto) gets the retention set right after with
PutObjectRetention, so such a version is briefly unprotected.

No server-side encryption is used: documents are encrypted before upload.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO, Literal

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED, GOVERNANCE
from minio.datatypes import Object
from minio.deleteobjects import DeleteObject
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import DictType
from minio.retention import Retention
from minio.versioningconfig import VersioningConfig

from dossier.storage.objects.base import (
    BucketNotFound,
    ObjectInfo,
    ObjectNotFound,
    ObjectStoreError,
    validate_bucket,
    validate_key,
    validate_metadata,
    validate_prefix,
    validate_put,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from urllib3 import BaseHTTPResponse

__all__ = ["RetentionMode", "S3ObjectStore"]

RetentionMode = Literal["GOVERNANCE", "COMPLIANCE"]

SINGLE_PUT_LIMIT = 5 * 1024 * 1024
_STREAM_PART_SIZE = 16 * 1024 * 1024
_READ_BUFFER = 1024 * 1024
_ATTEMPTS = 5
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchObject", "MethodNotAllowed"})
_CODE = re.compile(r"[A-Za-z0-9.]{1,64}")
_META_PREFIX = "x-amz-meta-"
_RETAIN_UNTIL = "x-amz-object-lock-retain-until-date"


def _reason(code: str | None) -> str:
    return code if code and _CODE.fullmatch(code) else "s3_error"


@contextlib.contextmanager
def _translated(operation: str, bucket: str, key: str | None = None) -> Iterator[None]:
    """Turn minio and urllib3 failures into our errors, keeping only the S3 error code."""
    try:
        yield
    except S3Error as exc:
        if exc.code == "NoSuchBucket":
            raise BucketNotFound(bucket) from exc
        if key is not None and exc.code in _NOT_FOUND:
            raise ObjectNotFound(bucket, key) from exc
        raise ObjectStoreError(operation, _reason(exc.code)) from exc
    except ServerError as exc:
        raise ObjectStoreError(operation, f"http_{exc.status_code}") from exc
    except InvalidResponseError as exc:
        raise ObjectStoreError(operation, "invalid_response") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise ObjectStoreError(operation, "connection_error") from exc
    except OSError as exc:
        raise ObjectStoreError(operation, "io_error") from exc


def _version(raw: str | None) -> str | None:
    return None if raw in (None, "", "null") else raw


def _info(found: Object) -> ObjectInfo:
    return ObjectInfo(
        key=found.object_name or "",
        version_id=_version(found.version_id),
        size=found.size or 0,
        etag=found.etag,
        last_modified=found.last_modified,
        is_latest=str(found.is_latest).lower() == "true",
        is_delete_marker=found.is_delete_marker,
    )


def _newest_first(info: ObjectInfo) -> tuple[str, bool, float]:
    """Sort key: by key, the latest first, then by time; ties keep the server's order."""
    stamp = info.last_modified.timestamp() if info.last_modified else 0.0
    return (info.key, not info.is_latest, -stamp)


class _ResponseStream(io.RawIOBase):
    """A raw stream over a minio GET response that releases the connection on close."""

    def __init__(self, response: BaseHTTPResponse) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._response.read(len(view))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ObjectStoreError("read", "connection_error") from exc
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()


class _CountingReader:
    """Serves ``head`` then the rest of ``stream``, counting what minio reads."""

    def __init__(self, head: bytes, stream: BinaryIO | None) -> None:
        self._head = memoryview(head)
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if self._head:
            take = len(self._head) if size < 0 else min(size, len(self._head))
            data = bytes(self._head[:take])
            self._head = self._head[take:]
        elif self._stream is not None:
            data = self._stream.read(size)
        else:
            data = b""
        self.count += len(data)
        return data


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    parts: builtins.list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _checksum_headers(payload: bytes) -> dict[str, str]:
    digest = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    return {"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": digest}


def _user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name.lower().removeprefix(_META_PREFIX): value
        for name, value in headers.items()
        if name.lower().startswith(_META_PREFIX)
    }


def _retain_until(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get(_RETAIN_UNTIL)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class S3ObjectStore:
    """Versioned buckets on an S3-compatible server; see the module docstring for object lock."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool = False,
        region: str | None = None,
        retention_mode: RetentionMode = "GOVERNANCE",
        cert_check: bool = True,
        http_client: urllib3.PoolManager | None = None,
    ) -> None:
        """``http_client`` replaces minio's pool (timeouts, retries, CA); see ``minio.Minio``."""
        if retention_mode not in (GOVERNANCE, COMPLIANCE):
            raise ValueError("retention_mode must be GOVERNANCE or COMPLIANCE")
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            cert_check=cert_check,
            http_client=http_client,
        )
        self._retention_mode: RetentionMode = retention_mode
        self._locked: dict[str, bool] = {}

    @property
    def retention_mode(self) -> RetentionMode:
        return self._retention_mode

    def ensure_bucket(
        self, bucket: str, *, versioning: bool = True, object_lock: bool = False
    ) -> bool:
        validate_bucket(bucket)
        if object_lock and not versioning:
            raise ValueError("object lock needs versioning")
        with _translated("ensure_bucket", bucket):
            if not self._client.bucket_exists(bucket):
                try:
                    self._client.make_bucket(bucket, object_lock=object_lock)
                except S3Error as exc:
                    if exc.code != "BucketAlreadyOwnedByYou":
                        raise
            if versioning and self._client.get_bucket_versioning(bucket).status != ENABLED:
                self._client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
        self._locked.pop(bucket, None)
        return self._lock_active(bucket)

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
        validate_bucket(bucket)
        validate_key(key)
        meta = validate_metadata(metadata)
        validate_put(length, retain_until, content_type)
        locked = self._lock_active(bucket)
        if retain_until is not None and not locked:
            self._locked.pop(bucket, None)
            if not self._lock_active(bucket):
                raise ObjectStoreError("put", "object_lock_not_active")
            locked = True
        retention = (
            Retention(self._retention_mode, retain_until.astimezone(UTC))
            if retain_until is not None
            else None
        )
        headers: DictType = {_META_PREFIX + name: value for name, value in meta.items()}

        with _translated("put", bucket, key):
            payload, rest = self._split(data, length, buffer_small=locked)
            single_part = rest is None and len(payload) <= SINGLE_PUT_LIMIT
            if single_part and locked:
                headers.update(_checksum_headers(payload))
            reader = _CountingReader(payload, rest)
            if rest is None:
                size, part_size = len(payload), 0
            elif length is not None:
                size, part_size = length, 0
            else:
                size, part_size = -1, SINGLE_PUT_LIMIT if locked else _STREAM_PART_SIZE
            result = self._client.put_object(
                bucket,
                key,
                reader,  # type: ignore[arg-type]  # minio only calls read()
                size,
                content_type=content_type,
                metadata=headers,
                part_size=part_size,
                retention=retention,
            )
            version_id = _version(result.version_id)
            if retention is not None and not single_part:
                self._ensure_retention(bucket, key, result.version_id, retention)
        return ObjectInfo(
            key=key,
            version_id=version_id,
            size=reader.count,
            etag=result.etag,
            content_type=content_type,
            metadata=meta,
            retain_until=retention.retain_until_date if retention is not None else None,
        )

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        with self.open(bucket, key, version_id) as stream:
            return stream.read()

    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
        validate_bucket(bucket)
        validate_key(key)
        with _translated("get", bucket, key):
            response = self._client.get_object(bucket, key, version_id=version_id)
        return io.BufferedReader(_ResponseStream(response), buffer_size=_READ_BUFFER)

    def stat(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        validate_bucket(bucket)
        validate_key(key)
        try:
            with _translated("stat", bucket, key):
                found = self._client.stat_object(bucket, key, version_id=version_id)
        except BucketNotFound:
            raise
        except ObjectNotFound:
            self._require_bucket(bucket)
            raise
        is_latest = True
        if version_id is not None:
            try:
                with _translated("stat", bucket, key):
                    latest = self._client.stat_object(bucket, key)
                is_latest = _version(latest.version_id) == _version(found.version_id)
            except ObjectNotFound:
                is_latest = False
        headers = found.metadata or {}
        return ObjectInfo(
            key=key,
            version_id=_version(found.version_id),
            size=found.size or 0,
            etag=found.etag,
            last_modified=found.last_modified,
            is_latest=is_latest,
            content_type=found.content_type,
            metadata=_user_metadata(headers),
            retain_until=_retain_until(headers),
        )

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except BucketNotFound:
            raise
        except ObjectNotFound:
            return False
        return True

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Streams: live versions come back from the server in key order."""
        for found in self._raw_versions(bucket, prefix):
            info = _info(found)
            if info.is_latest and not info.is_delete_marker:
                yield info

    def list_versions(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Collects the whole listing first: minio returns each page's delete markers after
        its versions, so the entries of one key must be put back together and in order."""
        infos = sorted(map(_info, self._raw_versions(bucket, prefix)), key=_newest_first)
        yield from infos

    def delete_all_versions(self, bucket: str, key: str) -> int:
        validate_key(key)
        removed = 0
        for _ in range(_ATTEMPTS):
            targets = [
                DeleteObject(key, found.version_id or "null")
                for found in self._raw_versions(bucket, key)
                if found.object_name == key
            ]
            if not targets:
                return removed
            bypass = self._lock_active(bucket)
            with _translated("delete_all_versions", bucket, key):
                errors = builtins.list(
                    self._client.remove_objects(bucket, targets, bypass_governance_mode=bypass)
                )
            if errors:
                raise ObjectStoreError(
                    "delete_all_versions", _reason(errors[0].code), refused=str(len(errors))
                )
            removed += len(targets)
        raise ObjectStoreError("delete_all_versions", "versions_keep_appearing")

    def _raw_versions(self, bucket: str, prefix: str) -> Iterator[Object]:
        validate_bucket(bucket)
        validate_prefix(prefix)
        with _translated("list", bucket):
            yield from self._client.list_objects(
                bucket, prefix=prefix or None, recursive=True, include_version=True
            )

    def _require_bucket(self, bucket: str) -> None:
        """A 404 to HEAD has no body: it does not say whether the bucket or the key is missing."""
        with _translated("stat", bucket):
            if not self._client.bucket_exists(bucket):
                raise BucketNotFound(bucket)

    def _lock_active(self, bucket: str) -> bool:
        """Whether the bucket has object lock; cached, since lock cannot be switched off."""
        cached = self._locked.get(bucket)
        if cached is not None:
            return cached
        try:
            with _translated("object_lock", bucket):
                self._client.get_object_lock_config(bucket)
            active = True
        except ObjectStoreError as exc:
            if exc.reason != "ObjectLockConfigurationNotFoundError":
                raise
            active = False
        self._locked[bucket] = active
        return active

    def _split(
        self, data: bytes | BinaryIO, length: int | None, *, buffer_small: bool
    ) -> tuple[bytes, BinaryIO | None]:
        """Return (bytes read so far, rest of the stream or None when the bytes are everything).

        Small uploads to locked buckets are read whole so they can be checksummed.
        """
        if isinstance(data, bytes | bytearray | memoryview):
            if length is not None and length != len(data):
                raise ValueError("length does not match the size of the data")
            return bytes(data), None
        if not buffer_small or (length is not None and length > SINGLE_PUT_LIMIT):
            return b"", data
        head = _read_exactly(data, SINGLE_PUT_LIMIT + 1 if length is None else length)
        if length is not None and len(head) != length:
            raise ObjectStoreError("put", "stream_shorter_than_length")
        if len(head) <= SINGLE_PUT_LIMIT:
            return head, None
        return head, data

    def _ensure_retention(
        self, bucket: str, key: str, version_id: str | None, retention: Retention
    ) -> None:
        found = self._client.stat_object(bucket, key, version_id=version_id)
        if not (found.metadata or {}).get(_RETAIN_UNTIL):
            self._client.set_object_retention(bucket, key, retention, version_id=version_id)

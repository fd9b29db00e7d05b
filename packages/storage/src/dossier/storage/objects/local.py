"""The embedded object store: versioned objects in a local folder.

Layout under ``root``::

    <bucket>/bucket.json                 {"versioning": true}
    <bucket>/tmp/                        uploads in progress
    <bucket>/keys/<seg>/<seg>/<last>.k/  one folder per key
        00000001732812345678901.ver      one file per version

Key segments are percent-encoded with only ``a-z0-9-_`` left as they are
(upper case, dots and non-ASCII are escaped), so encoded names are safe on
case-insensitive and normalising file systems, ``.k`` cannot clash with a
segment, and a validated key cannot name anything outside its bucket.

A version file is a fixed header (magic, size, SHA-256, creation time), the
JSON content type and metadata, then the content. It is written to ``tmp/``,
fsynced, and moved with ``os.replace`` onto a name reserved with ``O_EXCL``:
readers never see a half-written version (an empty reservation is skipped)
and two writers never take the same version id. Version ids are 20-digit
decimal strings that only grow, even across ``delete_all_versions``: the
next one is ``max(newest + 1, time.time_ns())``.

Object lock is not available here: ``ensure_bucket`` returns False and a put
with ``retain_until`` is refused.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import json
import os
import re
import struct
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from attrs import frozen

from dossier.storage.objects.base import (
    BucketNotFound,
    InvalidObjectKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStoreError,
    validate_bucket,
    validate_key,
    validate_metadata,
    validate_prefix,
    validate_put,
)

__all__ = ["LocalObjectStore"]

_MAGIC = b"DOSSOBJ1"
_FIXED = struct.Struct(">8sQ32sQI")
_SIZE_AT = 8
_CHUNK = 1 << 20
_ATTEMPTS = 20
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
_ENCODED = re.compile(r"(?:[a-z0-9_-]|%[0-9A-F]{2})+")
_KEY_SUFFIX = ".k"
_VERSION_SUFFIX = ".ver"
_VERSION_DIGITS = 20
_MAX_NAME = 255


@frozen
class _Version:
    version_id: str
    size: int
    sha256: str
    created: datetime
    content_type: str
    metadata: Mapping[str, str]
    data_offset: int

    def info(self, key: str, *, is_latest: bool) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            version_id=self.version_id,
            size=self.size,
            etag=self.sha256,
            last_modified=self.created,
            is_latest=is_latest,
            content_type=self.content_type,
            metadata=self.metadata,
        )


def _encode_segment(segment: str) -> str:
    encoded = "".join(
        chr(byte) if byte in _PLAIN else f"%{byte:02X}" for byte in segment.encode("utf-8")
    )
    if len(encoded) + len(_KEY_SUFFIX) > _MAX_NAME:
        raise InvalidObjectKey("key", "a segment is too long for the local store")
    return encoded


def _decode_segment(name: str) -> str | None:
    if not _ENCODED.fullmatch(name):
        return None
    try:
        return unquote(name, errors="strict")
    except UnicodeDecodeError:
        return None


def _format_version(number: int) -> str:
    return f"{number:0{_VERSION_DIGITS}d}"


def _parse_version(name: str) -> int | None:
    stem = name.removesuffix(_VERSION_SUFFIX)
    if stem == name or len(stem) != _VERSION_DIGITS or not stem.isdigit():
        return None
    return int(stem)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; not possible (nor needed) on Windows."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _chunks(data: bytes | BinaryIO, length: int | None) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        if length is not None and length != len(data):
            raise ValueError("length does not match the size of the data")
        yield bytes(data)
        return
    remaining = length
    while remaining is None or remaining > 0:
        chunk = data.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            if remaining is not None:
                raise ObjectStoreError("put", "stream_shorter_than_length")
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def _read_version(stream: BinaryIO, version_id: str) -> _Version | None:
    """Parse a version file's header, leaving ``stream`` at the content; None for a reservation."""
    fixed = stream.read(_FIXED.size)
    if not fixed:
        return None
    if len(fixed) != _FIXED.size:
        raise ObjectStoreError("read", "corrupt_version_file")
    magic, size, digest, created_ns, meta_len = _FIXED.unpack(fixed)
    if magic != _MAGIC:
        raise ObjectStoreError("read", "corrupt_version_file")
    try:
        meta = json.loads(stream.read(meta_len))
        content_type = str(meta["content_type"])
        metadata = {str(k): str(v) for k, v in meta["metadata"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ObjectStoreError("read", "corrupt_version_file") from None
    return _Version(
        version_id=version_id,
        size=size,
        sha256=digest.hex(),
        created=datetime.fromtimestamp(created_ns / 1e9, UTC),
        content_type=content_type,
        metadata=metadata,
        data_offset=_FIXED.size + meta_len,
    )


class LocalObjectStore:
    """Versioned objects in a folder; see the module docstring for the layout and guarantees."""

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def ensure_bucket(
        self, bucket: str, *, versioning: bool = True, object_lock: bool = False
    ) -> bool:
        bucket_dir = self._root / validate_bucket(bucket)
        if object_lock and not versioning:
            raise ValueError("object lock needs versioning")
        (bucket_dir / "keys").mkdir(parents=True, exist_ok=True)
        (bucket_dir / "tmp").mkdir(exist_ok=True)
        try:
            current = self._versioning(bucket)
        except BucketNotFound:
            current = None
        if current is None or (versioning and not current):
            self._write_config(bucket_dir, versioning=versioning or bool(current))
        return False

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
        key_dir = self._key_dir(bucket, key)
        meta = validate_metadata(metadata)
        validate_put(length, retain_until, content_type)
        if retain_until is not None:
            raise ObjectStoreError("put", "object_lock_not_active")
        versioning = self._versioning(bucket)
        meta_json = json.dumps({"content_type": content_type, "metadata": meta}).encode()
        created_ns = time.time_ns()
        tmp: Path | None = None
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._root / bucket / "tmp", suffix=".tmp")
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as out:
                out.write(_FIXED.pack(_MAGIC, 0, bytes(32), created_ns, len(meta_json)))
                out.write(meta_json)
                digest = hashlib.sha256()
                size = 0
                for chunk in _chunks(data, length):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.seek(_SIZE_AT)
                out.write(struct.pack(">Q32s", size, digest.digest()))
                out.flush()
                os.fsync(out.fileno())
            version_id = self._publish(key_dir, tmp)
        except OSError as exc:
            raise ObjectStoreError("put", "io_error") from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        if not versioning:
            self._drop_older(key_dir, version_id)
        return ObjectInfo(
            key=key,
            version_id=version_id,
            size=size,
            etag=digest.hexdigest(),
            last_modified=datetime.fromtimestamp(created_ns / 1e9, UTC),
            content_type=content_type,
            metadata=meta,
        )

    def get(self, bucket: str, key: str, version_id: str | None = None) -> bytes:
        with self.open(bucket, key, version_id) as stream:
            return stream.read()

    def open(self, bucket: str, key: str, version_id: str | None = None) -> BinaryIO:
        stream, version = self._open_version(bucket, key, version_id)
        try:
            if os.fstat(stream.fileno()).st_size != version.data_offset + version.size:
                raise ObjectStoreError("read", "corrupt_version_file")
            stream.seek(version.data_offset)
        except BaseException:
            stream.close()
            raise
        return stream

    def stat(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        stream, version = self._open_version(bucket, key, version_id)
        stream.close()
        latest = version_id is None or version.version_id == self._latest_id(bucket, key)
        return version.info(key, is_latest=latest)

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except BucketNotFound:
            raise
        except ObjectNotFound:
            return False
        return True

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        for key in self._keys(bucket, prefix):
            for info in self._versions_of(bucket, key):
                yield info
                break

    def list_versions(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        for key in self._keys(bucket, prefix):
            yield from self._versions_of(bucket, key)

    def delete_all_versions(self, bucket: str, key: str) -> int:
        key_dir = self._key_dir(bucket, key)
        self._versioning(bucket)
        removed = 0
        try:
            for _ in range(_ATTEMPTS):
                try:
                    names = os.listdir(key_dir)
                except FileNotFoundError:
                    return removed
                for name in names:
                    if _parse_version(name) is not None:
                        removed += self._unlink_version(key_dir / name)
                try:
                    key_dir.rmdir()
                except OSError as exc:
                    if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                        continue
                    raise
                self._prune(key_dir.parent, self._root / bucket / "keys")
                return removed
        except OSError as exc:
            raise ObjectStoreError("delete_all_versions", "io_error") from exc
        raise ObjectStoreError("delete_all_versions", "key_folder_not_empty")

    def _versioning(self, bucket: str) -> bool:
        config = self._root / validate_bucket(bucket) / "bucket.json"
        try:
            return bool(json.loads(config.read_bytes())["versioning"])
        except FileNotFoundError:
            raise BucketNotFound(bucket) from None
        except (OSError, ValueError, KeyError, TypeError):
            raise ObjectStoreError("bucket", "corrupt_bucket_config") from None

    @staticmethod
    def _write_config(bucket_dir: Path, *, versioning: bool) -> None:
        fd, tmp = tempfile.mkstemp(dir=bucket_dir / "tmp", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(json.dumps({"versioning": versioning}).encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, bucket_dir / "bucket.json")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(bucket_dir)

    def _key_dir(self, bucket: str, key: str) -> Path:
        *parents, last = validate_key(key).split("/")
        path = self._root / validate_bucket(bucket) / "keys"
        for segment in parents:
            path /= _encode_segment(segment)
        return path / (_encode_segment(last) + _KEY_SUFFIX)

    def _publish(self, key_dir: Path, tmp: Path) -> str:
        for _ in range(_ATTEMPTS):
            key_dir.mkdir(parents=True, exist_ok=True)
            newest = max(self._version_numbers(key_dir), default=0)
            version_id = _format_version(max(newest + 1, time.time_ns()))
            final = key_dir / (version_id + _VERSION_SUFFIX)
            try:
                os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                os.replace(tmp, final)
            except (FileExistsError, FileNotFoundError):
                continue
            _fsync_dir(key_dir)
            return version_id
        raise ObjectStoreError("put", "version_conflict")

    @staticmethod
    def _version_numbers(key_dir: Path) -> builtins.list[int]:
        try:
            names = os.listdir(key_dir)
        except FileNotFoundError:
            return []
        return [n for n in map(_parse_version, names) if n is not None]

    def _drop_older(self, key_dir: Path, version_id: str) -> None:
        keep = int(version_id)
        for number in self._version_numbers(key_dir):
            if number < keep:
                with contextlib.suppress(FileNotFoundError):
                    (key_dir / (_format_version(number) + _VERSION_SUFFIX)).unlink()

    def _open_version(
        self, bucket: str, key: str, version_id: str | None
    ) -> tuple[BinaryIO, _Version]:
        key_dir = self._key_dir(bucket, key)
        self._versioning(bucket)
        if version_id is not None:
            if _parse_version(version_id + _VERSION_SUFFIX) is None:
                raise ObjectNotFound(bucket, key, kind="object version")
            candidates = [version_id]
        else:
            numbers = sorted(self._version_numbers(key_dir), reverse=True)
            candidates = [_format_version(n) for n in numbers]
        for candidate in candidates:
            try:
                stream = builtins.open(key_dir / (candidate + _VERSION_SUFFIX), "rb")  # noqa: SIM115
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise ObjectStoreError("read", "io_error") from exc
            try:
                version = _read_version(stream, candidate)
            except BaseException:
                stream.close()
                raise
            if version is None:
                stream.close()
                continue
            return stream, version
        raise ObjectNotFound(bucket, key)

    def _latest_id(self, bucket: str, key: str) -> str | None:
        for info in self._versions_of(bucket, key):
            return info.version_id
        return None

    def _versions_of(self, bucket: str, key: str) -> Iterator[ObjectInfo]:
        key_dir = self._key_dir(bucket, key)
        latest = True
        for number in sorted(self._version_numbers(key_dir), reverse=True):
            version_id = _format_version(number)
            try:
                with builtins.open(key_dir / (version_id + _VERSION_SUFFIX), "rb") as stream:
                    version = _read_version(stream, version_id)
            except FileNotFoundError:
                continue
            if version is not None:
                yield version.info(key, is_latest=latest)
                latest = False

    def _keys(self, bucket: str, prefix: str) -> builtins.list[str]:
        validate_prefix(prefix)
        self._versioning(bucket)
        found: builtins.list[str] = []
        self._walk(self._root / bucket / "keys", "", prefix, found)
        return sorted(found)

    def _walk(self, folder: Path, path: str, prefix: str, found: builtins.list[str]) -> None:
        try:
            entries = builtins.list(os.scandir(folder))
        except FileNotFoundError:
            return
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.endswith(_KEY_SUFFIX):
                segment = _decode_segment(entry.name.removesuffix(_KEY_SUFFIX))
                if segment is not None and (path + segment).startswith(prefix):
                    found.append(path + segment)
                continue
            segment = _decode_segment(entry.name)
            if segment is None:
                continue
            below = f"{path}{segment}/"
            if below.startswith(prefix) or prefix.startswith(below):
                self._walk(Path(entry.path), below, prefix, found)

    @staticmethod
    def _unlink_version(path: Path) -> int:
        """Remove one version file; count it unless it was an empty reservation."""
        try:
            complete = path.stat().st_size > 0
            path.unlink()
        except FileNotFoundError:
            return 0
        return 1 if complete else 0

    @staticmethod
    def _prune(folder: Path, stop: Path) -> None:
        while folder != stop:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

"""The backup archive format: a stream of JSON records, compressed, split, sealed per part.

A backup is a sequence of records (one JSON object per line): ``{"t": table,
"r": row}`` for database rows (bytes, timestamps and dates tagged so every
engine restores them alike) and ``{"o": key, "d": base64}`` for document
objects. The stream is zlib-compressed and cut into parts of a fixed size;
each part is sealed with AES-256-GCM under the backup key (random nonce, the
backup id and part number as associated data, so parts cannot be swapped or
moved between backups). Memory stays bounded by the part size, whatever the
size of the backup. The manifest lists every part with the SHA-256 of its
sealed bytes and carries an HMAC, so neither a part nor the manifest can be
altered unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from attrs import field, frozen
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dossier.core.errors import DossierError

MAGIC = b"DBK1"
NONCE = 12


class BackupCorrupt(DossierError):
    """A part or the manifest does not match what was written (checksum, seal, or MAC)."""

    code = "integrity_failure"
    rule = "integrity_failure"
    status = 500

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__({"where": where})


class BackupKey:
    """The key backups are sealed with (32 random bytes, base64 in a key file)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError("a backup key is 32 bytes")
        self._aead = AESGCM(
            HKDF(hashes.SHA256(), 32, salt=None, info=b"dossier backup seal").derive(secret)
        )
        self._mac = HKDF(hashes.SHA256(), 32, salt=None, info=b"dossier backup mac").derive(secret)

    @classmethod
    def generate(cls) -> str:
        return base64.b64encode(os.urandom(32)).decode()

    @classmethod
    def from_text(cls, text: str) -> BackupKey:
        return cls(base64.b64decode(text.strip(), validate=True))

    @classmethod
    def from_file(cls, path: Path) -> BackupKey:
        return cls.from_text(path.read_text(encoding="ascii"))

    def seal(self, data: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return MAGIC + nonce + self._aead.encrypt(nonce, data, aad)

    def open(self, sealed: bytes, aad: bytes, where: str) -> bytes:
        if not sealed.startswith(MAGIC):
            raise BackupCorrupt(where)
        nonce = sealed[len(MAGIC) : len(MAGIC) + NONCE]
        try:
            return self._aead.decrypt(nonce, sealed[len(MAGIC) + NONCE :], aad)
        except InvalidTag:
            raise BackupCorrupt(where) from None

    def mac(self, data: bytes) -> str:
        return hmac.new(self._mac, data, hashlib.sha256).hexdigest()


# -- values ----------------------------------------------------------------------------


def encode_value(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    return value


def _tagged(value: Any) -> Any:
    """orjson's ``default`` for what it does not write itself (with ``OPT_PASSTHROUGH_DATETIME``:
    timestamps and dates too): the same tagged objects as `encode_value`."""
    if isinstance(value, bytes | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    raise TypeError(f"cannot archive a {type(value).__name__}")


def dumps_record(record: Mapping[str, Any]) -> bytes:
    """One record as a line of the stream (without the newline): compact JSON, UTF-8, values
    tagged as `encode_value` tags them (they need not be tagged beforehand)."""
    return orjson.dumps(record, default=_tagged, option=orjson.OPT_PASSTHROUGH_DATETIME)


def decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "$b":
            return base64.b64decode(text)
        if tag == "$t":
            return datetime.fromisoformat(text)
        if tag == "$d":
            return date.fromisoformat(text)
    return value


# -- manifest --------------------------------------------------------------------------


@frozen
class Part:
    name: str
    size: int
    sha256: str


@frozen(kw_only=True)
class Manifest:
    id: str
    kind: str
    created_at: datetime
    base: str | None
    schema_revision: str | None
    parts: tuple[Part, ...]
    tables: Mapping[str, int]
    objects: int
    sequences: Mapping[str, int] = field(factory=dict)
    retain_until: datetime | None = None

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "base": self.base,
            "schema_revision": self.schema_revision,
            "cipher": "AES-256-GCM",
            "compression": "zlib",
            "parts": [{"name": p.name, "size": p.size, "sha256": p.sha256} for p in self.parts],
            "tables": dict(self.tables),
            "objects": self.objects,
            "sequences": dict(self.sequences),
            "retain_until": None if self.retain_until is None else self.retain_until.isoformat(),
        }

    def to_bytes(self, key: BackupKey) -> bytes:
        body = self.body()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return json.dumps({**body, "mac": key.mac(canonical)}, sort_keys=True, indent=1).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, key: BackupKey) -> Manifest:
        try:
            data = json.loads(raw)
            mac = data.pop("mac")
        except (ValueError, KeyError, AttributeError):
            raise BackupCorrupt("manifest") from None
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        if not hmac.compare_digest(str(mac), key.mac(canonical)):
            raise BackupCorrupt("manifest")
        return cls(
            id=data["id"],
            kind=data["kind"],
            created_at=datetime.fromisoformat(data["created_at"]),
            base=data["base"],
            schema_revision=data["schema_revision"],
            parts=tuple(Part(p["name"], p["size"], p["sha256"]) for p in data["parts"]),
            tables=data["tables"],
            objects=data["objects"],
            sequences=data.get("sequences", {}),
            retain_until=None
            if data.get("retain_until") is None
            else datetime.fromisoformat(data["retain_until"]),
        )


# -- writing and reading the record stream --------------------------------------------

PartSink = Callable[[int, bytes], Part]
"""Stores sealed part number ``n`` and says what it stored."""


class ArchiveWriter:
    """Compresses records into parts of ``part_size`` bytes; each full part goes to ``sink``."""

    def __init__(self, backup_id: str, key: BackupKey, sink: PartSink, part_size: int) -> None:
        self.backup_id = backup_id
        self.key = key
        self.sink = sink
        self.part_size = part_size
        self._compressor = zlib.compressobj(6)
        self._buffer = bytearray()
        self.parts: list[Part] = []

    def write(self, record: Mapping[str, Any]) -> None:
        self.write_lines(dumps_record(record) + b"\n")

    def write_lines(self, lines: bytes) -> None:
        """Append ready-made lines (each `dumps_record` + ``\\n``): one compressor call for a
        batch instead of one per record; the compressed stream is the same."""
        self._buffer += self._compressor.compress(lines)
        while len(self._buffer) >= self.part_size:
            self._emit(bytes(self._buffer[: self.part_size]))
            del self._buffer[: self.part_size]

    def close(self) -> list[Part]:
        self._buffer += self._compressor.flush()
        while self._buffer:
            self._emit(bytes(self._buffer[: self.part_size]))
            del self._buffer[: self.part_size]
        return self.parts

    def _emit(self, chunk: bytes) -> None:
        index = len(self.parts) + 1
        sealed = self.key.seal(chunk, part_aad(self.backup_id, index))
        self.parts.append(self.sink(index, sealed))


class BackgroundWriter:
    """An `ArchiveWriter` fed from a queue by a thread of its own: compressing, sealing and
    storing a batch (zlib, AES-GCM and the upload release the GIL) overlap with the caller
    producing the next one. At most ``depth`` batches wait; the first failure of the thread
    is raised to the caller at its next write or at `close`."""

    def __init__(self, writer: ArchiveWriter, depth: int = 4) -> None:
        self.writer = writer
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="backup-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (lines := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.writer.write_lines(lines)
                except BaseException as error:  # handed to the caller's thread
                    self._error = error

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, record: Mapping[str, Any]) -> None:
        self.write_lines(dumps_record(record) + b"\n")

    def write_lines(self, lines: bytes) -> None:
        self._check()
        self._queue.put(lines)

    def close(self) -> list[Part]:
        """Wait for every batch, then close the archive (the last parts)."""
        self.stop()
        self._check()
        return self.writer.close()

    def stop(self) -> None:
        """Let the thread finish what is queued and end (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def part_aad(backup_id: str, index: int) -> bytes:
    return f"{backup_id}/part-{index:05d}".encode()


def read_lines(
    backup_id: str, key: BackupKey, parts: Iterable[tuple[Part, bytes]]
) -> Iterator[bytes]:
    """Check, open and decompress the parts, in order, and yield the stream's lines (unparsed);
    a bad part raises `BackupCorrupt` before any line of it is yielded."""
    decompressor = zlib.decompressobj()
    pending = b""
    for index, (part, sealed) in enumerate(parts, start=1):
        if hashlib.sha256(sealed).hexdigest() != part.sha256 or len(sealed) != part.size:
            raise BackupCorrupt(part.name)
        chunk = key.open(sealed, part_aad(backup_id, index), part.name)
        try:
            pending += decompressor.decompress(chunk)
        except zlib.error:
            raise BackupCorrupt(part.name) from None
        *lines, pending = pending.split(b"\n")
        yield from lines
    pending += decompressor.flush()
    if not decompressor.eof:
        raise BackupCorrupt("truncated")
    for line in pending.split(b"\n"):
        if line:
            yield line


def read_records(
    backup_id: str, key: BackupKey, parts: Iterable[tuple[Part, bytes]]
) -> Iterator[dict[str, Any]]:
    """Check, open, decompress and parse the parts, in order; a bad part raises `BackupCorrupt`."""
    for line in read_lines(backup_id, key, parts):
        yield orjson.loads(line)


_TABLE_LINE = b'{"t":"'


def record_kind(line: bytes) -> str | None:
    """The table of a row's line, or None for a document's — without parsing the whole line
    (rows are written ``{"t":"<table>",…``, documents ``{"o":…``)."""
    if line.startswith(_TABLE_LINE):
        end = line.find(b'"', len(_TABLE_LINE))
        if end > 0 and b"\\" not in line[len(_TABLE_LINE) : end]:
            return line[len(_TABLE_LINE) : end].decode()
    record = orjson.loads(line)
    return str(record["t"]) if "t" in record else None

"""Backups (资料备份): consistent logical snapshots of the database plus the document objects.

``create`` reads every table in one snapshot (REPEATABLE READ on PostgreSQL, a
WAL read transaction on SQLite), in dependency order, and every object of the
documents bucket — the students' documents (``students/<owner>/``) and the staff's
training materials (``training/<branch>/``) alike, copied as they are, still sealed
under their keys, whose wrapped rows travel with the tables — into an archive
(see `dossier.retention.archive`) uploaded part by part to the backup bucket —
with a retention date where the bucket has object lock — and the manifest last:
a backup without a manifest is not a backup.
An *incremental* backup carries the whole database (it is small beside the
documents) and only the document objects written since its base.
The format is engine-independent: a PostgreSQL backup restores into SQLite
and back. ``restore`` checks every part before writing anything, requires an
empty target, writes all rows in one transaction, and then replays the
destruction ledger so a destroyed student never comes back. A restore whose
documents go to a bucket other than the documents bucket (a scratch restore)
records that bucket in the live database first (`dossier.retention.restores`),
so a later destruction deletes the student's copies there too.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import secrets
import struct
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
from attrs import frozen
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    Text,
    TypeDecorator,
    cast,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.types import TypeEngine

from dossier.core.errors import DossierError
from dossier.core.progress import Progress, ProgressSink, quiet
from dossier.retention import ledger, restores
from dossier.retention.archive import (
    ArchiveWriter,
    BackgroundWriter,
    BackupCorrupt,
    BackupKey,
    Manifest,
    Part,
    decode_value,
    dumps_record,
    read_lines,
    record_kind,
)
from dossier.storage.db import Database
from dossier.storage.numbers import sequence_name
from dossier.storage.objects import ObjectNotFound, ObjectStore
from dossier.storage.schema import (
    audit_log,
    metadata,
    outbox,
    registrations,
    student_number_counters,
    students,
)
from dossier.storage.sql import bulk_insert, snapshot

log = logging.getLogger("dossier.retention")
T = TypeVar("T")

PREFIX = "backups/"
MANIFEST = "manifest.json"
BATCH = 2000
"""Rows fetched, serialised and compressed at a time by ``create``; rows loaded at a time by
``restore``."""
SPOOL_LIMIT = 1 << 30
"""Bytes of documents a restore keeps in a temporary file while it loads the rows (beyond:
read again from the parts after the commit)."""
SPOOL_IN_MEMORY = 32 << 20


class BackupRefused(DossierError):
    code = "backup_refused"
    rule = "backup_refused"
    status = 409

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__({"reason": reason})


@frozen(kw_only=True)
class VerifyResult:
    backup_id: str
    ok: bool
    parts: int
    rows: Mapping[str, int]
    objects: int
    restore_checked: bool = False
    audit_ok: bool | None = None
    problem: str | None = None


class Backups:
    def __init__(
        self,
        db: Database,
        objects: ObjectStore,
        *,
        documents_bucket: str,
        backups_bucket: str,
        key: BackupKey,
        retention: timedelta = timedelta(days=30),
        part_size: int = 8 * 1024 * 1024,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.objects = objects
        self.documents_bucket = documents_bucket
        self.backups_bucket = backups_bucket
        self.key = key
        self.retention = retention
        self.part_size = part_size
        self.clock = clock
        self.locked = objects.ensure_bucket(backups_bucket, versioning=True, object_lock=True)
        objects.ensure_bucket(documents_bucket, versioning=True)

    # -- create ------------------------------------------------------------------------

    def create(self, *, incremental: bool = False, progress: ProgressSink = quiet) -> Manifest:
        now = self.clock()
        base = self.latest() if incremental else None
        if incremental and base is None:
            raise BackupRefused("no_base_backup")
        backup_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        retain_until = now + self.retention if self.locked else None

        def sink(index: int, sealed: bytes) -> Part:
            name = f"part-{index:05d}"
            self.objects.put(
                self.backups_bucket,
                f"{PREFIX}{backup_id}/{name}",
                sealed,
                len(sealed),
                retain_until=retain_until,
            )
            return Part(name, len(sealed), hashlib.sha256(sealed).hexdigest())

        writer = BackgroundWriter(ArchiveWriter(backup_id, self.key, sink, self.part_size))
        try:
            with self.db.engine.connect() as raw:
                conn = snapshot(raw)
                with conn.begin():
                    tables = self._dump_tables(conn, writer, progress)
                    sequences = _sequences(conn)
                    revision = _revision(conn)
            since = base.created_at if base is not None else None
            objects = self._dump_objects(writer, since, progress)
            parts = writer.close()
        finally:
            writer.stop()
        manifest = Manifest(
            id=backup_id,
            kind="incremental" if incremental else "full",
            created_at=now,
            base=None if base is None else base.id,
            schema_revision=revision,
            parts=tuple(parts),
            tables=tables,
            objects=objects,
            sequences=sequences,
            retain_until=retain_until,
        )
        body = manifest.to_bytes(self.key)
        self.objects.put(
            self.backups_bucket,
            f"{PREFIX}{backup_id}/{MANIFEST}",
            body,
            len(body),
            content_type="application/json",
            retain_until=retain_until,
        )
        log.info("backup created", extra={"backup": backup_id, "parts": len(parts)})
        return manifest

    def _dump_tables(
        self, conn: Connection, writer: BackgroundWriter, progress: ProgressSink
    ) -> dict[str, int]:
        """Every row of every table, in dependency order, as lines of the stream: fetched in
        batches from a server-side cursor, JSON columns as their stored text (not parsed and
        written again), each batch serialised with orjson and compressed in one call."""
        totals = {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables
        }
        total, done = sum(totals.values()), 0
        progress(Progress("rows", 0, total))
        counts: dict[str, int] = {}
        for table in metadata.sorted_tables:
            rows, name = 0, str(table.name)  # orjson takes plain str keys only
            names = [str(column.name) for column in table.columns]
            columns = [
                cast(column, Text) if isinstance(column.type, JSON) else column
                for column in table.columns
            ]
            raw_json = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
            order = list(table.primary_key.columns) or list(table.columns)
            result = conn.execution_options(yield_per=BATCH).execute(
                select(*columns).order_by(*order)
            )
            for batch in result.partitions():
                lines = bytearray()
                for row in batch:
                    values = list(row)
                    for i in raw_json:
                        values[i] = _json_text(values[i])
                    lines += dumps_record({"t": name, "r": dict(zip(names, values, strict=True))})
                    lines += b"\n"
                writer.write_lines(bytes(lines))
                rows += len(batch)
                done += len(batch)
                progress(Progress("rows", done, total))
            counts[name] = rows
        return counts

    def _dump_objects(
        self, writer: BackgroundWriter, since: datetime | None, progress: ProgressSink
    ) -> int:
        """Every object of the documents bucket, whatever its prefix (students' documents,
        training materials), or those written since ``since``; fetched a few at a time ahead."""
        count = 0
        progress(Progress("objects", 0))
        keys = (
            info.key
            for info in self.objects.list(self.documents_bucket)
            if since is None or info.last_modified is None or info.last_modified >= since
        )
        for key, data in _ahead(lambda k: (k, self.objects.get(self.documents_bucket, k)), keys):
            writer.write({"o": key, "d": base64.b64encode(data).decode()})
            count += 1
            progress(Progress("objects", count))
        return count

    # -- list, verify ------------------------------------------------------------------

    def catalogue(self) -> list[Manifest]:
        found = []
        for info in self.objects.list(self.backups_bucket, prefix=PREFIX):
            if info.key.endswith(f"/{MANIFEST}"):
                raw = self.objects.get(self.backups_bucket, info.key)
                found.append(Manifest.from_bytes(raw, self.key))
        return sorted(found, key=lambda m: m.created_at)

    def latest(self) -> Manifest | None:
        manifests = self.catalogue()
        return manifests[-1] if manifests else None

    def manifest(self, backup_id: str) -> Manifest:
        try:
            raw = self.objects.get(self.backups_bucket, f"{PREFIX}{backup_id}/{MANIFEST}")
        except ObjectNotFound:
            raise BackupRefused("no_such_backup") from None
        return Manifest.from_bytes(raw, self.key)

    def lines(self, manifest: Manifest, progress: ProgressSink = quiet) -> Iterator[bytes]:
        """The backup's stream of lines, each part checked before its lines are given;
        ``progress`` hears each part (stage ``parts``)."""

        def parts() -> Iterator[tuple[Part, bytes]]:
            total = len(manifest.parts)
            progress(Progress("parts", 0, total))
            for done, part in enumerate(manifest.parts, start=1):
                key = f"{PREFIX}{manifest.id}/{part.name}"
                try:
                    data = self.objects.get(self.backups_bucket, key)
                except ObjectNotFound:
                    raise BackupCorrupt(part.name) from None
                yield part, data
                progress(Progress("parts", done, total))

        return read_lines(manifest.id, self.key, parts())

    def records(self, manifest: Manifest) -> Iterator[dict[str, Any]]:
        for line in self.lines(manifest):
            yield orjson.loads(line)

    def verify(
        self,
        backup_id: str,
        *,
        restore_into: Database | None = None,
        progress: ProgressSink = quiet,
    ) -> VerifyResult:
        """Download every part and check every checksum, seal and count; optionally restore
        into a scratch database (``restore_into``) and verify its audit chain."""
        try:
            manifest = self.manifest(backup_id)
            rows, objects = self._count(manifest, progress)
        except BackupCorrupt as corrupt:
            return VerifyResult(
                backup_id=backup_id, ok=False, parts=0, rows={}, objects=0, problem=corrupt.where
            )
        ok = rows == dict(manifest.tables) and objects == manifest.objects
        audit_ok: bool | None = None
        if ok and restore_into is not None:
            self.restore(backup_id, restore_into, objects_into=None, replay_ledger=False)
            audit_ok = restore_into.verify_audit().ok
            ok = audit_ok
        return VerifyResult(
            backup_id=backup_id,
            ok=ok,
            parts=len(manifest.parts),
            rows=rows,
            objects=objects,
            restore_checked=restore_into is not None,
            audit_ok=audit_ok,
            problem=None if ok else "counts_differ" if audit_ok is None else "audit_chain",
        )

    def _count(
        self, manifest: Manifest, progress: ProgressSink = quiet
    ) -> tuple[dict[str, int], int]:
        rows = dict.fromkeys(manifest.tables, 0)
        objects = 0
        for line in self.lines(manifest, progress):
            table = record_kind(line)
            if table is None:
                objects += 1
            else:
                rows[table] = rows.get(table, 0) + 1
        return rows, objects

    # -- restore -----------------------------------------------------------------------

    def restore(
        self,
        backup_id: str,
        target: Database,
        *,
        objects_into: tuple[ObjectStore, str] | None,
        replay_ledger: bool = True,
        progress: ProgressSink = quiet,
        spool_limit: int = SPOOL_LIMIT,
    ) -> Manifest:
        """Restore into an empty, migrated database (and bucket); nothing is written unless
        every part of the backup (and of its base chain) checks out first.

        Each part is read once: the rows go into the target in one transaction as the parts
        are read (COPY on PostgreSQL), the documents into a temporary spool; the transaction
        commits only when every part of the chain has checked out and every count matches the
        manifests, and only then are the documents written. Documents beyond ``spool_limit``
        bytes are not spooled but read again from their parts after the commit.
        """
        manifest = self.manifest(backup_id)
        chain = self._chain(manifest)
        _require_empty(target.engine)
        with contextlib.ExitStack() as stack:
            spool = _Spool(spool_limit, wanted=objects_into is not None)
            stack.callback(spool.close)
            with target.engine.begin() as conn:
                loader = _RowLoader(conn, sum(manifest.tables.values()), progress)
                for member in reversed(chain):  # oldest first: a newer copy of a key wins
                    rows: dict[str, int] = dict.fromkeys(member.tables, 0)
                    objects = 0
                    for line in self.lines(member):
                        table = record_kind(line)
                        if table is None:
                            objects += 1
                            spool.add(member, line)
                            continue
                        rows[table] = rows.get(table, 0) + 1
                        if member is manifest:  # the rows come from the newest backup alone
                            loader.add(table, line)
                    if rows != dict(member.tables) or objects != member.objects:
                        raise BackupCorrupt(member.id)
                loader.close()
                _restore_sequences(conn, manifest.sequences)
            if objects_into is not None:
                store, bucket = objects_into
                if bucket != self.documents_bucket:  # known to destruction before any copy
                    restores.record(self.db, bucket, manifest.id, self.clock())
                store.ensure_bucket(bucket, versioning=True)
                total = sum(member.objects for member in chain)
                progress(Progress("objects", 0, total))
                documents = spool.objects(self._reread(spool))
                for written, _ in enumerate(_put_all(store, bucket, documents), start=1):
                    progress(Progress("objects", written, total))
        if replay_ledger:
            progress(Progress("ledger", 0))
            self._replay_ledger(target, objects_into)
        return manifest

    def _reread(self, spool: _Spool) -> Callable[[], Iterator[tuple[str, bytes]]]:
        """The documents the spool had no room for, read again from their backups' parts."""

        def documents() -> Iterator[tuple[str, bytes]]:
            for member in spool.overflowed:
                skip = spool.spooled_of(member.id)
                for line in self.lines(member):
                    if record_kind(line) is not None:
                        continue
                    if skip:
                        skip -= 1
                        continue
                    record = orjson.loads(line)
                    yield str(record["o"]), base64.b64decode(record["d"])

        return documents

    def _chain(self, manifest: Manifest) -> list[Manifest]:
        chain = [manifest]
        while chain[-1].base is not None:
            chain.append(self.manifest(chain[-1].base))
        return chain

    def _replay_ledger(
        self, target: Database, objects_into: tuple[ObjectStore, str] | None
    ) -> None:
        """Destroy again whoever the ledger says was destroyed, if the restore brought them back."""
        for entry in ledger.entries(self.objects, self.backups_bucket):
            with target.unit_of_work() as uow:
                if uow.students.tombstone(entry.student_number) is not None:
                    continue
                try:
                    uow.shred(
                        entry.student_number,
                        certificate_id=entry.certificate_id,
                        actor="system:restore-ledger",
                        at=entry.destroyed_at,
                    )
                except DossierError:
                    continue
                uow.commit()
            if objects_into is not None:
                store, bucket = objects_into
                for owner in (entry.student_number, *entry.registration_ids):
                    for info in list(store.list(bucket, prefix=f"students/{owner}/")):
                        store.delete_all_versions(bucket, info.key)

    # -- prune -------------------------------------------------------------------------

    def prune(self, *, keep_latest_full: bool = True) -> list[str]:
        """Delete backups past their retention date (never the newest full one, nor a base
        that a kept incremental still needs)."""
        now = self.clock()
        manifests = self.catalogue()
        fulls = [m for m in manifests if m.kind == "full"]
        protected = {fulls[-1].id} if keep_latest_full and fulls else set()
        expired = {
            m.id for m in manifests if m.created_at + self.retention < now and m.id not in protected
        }
        needed = {m.base for m in manifests if m.id not in expired and m.base is not None}
        removed = []
        for manifest in manifests:
            if manifest.id in expired and manifest.id not in needed:
                for info in list(
                    self.objects.list_versions(self.backups_bucket, f"{PREFIX}{manifest.id}/")
                ):
                    self.objects.delete_all_versions(self.backups_bucket, info.key)
                removed.append(manifest.id)
        return removed


# -- helpers of create and restore ---

WORKERS = 4
"""Documents fetched (by ``create``) or stored (by ``restore``) at once."""


def _ahead(fetch: Callable[[str], T], keys: Iterable[str], workers: int = WORKERS) -> Iterator[T]:
    """``fetch(key)`` for every key, in order, ``2 * workers`` under way at a time."""
    with ThreadPoolExecutor(workers, thread_name_prefix="backup-get") as pool:
        pending: deque[Future[T]] = deque()
        for key in keys:
            pending.append(pool.submit(fetch, key))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _put_all(
    store: ObjectStore, bucket: str, documents: Iterable[tuple[str, bytes]]
) -> Iterator[str]:
    """Store the documents, ``WORKERS`` at a time; a key is never written twice at once, and a
    later copy of a key is written after the earlier one. Yields each key once written."""
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="restore-put") as pool:
        pending: deque[tuple[str, Future[Any]]] = deque()
        for key, data in documents:
            if any(k == key for k, _ in pending):
                while pending:  # the same key in flight: let everything before it land
                    done_key, future = pending.popleft()
                    future.result()
                    yield done_key
            pending.append((key, pool.submit(store.put, bucket, key, data, len(data))))
            if len(pending) >= 2 * WORKERS:
                done_key, future = pending.popleft()
                future.result()
                yield done_key
        while pending:
            done_key, future = pending.popleft()
            future.result()
            yield done_key


def _json_text(value: Any) -> Any:
    """A JSON column read as text, for the archive as it is (not parsed and written again)."""
    if isinstance(value, str) and "\n" not in value:
        return orjson.Fragment(value)
    if isinstance(value, str | bytes):  # a stored text spread over lines: one line, please
        return orjson.loads(value)
    return value  # NULL, or a driver that parsed it already


_TAGGED = (LargeBinary, DateTime, Date)


def _is_tagged(kind: TypeEngine[Any]) -> bool:
    """Whether the archive tags this column's values (bytes, timestamps, dates)."""
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    return isinstance(kind, _TAGGED)


class _RowLoader:
    """Rows into the target, ``BATCH`` rows of one table at a time (COPY on PostgreSQL); only
    the binary, timestamp and date columns are decoded (by column type, not by value)."""

    def __init__(self, conn: Connection, total: int, progress: ProgressSink) -> None:
        self.conn = conn
        self.total = total
        self.progress = progress
        self.done = 0
        self.table: str | None = None
        self.tagged: list[str] = []
        self.batch: list[dict[str, Any]] = []
        progress(Progress("rows", 0, total))

    def add(self, table: str, line: bytes) -> None:
        if table != self.table:
            self.flush()
            self.table = table
            self.tagged = [c.name for c in metadata.tables[table].columns if _is_tagged(c.type)]
        row: dict[str, Any] = orjson.loads(line)["r"]
        for name in self.tagged:
            if name in row:
                row[name] = decode_value(row[name])
        self.batch.append(row)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch and self.table is not None:
            bulk_insert(self.conn, metadata.tables[self.table], self.batch)
            self.done += len(self.batch)
            self.batch = []
            self.progress(Progress("rows", self.done, self.total))

    def close(self) -> None:
        self.flush()
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('outbox', 'seq'), "
                    "GREATEST((SELECT max(seq) FROM outbox), 1))"
                )
            )


_ENTRY = struct.Struct(">II")


class _Spool:
    """The documents read while the rows load, kept (a temporary file past ``SPOOL_IN_MEMORY``)
    until the rows are committed; past ``limit`` bytes the rest is left in the parts, to be
    read again (`overflowed`, and how many of the first such backup's documents are here)."""

    def __init__(self, limit: int, *, wanted: bool = True) -> None:
        self.limit = limit
        self.wanted = wanted
        self.size = 0
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self.overflowed: list[Manifest] = []
        self._spooled: dict[str, int] = {}

    def add(self, member: Manifest, line: bytes) -> None:
        if not self.wanted:
            return
        if self.overflowed:
            if member not in self.overflowed:
                self.overflowed.append(member)
            return
        record = orjson.loads(line)
        key, data = str(record["o"]).encode(), base64.b64decode(record["d"])
        if self.size + len(data) > self.limit:
            self.overflowed.append(member)
            return
        self.file.write(_ENTRY.pack(len(key), len(data)) + key + data)
        self.size += len(data)
        self._spooled[member.id] = self._spooled.get(member.id, 0) + 1

    def spooled_of(self, backup_id: str) -> int:
        return self._spooled.get(backup_id, 0)

    def objects(
        self, reread: Callable[[], Iterator[tuple[str, bytes]]]
    ) -> Iterator[tuple[str, bytes]]:
        """Every document in the order read: the spooled ones, then those read again."""
        self.file.seek(0)
        while header := self.file.read(_ENTRY.size):
            key_size, data_size = _ENTRY.unpack(header)
            key = self.file.read(key_size).decode()
            yield key, self.file.read(data_size)
        if self.overflowed:
            yield from reread()

    def close(self) -> None:
        self.file.close()


def _require_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        for table in (students, registrations, audit_log, outbox):
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise BackupRefused("target_not_empty")


def _sequences(conn: Connection) -> dict[str, int]:
    """The last student-number sequence value of every branch and year, engine-independent."""
    if conn.dialect.name == "postgresql":
        found = {}
        for name, last in conn.execute(
            text(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE sequencename LIKE 'dossier\\_sn\\_%' AND last_value IS NOT NULL"
            )
        ).all():
            _, _, branch, year = str(name).split("_")
            found[f"{branch.upper()}-{year}"] = int(last)
        return found
    counters = conn.execute(select(student_number_counters)).mappings().all()
    return {f"{r['branch']}-{int(r['year']):02d}": int(r["last"]) for r in counters}


def _restore_sequences(conn: Connection, sequences: Mapping[str, int]) -> None:
    for name, last in sequences.items():
        branch, year = name.rsplit("-", 1)
        if conn.dialect.name == "postgresql":
            sequence = sequence_name(branch, int(year))
            conn.execute(
                text(
                    f'CREATE SEQUENCE IF NOT EXISTS "{sequence}" '
                    "MINVALUE 1 MAXVALUE 999999999 NO CYCLE"
                )
            )
            conn.execute(
                text("SELECT setval(CAST(:s AS regclass), :v)"), {"s": sequence, "v": last}
            )
        else:
            conn.execute(
                student_number_counters.delete().where(
                    student_number_counters.c.branch == branch,
                    student_number_counters.c.year == int(year),
                )
            )
            conn.execute(
                insert(student_number_counters).values(branch=branch, year=int(year), last=last)
            )


def _revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    except Exception:
        return None

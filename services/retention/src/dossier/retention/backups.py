"""Backups (资料备份): consistent logical snapshots of the database plus the document objects.

``create`` reads every table in one snapshot (REPEATABLE READ on PostgreSQL, a
WAL read transaction on SQLite), in dependency order, and every document
object, into an archive (see `dossier.retention.archive`) uploaded part by
part to the backup bucket — with a retention date where the bucket has object
lock — and the manifest last: a backup without a manifest is not a backup.
An *incremental* backup carries the whole database (it is small beside the
documents) and only the document objects written since its base.
The format is engine-independent: a PostgreSQL backup restores into SQLite
and back. ``restore`` checks every part before writing anything, requires an
empty target, writes all rows in one transaction, and then replays the
destruction ledger so a destroyed student never comes back.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, Engine, func, insert, select, text

from dossier.core.errors import DossierError
from dossier.retention import ledger
from dossier.retention.archive import (
    ArchiveWriter,
    BackupCorrupt,
    BackupKey,
    Manifest,
    Part,
    decode_value,
    encode_value,
    read_records,
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
from dossier.storage.sql import snapshot

log = logging.getLogger("dossier.retention")

PREFIX = "backups/"
MANIFEST = "manifest.json"
BATCH = 500


class BackupRefused(DossierError):
    code = "backup_refused"
    rule = "backup_refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__({"reason": reason})


@frozen
class Progress:
    stage: str
    done: int
    total: int | None = None


ProgressSink = Callable[[Progress], None]


def _quiet(_: Progress) -> None:
    return None


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

    def create(self, *, incremental: bool = False, progress: ProgressSink = _quiet) -> Manifest:
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
            progress(Progress("upload", index))
            return Part(name, len(sealed), hashlib.sha256(sealed).hexdigest())

        writer = ArchiveWriter(backup_id, self.key, sink, self.part_size)
        with self.db.engine.connect() as raw:
            conn = snapshot(raw)
            with conn.begin():
                tables = self._dump_tables(conn, writer, progress)
                sequences = _sequences(conn)
                revision = _revision(conn)
        since = base.created_at if base is not None else None
        objects = self._dump_objects(writer, since, progress)
        parts = writer.close()
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
        self, conn: Connection, writer: ArchiveWriter, progress: ProgressSink
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        for table in metadata.sorted_tables:
            rows = 0
            order = list(table.primary_key.columns) or list(table.columns)
            result = conn.execution_options(yield_per=1000).execute(select(table).order_by(*order))
            for row in result.mappings():
                writer.write({"t": table.name, "r": {k: encode_value(v) for k, v in row.items()}})
                rows += 1
            counts[table.name] = rows
            progress(Progress(f"table {table.name}", rows))
        return counts

    def _dump_objects(
        self, writer: ArchiveWriter, since: datetime | None, progress: ProgressSink
    ) -> int:
        count = 0
        for info in self.objects.list(self.documents_bucket):
            if since is not None and info.last_modified is not None and info.last_modified < since:
                continue
            data = self.objects.get(self.documents_bucket, info.key)
            writer.write({"o": info.key, "d": base64.b64encode(data).decode()})
            count += 1
            if count % 100 == 0:
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

    def records(self, manifest: Manifest) -> Iterator[dict[str, Any]]:
        def parts() -> Iterator[tuple[Part, bytes]]:
            for part in manifest.parts:
                key = f"{PREFIX}{manifest.id}/{part.name}"
                try:
                    yield part, self.objects.get(self.backups_bucket, key)
                except ObjectNotFound:
                    raise BackupCorrupt(part.name) from None

        return read_records(manifest.id, self.key, parts())

    def verify(self, backup_id: str, *, restore_into: Database | None = None) -> VerifyResult:
        """Download every part and check every checksum, seal and count; optionally restore
        into a scratch database (``restore_into``) and verify its audit chain."""
        try:
            manifest = self.manifest(backup_id)
            rows, objects = self._count(manifest)
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

    def _count(self, manifest: Manifest) -> tuple[dict[str, int], int]:
        rows = dict.fromkeys(manifest.tables, 0)
        objects = 0
        for record in self.records(manifest):
            if "t" in record:
                rows[record["t"]] = rows.get(record["t"], 0) + 1
            else:
                objects += 1
        return rows, objects

    # -- restore -----------------------------------------------------------------------

    def restore(
        self,
        backup_id: str,
        target: Database,
        *,
        objects_into: tuple[ObjectStore, str] | None,
        replay_ledger: bool = True,
        progress: ProgressSink = _quiet,
    ) -> Manifest:
        """Restore into an empty, migrated database (and bucket); nothing is written unless
        every part of the backup (and of its base chain) checks out first."""
        manifest = self.manifest(backup_id)
        chain = self._chain(manifest)
        for member in chain:
            rows, objects = self._count(member)
            if rows != dict(member.tables) or objects != member.objects:
                raise BackupCorrupt(member.id)
        _require_empty(target.engine)
        with target.engine.begin() as conn:
            self._load_rows(conn, manifest, progress)
            _restore_sequences(conn, manifest.sequences)
        if objects_into is not None:
            store, bucket = objects_into
            store.ensure_bucket(bucket, versioning=True)
            for member in chain:
                for record in self.records(member):
                    if "o" in record:
                        data = base64.b64decode(record["d"])
                        store.put(bucket, record["o"], data, len(data))
        if replay_ledger:
            self._replay_ledger(target, objects_into)
        return manifest

    def _chain(self, manifest: Manifest) -> list[Manifest]:
        chain = [manifest]
        while chain[-1].base is not None:
            chain.append(self.manifest(chain[-1].base))
        return chain

    def _load_rows(self, conn: Connection, manifest: Manifest, progress: ProgressSink) -> None:
        tables = metadata.tables
        batch: list[dict[str, Any]] = []
        current: str | None = None
        done = 0
        for record in self.records(manifest):
            if "t" not in record:
                continue
            if record["t"] != current and batch:
                conn.execute(insert(tables[str(current)]), batch)
                batch = []
            current = record["t"]
            batch.append({k: decode_value(v) for k, v in record["r"].items()})
            if len(batch) >= BATCH:
                conn.execute(insert(tables[current]), batch)
                done += len(batch)
                batch = []
                progress(Progress("restore rows", done))
        if batch and current is not None:
            conn.execute(insert(tables[current]), batch)
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('outbox', 'seq'), "
                    "GREATEST((SELECT max(seq) FROM outbox), 1))"
                )
            )

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

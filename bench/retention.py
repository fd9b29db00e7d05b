"""Retention benchmark (issue 6): quarterly review, full backup and restore, audit verification.

    .venv/bin/python bench/retention.py            # 1,000,000 dossiers
    .venv/bin/python bench/retention.py --quick    # 5,000 dossiers, same code paths (< 60 s)
    .venv/bin/python bench/retention.py --dossiers 50000   # any other size

The dossiers are real admissions written with `BulkAdmitter` in imports of
``FILL_CHUNK`` (sealed personal blobs, data keys, blind indexes, document
references, status history, consents, one audit entry each, outbox rows) into
a throwaway PostgreSQL database. Filling is not a figure; its time goes to
stderr. Then, in this order:

1. **Quarterly review**: ``Reviews(db, branches).start_run(Caller(reviewer),
   StartReview(branch, quarter))`` over the whole branch, in a *spawned* child
   process (a fresh interpreter that only opens the database and runs the
   review). ``review_seconds`` is the wall clock of ``start_run``;
   ``review_peak_mb`` is the child's own ``ru_maxrss`` at the end — the peak
   resident memory of a process doing the review, interpreter and imports
   included (``baseline_mb``: its VmRSS just before ``start_run``). The run
   must come back completed with every dossier reviewed.
2. **Raw S3 ceiling**: ``RAW_OBJECTS`` objects of ``PART_SIZE`` random bytes
   uploaded one by one with `S3ObjectStore.put` (single PUT each) into a plain
   bucket of the same moto server, then downloaded with ``get``: bytes/s of each.
3. **Full backup**: ``Backups.create()`` (snapshot of every table, sealed
   zlib-compressed parts of ``PART_SIZE``, object-locked bucket), then
   ``Backups.verify(id)`` must be ok. Throughput: the bytes of the sealed
   parts over the seconds of ``create``; ceiling: raw PUT bytes/s.
4. **Restore**: ``Backups.restore(id, target)`` into a second throwaway,
   migrated database (documents into a fresh bucket); the target must then
   hold N students and its audit chain must verify. Throughput: the same
   part bytes over the seconds of ``restore`` (which downloads every part
   once, loading rows as it checks, documents spooled until the rows are
   committed); ceiling: raw PUT bytes/s, as
   the issue asks (raw GET bytes/s is reported beside it).
5. **Audit verification**: ``db.verify_audit()`` of the source database,
   entries/s.

Documents: the dossiers carry document *references*; the documents bucket holds
``DOCUMENTS`` small objects so that the object half of backup and restore runs,
but the archive is almost all table rows.

S3: moto's standalone server (``python -m moto.server``) on a free port,
through `dossier.storage.objects.S3ObjectStore`. PostgreSQL:
``DOSSIER_BENCH_POSTGRES_URL`` (a SQLAlchemy URL on a server where the user may
``CREATE DATABASE``), else ``postgresql+psycopg://postgres@127.0.0.1:5432/test``;
both throwaway databases are dropped at the end. A failed check ends the run
with an error instead of figures; a missed goal does not: the exit code is 0.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import resource
import secrets
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: bench, tests

from bench._harness import Figure, peak_rss_mb, report
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.contracts.retention import StartReview
from dossier.core.enums import Channel, DocumentKind, Gender, IdDocumentType, ReviewRunStatus
from dossier.core.lifecycle import Context
from dossier.core.policy import Actor, Role
from dossier.core.records import (
    DocumentRef,
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
    Registration,
)
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.retention.review import PAGE_SIZE, Reviews
from dossier.storage import schema
from dossier.storage.bulk import BulkAdmitter
from dossier.storage.db import Database
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import S3ObjectStore
from tests.support.postgres import throwaway_database
from tests.support.s3 import S3Server, moto_server

BENCH = "retention"
ENV = "DOSSIER_BENCH_POSTGRES_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

FULL = 1_000_000
QUICK = 5_000
FILL_CHUNK = 5_000
"""Registrations per `BulkAdmitter` import (one unit of work each)."""
PART_SIZE = 8 * 1024 * 1024
"""Backup part size (the `Backups` default) and the size of each raw PUT."""
RAW_OBJECTS = 8
"""Raw single PUTs (and GETs) of ``PART_SIZE`` measured for the ceiling."""
DOCUMENTS = 200
DOCUMENT_SIZE = 48 * 1024
QUARTER = "2026Q2"

BRANCH = "SH01"
BRANCHES = {BRANCH: Branch(code=BRANCH, name="上海一校")}
REVIEWER = Actor(id="reviewer-bench", roles={Role.REVIEWER}, branches={BRANCH})
NAMES = ("王小明", "李静", "张伟", "刘洋", "陈晨", "杨帆", "赵磊", "黄丽")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else BENCH)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK:,} dossiers, same code paths (< 60 s)"
    )
    parser.add_argument(
        "--dossiers", type=int, default=None, help=f"dossiers to fill (default {FULL:,})"
    )
    return parser.parse_args()


# -- PostgreSQL and S3 -----------------------------------------------------------------------


def object_store(s3: S3Server) -> S3ObjectStore:
    return S3ObjectStore(s3.endpoint, s3.access_key, s3.secret_key, region=s3.region)


# -- filling ---------------------------------------------------------------------------------


def registration(n: int) -> Registration:
    """Registration ``n``: unique ID document, phone and e-mail; both documents referenced."""
    tag = f"{n:07d}"
    reg_id = f"{BRANCH.lower()}-reg-{tag}"
    name = NAMES[n % len(NAMES)]
    return Registration(
        id=reg_id,
        branch=BRANCH,
        channel=Channel.IMPORT,
        applicant=PersonalDetails(
            name=name,
            birth_date=date(1990, 1, 1) + timedelta(days=n % 7_000),
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{BRANCH}{tag}"),
            phone=f"+86137{BRANCH[-2:]}{tag}",
            gender=Gender.FEMALE if n % 2 else Gender.MALE,
            email=f"student{tag}@{BRANCH.lower()}.example.cn",
            address=f"上海市黄浦区南京东路{n % 999 + 1}号 {tag} 室",
        ),
        needs=LearningNeeds(
            target_language="en", current_level="B1", goals="IELTS 7", preferred_schedule="weekends"
        ),
        submitted_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC) + timedelta(seconds=n),
        guardian=Guardian(name=f"{name[0]}建国", relation="father", phone=f"+86139{tag}0"),
        guardian_consent=True,
        documents=(
            _document(reg_id, DocumentKind.REGISTRATION_FORM),
            _document(reg_id, DocumentKind.ID_PROOF),
        ),
    )


def _document(owner: str, kind: DocumentKind) -> DocumentRef:
    digest = hashlib.sha256(f"{owner}/{kind.value}".encode()).hexdigest()
    return DocumentRef(kind=kind, sha256=digest, size=48_213, media_type="application/pdf")


def fill(db: Database, count: int) -> None:
    """Admit ``count`` registrations with `BulkAdmitter`, ``FILL_CHUNK`` an import."""
    began = time.perf_counter()
    for first in range(0, count, FILL_CHUNK):
        chunk = [registration(n) for n in range(first + 1, min(count, first + FILL_CHUNK) + 1)]
        ctx = Context(actor="officer-bench", reason="admitted", at=datetime.now(UTC))
        with db.unit_of_work() as uow:
            admitted = BulkAdmitter(uow).admit(chunk, ctx)
            uow.commit()
        if len(admitted) != len(chunk):
            raise RuntimeError(f"bulk admitted {len(admitted)} of {len(chunk)}")
        done = first + len(chunk)
        if done % 100_000 == 0 or done == count:
            seconds = time.perf_counter() - began
            log(f"fill: {done:,} dossiers in {seconds:.1f} s ({done / seconds:,.0f}/s)")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # what a database that has lived would have
    log(f"fill (not a figure): {count:,} dossiers in {time.perf_counter() - began:.1f} s")


def fill_documents(store: S3ObjectStore, bucket: str) -> None:
    store.ensure_bucket(bucket, versioning=True)
    for n in range(DOCUMENTS):
        data = os.urandom(DOCUMENT_SIZE)
        store.put(bucket, f"students/{BRANCH}-26-{n:06d}/receipt-{n}.pdf", data, len(data))


def count_students(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(schema.students)
                .where(schema.students.c.branch == BRANCH)
            ).scalar_one()
        )


# -- the review, in a fresh process ------------------------------------------------------------


@dataclass(frozen=True)
class ReviewOutcome:
    seconds: float
    peak_mb: float
    baseline_mb: float
    dossiers: int
    findings: int
    status: str


def _vm_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def review_in_child(url: str, master_secret: bytes) -> ReviewOutcome:
    """Runs in a spawned process: open the database, run the branch's review, report."""
    db = Database(url, MasterKey.from_bytes(master_secret))
    try:
        reviews = Reviews(db, BRANCHES)
        baseline = _vm_rss_mb()
        began = time.perf_counter()
        view = reviews.start_run(Caller(REVIEWER), StartReview(branch=BRANCH, quarter=QUARTER))
        seconds = time.perf_counter() - began
    finally:
        db.dispose()
    return ReviewOutcome(
        seconds=seconds,
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        baseline_mb=baseline,
        dossiers=view.dossiers,
        findings=view.findings,
        status=view.status.value,
    )


def review(url: str, master: MasterKey, count: int) -> ReviewOutcome:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        outcome = pool.submit(review_in_child, url, master.secret).result()
    if outcome.status != ReviewRunStatus.COMPLETED.value or outcome.dossiers != count:
        raise RuntimeError(f"review did not cover the branch: {outcome}")
    log(
        f"review: {outcome.dossiers:,} dossiers, {outcome.findings:,} findings in "
        f"{outcome.seconds:.2f} s; child peak {outcome.peak_mb:.0f} MiB "
        f"(baseline {outcome.baseline_mb:.0f} MiB)"
    )
    return outcome


# -- the raw S3 ceiling ------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    put_bytes_per_s: float
    get_bytes_per_s: float


def raw_s3(store: S3ObjectStore) -> Raw:
    """``RAW_OBJECTS`` single PUTs of ``PART_SIZE`` random bytes into a plain bucket, then GETs."""
    bucket = f"bench-raw-{secrets.token_hex(4)}"
    store.ensure_bucket(bucket, versioning=False)
    payloads = [os.urandom(PART_SIZE) for _ in range(RAW_OBJECTS)]
    put_seconds = 0.0
    for n, data in enumerate(payloads):
        began = time.perf_counter()
        store.put(bucket, f"raw/{n:03d}", data, len(data))
        put_seconds += time.perf_counter() - began
    get_seconds = 0.0
    for n, data in enumerate(payloads):
        began = time.perf_counter()
        got = store.get(bucket, f"raw/{n:03d}")
        get_seconds += time.perf_counter() - began
        if got != data:
            raise RuntimeError(f"raw object {n} came back different")
    total = RAW_OBJECTS * PART_SIZE
    raw = Raw(total / put_seconds, total / get_seconds)
    log(
        f"raw S3: {RAW_OBJECTS} x {PART_SIZE // 2**20} MiB, PUT {raw.put_bytes_per_s / 2**20:.1f} "
        f"MiB/s, GET {raw.get_bytes_per_s / 2**20:.1f} MiB/s"
    )
    return raw


# -- the run ---------------------------------------------------------------------------------


def main() -> None:
    args = arguments()
    count = args.dossiers or (QUICK if args.quick else FULL)
    server = os.environ.get(ENV, DEFAULT_URL)
    master = MasterKey.from_bytes(os.urandom(32))
    with (
        moto_server() as s3,
        throwaway_database(server) as url,
        throwaway_database(server) as target_url,
    ):
        upgrade(url)
        upgrade(target_url)
        db = Database(url, master)
        target = Database(target_url, master)
        try:
            figures = measure(db, url, target, master, object_store(s3), count)
        finally:
            db.dispose()
            target.dispose()
    report(figures)


def measure(
    db: Database,
    url: str,
    target: Database,
    master: MasterKey,
    store: S3ObjectStore,
    count: int,
) -> list[Figure]:
    log(f"{count:,} dossiers, {os.cpu_count()} CPUs")
    fill(db, count)
    if count_students(db) != count:
        raise RuntimeError("the fill did not leave the expected students")
    log(f"peak memory so far: {peak_rss_mb()} MiB")

    outcome = review(url, master, count)

    raw = raw_s3(store)
    documents_bucket = f"bench-docs-{secrets.token_hex(4)}"
    fill_documents(store, documents_bucket)
    backups = Backups(
        db,
        store,
        documents_bucket=documents_bucket,
        backups_bucket=f"bench-backups-{secrets.token_hex(4)}",
        key=BackupKey(os.urandom(32)),
        part_size=PART_SIZE,
    )
    began = time.perf_counter()
    manifest = backups.create()
    backup_seconds = time.perf_counter() - began
    part_bytes = sum(part.size for part in manifest.parts)
    rows = sum(manifest.tables.values())
    log(
        f"backup: {len(manifest.parts)} parts, {part_bytes / 2**20:.1f} MiB, {rows:,} rows, "
        f"{manifest.objects} objects in {backup_seconds:.2f} s; locked bucket: {backups.locked}"
    )
    if manifest.tables.get("students") != count or manifest.objects != DOCUMENTS:
        raise RuntimeError(f"the backup does not hold what it should: {manifest.tables}")
    began = time.perf_counter()
    checked = backups.verify(manifest.id)
    verify_backup_seconds = time.perf_counter() - began
    if not checked.ok:
        raise RuntimeError(f"backup verification failed: {checked}")
    log(f"backup verified in {verify_backup_seconds:.2f} s")

    restored_bucket = f"bench-restored-{secrets.token_hex(4)}"
    began = time.perf_counter()
    backups.restore(manifest.id, target, objects_into=(store, restored_bucket))
    restore_seconds = time.perf_counter() - began
    restored = count_students(target)
    restored_audit = target.verify_audit()
    restored_objects = sum(1 for _ in store.list(restored_bucket))
    if restored != count or not restored_audit.ok or restored_objects != DOCUMENTS:
        raise RuntimeError(
            f"restore incomplete: {restored} students, audit ok {restored_audit.ok}, "
            f"{restored_objects} objects"
        )
    log(f"restore: {restored:,} students, audit chain ok, in {restore_seconds:.2f} s")

    began = time.perf_counter()
    verified = db.verify_audit()
    verify_seconds = time.perf_counter() - began
    entries = sum(verified.branches.values())
    if not verified.ok or entries < count:
        raise RuntimeError(f"audit verification failed: {verified}")
    log(f"audit: {entries:,} entries verified in {verify_seconds:.2f} s")

    backup_rate = part_bytes / backup_seconds
    restore_rate = part_bytes / restore_seconds
    sizes: dict[str, float] = {"dossiers": count}
    return [
        Figure(
            BENCH,
            "review_seconds",
            outcome.seconds,
            "s",
            goal=60,
            note=f"Reviews.start_run, whole branch, page {PAGE_SIZE}, in a fresh process",
            extra={**sizes, "findings": outcome.findings},
        ),
        Figure(
            BENCH,
            "review_peak_mb",
            outcome.peak_mb,
            "MiB",
            goal=300,
            note="ru_maxrss of the review process (interpreter and imports included)",
            extra={**sizes, "baseline_mb": round(outcome.baseline_mb, 1)},
        ),
        Figure(
            BENCH,
            "backup_bytes_per_s",
            backup_rate,
            "B/s",
            ceiling=raw.put_bytes_per_s,
            goal=0.5,
            note="Backups.create, sealed part bytes; ceiling: raw single PUT",
            extra={**sizes, "bytes": part_bytes, "parts": len(manifest.parts), "rows": rows},
        ),
        Figure(
            BENCH,
            "restore_bytes_per_s",
            restore_rate,
            "B/s",
            ceiling=raw.put_bytes_per_s,
            goal=0.5,
            note="Backups.restore, same bytes; ceiling: raw single PUT",
            extra={
                **sizes,
                "bytes": part_bytes,
                "raw_get_bytes_per_s": round(raw.get_bytes_per_s, 1),
                "ratio_to_raw_get": round(restore_rate / raw.get_bytes_per_s, 3),
            },
        ),
        Figure(
            BENCH,
            "backup_seconds",
            backup_seconds,
            "s",
            note="Backups.create",
            extra={**sizes, "verify_seconds": round(verify_backup_seconds, 3)},
        ),
        Figure(
            BENCH,
            "restore_seconds",
            restore_seconds,
            "s",
            note="Backups.restore into an empty migrated database",
            extra=sizes,
        ),
        Figure(
            BENCH,
            "audit_verify_entries_per_s",
            entries / verify_seconds,
            "1/s",
            goal=200_000,
            note="db.verify_audit, every branch",
            extra={"entries": entries, "seconds": round(verify_seconds, 3)},
        ),
        Figure(
            BENCH,
            "raw_put_bytes_per_s",
            raw.put_bytes_per_s,
            "B/s",
            note=f"S3ObjectStore.put, {RAW_OBJECTS} x {PART_SIZE // 2**20} MiB, plain bucket",
            extra={"raw_get_bytes_per_s": round(raw.get_bytes_per_s, 1)},
        ),
    ]


if __name__ == "__main__":
    main()

"""Storage benchmark (issue 3): dossiers written into PostgreSQL two ways, against raw ceilings.

    .venv/bin/python bench/storage.py            # 100,000 dossiers per way
    .venv/bin/python bench/storage.py --quick    # 5,000 per way, same code paths (< 60 s)

Every dossier is a real admission: a registration is accepted (student number
from the branch's sequence) and admitted, with a fresh wrapped data key,
sealed personal blobs for the registration and the dossier, blind indexes of
both, document references, the status-history and consent rows, one audit
entry with keyed hashes of name, birth date, ID document and phone, and the
outbox rows of both events. The two ways write exactly the same rows:

1. **bulk** (imports): `BulkAdmitter.admit` on chunks of ``BULK_CHUNK``
   registrations, one unit of work per chunk (COPY under the hood). Timed:
   ``admit`` plus ``commit``; the registrations of a chunk are built before.
2. **service**: ``CALLERS`` threads each submit single admissions to one
   `GroupCommitter` (each job: number, registration, dossier, audit entry,
   outbox rows — the single-row repository path) and wait for the answer,
   which comes only after its batch committed. Timed: wall clock from the
   first submission to the last answer.

Ceilings, measured in the same run on the same database: a plain 15-column
table (``bench_raw``, rows about as wide as a dossier row) filled with the
same number of rows by psycopg ``COPY … FROM STDIN`` (``write_row``) and by
SQLAlchemy Core ``conn.execute(insert(t), dicts)`` in batches of
``RAW_BATCH``, one transaction per batch (SQLAlchemy hands each batch to
psycopg's ``executemany``, which pipelines it: no RETURNING, so no
insertmanyvalues). Each ceiling is measured
``len(RAW_ROUNDS)`` times — before the dossier ways, between them, after them
— and the median is the ceiling.

After each way the bench checks the database really holds what was written
(students, registrations, data keys, blind indexes, documents, audit entries,
outbox rows, a sealed blob that opens and does not show its name) and that
``db.verify_audit`` finds the branch's chain intact; a failed check ends the
run with an error instead of figures. Missed goals do not: the exit code is 0.

PostgreSQL: ``DOSSIER_BENCH_POSTGRES_URL`` (SQLAlchemy URL of any database on
a server where the user may ``CREATE DATABASE``), else
``postgresql+psycopg://postgres@127.0.0.1:5432/test``. The run creates a
database ``dossier_bench_<random>`` and drops it at the end.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: bench, tests

from bench._harness import Figure, arguments, peak_rss_mb, percentile, report
from dossier.core import lifecycles
from dossier.core.enums import Channel, DocumentKind, Gender, IdDocumentType, RegistrationStatus
from dossier.core.lifecycle import Context
from dossier.core.records import (
    DocumentRef,
    Guardian,
    IdDocument,
    LearningNeeds,
    PersonalDetails,
    Registration,
)
from dossier.storage import schema
from dossier.storage.audit import AuditSpec
from dossier.storage.bulk import BulkAdmitter
from dossier.storage.db import Database
from dossier.storage.group_commit import GroupCommitter
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.uow import UnitOfWork
from tests.support.postgres import throwaway_database

BENCH = "storage"
ENV = "DOSSIER_BENCH_POSTGRES_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

FULL = 100_000
QUICK = 5_000
BULK_CHUNK = 5_000
"""Registrations per import (one unit of work each)."""
CALLERS = 64
"""Concurrent service callers, each waiting for its admission's batch to commit."""
MAX_BATCH = 64
MAX_WAIT = 0.005
"""The group committer's settings (its documented defaults)."""
RAW_BATCH = 1_000
"""Rows per executemany call (one transaction each) for the raw ceiling."""
RAW_ROUNDS = ("before", "between", "after")

BULK_BRANCH = "BK01"
SERVICE_BRANCH = "SV01"
NAMES = ("王小明", "李静", "张伟", "刘洋", "陈晨", "杨帆", "赵磊", "黄丽")
"""Names repeat, as in life; phones and passports are unique, so nobody is a duplicate."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the throwaway database ---------------------------------------------------------------

# -- registrations to admit ------------------------------------------------------------------


def registration(branch: str, n: int, channel: Channel) -> Registration:
    """Registration ``n`` of ``branch``: unique ID document, phone, e-mail and documents."""
    tag = f"{n:07d}"
    reg_id = f"{branch.lower()}-reg-{tag}"
    name = NAMES[n % len(NAMES)]
    return Registration(
        id=reg_id,
        branch=branch,
        channel=channel,
        applicant=PersonalDetails(
            name=name,
            birth_date=date(1990, 1, 1) + timedelta(days=n % 7_000),
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{branch}{tag}"),
            phone=f"+86137{branch[-2:]}{tag}",
            gender=Gender.FEMALE if n % 2 else Gender.MALE,
            email=f"student{tag}@{branch.lower()}.example.cn",
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


def admission_context() -> Context:
    return Context(actor="officer-bench", reason="admitted", at=datetime.now(UTC))


def audit_values(person: PersonalDetails) -> dict[str, object]:
    """What the bulk path hashes into each student's audit entry; the service job does the same."""
    return {
        "personal.name": person.name,
        "personal.birth_date": person.birth_date,
        "personal.id_document": person.id_document,
        "personal.phone": person.phone,
    }


def admission_job(registration: Registration, ctx: Context) -> Callable[[UnitOfWork], str]:
    """One single admission through the repositories: the rows `BulkAdmitter` writes for one."""

    def job(uow: UnitOfWork) -> str:
        number = uow.numbers.next(registration.branch, ctx.at.year)
        accepted = lifecycles.accept_registration(registration, ctx, number)
        uow.registrations.add(accepted.record)  # data key, sealed row, documents, blind indexes
        uow.outbox.add(accepted.events)
        admitted = lifecycles.admit(accepted.record, ctx)
        uow.apply(  # dossier (registration's key), children, indexes, audit entry, outbox row
            admitted,
            audit=AuditSpec(action="student.admitted", values=audit_values(registration.applicant)),
        )
        return number

    return job


# -- the raw ceilings ------------------------------------------------------------------------

raw_metadata = MetaData()
raw_table = Table(
    "bench_raw",
    raw_metadata,
    Column("id", BigInteger, primary_key=True),
    Column("branch", String(8), nullable=False),
    Column("student_number", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("email", Text),
    Column("address", Text),
    Column("note", Text),  # about as wide as a dossier's sealed personal blob (~475 bytes)
    Column("birth_date", Date, nullable=False),
    Column("admitted_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
)
RAW_COLUMNS = [c.name for c in raw_table.columns]
_NOTE = "IELTS band 7 intensive, weekends, speaking club and writing workshop; " * 6
"""One string object shared by every row (the server stores it per row all the same), so the
ceiling's rows do not set the run's peak memory."""


def raw_rows(count: int) -> list[tuple[Any, ...]]:
    created = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    return [
        (
            n,
            "RW01",
            f"RW01-26-{n:06d}-{n % 10}",
            "enrolled",
            NAMES[n % len(NAMES)],
            f"+8613700{n:07d}",
            f"student{n:07d}@rw01.example.cn",
            f"上海市黄浦区南京东路{n % 999 + 1}号 {n:07d} 室",
            _NOTE,
            date(1990, 1, 1) + timedelta(days=n % 7_000),
            date(2026, 3, 2),
            created + timedelta(seconds=n),
            1,
            1_280_000 + n,
            n % 16,
        )
        for n in range(1, count + 1)
    ]


def settle(engine: Engine) -> None:
    """CHECKPOINT before a timed phase, so none of them pays for another's dirty pages.

    Needs superuser or ``pg_checkpoint``; skipped without."""
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("CHECKPOINT")
    except sqlalchemy.exc.DBAPIError:
        pass


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE bench_raw")
    settle(engine)


def raw_copy_seconds(engine: Engine, rows: Sequence[tuple[Any, ...]]) -> float:
    """Seconds to COPY ``rows`` into ``bench_raw`` with psycopg's ``write_row``, and commit."""
    _truncate(engine)
    names = ", ".join(RAW_COLUMNS)
    start = time.perf_counter()
    with engine.begin() as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        with driver.cursor() as cursor, cursor.copy(f"COPY bench_raw ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return time.perf_counter() - start


def raw_executemany_seconds(engine: Engine, rows: Sequence[tuple[Any, ...]]) -> float:
    """Seconds spent in ``conn.execute(insert(t), dicts)`` + commit, ``RAW_BATCH`` rows a call.

    The dicts of each batch are built outside the timer, like the registrations."""
    _truncate(engine)
    statement = insert(raw_table)
    elapsed = 0.0
    for start in range(0, len(rows), RAW_BATCH):
        batch = [
            dict(zip(RAW_COLUMNS, row, strict=True)) for row in rows[start : start + RAW_BATCH]
        ]
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(statement, batch)
        elapsed += time.perf_counter() - began
    return elapsed


class Ceilings:
    """Both raw ceilings, measured in several rounds spread over the run."""

    def __init__(self, engine: Engine, count: int) -> None:
        self.engine = engine
        self.count = count
        self.copy: list[float] = []
        self.executemany: list[float] = []
        raw_metadata.create_all(engine)

    def round(self, label: str) -> None:
        rows = raw_rows(self.count)
        copy = raw_copy_seconds(self.engine, rows)
        many = raw_executemany_seconds(self.engine, rows)
        self._check()
        self.copy.append(self.count / copy)
        self.executemany.append(self.count / many)
        log(
            f"raw ceilings ({label}): COPY {self.count / copy:,.0f} rows/s, "
            f"executemany {self.count / many:,.0f} rows/s"
        )

    def _check(self) -> None:
        with self.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(raw_table)).scalar_one()
        if stored != self.count:
            raise RuntimeError(f"bench_raw holds {stored} rows, expected {self.count}")


# -- the two dossier ways --------------------------------------------------------------------


def run_bulk(db: Database, count: int) -> tuple[float, list[float]]:
    """Admit ``count`` registrations in imports of ``BULK_CHUNK``; total seconds, chunk rates."""
    elapsed = 0.0
    rates: list[float] = []
    for first in range(0, count, BULK_CHUNK):
        chunk = [
            registration(BULK_BRANCH, n, Channel.IMPORT)
            for n in range(first + 1, min(count, first + BULK_CHUNK) + 1)
        ]
        ctx = admission_context()
        began = time.perf_counter()
        with db.unit_of_work() as uow:
            dossiers = BulkAdmitter(uow).admit(chunk, ctx)
            uow.commit()
        seconds = time.perf_counter() - began
        if len(dossiers) != len(chunk):
            raise RuntimeError(f"bulk admitted {len(dossiers)} of {len(chunk)}")
        elapsed += seconds
        rates.append(len(chunk) / seconds)
        del chunk, dossiers
    return elapsed, rates


class ServiceRun:
    """``CALLERS`` threads, each submitting single admissions and waiting for the commit."""

    def __init__(self, db: Database, count: int) -> None:
        self.db = db
        self.count = count
        self.latencies: list[float] = []
        self.numbers: set[str] = set()
        self.batches = 0
        self._lock = threading.Lock()
        self._next = itertools.count(1)

    def run(self) -> float:
        with GroupCommitter(self.db, max_batch=MAX_BATCH, max_wait=MAX_WAIT) as committer:
            began = time.perf_counter()
            with ThreadPoolExecutor(CALLERS, thread_name_prefix="caller") as pool:
                done = list(pool.map(lambda _: self._caller(committer), range(CALLERS)))
            elapsed = time.perf_counter() - began
            self.batches = committer.batches
        if sum(done) != self.count or len(self.numbers) != self.count:
            raise RuntimeError(
                f"service admitted {sum(done)} ({len(self.numbers)} distinct) of {self.count}"
            )
        return elapsed

    def _caller(self, committer: GroupCommitter) -> int:
        done = 0
        latencies = []
        numbers = []
        while (n := next(self._next)) <= self.count:  # itertools.count is atomic under the GIL
            job = admission_job(
                registration(SERVICE_BRANCH, n, Channel.FRONT_DESK), admission_context()
            )
            began = time.perf_counter()
            numbers.append(committer.submit(job))
            latencies.append(time.perf_counter() - began)
            done += 1
        with self._lock:
            self.latencies.extend(latencies)
            self.numbers.update(numbers)
        return done


# -- checking what was written ---------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    rows: int
    """Rows the admissions left, all tables together."""
    audit_entries: int
    verify_seconds: float
    """`Database.verify_audit` of the branch."""


ROW_COUNTS = (
    "students",
    "accepted registrations",
    "data keys of the students",
    "student blind indexes",
    "registration blind indexes",
    "document references",
    "status changes",
    "consents",
    "audit entries",
    "outbox rows",
)
"""The checks that each count rows of a different table (what a dossier costs in rows)."""


def check_written(db: Database, branch: str, count: int) -> Written:
    """Check everything ``count`` admissions of ``branch`` must have left, and its audit chain.

    Raises if anything is missing or the chain is broken."""
    s = schema
    student_prefix = f"{branch}-%"
    reg_prefix = f"{branch.lower()}-reg-%"
    expected = {
        "students": count,
        "accepted registrations": count,
        "data keys of the students": count,
        "student blind indexes": 3 * count,
        "registration blind indexes": 3 * count,
        "document references": 4 * count,
        "status changes": count,
        "consents": count,
        "audit entries": count,
        "audit entries with 4 value hashes": count,
        "outbox rows": 2 * count,
    }
    queries = {
        "students": select(func.count())
        .select_from(s.students)
        .where(s.students.c.branch == branch, s.students.c.personal_ct.is_not(None)),
        "accepted registrations": select(func.count())
        .select_from(s.registrations)
        .where(
            s.registrations.c.branch == branch,
            s.registrations.c.status == RegistrationStatus.ACCEPTED.value,
            s.registrations.c.personal_ct.is_not(None),
        ),
        "data keys of the students": select(func.count(func.distinct(s.data_keys.c.id)))
        .select_from(s.data_keys.join(s.students, s.students.c.key_id == s.data_keys.c.id))
        .where(s.students.c.branch == branch),
        "student blind indexes": select(func.count())
        .select_from(s.blind_indexes)
        .where(
            s.blind_indexes.c.owner_kind == "student",
            s.blind_indexes.c.owner_id.like(student_prefix),
        ),
        "registration blind indexes": select(func.count())
        .select_from(s.blind_indexes)
        .where(
            s.blind_indexes.c.owner_kind == "registration",
            s.blind_indexes.c.owner_id.like(reg_prefix),
        ),
        "document references": select(func.count())
        .select_from(s.document_refs)
        .where(
            s.document_refs.c.owner_id.like(student_prefix)
            | s.document_refs.c.owner_id.like(reg_prefix)
        ),
        "status changes": select(func.count())
        .select_from(s.status_changes)
        .where(s.status_changes.c.student_number.like(student_prefix)),
        "consents": select(func.count())
        .select_from(s.consents)
        .where(s.consents.c.student_number.like(student_prefix)),
        "audit entries": select(func.count())
        .select_from(s.audit_log)
        .where(s.audit_log.c.branch == branch),
        "audit entries with 4 value hashes": select(func.count())
        .select_from(s.audit_log)
        .where(
            s.audit_log.c.branch == branch,
            func.json_array_length(s.audit_log.c.fields) == 4,
            func.length(func.cast(s.audit_log.c.value_hashes, Text)) > 4 * 64,
        ),
        "outbox rows": select(func.count())
        .select_from(s.outbox)
        .where(s.outbox.c.branch == branch),
    }
    with db.engine.connect() as conn:
        found = {name: int(conn.execute(query).scalar_one()) for name, query in queries.items()}
        sample_number, sample_blob = conn.execute(
            select(s.students.c.student_number, s.students.c.personal_ct)
            .where(s.students.c.branch == branch)
            .order_by(func.random())
            .limit(1)
        ).one()
    wrong = {name: (found[name], want) for name, want in expected.items() if found[name] != want}
    if wrong:
        detail = ", ".join(
            f"{name}: {got} (expected {want})" for name, (got, want) in wrong.items()
        )
        raise RuntimeError(f"{branch}: the database does not hold what was written — {detail}")
    with db.unit_of_work() as uow:  # the sealed blob opens, and it is not the plain text
        dossier = uow.students.get(sample_number)
    if dossier.personal.name.encode() in sample_blob or dossier.branch != branch:
        raise RuntimeError(f"{branch}: {sample_number} is not sealed as expected")
    began = time.perf_counter()
    verified = db.verify_audit(branch)
    seconds = time.perf_counter() - began
    if not verified.ok or verified.branches.get(branch) != count:
        raise RuntimeError(f"{branch}: audit chain verification failed: {verified}")
    log(f"{branch}: checked {found} and the audit chain ({count:,} entries in {seconds:.2f} s)")
    return Written(sum(found[name] for name in ROW_COUNTS), count, seconds)


# -- the run -------------------------------------------------------------------------------


def database_settings(engine: Engine) -> str:
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar()
        sync = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        buffers = conn.exec_driver_sql("SHOW shared_buffers").scalar()
    return f"PostgreSQL {version}, synchronous_commit={sync}, shared_buffers={buffers}"


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "storage benchmark")
    count = QUICK if args.quick else FULL
    server = os.environ.get(ENV, DEFAULT_URL)
    with throwaway_database(server) as url:
        upgrade(url)
        db = Database(url, MasterKey.generate())
        try:
            figures = measure(db, count)
        finally:
            db.dispose()
    report(figures)


def measure(db: Database, count: int) -> list[Figure]:
    log(f"{database_settings(db.engine)}; {count:,} dossiers per way, {os.cpu_count()} CPUs")
    _ = db.indexer  # create the blind-index root key before any timing
    ceilings = Ceilings(db.engine, count)

    log(f"peak memory at the start: {peak_rss_mb()} MiB")
    ceilings.round(RAW_ROUNDS[0])
    log(f"peak memory so far: {peak_rss_mb()} MiB")
    settle(db.engine)
    bulk_seconds, chunk_rates = run_bulk(db, count)
    log(f"bulk: {count:,} dossiers in {bulk_seconds:.2f} s ({count / bulk_seconds:,.0f}/s)")
    bulk = check_written(db, BULK_BRANCH, count)
    log(f"peak memory so far: {peak_rss_mb()} MiB")

    ceilings.round(RAW_ROUNDS[1])
    settle(db.engine)
    service = ServiceRun(db, count)
    service_seconds = service.run()
    log(
        f"service: {count:,} dossiers in {service_seconds:.2f} s ({count / service_seconds:,.0f}/s)"
        f", {service.batches:,} transactions"
    )
    served = check_written(db, SERVICE_BRANCH, count)
    log(f"peak memory so far: {peak_rss_mb()} MiB")

    ceilings.round(RAW_ROUNDS[2])
    copy_rate = statistics.median(ceilings.copy)
    many_rate = statistics.median(ceilings.executemany)
    ms = [1000 * s for s in service.latencies]
    verify_entries = bulk.audit_entries + served.audit_entries
    verify_seconds = bulk.verify_seconds + served.verify_seconds
    return [
        Figure(
            BENCH,
            "bulk_dossiers_per_s",
            count / bulk_seconds,
            "1/s",
            ceiling=copy_rate,
            goal=0.5,
            note=f"BulkAdmitter, {BULK_CHUNK:,} a unit of work; ceiling: raw COPY rows/s",
            extra={
                "dossiers": count,
                "seconds": round(bulk_seconds, 3),
                "median_chunk_per_s": round(statistics.median(chunk_rates), 1),
                "rows_per_dossier": round(bulk.rows / count, 2),
            },
        ),
        Figure(
            BENCH,
            "service_dossiers_per_s",
            count / service_seconds,
            "1/s",
            ceiling=many_rate,
            goal=0.25,
            note=f"GroupCommitter, {CALLERS} caller threads; ceiling: raw executemany rows/s",
            extra={
                "dossiers": count,
                "seconds": round(service_seconds, 3),
                "transactions": service.batches,
                "mean_batch": round(count / max(1, service.batches), 1),
                "p50_ms": round(percentile(ms, 50), 2),
                "p99_ms": round(percentile(ms, 99), 2),
                "rows_per_dossier": round(served.rows / count, 2),
            },
        ),
        Figure(
            BENCH,
            "bulk_rows_per_s",
            bulk.rows / bulk_seconds,
            "1/s",
            ceiling=copy_rate,
            note=f"the bulk way in rows of all tables ({bulk.rows / count:.0f} a dossier)",
            extra={"rows": bulk.rows},
        ),
        Figure(
            BENCH,
            "service_rows_per_s",
            served.rows / service_seconds,
            "1/s",
            ceiling=many_rate,
            note=f"the service way in rows of all tables ({served.rows / count:.0f} a dossier)",
            extra={"rows": served.rows},
        ),
        Figure(
            BENCH,
            "raw_copy_rows_per_s",
            copy_rate,
            "1/s",
            note=f"15-column table, psycopg COPY write_row, median of {len(ceilings.copy)}",
            extra={"rows": count, "min": round(min(ceilings.copy), 1)},
        ),
        Figure(
            BENCH,
            "raw_executemany_rows_per_s",
            many_rate,
            "1/s",
            note=(
                f"15-column table, Core insert executemany, {RAW_BATCH:,} rows a transaction, "
                f"median of {len(ceilings.executemany)}"
            ),
            extra={"rows": count, "min": round(min(ceilings.executemany), 1)},
        ),
        Figure(
            BENCH,
            "audit_verify_entries_per_s",
            verify_entries / verify_seconds,
            "1/s",
            note="db.verify_audit, both branches",
            extra={"entries": verify_entries, "seconds": round(verify_seconds, 3)},
        ),
    ]


if __name__ == "__main__":
    main()

"""批量导入's use cases (`dossier.intake.imports`): start, resume and report import jobs.

An import is a job that works through the rows in chunks, one transaction
each: the chunk's students (`dossier.storage.bulk.BulkAdmitter`) and the
job's progress (``uow.import_jobs``) commit together.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime, time
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import attrs
from attrs import frozen
from sqlalchemy import Connection, bindparam, update
from sqlalchemy.exc import IntegrityError

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import import_job_id
from dossier.core.contracts.intake import (
    GetImportStatus,
    ImportFormat,
    ImportProblemView,
    ImportReport,
    ImportState,
    ResumeImport,
    StartImport,
)
from dossier.core.enums import Locale
from dossier.core.errors import AccessDenied, NotFound, Problem, ValidationError
from dossier.core.lifecycle import Context
from dossier.core.messages import DEFAULT_CATALOGUE
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Operation, authorize
from dossier.core.records import StudentDossier
from dossier.intake.handlers import Intake
from dossier.intake.imports.checks import (
    CheckedRow,
    FileIdentities,
    RowChecker,
    with_chain_duplicates,
)
from dossier.intake.imports.parsing import parse_row
from dossier.intake.imports.sheets import FileUnreadable, Header, SheetRow, open_table
from dossier.storage.audit import AuditSpec
from dossier.storage.bulk import BulkAdmitter
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import IdempotencyKeyReused
from dossier.storage.repositories.import_jobs import KIND, ImportJob, ImportProblem
from dossier.storage.schema import status_changes, students
from dossier.storage.sql import snapshot
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, utc_now

CHUNK_SIZE = 1_000
"""Rows per transaction: big enough for COPY to pay off, small enough to lose little on a kill."""

SOURCE_SYSTEM_MAX = 64


@frozen(kw_only=True)
class ImportProgress:
    """What a caller hears after each chunk (validated, or committed). ``stage``, ``done`` and
    ``total`` read it as every long job's progress reads (the state, rows done, rows in the
    file), e.g. for `dossier.messaging.progress.JobProgress.update`."""

    job_id: str
    state: ImportState
    rows_total: int
    rows_done: int
    imported: int
    invalid: int

    @property
    def stage(self) -> str:
        return self.state.value

    @property
    def done(self) -> int:
        return self.rows_done

    @property
    def total(self) -> int | None:
        return self.rows_total or None


ProgressCallback = Callable[[ImportProgress], None]

IMPORT_AUDIT = AuditSpec(action="student.imported", fields=("status", "admitted_at"))
_REGISTRATION_IDS = uuid.UUID("5b0f3c1e-6f1a-4d0e-9a57-2c7d0e1f4a10")
"""Namespace of imported registrations' ids: uuid5(namespace, "<job id>/<row>")."""


@frozen(kw_only=True)
class _Request:
    branch: str
    format: ImportFormat
    source_system: str
    strict: bool


class _Run:
    """One pass over a job's file: the checker, and the identities the file has claimed."""

    def __init__(self, job: ImportJob, checker: RowChecker, digest: Callable[..., str]) -> None:
        self.job = job
        self.checker = checker
        self.identities = FileIdentities(checker.header, digest)

    def rows(self, header: Header, rows: Iterable[SheetRow]) -> Iterator[CheckedRow]:
        for row in rows:
            parsed = parse_row(header, row)
            checked = self.checker.check(parsed, self._registration_id(row.number))
            yield self.identities.claim(checked)

    def _registration_id(self, row: int) -> str:
        return str(uuid.uuid5(_REGISTRATION_IDS, f"{self.job.id}/{row}"))


class Importer(UseCases):
    """批量导入: the import use cases, beside `Intake` (same database, branches and rules)."""

    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        documents: DocumentStore | None = None,  # imported students come without documents
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
        *,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        super().__init__(db, branches, documents, plugins, clock)
        self.chunk_size = chunk_size

    @classmethod
    def beside(cls, intake: Intake, **options: Any) -> Importer:
        """An importer over the same database, branches, documents, rules and clock."""
        documents = intake._document_store
        return cls(intake.db, intake.branches, documents, intake.plugins, intake.clock, **options)

    # -- over NATS (content inline, base64) ----------------------------------------------

    def start(self, caller: Caller, command: StartImport) -> ImportReport:
        """``import.start``: the whole file in the request; returns the job's report, its
        messages in the caller's locale.

        With an idempotency key the job id is derived from actor and key, so
        a retried request continues (or reports) the same job. The caller's
        ``progress`` hears each chunk (the service publishes it on NATS, see
        `dossier.messaging.progress`).
        """
        data = io.BytesIO(_decoded(command.content))
        job_id = (
            import_job_id(caller.actor.id, caller.idempotency_key)
            if caller.idempotency_key
            else None
        )
        request = _Request(
            branch=command.branch,
            format=command.format,
            source_system=command.source_system,
            strict=command.strict,
        )
        progress = caller.progress
        job = self._start(caller, data, request, job_id, progress, from_key=job_id is not None)
        return self._report(job, caller.locale)

    def status(self, caller: Caller, query: GetImportStatus) -> ImportReport:
        """``import.status``: the job's progress and report as last committed."""
        job = self._reading(lambda uow: self._visible_job(uow, caller.actor, query.job_id))
        return self._report(job, caller.locale)

    def resume(self, caller: Caller, command: ResumeImport) -> ImportReport:
        """``import.resume``: continue after the last committed chunk (same file again)."""
        data = io.BytesIO(_decoded(command.content))
        job = self._resume(caller, command.job_id, data, caller.progress)
        return self._report(job, caller.locale)

    # -- in process (files of any size) -------------------------------------------------

    def import_file(
        self,
        caller: Caller,
        source: Path | BinaryIO,
        *,
        branch: str,
        format: ImportFormat,
        source_system: str,
        strict: bool = False,
        job_id: str | None = None,
        progress: ProgressCallback | None = None,
        locale: Locale | None = None,
    ) -> ImportReport:
        """Import a file (a path, or a binary stream) and report; ``progress`` hears each chunk.

        With ``job_id`` of an existing job this resumes it (the same file and
        settings are required); an exception from ``progress`` stops the
        import after the chunk it was told about, which stays committed.
        """
        request = _Request(branch=branch, format=format, source_system=source_system, strict=strict)
        with ExitStack() as stack:
            data = _seekable(source, stack)
            job = self._start(caller, data, request, job_id, progress, from_key=False)
        return self._report(job, locale)

    def resume_file(
        self,
        caller: Caller,
        job_id: str,
        source: Path | BinaryIO,
        *,
        progress: ProgressCallback | None = None,
        locale: Locale | None = None,
    ) -> ImportReport:
        with ExitStack() as stack:
            job = self._resume(caller, job_id, _seekable(source, stack), progress)
        return self._report(job, locale)

    # -- the steps ------------------------------------------------------------------------

    def _start(
        self,
        caller: Caller,
        data: BinaryIO,
        request: _Request,
        job_id: str | None,
        progress: ProgressCallback | None,
        *,
        from_key: bool,
    ) -> ImportJob:
        branch = self._branch(request.branch)
        self._require(caller.actor, Operation.IMPORT_RUN, branch.code)
        source_system = _source_system(request.source_system)
        request = attrs.evolve(request, source_system=source_system)
        sha = _sha256(data)
        existing = None
        if job_id is not None:
            existing = self._job(job_id)
        if existing is None:
            existing = self._create(caller, data, request, job_id or str(uuid.uuid4()), sha)
        elif not _same_request(existing, request, sha):
            if from_key:
                raise IdempotencyKeyReused()
            raise ValidationError([Problem("job_id", "different_file")])
        return self._continue(caller, existing, data, progress)

    def _resume(
        self, caller: Caller, job_id: str, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        job = self._reading(lambda uow: self._visible_job(uow, caller.actor, job_id))
        if _sha256(data) != job.content_sha256:
            raise ValidationError([Problem("content", "different_file")])
        return self._continue(caller, job, data, progress)

    def _create(
        self, caller: Caller, data: BinaryIO, request: _Request, job_id: str, sha: str
    ) -> ImportJob:
        """Survey the file (header, row count) and record the job with an audit entry."""
        now = self.clock()
        problems: tuple[ImportProblem, ...] = ()
        rows_total = 0
        try:
            header, rows = open_table(data, request.format)
            problems = header.problems
            rows_total = sum(1 for _ in rows)
        except FileUnreadable as unreadable:
            problems = (unreadable.problem,)
        if problems:
            state = ImportState.REJECTED
        elif rows_total == 0:
            state = ImportState.COMPLETED
        else:
            state = ImportState.VALIDATING if request.strict else ImportState.IMPORTING
        job = ImportJob(
            id=job_id,
            branch=request.branch,
            actor=caller.actor.id,
            source_system=request.source_system,
            format=request.format,
            strict=request.strict,
            content_sha256=sha,
            state=state,
            rows_total=rows_total,
            created_at=now,
            updated_at=now,
        ).noting(problems)
        try:
            with self.db.unit_of_work() as uow:
                uow.import_jobs.add(job)
                uow.audit.record(
                    AuditSpec(action="import.started", fields=("rows_total", "source_system")),
                    branch=job.branch,
                    actor=caller.actor.id,
                    subject=job.id,
                    at=now,
                )
                uow.commit()
        except IntegrityError:  # the same job, started by a retry of the same request
            found = self._job(job_id)
            if found is None:
                raise
            return found
        return job

    def _continue(
        self, caller: Caller, job: ImportJob, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        if job.state is ImportState.VALIDATING:
            job = self._validate_all(job, data, progress)
        if job.state is ImportState.IMPORTING:
            job = self._import_rows(caller, job, data, progress)
        return job

    def _run(self, job: ImportJob, data: BinaryIO) -> tuple[_Run, Iterator[CheckedRow]]:
        branch = self._branch(job.branch)
        header, rows = open_table(data, job.format)
        now = self.clock()
        checker = RowChecker(self.plugins.rules_for(branch), header, self._today(branch.code), now)
        run = _Run(job, checker, self.db.indexer.digest)
        return run, run.rows(header, rows)

    def _validate_all(
        self, job: ImportJob, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        """Strict mode, first pass: every row checked (chain included), nothing written."""
        run, checked = self._run(job, data)
        header = run.checker.header
        seen = attrs.evolve(job, rows_done=0, valid=0, invalid=0)
        for chunk in _chunks(checked, self.chunk_size):
            with self.db.engine.connect() as conn, snapshot(conn).begin():
                rows = with_chain_duplicates(conn, chunk, header)
            invalid = sum(not row.ok for row in rows)
            seen = attrs.evolve(
                seen,
                rows_done=seen.rows_done + len(rows),
                valid=seen.valid + len(rows) - invalid,
                invalid=seen.invalid + invalid,
            ).noting([p for row in rows for p in row.problems])
            _tell(progress, seen)
        state = ImportState.REJECTED if seen.invalid else ImportState.IMPORTING
        validated = attrs.evolve(
            job,
            state=state,
            valid=seen.valid,
            invalid=seen.invalid,
            problems=seen.problems,
            problems_total=seen.problems_total,
            updated_at=self.clock(),
        )
        with self.db.unit_of_work() as uow:
            uow.import_jobs.save(validated)
            uow.commit()
        return validated

    def _import_rows(
        self, caller: Caller, job: ImportJob, data: BinaryIO, progress: ProgressCallback | None
    ) -> ImportJob:
        """Chunk after chunk after the last committed one; the skipped rows are re-checked
        only so that the file's identities are claimed exactly as in an uninterrupted run."""
        run, checked = self._run(job, data)
        for _ in islice(checked, job.rows_done):
            pass
        for chunk in _chunks(checked, self.chunk_size):
            job, moved = self._commit_chunk(caller, run, job, chunk)
            if not moved:
                break  # another runner of the same job is ahead: it carries on
            _tell(progress, job)
            if job.state is not ImportState.IMPORTING:
                break
        return job

    def _commit_chunk(
        self, caller: Caller, run: _Run, job: ImportJob, chunk: Sequence[CheckedRow]
    ) -> tuple[ImportJob, bool]:
        """One transaction: the chunk's valid rows admitted, the job's progress saved."""
        now = self.clock()
        with self.db.unit_of_work() as uow:
            conn = uow.connection
            current = uow.import_jobs.get(job.id, lock=True)
            if current is None or current.rows_done != job.rows_done or current.finished:
                return (current or job), False
            rows = with_chain_duplicates(conn, chunk, run.checker.header)
            good = [row for row in rows if row.ok]
            if job.strict and len(good) < len(rows):  # the chain changed since validation
                bad = len(rows) - len(good)
                failed = attrs.evolve(
                    current.noting([p for row in rows for p in row.problems]),
                    state=ImportState.FAILED,
                    valid=current.valid - bad,
                    invalid=current.invalid + bad,
                    updated_at=now,
                )
                uow.import_jobs.save(failed)
                uow.commit()
                return failed, True
            self._admit(uow, caller, run, good, now)
            moved = current.advanced(rows, len(good), now, count_validity=not job.strict)
            uow.import_jobs.save(moved)
            uow.commit()
        return moved, True

    def _admit(
        self, uow: UnitOfWork, caller: Caller, run: _Run, rows: Sequence[CheckedRow], now: datetime
    ) -> None:
        if not rows:
            return
        ctx = Context(
            actor=caller.actor.id, reason=f"imported from {run.job.source_system}", at=now
        )
        admitted = [row.registration for row in rows if row.registration is not None]
        dossiers = BulkAdmitter(uow).admit(
            admitted, ctx, rules=run.checker.rules, audit=IMPORT_AUDIT
        )
        zone = ZoneInfo(self._branch(run.job.branch).time_zone)
        _apply_file_terms(uow.connection, rows, dossiers, zone)

    # -- shared helpers ---------------------------------------------------------------------

    def _report(self, job: ImportJob, locale: Locale | None) -> ImportReport:
        branch = self.branches.get(job.branch)
        rules = self.plugins.rules_for(branch) if branch is not None else None
        catalogue = rules.catalogue if rules else DEFAULT_CATALOGUE
        language = locale or (branch.locale if branch else Locale.ZH_CN)
        return ImportReport(
            job_id=job.id,
            branch=job.branch,
            state=job.state,
            source_system=job.source_system,
            strict=job.strict,
            rows_total=job.rows_total,
            rows_done=job.rows_done,
            valid=job.valid,
            invalid=job.invalid,
            imported=job.imported,
            problems=tuple(
                ImportProblemView(
                    row=p.row,
                    column=p.column,
                    cell=p.cell,
                    rule=p.rule,
                    message=p.message(catalogue, language),
                    params={k: str(v) for k, v in p.params.items()},
                )
                for p in job.problems
            ),
            problems_omitted=job.problems_total - len(job.problems),
            started_at=job.created_at,
            updated_at=job.updated_at,
        )

    def _job(self, job_id: str) -> ImportJob | None:
        """The job as last committed, or None."""
        return self._reading(lambda uow: uow.import_jobs.get(job_id))

    def _visible_job(self, uow: UnitOfWork, actor: Actor, job_id: str) -> ImportJob:
        """The job; another branch's job is not found (as every record outside one's scope)."""
        job = uow.import_jobs.get(job_id)
        if job is None:
            raise NotFound(KIND, job_id)
        verdict = authorize(actor, Operation.IMPORT_RUN, job.branch)
        if verdict.reason == "branch_out_of_scope":
            raise NotFound(KIND, job_id)
        if not verdict.allowed:
            raise AccessDenied(Operation.IMPORT_RUN.value, verdict.reason or "role_not_permitted")
        return job


# -- module helpers ------------------------------------------------------------------------------


def _tell(progress: ProgressCallback | None, job: ImportJob) -> None:
    if progress is not None:
        progress(
            ImportProgress(
                job_id=job.id,
                state=job.state,
                rows_total=job.rows_total,
                rows_done=job.rows_done,
                imported=job.imported,
                invalid=job.invalid,
            )
        )


def _chunks(rows: Iterable[CheckedRow], size: int) -> Iterator[list[CheckedRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _apply_file_terms(
    conn: Connection,
    rows: Sequence[CheckedRow],
    dossiers: Sequence[StudentDossier],
    zone: ZoneInfo,
) -> None:
    """Give the new dossiers the status and admission date of the file, in the same transaction.

    The bulk path admits every student as enrolled, today; an imported
    student keeps the status and admission date of the old system, and the
    one history line says so (from nothing to that status, effective on the
    admission date, reason "imported from …"). Interim: to be replaced by a
    per-student shaping hook in `BulkAdmitter.admit`.
    """
    terms = [
        {
            "b_number": dossier.student_number,
            "b_status": row.status.value,
            "b_admitted_at": datetime.combine(row.admitted_on, time(0), zone),
            "b_effective": row.admitted_on,
        }
        for row, dossier in zip(rows, dossiers, strict=True)
        if row.admitted_on is not None
    ]
    if not terms:
        return
    conn.execute(
        update(students)
        .where(students.c.student_number == bindparam("b_number"))
        .values(
            status=bindparam("b_status"),
            admitted_at=bindparam("b_admitted_at", type_=students.c.admitted_at.type),
        ),
        terms,
    )
    conn.execute(
        update(status_changes)
        .where(
            status_changes.c.student_number == bindparam("b_number"),
            status_changes.c.position == 0,
        )
        .values(to_status=bindparam("b_status"), effective_date=bindparam("b_effective")),
        terms,
    )


def _same_request(job: ImportJob, request: _Request, sha: str) -> bool:
    return (
        job.branch == request.branch
        and job.format is request.format
        and job.source_system == request.source_system
        and job.strict == request.strict
        and job.content_sha256 == sha
    )


def _source_system(name: str) -> str:
    text = name.strip()
    if not text:
        raise ValidationError([Problem("source_system", "required")])
    if len(text) > SOURCE_SYSTEM_MAX:
        raise ValidationError([Problem("source_system", "too_long", {"max": SOURCE_SYSTEM_MAX})])
    if not text.isprintable():
        raise ValidationError([Problem("source_system", "control_characters")])
    return text


def _decoded(content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError([Problem("content", "wrong_type", {"expected": "base64"})]) from None


def _sha256(data: BinaryIO) -> str:
    data.seek(0)
    digest = hashlib.sha256()
    while block := data.read(1 << 20):
        digest.update(block)
    return digest.hexdigest()


def _seekable(source: Path | BinaryIO, stack: ExitStack) -> BinaryIO:
    """The file to read several times (hash, survey, import): opened, or buffered if need be."""
    if isinstance(source, Path):
        return stack.enter_context(source.open("rb"))
    if source.seekable():
        return source
    return io.BytesIO(source.read())

"""导入任务: bulk import jobs (`dossier.intake.imports`) and the problems found in their files.

A job is kept in the caller's transaction (``uow.import_jobs``), so its
progress commits together with the rows it imported. ``problems`` hold a row,
a column and a rule code each, never the value of a cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs
from attrs import field, frozen
from sqlalchemy import RowMapping, insert, select, update

from dossier.core.contracts.intake import ImportFormat, ImportState
from dossier.core.enums import Locale
from dossier.core.errors import ParamValue
from dossier.core.messages import Catalogue
from dossier.storage.repositories.base import Session
from dossier.storage.schema import import_jobs as table

KIND = "import"

MAX_PROBLEMS = 1_000
"""Problems kept and reported per job; the report counts the rest (``problems_omitted``)."""


@frozen(kw_only=True)
class ImportProblem:
    """Something wrong in the file: row (header = 1; 0 = the file), column, rule — no value."""

    row: int
    column: str
    rule: str
    params: Mapping[str, ParamValue] = field(factory=dict)
    cell: str = ""

    def message(self, catalogue: Catalogue, locale: Locale) -> str:
        return catalogue.render(self.rule, locale, self.column, self.params)


class CheckedOutcome(Protocol):
    """What a job's progress reads of a row once checked (`dossier.intake.imports.checks`)."""

    @property
    def ok(self) -> bool: ...
    @property
    def problems(self) -> tuple[ImportProblem, ...]: ...


@frozen(kw_only=True)
class ImportJob:
    """An import's identity, what it was asked to do, and how far it got (committed)."""

    id: str
    branch: str
    actor: str
    source_system: str
    format: ImportFormat
    strict: bool
    content_sha256: str
    state: ImportState
    rows_total: int
    created_at: datetime
    updated_at: datetime
    rows_done: int = 0
    valid: int = 0
    invalid: int = 0
    imported: int = 0
    problems: tuple[ImportProblem, ...] = ()
    problems_total: int = 0

    @property
    def finished(self) -> bool:
        return self.state in {ImportState.COMPLETED, ImportState.REJECTED, ImportState.FAILED}

    def noting(self, problems: Sequence[ImportProblem]) -> ImportJob:
        """With ``problems`` added; only the first `MAX_PROBLEMS` are kept, all are counted."""
        room = max(0, MAX_PROBLEMS - len(self.problems))
        return attrs.evolve(
            self,
            problems=(*self.problems, *problems[:room]),
            problems_total=self.problems_total + len(problems),
        )

    def advanced(
        self, rows: Sequence[CheckedOutcome], imported: int, at: datetime, *, count_validity: bool
    ) -> ImportJob:
        """After a committed chunk: rows done, imported, (in default mode) valid and invalid."""
        invalid = sum(not row.ok for row in rows)
        rows_done = self.rows_done + len(rows)
        moved = attrs.evolve(
            self,
            rows_done=rows_done,
            imported=self.imported + imported,
            valid=self.valid + (len(rows) - invalid if count_validity else 0),
            invalid=self.invalid + (invalid if count_validity else 0),
            state=ImportState.COMPLETED if rows_done >= self.rows_total else self.state,
            updated_at=at,
        )
        return moved.noting([p for row in rows for p in row.problems])


class ImportJobRepository:
    """Import jobs on the ``import_jobs`` table, in the unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, job: ImportJob) -> None:
        self._s.conn.execute(insert(table).values(id=job.id, **_values(job)))

    def get(self, job_id: str, *, lock: bool = False) -> ImportJob | None:
        """The job, or None; ``lock``: held until the transaction ends (one runner at a time)."""
        query = select(table).where(table.c.id == job_id)
        row = self._s.conn.execute(query.with_for_update() if lock else query)
        found = row.mappings().one_or_none()
        return None if found is None else _record(found)

    def save(self, job: ImportJob) -> None:
        self._s.conn.execute(update(table).where(table.c.id == job.id).values(**_values(job)))


def _values(job: ImportJob) -> dict[str, Any]:
    return {
        "branch": job.branch,
        "actor": job.actor,
        "source_system": job.source_system,
        "format": job.format.value,
        "strict": job.strict,
        "content_sha256": job.content_sha256,
        "state": job.state.value,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "valid": job.valid,
        "invalid": job.invalid,
        "imported": job.imported,
        "problems_total": job.problems_total,
        "problems": [attrs.asdict(p) for p in job.problems],
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def _record(row: RowMapping) -> ImportJob:
    return ImportJob(
        id=row["id"],
        branch=row["branch"],
        actor=row["actor"],
        source_system=row["source_system"],
        format=ImportFormat(row["format"]),
        strict=bool(row["strict"]),
        content_sha256=row["content_sha256"],
        state=ImportState(row["state"]),
        rows_total=row["rows_total"],
        rows_done=row["rows_done"],
        valid=row["valid"],
        invalid=row["invalid"],
        imported=row["imported"],
        problems_total=row["problems_total"],
        problems=tuple(ImportProblem(**p) for p in row["problems"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )

"""Review runs and findings (定期审核) in ``review_runs`` / ``review_findings``, as frozen records.

SQLAlchemy Core on the unit of work's connection; rows become records here
and nowhere else. Nothing stored is personal: student numbers, rule codes,
severities, suggested actions, details naming field paths and thresholds,
actor ids and the reviewers' notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, RowMapping, func, insert, select, tuple_, update

from dossier.core.enums import FindingStatus, ReviewRunStatus, Severity, StudentStatus
from dossier.core.errors import Conflict, NotFound
from dossier.core.lifecycle import Lifecycle
from dossier.core.records import ReviewFinding
from dossier.storage.schema import review_findings, review_runs, students
from dossier.storage.sql import bulk_insert

RUN_KIND = "review_run"
FINDING_KIND = "review_finding"

RS, FS = ReviewRunStatus, FindingStatus

RUN = Lifecycle.build(
    "review run",
    [(RS.RUNNING, "complete", RS.COMPLETED), (RS.COMPLETED, "sign_off", RS.SIGNED_OFF)],
)
FINDING = Lifecycle.build(
    "review finding", [(FS.OPEN, "resolve", FS.RESOLVED), (FS.OPEN, "waive", FS.WAIVED)]
)


@frozen(kw_only=True)
class ReviewRun:
    """One branch's review of one quarter. ``counts`` while running: ``dossiers`` reviewed and
    ``after`` (the last student number done); once completed: ``dossiers``, ``findings``,
    ``by_rule`` and ``by_severity``."""

    id: str
    branch: str
    quarter: str
    status: ReviewRunStatus
    started_at: datetime
    counts: Mapping[str, Any]
    finished_at: datetime | None = None
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    sign_off_note: str | None = None


@frozen(kw_only=True)
class StoredFinding:
    """A finding on the work list, and what the reviewer did about it."""

    id: str
    run_id: str
    student_number: str
    rule: str
    severity: Severity
    suggested_action: str
    detail: Mapping[str, str | int]
    status: FindingStatus = FindingStatus.OPEN
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


def _run(row: RowMapping) -> ReviewRun:
    return ReviewRun(
        id=row["id"],
        branch=row["branch"],
        quarter=row["quarter"],
        status=ReviewRunStatus(row["status"]),
        started_at=row["started_at"],
        counts=dict(row["counts"]),
        finished_at=row["finished_at"],
        signed_off_by=row["signed_off_by"],
        signed_off_at=row["signed_off_at"],
        sign_off_note=row["sign_off_note"],
    )


def _run_values(run: ReviewRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "branch": run.branch,
        "quarter": run.quarter,
        "status": run.status.value,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "signed_off_by": run.signed_off_by,
        "signed_off_at": run.signed_off_at,
        "sign_off_note": run.sign_off_note,
        "counts": dict(run.counts),
    }


def _finding(row: RowMapping) -> StoredFinding:
    return StoredFinding(
        id=row["id"],
        run_id=row["run_id"],
        student_number=row["student_number"],
        rule=row["rule"],
        severity=Severity(row["severity"]),
        suggested_action=row["suggested_action"],
        detail=dict(row["detail"]),
        status=FindingStatus(row["status"]),
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        note=row["note"],
    )


class ReviewStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- runs ------------------------------------------------------------------------------

    def add_run(self, run: ReviewRun) -> None:
        self._conn.execute(insert(review_runs).values(_run_values(run)))

    def run(self, run_id: str, *, lock: bool = False) -> ReviewRun:
        query = select(review_runs).where(review_runs.c.id == run_id)
        row = self._conn.execute(query.with_for_update() if lock else query).mappings().first()
        if row is None:
            raise NotFound(RUN_KIND, run_id)
        return _run(row)

    def run_for(self, branch: str, quarter: str) -> ReviewRun | None:
        query = select(review_runs).where(
            review_runs.c.branch == branch, review_runs.c.quarter == quarter
        )
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _run(row)

    def runs(self, branches: Iterable[str] | None = None) -> list[ReviewRun]:
        """Runs of ``branches`` (None: all), by branch, newest quarter first."""
        query = select(review_runs)
        if branches is not None:
            query = query.where(review_runs.c.branch.in_(sorted(set(branches))))
        query = query.order_by(review_runs.c.branch, review_runs.c.quarter.desc())
        return [_run(row) for row in self._conn.execute(query).mappings()]

    def update_run(self, run: ReviewRun, *, expected: ReviewRunStatus) -> None:
        """Store ``run`` over a row still in status ``expected``, else `Conflict`."""
        result = self._conn.execute(
            update(review_runs)
            .where(review_runs.c.id == run.id, review_runs.c.status == expected.value)
            .values(_run_values(run))
        )
        if result.rowcount != 1:
            raise Conflict(RUN_KIND, run.id, 0, 0)

    # -- the dossiers to review ------------------------------------------------------------

    def page_of_numbers(self, branch: str, after: str | None, size: int) -> list[str]:
        """The next ``size`` numbers of ``branch`` after ``after`` (keyset); none destroyed."""
        query = select(students.c.student_number).where(
            students.c.branch == branch, students.c.status != StudentStatus.DESTROYED.value
        )
        if after is not None:
            query = query.where(students.c.student_number > after)
        query = query.order_by(students.c.student_number).limit(size)
        return list(self._conn.execute(query).scalars())

    def count_numbers(self, branch: str) -> int:
        """How many students of ``branch`` a run reviews (all but the destroyed)."""
        query = (
            select(func.count())
            .select_from(students)
            .where(students.c.branch == branch, students.c.status != StudentStatus.DESTROYED.value)
        )
        return int(self._conn.execute(query).scalar_one())

    # -- findings --------------------------------------------------------------------------

    def add_findings(self, run_id: str, found: Sequence[tuple[str, ReviewFinding]]) -> None:
        """Insert new open findings, each with its id (COPY on PostgreSQL, for a page's worth)."""
        bulk_insert(
            self._conn,
            review_findings,
            [
                {
                    "id": finding_id,
                    "run_id": run_id,
                    "student_number": f.student_number,
                    "rule": f.rule,
                    "severity": f.severity.value,
                    "suggested_action": f.suggested_action,
                    "detail": dict(f.detail),
                    "status": FindingStatus.OPEN.value,
                    "resolved_by": None,
                    "resolved_at": None,
                    "note": None,
                }
                for finding_id, f in found
            ],
        )

    def finding(self, finding_id: str) -> StoredFinding:
        row = (
            self._conn.execute(select(review_findings).where(review_findings.c.id == finding_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(FINDING_KIND, finding_id)
        return _finding(row)

    def close_finding(self, finding: StoredFinding) -> None:
        """Store a resolved or waived finding over a row still open, else `Conflict`."""
        result = self._conn.execute(
            update(review_findings)
            .where(
                review_findings.c.id == finding.id,
                review_findings.c.status == FindingStatus.OPEN.value,
            )
            .values(
                status=finding.status.value,
                resolved_by=finding.resolved_by,
                resolved_at=finding.resolved_at,
                note=finding.note,
            )
        )
        if result.rowcount != 1:
            raise Conflict(FINDING_KIND, finding.id, 0, 0)

    def findings(
        self,
        run_id: str,
        *,
        status: FindingStatus | None = None,
        rule: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[StoredFinding]:
        """A page of the work list, by student number, rule and id; ``after`` a finding id."""
        columns = (review_findings.c.student_number, review_findings.c.rule, review_findings.c.id)
        query = select(review_findings).where(review_findings.c.run_id == run_id)
        if status is not None:
            query = query.where(review_findings.c.status == status.value)
        if rule is not None:
            query = query.where(review_findings.c.rule == rule)
        if after is not None:
            cursor = self.finding(after)
            query = query.where(
                tuple_(*columns) > tuple_(cursor.student_number, cursor.rule, cursor.id)
            )
        query = query.order_by(*columns).limit(limit)
        return [_finding(row) for row in self._conn.execute(query).mappings()]

    def tally(self, run_id: str) -> dict[str, Any]:
        """Counts of the run's findings: total, open, by rule, by severity, by status."""
        f = review_findings.c
        rows = self._conn.execute(
            select(f.rule, f.severity, f.status, func.count())
            .where(f.run_id == run_id)
            .group_by(f.rule, f.severity, f.status)
        ).all()
        by_rule: dict[str, int] = {}
        by_severity: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for rule, severity, status, count in rows:
            by_rule[rule] = by_rule.get(rule, 0) + count
            by_severity[severity] = by_severity.get(severity, 0) + count
            by_status[status] = by_status.get(status, 0) + count
        return {
            "findings": sum(by_rule.values()),
            "open": by_status.get(FindingStatus.OPEN.value, 0),
            "by_rule": dict(sorted(by_rule.items())),
            "by_severity": dict(sorted(by_severity.items())),
            "by_status": dict(sorted(by_status.items())),
        }

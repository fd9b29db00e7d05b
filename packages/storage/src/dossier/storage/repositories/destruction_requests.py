"""资料销毁申请: destruction requests. No personal data: they outlive the student's data,
as the record of who asked, who approved and which certificate was issued."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, insert, select

from dossier.core.enums import DestructionStatus
from dossier.core.errors import NotFound
from dossier.core.records import DestructionRequest
from dossier.storage.repositories.base import Session
from dossier.storage.schema import destruction_requests as table

KIND = "destruction_request"


class DestructionRequestRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, request: DestructionRequest) -> None:
        self._s.conn.execute(insert(table).values(_values(request)))

    def update(self, request: DestructionRequest) -> None:
        self._s.write_version(
            table, table.c.id, request.id, KIND, request.version - 1, _values(request)
        )

    def get(self, request_id: str) -> DestructionRequest:
        row = (
            self._s.conn.execute(select(table).where(table.c.id == request_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise NotFound(KIND, request_id)
        return _record(row)

    def for_student(self, student_number: str) -> list[DestructionRequest]:
        query = (
            select(table)
            .where(table.c.student_number == student_number)
            .order_by(table.c.requested_at, table.c.id)
        )
        return [_record(row) for row in self._s.conn.execute(query).mappings()]

    def find(
        self, *, branch: str | None = None, status: DestructionStatus | None = None
    ) -> list[DestructionRequest]:
        """E.g. every approved request awaiting execution by the retention job."""
        query = select(table)
        if branch is not None:
            query = query.where(table.c.branch == branch)
        if status is not None:
            query = query.where(table.c.status == status.value)
        query = query.order_by(table.c.requested_at, table.c.id)
        return [_record(row) for row in self._s.conn.execute(query).mappings()]


def _values(r: DestructionRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "student_number": r.student_number,
        "branch": r.branch,
        "reason": r.reason,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at,
        "status": r.status.value,
        "reviewed_by": r.reviewed_by,
        "reviewed_at": r.reviewed_at,
        "review_reason": r.review_reason,
        "executed_at": r.executed_at,
        "certificate_id": r.certificate_id,
        "version": r.version,
    }


def _record(row: RowMapping) -> DestructionRequest:
    return DestructionRequest(
        id=row["id"],
        student_number=row["student_number"],
        branch=row["branch"],
        reason=row["reason"],
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        status=DestructionStatus(row["status"]),
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        review_reason=row["review_reason"],
        executed_at=row["executed_at"],
        certificate_id=row["certificate_id"],
        version=row["version"],
    )

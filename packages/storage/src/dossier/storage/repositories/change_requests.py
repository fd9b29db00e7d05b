"""信息变更申请: change requests. The before/after values, the reason and any dispute are
sealed under the student's data key; field *names* stay readable for queues and events."""

from __future__ import annotations

from typing import Any

from attrs import frozen
from sqlalchemy import RowMapping, insert, select

from dossier.core.enums import ChangeStatus
from dossier.core.errors import NotFound
from dossier.core.records import ChangeRequest, FieldChange
from dossier.storage.repositories.base import Session
from dossier.storage.schema import change_requests as table

KIND = "change_request"


@frozen(kw_only=True)
class ChangeBlob:
    changes: tuple[FieldChange, ...]
    reason: str
    dispute_reason: str | None = None


class ChangeRequestRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, change: ChangeRequest) -> None:
        key_id = self._s.student_key_id(change.student_number)
        self._s.conn.execute(insert(table), self._values(change, key_id))
        self._s.write_documents(KIND, change.id, change.documents, new=True)

    def update(self, change: ChangeRequest) -> None:
        key_id = self._s.key_id_of(table, table.c.id, change.id, KIND)
        values = self._values(change, key_id)
        self._s.write_version(table, table.c.id, change.id, KIND, change.version - 1, values)
        self._s.write_documents(KIND, change.id, change.documents)

    def get(self, change_id: str) -> ChangeRequest:
        row = (
            self._s.conn.execute(select(table).where(table.c.id == change_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise NotFound(KIND, change_id)
        return self._record(row)

    def for_student(self, student_number: str) -> list[ChangeRequest]:
        query = (
            select(table)
            .where(table.c.student_number == student_number)
            .order_by(table.c.requested_at, table.c.id)
        )
        return [self._record(row) for row in self._s.conn.execute(query).mappings()]

    def find(
        self, *, branch: str, status: ChangeStatus | None = None, limit: int = 100
    ) -> list[ChangeRequest]:
        """A branch's change requests (e.g. the approver's queue), oldest first."""
        query = select(table).where(table.c.branch == branch, table.c.personal_ct.is_not(None))
        if status is not None:
            query = query.where(table.c.status == status.value)
        query = query.order_by(table.c.requested_at, table.c.id).limit(limit)
        return [self._record(row) for row in self._s.conn.execute(query).mappings()]

    def _values(self, c: ChangeRequest, key_id: str) -> dict[str, Any]:
        blob = ChangeBlob(changes=c.changes, reason=c.reason, dispute_reason=c.dispute_reason)
        return {
            "id": c.id,
            "student_number": c.student_number,
            "branch": c.branch,
            "fields": [change.field for change in c.changes],
            "status": c.status.value,
            "requested_by": c.requested_by,
            "requested_at": c.requested_at,
            "dossier_version": c.dossier_version,
            "reviewed_by": c.reviewed_by,
            "reviewed_at": c.reviewed_at,
            "review_comment": c.review_comment,
            "approved_fields": list(c.approved_fields),
            "applied_at": c.applied_at,
            "answered_at": c.answered_at,
            "key_id": key_id,
            "personal_ct": self._s.seal(table, c.id, key_id, blob),
            "version": c.version,
        }

    def _record(self, row: RowMapping) -> ChangeRequest:
        if row["personal_ct"] is None:
            raise self._s.destroyed_error(row["student_number"])
        blob = self._s.unseal(table, row["id"], row["key_id"], row["personal_ct"], ChangeBlob)
        return ChangeRequest(
            id=row["id"],
            student_number=row["student_number"],
            branch=row["branch"],
            changes=blob.changes,
            reason=blob.reason,
            requested_by=row["requested_by"],
            requested_at=row["requested_at"],
            dossier_version=row["dossier_version"],
            documents=self._s.read_documents(KIND, row["id"]),
            status=ChangeStatus(row["status"]),
            reviewed_by=row["reviewed_by"],
            reviewed_at=row["reviewed_at"],
            review_comment=row["review_comment"],
            approved_fields=tuple(row["approved_fields"]),
            applied_at=row["applied_at"],
            answered_at=row["answered_at"],
            dispute_reason=blob.dispute_reason,
            version=row["version"],
        )

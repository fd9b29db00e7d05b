"""流程反馈: feedback on the process from students and staff.

`Feedback` has no version attribute, so an update is checked against the
version this unit of work read (`get` first, then `update`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, func, insert, select

from dossier.core.errors import NotFound
from dossier.core.records import Feedback
from dossier.storage.repositories.base import Session
from dossier.storage.schema import feedback as table

KIND = "feedback"


class FeedbackRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, item: Feedback) -> None:
        self._s.conn.execute(insert(table).values(**_values(item), version=1))
        self._s.remember_version(table, item.id, 1)

    def update(self, item: Feedback) -> None:
        """Store a changed item (e.g. answered); `Conflict` if it changed since this uow read it."""
        expected = self._s.version_read(table, item.id, KIND)
        values = {**_values(item), "version": expected + 1}
        self._s.write_version(table, table.c.id, item.id, KIND, expected, values)
        self._s.remember_version(table, item.id, expected + 1)

    def known(self, record_id: str) -> bool:
        """Whether this unit of work read or wrote the record (so storing it is an update)."""
        return (table.name, record_id) in self._s.read_versions

    def get(self, feedback_id: str) -> Feedback:
        row = (
            self._s.conn.execute(select(table).where(table.c.id == feedback_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise NotFound(KIND, feedback_id)
        return self._record(row)

    def find(self, *, branch: str, limit: int = 100) -> list[Feedback]:
        query = (
            select(table)
            .where(table.c.branch == branch)
            .order_by(table.c.submitted_at, table.c.id)
            .limit(limit)
        )
        return [self._record(row) for row in self._s.conn.execute(query).mappings()]

    def topic_counts(
        self,
        *,
        branch: str,
        submitted_from: datetime | None = None,
        submitted_to: datetime | None = None,
    ) -> list[tuple[str, int, int]]:
        """(topic, submitted, answered) in the period (from inclusive, to exclusive), by topic."""
        query = select(table.c.topic, func.count(), func.count(table.c.responded_at)).where(
            table.c.branch == branch
        )
        if submitted_from is not None:
            query = query.where(table.c.submitted_at >= submitted_from)
        if submitted_to is not None:
            query = query.where(table.c.submitted_at < submitted_to)
        query = query.group_by(table.c.topic).order_by(table.c.topic)
        return [(row[0], int(row[1]), int(row[2])) for row in self._s.conn.execute(query)]

    def _record(self, row: RowMapping) -> Feedback:
        self._s.remember_version(table, row["id"], row["version"])
        return Feedback(
            id=row["id"],
            branch=row["branch"],
            topic=row["topic"],
            text=row["text"],
            submitted_at=row["submitted_at"],
            submitted_by=row["submitted_by"],
            response=row["response"],
            responded_by=row["responded_by"],
            responded_at=row["responded_at"],
        )


def _values(f: Feedback) -> dict[str, Any]:
    return {
        "id": f.id,
        "branch": f.branch,
        "topic": f.topic,
        "text": f.text,
        "submitted_at": f.submitted_at,
        "submitted_by": f.submitted_by,
        "response": f.response,
        "responded_by": f.responded_by,
        "responded_at": f.responded_at,
    }

"""法律保留: legal holds that block destruction until lifted.

`LegalHold` has no version attribute, so an update is checked against the
version this unit of work read (`get` first, then `update`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, insert, select

from dossier.core.errors import NotFound
from dossier.core.records import LegalHold
from dossier.storage.repositories.base import Session
from dossier.storage.schema import legal_holds as table

KIND = "legal_hold"


class LegalHoldRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, hold: LegalHold) -> None:
        self._s.conn.execute(insert(table).values(**_values(hold), version=1))
        self._s.remember_version(table, hold.id, 1)

    def update(self, hold: LegalHold) -> None:
        """Store a changed hold (e.g. lifted); `Conflict` if it changed since this uow read it."""
        expected = self._s.version_read(table, hold.id, KIND)
        values = {**_values(hold), "version": expected + 1}
        self._s.write_version(table, table.c.id, hold.id, KIND, expected, values)
        self._s.remember_version(table, hold.id, expected + 1)

    def known(self, record_id: str) -> bool:
        """Whether this unit of work read or wrote the record (so storing it is an update)."""
        return (table.name, record_id) in self._s.read_versions

    def get(self, hold_id: str) -> LegalHold:
        row = (
            self._s.conn.execute(select(table).where(table.c.id == hold_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise NotFound(KIND, hold_id)
        return self._record(row)

    def for_student(self, student_number: str, *, active_only: bool = False) -> list[LegalHold]:
        query = select(table).where(table.c.student_number == student_number)
        if active_only:
            query = query.where(table.c.lifted_at.is_(None))
        query = query.order_by(table.c.set_at, table.c.id)
        return [self._record(row) for row in self._s.conn.execute(query).mappings()]

    def _record(self, row: RowMapping) -> LegalHold:
        self._s.remember_version(table, row["id"], row["version"])
        return LegalHold(
            id=row["id"],
            student_number=row["student_number"],
            branch=row["branch"],
            reason=row["reason"],
            set_by=row["set_by"],
            set_at=row["set_at"],
            lifted_by=row["lifted_by"],
            lifted_at=row["lifted_at"],
            lift_reason=row["lift_reason"],
        )


def _values(h: LegalHold) -> dict[str, Any]:
    return {
        "id": h.id,
        "student_number": h.student_number,
        "branch": h.branch,
        "reason": h.reason,
        "set_by": h.set_by,
        "set_at": h.set_at,
        "lifted_by": h.lifted_by,
        "lifted_at": h.lifted_at,
        "lift_reason": h.lift_reason,
    }

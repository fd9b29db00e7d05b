"""披露记录: every release of a student's data to a third party. Append-only.

Field *names* only, never values; the recipient is the third party (an exam
board, a partner school), not the student. The rows outlive a destroyed
student's data: they are the record of what left the school, and when.
"""

from __future__ import annotations

from sqlalchemy import RowMapping, insert, select

from dossier.core.enums import ConsentPurpose
from dossier.core.records import Disclosure
from dossier.storage.repositories.base import Session
from dossier.storage.schema import disclosures as table


class DisclosureRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, disclosure: Disclosure) -> None:
        self._s.conn.execute(
            insert(table).values(
                id=disclosure.id,
                student_number=disclosure.student_number,
                branch=disclosure.branch,
                recipient=disclosure.recipient,
                purpose=disclosure.purpose.value,
                fields=list(disclosure.fields),
                disclosed_at=disclosure.disclosed_at,
                disclosed_by=disclosure.disclosed_by,
            )
        )

    def for_student(self, student_number: str) -> list[Disclosure]:
        query = (
            select(table)
            .where(table.c.student_number == student_number)
            .order_by(table.c.disclosed_at, table.c.id)
        )
        return [_record(row) for row in self._s.conn.execute(query).mappings()]


def _record(row: RowMapping) -> Disclosure:
    return Disclosure(
        id=row["id"],
        student_number=row["student_number"],
        branch=row["branch"],
        recipient=row["recipient"],
        purpose=ConsentPurpose(row["purpose"]),
        fields=tuple(row["fields"]),
        disclosed_at=row["disclosed_at"],
        disclosed_by=row["disclosed_by"],
    )

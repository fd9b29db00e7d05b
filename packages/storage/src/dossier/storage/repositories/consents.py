"""同意: consents, read on their own (a disclosure or export checks them).

Consents are children of the dossier and are written with it (under the
dossier's version): add or withdraw one by storing the evolved dossier."""

from __future__ import annotations

from sqlalchemy import select

from dossier.core.enums import ConsentPurpose
from dossier.core.errors import NotFound
from dossier.core.records import Consent
from dossier.storage.repositories.base import Session
from dossier.storage.repositories.students import consent_of
from dossier.storage.schema import consents as table


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, consent_id: str) -> Consent:
        row = (
            self._s.conn.execute(select(table).where(table.c.id == consent_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise NotFound("consent", consent_id)
        return consent_of(row)

    def for_student(
        self, student_number: str, purpose: ConsentPurpose | None = None
    ) -> list[Consent]:
        query = select(table).where(table.c.student_number == student_number)
        if purpose is not None:
            query = query.where(table.c.purpose == purpose.value)
        query = query.order_by(table.c.position)
        return [consent_of(row) for row in self._s.conn.execute(query).mappings()]

    def active(self, student_number: str, purpose: ConsentPurpose) -> bool:
        """Whether a consent for ``purpose`` is in force (checked before any disclosure)."""
        return any(c.active for c in self.for_student(student_number, purpose))

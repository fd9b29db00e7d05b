"""报名: registrations, sealed under their own data key until admission hands it to the student."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, insert, select

from dossier.core.enums import Channel, RegistrationStatus
from dossier.core.errors import NotFound
from dossier.core.records import Registration
from dossier.storage.blind_index import IndexKind, IndexValue
from dossier.storage.repositories.base import PersonBlob, Session
from dossier.storage.schema import registrations as table

KIND = "registration"


def registration_row(session: Session, r: Registration, key_id: str) -> dict[str, Any]:
    """The ``registrations`` row of a registration, its personal part sealed under ``key_id``."""
    blob = PersonBlob(person=r.applicant, needs=r.needs, guardian=r.guardian)
    return {
        "id": r.id,
        "branch": r.branch,
        "channel": r.channel.value,
        "status": r.status.value,
        "submitted_at": r.submitted_at,
        "guardian_consent": r.guardian_consent,
        "decided_at": r.decided_at,
        "decided_by": r.decided_by,
        "decision_reason": r.decision_reason,
        "student_number": r.student_number,
        "key_id": key_id,
        "personal_ct": session.seal(table, r.id, key_id, blob),
        "version": r.version,
    }


class RegistrationRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, registration: Registration) -> None:
        key_id = self._s.new_key()
        self._s.conn.execute(insert(table), registration_row(self._s, registration, key_id))
        self._s.write_documents(KIND, registration.id, registration.documents, new=True)
        digests = self._s.indexer.digests(registration.applicant)
        self._s.write_index(KIND, registration.id, digests, new=True)

    def update(self, registration: Registration) -> None:
        """Store a changed registration over ``version - 1``; `Conflict` if someone was first."""
        key_id = self.key_id(registration.id)
        values = registration_row(self._s, registration, key_id)
        self._s.write_version(
            table, table.c.id, registration.id, KIND, registration.version - 1, values
        )
        self._s.write_documents(KIND, registration.id, registration.documents)
        self._s.write_index(KIND, registration.id, self._s.indexer.digests(registration.applicant))

    def get(self, registration_id: str) -> Registration:
        row = self._s.conn.execute(select(table).where(table.c.id == registration_id))
        found = row.mappings().one_or_none()
        if found is None:
            raise NotFound(KIND, registration_id)
        return self._record(found)

    def find(
        self,
        *,
        branch: str | None = None,
        status: RegistrationStatus | None = None,
        limit: int = 100,
    ) -> list[Registration]:
        """Registrations of a branch and/or status, oldest first (the review queue, 审核)."""
        query = select(table).where(table.c.personal_ct.is_not(None))
        if branch is not None:
            query = query.where(table.c.branch == branch)
        if status is not None:
            query = query.where(table.c.status == status.value)
        query = query.order_by(table.c.submitted_at, table.c.id).limit(limit)
        return [self._record(row) for row in self._s.conn.execute(query).mappings()]

    def find_by_blind_index(self, kind: IndexKind, value: IndexValue) -> list[str]:
        """Ids of registrations, in every branch, whose ``kind`` value equals ``value`` (查重)."""
        return self._s.find_by_index(KIND, kind, value)

    def key_id(self, registration_id: str) -> str:
        return self._s.key_id_of(table, table.c.id, registration_id, KIND)

    def data_key(self, registration_id: str) -> bytes:
        """The registration's data key (the student's after admission), for its documents."""
        return self._s.keys.get(self.key_id(registration_id))

    def _record(self, row: RowMapping) -> Registration:
        if row["personal_ct"] is None:
            raise self._s.destroyed_error(row["student_number"])
        blob = self._s.unseal(table, row["id"], row["key_id"], row["personal_ct"], PersonBlob)
        return Registration(
            id=row["id"],
            branch=row["branch"],
            channel=Channel(row["channel"]),
            applicant=blob.person,
            needs=blob.needs,
            guardian=blob.guardian,
            submitted_at=row["submitted_at"],
            guardian_consent=row["guardian_consent"],
            documents=self._s.read_documents(KIND, row["id"]),
            status=RegistrationStatus(row["status"]),
            decided_at=row["decided_at"],
            decided_by=row["decided_by"],
            decision_reason=row["decision_reason"],
            student_number=row["student_number"],
            version=row["version"],
        )

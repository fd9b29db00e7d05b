"""学员档案: dossiers, their children (history, courses, payments, documents, consents), tombstones.

A dossier is one aggregate: its children are written with it, under its
version. The personal details, guardian and learning needs are one sealed
blob under the student's data key — the registration's key when the dossier
comes from a registration, so shredding the student also makes the
registration unreadable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import RowMapping, Table, delete, insert, select

from dossier.core.enums import (
    ConsentGiver,
    ConsentPurpose,
    EnrolmentStatus,
    PaymentMethod,
    StudentStatus,
)
from dossier.core.errors import NotFound
from dossier.core.records import (
    Consent,
    CourseEnrolment,
    DocumentRef,
    Payment,
    StatusChange,
    StudentDossier,
    Tombstone,
)
from dossier.storage.blind_index import IndexKind, IndexValue
from dossier.storage.repositories.base import PersonBlob, Session, document_rows, index_rows
from dossier.storage.schema import (
    blind_indexes,
    consents,
    course_enrolments,
    document_refs,
    payments,
    registrations,
    status_changes,
    students,
    tombstones,
)

KIND = "student"
CHILD_TABLES = (status_changes, course_enrolments, payments, consents)


def student_rows(session: Session, dossier: StudentDossier, key_id: str) -> dict[Table, list[Any]]:
    """Every row a dossier is stored as, by table (shared by `add` and the bulk path)."""
    number = dossier.student_number
    blob = PersonBlob(person=dossier.personal, needs=dossier.needs, guardian=dossier.guardian)
    digests = session.indexer.digests(dossier.personal)
    return {  # students first: the children refer to it
        students: [
            {
                "student_number": number,
                "branch": dossier.branch,
                "status": dossier.status.value,
                "admitted_at": dossier.admitted_at,
                "registration_id": dossier.registration_id,
                "key_id": key_id,
                "personal_ct": session.seal(students, number, key_id, blob),
                "version": dossier.version,
            }
        ],
        status_changes: [
            {
                "student_number": number,
                "position": i,
                "from_status": None if h.from_status is None else h.from_status.value,
                "to_status": h.to_status.value,
                "actor": h.actor,
                "reason": h.reason,
                "effective_date": h.effective_date,
                "recorded_at": h.recorded_at,
            }
            for i, h in enumerate(dossier.history)
        ],
        course_enrolments: [
            {
                "id": e.id,
                "student_number": number,
                "position": i,
                "course_code": e.course_code,
                "course_name": e.course_name,
                "starts_on": e.starts_on,
                "ends_on": e.ends_on,
                "status": e.status.value,
                "ended_reason": e.ended_reason,
            }
            for i, e in enumerate(dossier.enrolments)
        ],
        payments: [
            {
                "id": p.id,
                "student_number": number,
                "position": i,
                "amount_minor": p.amount_minor,
                "currency": p.currency,
                "method": p.method.value,
                "receipt_ref": p.receipt_ref,
                "paid_at": p.paid_at,
                "recorded_by": p.recorded_by,
            }
            for i, p in enumerate(dossier.payments)
        ],
        consents: [
            {
                "id": c.id,
                "student_number": number,
                "position": i,
                "purpose": c.purpose.value,
                "given_by": c.given_by.value,
                "granted_at": c.granted_at,
                "recorded_by": c.recorded_by,
                "withdrawn_at": c.withdrawn_at,
                "withdrawn_by": c.withdrawn_by,
            }
            for i, c in enumerate(dossier.consents)
        ],
        document_refs: document_rows(KIND, number, dossier.documents),
        blind_indexes: index_rows(KIND, number, digests),
    }


def consent_of(row: RowMapping) -> Consent:
    return Consent(
        id=row["id"],
        student_number=row["student_number"],
        purpose=ConsentPurpose(row["purpose"]),
        given_by=ConsentGiver(row["given_by"]),
        granted_at=row["granted_at"],
        recorded_by=row["recorded_by"],
        withdrawn_at=row["withdrawn_at"],
        withdrawn_by=row["withdrawn_by"],
    )


class StudentRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, dossier: StudentDossier) -> None:
        """File a new dossier (建档), reusing its registration's data key when there is one."""
        key_id = self.key_for_new(dossier.registration_id)
        self._insert(student_rows(self._s, dossier, key_id))

    def update(self, dossier: StudentDossier) -> None:
        """Store a changed dossier and its children over ``version - 1``, else `Conflict`."""
        number = dossier.student_number
        key_id = self.key_id(number)
        rows = student_rows(self._s, dossier, key_id)
        (main,) = rows.pop(students)
        self._s.write_version(
            students, students.c.student_number, number, KIND, dossier.version - 1, main
        )
        conn = self._s.conn
        for table in CHILD_TABLES:
            conn.execute(delete(table).where(table.c.student_number == number))
        self._s.drop_index(KIND, [number])
        self._s.write_documents(KIND, number, ())
        self._insert(rows)

    def get(self, student_number: str) -> StudentDossier:
        """The dossier; `Destroyed` once shredded (see `tombstone`), `NotFound` if none."""
        conn = self._s.conn
        row = (
            conn.execute(select(students).where(students.c.student_number == student_number))
            .mappings()
            .one_or_none()
        )
        if row is None:
            if self.tombstone(student_number) is not None:
                raise self._s.destroyed_error(student_number)
            raise NotFound(KIND, student_number)
        if row["personal_ct"] is None:
            raise self._s.destroyed_error(student_number)
        blob = self._s.unseal(
            students, student_number, row["key_id"], row["personal_ct"], PersonBlob
        )
        children = {table: self._children(table, student_number) for table in CHILD_TABLES}
        return dossier_of(row, blob, children, self._s.read_documents(KIND, student_number))

    def tombstone(self, student_number: str) -> Tombstone | None:
        """What remains of a destroyed student (学员资料已销毁), or None."""
        row = self._s.conn.execute(
            select(tombstones).where(tombstones.c.student_number == student_number)
        ).one_or_none()
        if row is None:
            return None
        return Tombstone(
            student_number=row.student_number,
            branch=row.branch,
            destroyed_at=row.destroyed_at,
            certificate_id=row.certificate_id,
        )

    def find_by_blind_index(self, kind: IndexKind, value: IndexValue) -> list[str]:
        """Student numbers, in every branch, whose ``kind`` value equals ``value`` (查重)."""
        return self._s.find_by_index(KIND, kind, value)

    def numbers(
        self, *, branch: str | None = None, status: StudentStatus | None = None
    ) -> list[str]:
        """Student numbers of a branch and/or status class (档案分类), in order."""
        query = select(students.c.student_number)
        if branch is not None:
            query = query.where(students.c.branch == branch)
        if status is not None:
            query = query.where(students.c.status == status.value)
        return list(self._s.conn.execute(query.order_by(students.c.student_number)).scalars())

    def key_id(self, student_number: str) -> str:
        return self._s.key_id_of(students, students.c.student_number, student_number, KIND)

    def data_key(self, student_number: str) -> bytes:
        """The student's data key, for sealing their documents (`dossier.storage.documents`).

        Documents under this key are shredded together with the dossier.
        """
        return self._s.keys.get(self.key_id(student_number))

    def key_for_new(self, registration_id: str | None) -> str:
        """The registration's data key (admission keeps one key per person), else a new one."""
        if registration_id is not None:
            shared = self._s.conn.execute(
                select(registrations.c.key_id).where(registrations.c.id == registration_id)
            ).scalar_one_or_none()
            if shared is not None:
                return str(shared)
        return self._s.new_key()

    def _children(self, table: Table, student_number: str) -> list[RowMapping]:
        query = (
            select(table).where(table.c.student_number == student_number).order_by(table.c.position)
        )
        return list(self._s.conn.execute(query).mappings())

    def _insert(self, rows: Mapping[Table, list[Any]]) -> None:
        for table, values in rows.items():  # students first: the children refer to it
            if values:
                self._s.conn.execute(insert(table), values)


def dossier_of(
    row: RowMapping,
    blob: PersonBlob,
    children: Mapping[Table, Sequence[RowMapping]],
    documents: tuple[DocumentRef, ...],
) -> StudentDossier:
    """A dossier from its row, its unsealed blob, its child rows by table and its documents:
    one mapping for `StudentRepository.get` and the review's page loader."""
    return StudentDossier(
        student_number=row["student_number"],
        branch=row["branch"],
        personal=blob.person,
        needs=blob.needs,
        guardian=blob.guardian,
        status=StudentStatus(row["status"]),
        admitted_at=row["admitted_at"],
        registration_id=row["registration_id"],
        history=tuple(
            StatusChange(
                from_status=None if h["from_status"] is None else StudentStatus(h["from_status"]),
                to_status=StudentStatus(h["to_status"]),
                actor=h["actor"],
                reason=h["reason"],
                effective_date=h["effective_date"],
                recorded_at=h["recorded_at"],
            )
            for h in children[status_changes]
        ),
        enrolments=tuple(
            CourseEnrolment(
                id=e["id"],
                course_code=e["course_code"],
                course_name=e["course_name"],
                starts_on=e["starts_on"],
                ends_on=e["ends_on"],
                status=EnrolmentStatus(e["status"]),
                ended_reason=e["ended_reason"],
            )
            for e in children[course_enrolments]
        ),
        payments=tuple(
            Payment(
                id=p["id"],
                amount_minor=p["amount_minor"],
                currency=p["currency"],
                method=PaymentMethod(p["method"]),
                receipt_ref=p["receipt_ref"],
                paid_at=p["paid_at"],
                recorded_by=p["recorded_by"],
            )
            for p in children[payments]
        ),
        documents=documents,
        consents=tuple(consent_of(c) for c in children[consents]),
        version=row["version"],
    )

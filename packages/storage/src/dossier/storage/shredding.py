"""Crypto-shredding (资料销毁): delete the student's data key and every readable trace.

Within one transaction: the personal blobs of the student's dossier, of its
registration(s) and of its change requests are set to NULL along with their
``key_id``; the student's blind-index digests are deleted; then the data
key row itself; a tombstone (student number, branch, time, certificate) is
written and the dossier marked destroyed. Any copy of the old ciphertext —
in a backup, a document in the object store, a dead PostgreSQL tuple — is
sealed under a key that no longer exists anywhere.

What stays: the non-personal rows (payments, courses, status history, requests,
consents, audit entries) that the destruction certificate lists as kept, and
whose audit value hashes, keyed from the deleted key, can no longer be matched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update

from dossier.core.enums import StudentStatus
from dossier.core.errors import NotFound
from dossier.core.records import Tombstone
from dossier.storage.audit import AuditLog, AuditSpec
from dossier.storage.repositories.base import Session
from dossier.storage.repositories.registrations import KIND as REGISTRATION
from dossier.storage.repositories.students import KIND as STUDENT
from dossier.storage.schema import (
    blind_indexes,
    change_requests,
    registrations,
    students,
    tombstones,
)


def shred(
    session: Session,
    audit: AuditLog,
    student_number: str,
    *,
    certificate_id: str,
    actor: str,
    at: datetime,
) -> Tombstone:
    """Destroy one student's personal data for good; returns the tombstone (idempotent)."""
    conn = session.conn
    existing = conn.execute(
        select(tombstones).where(tombstones.c.student_number == student_number)
    ).one_or_none()
    if existing is not None:
        return Tombstone(
            student_number=existing.student_number,
            branch=existing.branch,
            destroyed_at=existing.destroyed_at,
            certificate_id=existing.certificate_id,
        )
    student = conn.execute(
        select(students.c.branch, students.c.key_id, students.c.registration_id)
        .where(students.c.student_number == student_number)
        .with_for_update()
    ).one_or_none()
    if student is None:
        raise NotFound(STUDENT, student_number)

    owned_registrations = or_(
        registrations.c.student_number == student_number,
        registrations.c.id == student.registration_id,
    )
    registration_ids = list(
        conn.execute(select(registrations.c.id).where(owned_registrations)).scalars()
    )
    key_ids = {student.key_id}
    key_ids.update(
        conn.execute(select(registrations.c.key_id).where(owned_registrations)).scalars()
    )
    key_ids.update(
        conn.execute(
            select(change_requests.c.key_id).where(
                change_requests.c.student_number == student_number
            )
        ).scalars()
    )
    blank = {"personal_ct": None, "key_id": None}
    conn.execute(
        update(students)
        .where(students.c.student_number == student_number)
        .values(**blank, status=StudentStatus.DESTROYED.value, version=students.c.version + 1)
    )
    conn.execute(update(registrations).where(owned_registrations).values(**blank))
    conn.execute(
        update(change_requests)
        .where(change_requests.c.student_number == student_number)
        .values(**blank)
    )
    conn.execute(
        delete(blind_indexes).where(
            or_(
                (blind_indexes.c.owner_kind == STUDENT)
                & (blind_indexes.c.owner_id == student_number),
                (blind_indexes.c.owner_kind == REGISTRATION)
                & blind_indexes.c.owner_id.in_(registration_ids),
            )
        )
    )
    for key_id in sorted(k for k in key_ids if k is not None):
        session.keys.delete(key_id)
    session.key_ids.clear()
    tombstone = Tombstone(
        student_number=student_number,
        branch=student.branch,
        destroyed_at=at,
        certificate_id=certificate_id,
    )
    conn.execute(
        insert(tombstones).values(
            student_number=student_number,
            branch=student.branch,
            destroyed_at=at,
            certificate_id=certificate_id,
        )
    )
    audit.record(
        AuditSpec(action="student.shredded", subject=certificate_id),
        branch=student.branch,
        actor=actor,
        student_number=student_number,
        at=at,
    )
    return tombstone

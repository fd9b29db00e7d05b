"""What a student's destruction touches, read before it and checked again after it (销毁核验).

`take` lists, before shredding, everything that belongs to the student: the
registration(s), the change requests and their field names, the blind-index
rows, the data keys and the SHA-256 of every document. `verify` re-reads
every store afterwards and counts whatever is still there and should not be:
a readable dossier or registration, a data key row, a sealed blob, a blind
index digest, a stored answer mentioning the student, an object version under
the student's or a registration's prefix. Table and column names only, never
a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Table,
    delete,
    func,
    or_,
    select,
    text,
)

from dossier.core.contracts.retention import Check, DestroyedData, Verification
from dossier.core.errors import Destroyed, NotFound
from dossier.core.records import StudentDossier
from dossier.retention.certificates import (
    CHANGE_REQUEST_FIELDS,
    DOSSIER_FIELDS,
    REGISTRATION_FIELDS,
)
from dossier.storage.objects import ObjectStore
from dossier.storage.repositories.change_requests import KIND as CHANGE_REQUEST
from dossier.storage.repositories.registrations import KIND as REGISTRATION
from dossier.storage.repositories.students import KIND as STUDENT
from dossier.storage.schema import (
    audit_log,
    blind_indexes,
    change_requests,
    data_keys,
    disclosures,
    document_refs,
    idempotency_keys,
    notifications,
    registrations,
    review_findings,
    students,
    tombstones,
)
from dossier.storage.sql import is_postgresql
from dossier.storage.uow import UnitOfWork


def _owned_registrations(dossier_number: str, registration_id: str | None) -> ColumnElement[bool]:
    return or_(
        registrations.c.student_number == dossier_number,
        registrations.c.id == (registration_id or ""),
    )


def _index_rows(number: str, registration_ids: Sequence[str]) -> ColumnElement[bool]:
    return or_(
        (blind_indexes.c.owner_kind == STUDENT) & (blind_indexes.c.owner_id == number),
        (blind_indexes.c.owner_kind == REGISTRATION)
        & blind_indexes.c.owner_id.in_(list(registration_ids)),
    )


def take(uow: UnitOfWork, dossier: StudentDossier) -> DestroyedData:
    """Everything of the student that the shredding will destroy (before it runs)."""
    conn = uow.connection
    number = dossier.student_number
    owned = _owned_registrations(number, dossier.registration_id)
    registration_ids = sorted(conn.execute(select(registrations.c.id).where(owned)).scalars())
    changes = conn.execute(
        select(change_requests.c.id, change_requests.c.fields).where(
            change_requests.c.student_number == number
        )
    ).all()
    change_ids = sorted(row.id for row in changes)
    changed_fields = sorted({name for row in changes for name in row.fields})
    key_ids = {uow.students.key_id(number)}
    key_ids.update(conn.execute(select(registrations.c.key_id).where(owned)).scalars())
    key_ids.update(
        conn.execute(
            select(change_requests.c.key_id).where(change_requests.c.student_number == number)
        ).scalars()
    )
    indexes = conn.execute(
        select(func.count()).select_from(blind_indexes).where(_index_rows(number, registration_ids))
    ).scalar_one()
    owners = or_(
        (document_refs.c.owner_kind == STUDENT) & (document_refs.c.owner_id == number),
        (document_refs.c.owner_kind == REGISTRATION)
        & document_refs.c.owner_id.in_(registration_ids),
        (document_refs.c.owner_kind == CHANGE_REQUEST) & document_refs.c.owner_id.in_(change_ids),
    )
    digests = conn.execute(select(document_refs.c.sha256).where(owners).distinct()).scalars()
    return DestroyedData(
        dossier_fields=DOSSIER_FIELDS,
        registrations=tuple(registration_ids),
        registration_fields=REGISTRATION_FIELDS,
        change_requests=tuple(change_ids),
        change_request_fields=(
            *CHANGE_REQUEST_FIELDS,
            *(f"changes[{name}]" for name in changed_fields),
        ),
        blind_indexes=int(indexes),
        data_keys=tuple(sorted(k for k in key_ids if k is not None)),
        documents=tuple(sorted(digests)),
    )


def stored_digests(objects: ObjectStore, bucket: str, owners: Sequence[str]) -> set[str]:
    """SHA-256 of every document object under the owners' prefixes, referenced or not (an
    upload whose transaction rolled back leaves an object no row mentions)."""
    return {
        info.key.rsplit("/", 1)[1]
        for owner in owners
        for info in objects.list_versions(bucket, prefix=f"students/{owner}/")
        if not info.is_delete_marker
    }


def _answers(conn: Connection, refs: Sequence[str], *, remove: bool) -> int:
    """Stored answers to retried requests (``idempotency_keys.response``) naming any of ``refs``.

    An answer may hold a view of the dossier with personal values; it names
    the student number (or a registration / change request id) in clear JSON.
    """
    found = 0
    position = (
        "position(CAST(:needle AS bytea) IN response) > 0"
        if is_postgresql(conn)
        else "instr(response, :needle) > 0"
    )
    where = text(position)
    for ref in refs:
        params = {"needle": ref.encode("utf-8")}
        if remove:
            result = conn.execute(delete(idempotency_keys).where(where), params)
            found += int(result.rowcount or 0)
        else:
            query = select(func.count()).select_from(idempotency_keys).where(where)
            found += int(conn.execute(query, params).scalar_one())
    return found


def forget_answers(conn: Connection, refs: Sequence[str]) -> int:
    """Delete the stored answers that name the student; how many went."""
    return _answers(conn, refs, remove=True)


def kept_counts(
    uow: UnitOfWork, dossier: StudentDossier, destroyed: DestroyedData
) -> dict[str, int]:
    """How many rows of each kept kind remain (the destroyed dossier's own entries included)."""
    conn = uow.connection
    number = dossier.student_number
    committed = conn.execute(
        select(func.count()).select_from(audit_log).where(audit_log.c.student_number == number)
    ).scalar_one()
    pending = sum(1 for entry in uow.audit.pending if entry.student_number == number)

    def rows(table: Table) -> int:
        return _count(conn, table, table.c.student_number == number)

    return {
        "notifications": rows(notifications),
        "disclosures": rows(disclosures),
        "review_findings": rows(review_findings),
        "payments": len(dossier.payments),
        "status_history": len(dossier.history) + 1,
        "course_enrolments": len(dossier.enrolments),
        "consents": len(dossier.consents),
        "requests": len(destroyed.change_requests)
        + len(uow.destruction_requests.for_student(number)),
        "audit_entries": int(committed) + pending,
    }


def _count(conn: Connection, table: FromClause, *where: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(table).where(*where)
    return int(conn.execute(query).scalar_one())


def verify(
    uow: UnitOfWork,
    objects: ObjectStore,
    bucket: str,
    number: str,
    destroyed: DestroyedData,
    *,
    versions_deleted: int,
    at: datetime,
) -> Verification:
    """Re-read every store; a check fails when anything of the student is still there."""
    conn = uow.connection
    regs = list(destroyed.registrations)
    checks: list[Check] = []

    def check(name: str, remaining: int) -> None:
        checks.append(Check(name=name, ok=remaining == 0, remaining=remaining))

    readable = 0
    try:
        uow.students.get(number)
        readable += 1
    except Destroyed:
        pass
    for registration_id in regs:
        try:
            uow.registrations.get(registration_id)
            readable += 1
        except (Destroyed, NotFound):
            pass
    check("records_unreadable", readable)
    check("data_keys_deleted", _count(conn, data_keys, data_keys.c.id.in_(destroyed.data_keys)))
    sealed = (
        _count(
            conn,
            students,
            students.c.student_number == number,
            or_(students.c.personal_ct.is_not(None), students.c.key_id.is_not(None)),
        )
        + _count(
            conn,
            registrations,
            registrations.c.id.in_(regs),
            or_(registrations.c.personal_ct.is_not(None), registrations.c.key_id.is_not(None)),
        )
        + _count(
            conn,
            change_requests,
            change_requests.c.student_number == number,
            or_(change_requests.c.personal_ct.is_not(None), change_requests.c.key_id.is_not(None)),
        )
    )
    check("sealed_fields_blank", sealed)
    check("blind_indexes_removed", _count(conn, blind_indexes, _index_rows(number, regs)))
    refs = [number, *regs, *destroyed.change_requests]
    check("stored_answers_removed", _answers(conn, refs, remove=False))
    check(
        "tombstone_written",
        1 - _count(conn, tombstones, tombstones.c.student_number == number),
    )
    left = sum(
        1
        for owner in (number, *regs)
        for _ in objects.list_versions(bucket, prefix=f"students/{owner}/")
    )
    check("object_versions_removed", left)
    return Verification(
        ok=all(c.ok for c in checks),
        checked_at=at,
        checks=tuple(checks),
        object_versions_deleted=versions_deleted,
    )

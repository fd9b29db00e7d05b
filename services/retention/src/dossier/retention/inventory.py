"""What a student's destruction touches, read before it and checked again after it (销毁核验).

`take` lists, before shredding, everything that belongs to the student: the
registration(s), the change requests and their field names, the blind-index
rows, the data keys and the SHA-256 of every document. `verify` re-reads
every store afterwards and counts whatever is still there and should not be:
a readable dossier or registration, a data key row, a sealed blob, a blind
index digest, a stored answer mentioning the student, free text linked to the
student that was not erased, a web account of theirs that could still sign
in, an object version under the student's or a registration's prefix — in the
documents bucket and in every bucket a restore wrote documents into. Table and
column names only, never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    delete,
    func,
    or_,
    select,
)

from dossier.core.contracts.retention import Check, DestroyedData, Verification
from dossier.core.errors import Destroyed, NotFound
from dossier.core.records import StudentDossier
from dossier.retention.certificates import (
    CHANGE_REQUEST_FIELDS,
    DOSSIER_FIELDS,
    REGISTRATION_FIELDS,
)
from dossier.storage.objects import BucketNotFound, ObjectStore
from dossier.storage.repositories.change_requests import KIND as CHANGE_REQUEST
from dossier.storage.repositories.registrations import KIND as REGISTRATION
from dossier.storage.repositories.students import KIND as STUDENT
from dossier.storage.schema import (
    audit_log,
    blind_indexes,
    change_requests,
    data_keys,
    destruction_certificates,
    document_refs,
    idempotency_keys,
    registrations,
    students,
    tombstones,
)
from dossier.storage.shredding import (
    Owners,
    open_accounts,
    owners_of,
    row_counts,
    student_rows,
    unerased,
)
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


def _answers(conn: Connection, owners: Owners) -> ColumnElement[bool]:
    """Stored answers to retried requests (``idempotency_keys``) of the student: those naming
    the student number, a registration or a change request of theirs (an answer may hold a
    view of the dossier with personal values, or free text about the student), and those the
    student was sent (their feedback's receipt echoes its topic)."""
    return student_rows(idempotency_keys.name, owners, conn)


def forget_answers(conn: Connection, owners: Owners) -> int:
    """Delete the stored answers of the student; how many went."""
    result = conn.execute(delete(idempotency_keys).where(_answers(conn, owners)))
    return int(result.rowcount or 0)


def kept_counts(uow: UnitOfWork, owners: Owners) -> dict[str, int]:
    """How many of the student's rows each kept table holds, by table (`row_counts`), for
    the certificate: taken after shredding, with the audit entries still to be chained
    and the certificate about to be written counted in."""
    conn = uow.connection
    counts = row_counts(conn, owners)
    number = owners.student_number
    pending = sum(1 for entry in uow.audit.pending if entry.student_number == number)
    counts[audit_log.name] = counts.get(audit_log.name, 0) + pending
    counts[destruction_certificates.name] = counts.get(destruction_certificates.name, 0) + 1
    return counts


def _count(conn: Connection, table: FromClause, *where: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(table).where(*where)
    return int(conn.execute(query).scalar_one())


def versions_under(objects: ObjectStore, bucket: str, owners: Sequence[str]) -> int:
    """Object versions (delete markers included) under the owners' prefixes in ``bucket``;
    0 for a bucket that is gone (a scratch restore's, removed by the operator)."""
    try:
        return sum(
            1
            for owner in owners
            for _ in objects.list_versions(bucket, prefix=f"students/{owner}/")
        )
    except BucketNotFound:
        return 0


def verify(
    uow: UnitOfWork,
    objects: ObjectStore,
    bucket: str,
    number: str,
    destroyed: DestroyedData,
    *,
    versions_deleted: int,
    at: datetime,
    restore_buckets: Sequence[str] = (),
) -> Verification:
    """Re-read every store; a check fails when anything of the student is still there —
    in the documents ``bucket`` and in every bucket a restore wrote documents into."""
    conn = uow.connection
    owners = owners_of(conn, number)
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
    check("stored_answers_removed", _count(conn, idempotency_keys, _answers(conn, owners)))
    check("free_text_erased", sum(unerased(conn, owners).values()))
    check("account_closed", open_accounts(conn, number))
    check(
        "tombstone_written",
        1 - _count(conn, tombstones, tombstones.c.student_number == number),
    )
    prefixes = (number, *regs)
    check("object_versions_removed", versions_under(objects, bucket, prefixes))
    check(
        "restored_copies_removed",
        sum(versions_under(objects, other, prefixes) for other in restore_buckets),
    )
    return Verification(
        ok=all(c.ok for c in checks),
        checked_at=at,
        checks=tuple(checks),
        object_versions_deleted=versions_deleted,
    )

"""Crypto-shredding (资料销毁): delete the student's data key and every readable trace.

Within one transaction, as the data map's `AT_DESTRUCTION` says table by table:

- every column it lists as erased is emptied in place on the student's rows —
  the personal blobs and their ``key_id`` (dossier, registrations, change
  requests) become NULL, and every piece of free text linked to the student
  (reasons typed by them or by staff, comments, review notes, feedback and its
  answer, course names, receipt numbers, a disclosure's recipient, a
  notification's text, a gateway account event's reason, a ``submitted_by``
  that embeds their number) becomes ``[erased]`` (抹除);
- the student's blind-index digests are deleted, then the data key rows;
- the student's web account is closed (网关账户注销): disabled, its password
  and activation code hashes removed, its session version moved so every
  session ends, and the closing recorded as a ``disabled`` account event;
- a tombstone (student number, branch, time, certificate) is written and the
  dossier marked destroyed.

Any copy of the old ciphertext — in a backup, a document in the object store,
a dead PostgreSQL tuple — is sealed under a key that no longer exists
anywhere. Why free text is erased rather than sealed: it is read in clear by
lists that span many students (feedback, holds, review work lists, account
events, some without a student key at hand at all), and erasing it here, in
the shredding transaction, covers every such column with one rule the data
map drives — including when the destruction ledger re-applies a destruction
to a restored backup, which calls this same function.

What stays: the rows the destruction certificate lists as kept, each column
of which is classified as holding no personal value.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)

from dossier.core.enums import StudentStatus
from dossier.core.errors import NotFound
from dossier.core.records import Tombstone
from dossier.storage.audit import AuditLog, AuditSpec
from dossier.storage.data_map import AT_DESTRUCTION, ERASED, TABLES, Fate, Kind
from dossier.storage.repositories.base import Session
from dossier.storage.repositories.change_requests import KIND as CHANGE_REQUEST
from dossier.storage.repositories.registrations import KIND as REGISTRATION
from dossier.storage.repositories.students import KIND as STUDENT
from dossier.storage.schema import (
    blind_indexes,
    change_requests,
    document_refs,
    feedback,
    gateway_account_events,
    gateway_accounts,
    idempotency_keys,
    metadata,
    registrations,
    students,
    tombstones,
)
from dossier.storage.schema import data_keys as data_keys_table
from dossier.storage.sql import is_postgresql

ACCOUNT_CLOSED = "disabled"
"""The ``gateway_account_events.kind`` of an account closed by destruction (the gateway's
``AccountEvent.DISABLED``)."""

_NULLED = frozenset({Kind.PERSONAL_SEALED, Kind.KEY_REFERENCE, Kind.DIGEST})
"""Erased columns of these kinds become NULL; every other erased column becomes `ERASED`."""


def web_actor(login: str) -> str:
    """The actor id the gateway gives a signed-in account (``dossier.gateway.accounts``):
    what a student's feedback and stored answers carry as their sender."""
    return f"web:{login}"


@frozen
class Owners:
    """Every id by which a row can belong to one student (学员的全部记录), read before
    shredding — afterwards the links that destruction erases (a feedback's sender) are gone.
    """

    student_number: str
    registrations: tuple[str, ...]
    change_requests: tuple[str, ...]
    accounts: tuple[str, ...]
    actors: tuple[str, ...]
    """The actor ids of the student's web accounts (their feedback's ``submitted_by``)."""
    feedback: tuple[str, ...]
    """The student's feedback, found by sender while the sender is still there."""
    keys: tuple[str, ...]


def owners_of(conn: Connection, student_number: str) -> Owners:
    """The student's registrations, change requests, accounts, feedback and data keys."""
    student = conn.execute(
        select(students.c.key_id, students.c.registration_id).where(
            students.c.student_number == student_number
        )
    ).one_or_none()
    if student is None:
        raise NotFound(STUDENT, student_number)
    owned = or_(
        registrations.c.student_number == student_number,
        registrations.c.id == (student.registration_id or ""),
    )
    regs = conn.execute(select(registrations.c.id, registrations.c.key_id).where(owned)).all()
    changes = conn.execute(
        select(change_requests.c.id, change_requests.c.key_id).where(
            change_requests.c.student_number == student_number
        )
    ).all()
    accounts = conn.execute(
        select(gateway_accounts.c.id, gateway_accounts.c.login).where(
            gateway_accounts.c.student_number == student_number
        )
    ).all()
    actors = tuple(sorted(web_actor(row.login) for row in accounts))
    sent = conn.execute(
        select(feedback.c.id).where(_sent_by(feedback.c.submitted_by, student_number, actors))
    ).scalars()
    keys = {student.key_id, *(r.key_id for r in regs), *(c.key_id for c in changes)}
    return Owners(
        student_number=student_number,
        registrations=tuple(sorted(r.id for r in regs)),
        change_requests=tuple(sorted(c.id for c in changes)),
        accounts=tuple(sorted(row.id for row in accounts)),
        actors=actors,
        feedback=tuple(sorted(sent)),
        keys=tuple(sorted(k for k in keys if k is not None)),
    )


def _sent_by(column: Column[Any], number: str, actors: tuple[str, ...]) -> ColumnElement[bool]:
    """An actor id of the student: one of their accounts', or any embedding their number."""
    return or_(column.in_(actors), column.contains(number, autoescape=True))


def _mentions(conn: Connection, number: str, refs: tuple[str, ...]) -> ColumnElement[bool]:
    """A stored answer (``idempotency_keys.response``, bytes) naming any of ``refs``."""
    found: list[ColumnElement[bool]] = []
    for i, ref in enumerate(refs):
        name = f"mention_{i}"
        sql = (
            f"position(CAST(:{name} AS bytea) IN idempotency_keys.response) > 0"
            if is_postgresql(conn)
            else f"instr(idempotency_keys.response, :{name}) > 0"
        )
        found.append(text(sql).bindparams(**{name: ref.encode("utf-8")}))  # type: ignore[arg-type]
    return or_(false(), *found)


def _number(table: str) -> Callable[[Owners, Connection], ColumnElement[bool]]:
    column = metadata.tables[table].c.student_number
    return lambda o, _: column == o.student_number


def _owned_by(o: Owners, table: Table) -> ColumnElement[bool]:
    """Rows keyed by ``owner_kind`` + ``owner_id``: the student's, their registrations',
    their change requests'."""
    kind, owner = table.c.owner_kind, table.c.owner_id
    return or_(
        and_(kind == STUDENT, owner == o.student_number),
        and_(kind == REGISTRATION, owner.in_(o.registrations)),
        and_(kind == CHANGE_REQUEST, owner.in_(o.change_requests)),
    )


ROWS: Mapping[str, Callable[[Owners, Connection], ColumnElement[bool]]] = {
    **{
        name: _number(name)
        for name in (
            "students",
            "status_changes",
            "course_enrolments",
            "payments",
            "consents",
            "change_requests",
            "destruction_requests",
            "legal_holds",
            "tombstones",
            "audit_log",
            "read_trail",
            "notifications",
            "disclosures",
            "review_findings",
            "destruction_certificates",
            "gateway_accounts",
        )
    },
    "registrations": lambda o, _: or_(
        registrations.c.student_number == o.student_number,
        registrations.c.id.in_(o.registrations),
    ),
    "document_refs": lambda o, _: _owned_by(o, document_refs),
    "blind_indexes": lambda o, _: _owned_by(o, blind_indexes),
    "feedback": lambda o, _: feedback.c.id.in_(o.feedback),
    "outbox": lambda o, _: metadata.tables["outbox"].c.payload.contains(
        o.student_number, autoescape=True
    ),
    "idempotency_keys": lambda o, conn: or_(
        _sent_by(idempotency_keys.c.actor, o.student_number, o.actors),
        _mentions(conn, o.student_number, (o.student_number, *o.registrations, *o.change_requests)),
    ),
    "data_keys": lambda o, _: data_keys_table.c.id.in_(o.keys),
    "gateway_account_events": lambda o, _: gateway_account_events.c.account_id.in_(o.accounts),
}
"""How the rows of each table of `AT_DESTRUCTION` are found for one student (the map says it
in words; a test holds the two to the same tables)."""


def student_rows(table: str, owners: Owners, conn: Connection) -> ColumnElement[bool]:
    """The condition selecting the student's rows of ``table``."""
    return ROWS[table](owners, conn)


def row_counts(conn: Connection, owners: Owners) -> dict[str, int]:
    """How many rows of each kept table belong to the student (for the certificate)."""
    counts: dict[str, int] = {}
    for name, rows in AT_DESTRUCTION.items():
        if rows.fate is Fate.KEPT:
            table = metadata.tables[name]
            query = select(func.count()).select_from(table).where(student_rows(name, owners, conn))
            counts[name] = int(conn.execute(query).scalar_one())
    return counts


def _erasures(name: str) -> dict[str, object]:
    table = metadata.tables[name]
    values: dict[str, object] = {}
    for column in AT_DESTRUCTION[name].erased:
        if TABLES[name][column].kind in _NULLED:
            values[column] = null()
        else:
            values[column] = case((table.c[column].is_(None), null()), else_=literal(ERASED))
    if "version" in table.c:
        values["version"] = table.c.version + 1
    return values


def erase(conn: Connection, owners: Owners) -> dict[str, int]:
    """Empty every erased column of the student's rows (`AT_DESTRUCTION`); rows per table."""
    erased: dict[str, int] = {}
    for name, rows in AT_DESTRUCTION.items():
        if rows.fate is Fate.KEPT and rows.erased:
            table = metadata.tables[name]
            result = conn.execute(
                update(table).where(student_rows(name, owners, conn)).values(_erasures(name))
            )
            erased[name] = int(result.rowcount or 0)
    return erased


def unerased(conn: Connection, owners: Owners) -> dict[str, int]:
    """Of the student's kept rows, how many still hold a value in an erased column (销毁核验);
    empty when destruction did its work."""
    left: dict[str, int] = {}
    for name, rows in AT_DESTRUCTION.items():
        if rows.fate is not Fate.KEPT or not rows.erased:
            continue
        table = metadata.tables[name]
        holding = [
            table.c[c].is_not(None)
            if TABLES[name][c].kind in _NULLED
            else and_(table.c[c].is_not(None), table.c[c] != ERASED)
            for c in rows.erased
        ]
        query = (
            select(func.count())
            .select_from(table)
            .where(student_rows(name, owners, conn), or_(*holding))
        )
        count = int(conn.execute(query).scalar_one())
        if count:
            left[name] = count
    return left


def open_accounts(conn: Connection, student_number: str) -> int:
    """The student's web accounts that could still sign in (or be activated): 0 once closed."""
    query = (
        select(func.count())
        .select_from(gateway_accounts)
        .where(
            gateway_accounts.c.student_number == student_number,
            or_(
                gateway_accounts.c.disabled.is_(False),
                gateway_accounts.c.password_hash.is_not(None),
                gateway_accounts.c.activation_sha256.is_not(None),
            ),
        )
    )
    return int(conn.execute(query).scalar_one())


def close_accounts(conn: Connection, owners: Owners, at: datetime) -> None:
    """Close the student's web accounts: no sign-in, no activation, every session ended."""
    for account_id in owners.accounts:
        conn.execute(
            update(gateway_accounts)
            .where(gateway_accounts.c.id == account_id)
            .values(
                disabled=True,
                password_hash=None,
                activation_sha256=None,
                activation_expires=None,
                failed_logins=0,
                locked_until=None,
                updated_at=at,
                session_version=gateway_accounts.c.session_version + 1,
            )
        )
        conn.execute(
            insert(gateway_account_events).values(
                id=str(uuid.uuid4()),
                account_id=account_id,
                kind=ACCOUNT_CLOSED,
                by_account=None,
                reason=None,
                at=at,
            )
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
        select(students.c.branch)
        .where(students.c.student_number == student_number)
        .with_for_update()
    ).one_or_none()
    if student is None:
        raise NotFound(STUDENT, student_number)
    owners = owners_of(conn, student_number)
    erase(conn, owners)
    conn.execute(
        update(students)
        .where(students.c.student_number == student_number)
        .values(status=StudentStatus.DESTROYED.value)
    )
    conn.execute(delete(blind_indexes).where(student_rows("blind_indexes", owners, conn)))
    for key_id in owners.keys:
        session.keys.delete(key_id)
    session.key_ids.clear()
    close_accounts(conn, owners, at)
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

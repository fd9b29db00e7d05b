"""Pages of dossiers for jobs that read a whole branch (the quarterly review): a few queries a page.

`StudentRepository.get` reads one dossier in about eight queries (its row, its
data key, four child tables, its documents), and a change request's record
costs a decryption and a query of its own. A job over every dossier of a
branch would pay that per student. `StudentPage.load` reads a page of
students with one query per table — ``IN`` the page's student numbers — and
their data keys with one more; `StudentPage.dossier` then builds one dossier
at a time from the page's rows, so a job holds one page of rows and the
dossier it is looking at, never more.

Read-only: unlike a unit of work's repositories it remembers nothing for a
later write (versions, key ids), and it never caches a data key beyond the
page. The records are the ones `StudentRepository.get` builds, field for field.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import frozen
from sqlalchemy import ColumnElement, Connection, RowMapping, String, Table, any_, literal, select
from sqlalchemy.dialects import postgresql

from dossier.core.enums import (
    ChangeStatus,
    DocumentKind,
)
from dossier.core.records import (
    DocumentRef,
    StudentDossier,
)
from dossier.storage import crypto
from dossier.storage.converter import from_json
from dossier.storage.keys import KeyVault
from dossier.storage.repositories.base import PersonBlob
from dossier.storage.repositories.students import KIND, dossier_of
from dossier.storage.schema import (
    change_requests,
    consents,
    course_enrolments,
    data_keys,
    document_refs,
    payments,
    status_changes,
    students,
)
from dossier.storage.sql import is_postgresql

CHILDREN = (status_changes, course_enrolments, payments, consents)


@frozen(kw_only=True)
class ChangeState:
    """Where a change request stands — what the review needs of it, without its sealed part."""

    id: str
    student_number: str
    status: ChangeStatus
    applied_at: datetime | None
    answered_at: datetime | None


class StudentPage:
    """The rows of a page of students, and the dossiers built from them one at a time."""

    def __init__(
        self,
        rows: Mapping[str, RowMapping],
        keys: Mapping[str, bytes],
        children: Mapping[Table, Mapping[str, list[RowMapping]]],
        documents: Mapping[str, list[RowMapping]],
        changes: Mapping[str, list[ChangeState]],
    ) -> None:
        self._rows = rows
        self._keys = keys
        self._children = children
        self._documents = documents
        self._changes = changes

    @classmethod
    def load(
        cls,
        conn: Connection,
        vault: KeyVault,
        numbers: Sequence[str],
        *,
        with_changes: bool = True,
    ) -> StudentPage:
        """Read the students ``numbers`` (one page) in eight queries, however many they are."""
        wanted = list(numbers)
        rows = {
            row["student_number"]: row
            for row in conn.execute(
                select(students).where(_among(conn, students.c.student_number, wanted))
            )
            .mappings()
            .all()
        }
        key_ids = sorted({row["key_id"] for row in rows.values() if row["key_id"] is not None})
        keys = {
            key_id: vault.unwrap(key_id, wrapped, master_key_id)
            for key_id, wrapped, master_key_id in (
                conn.execute(
                    select(data_keys.c.id, data_keys.c.wrapped, data_keys.c.master_key_id).where(
                        _among(conn, data_keys.c.id, key_ids)
                    )
                ).all()
                if key_ids
                else []
            )
        }
        children = {
            table: _grouped(
                conn.execute(
                    select(table)
                    .where(_among(conn, table.c.student_number, wanted))
                    .order_by(table.c.student_number, table.c.position)
                )
                .mappings()
                .all(),
                "student_number",
            )
            for table in CHILDREN
        }
        documents = _grouped(
            conn.execute(
                select(document_refs)
                .where(
                    document_refs.c.owner_kind == KIND,
                    _among(conn, document_refs.c.owner_id, wanted),
                )
                .order_by(document_refs.c.owner_id, document_refs.c.position)
            )
            .mappings()
            .all(),
            "owner_id",
        )
        changes: dict[str, list[ChangeState]] = defaultdict(list)
        if with_changes:
            c = change_requests.c
            for row in (
                conn.execute(
                    select(c.id, c.student_number, c.status, c.applied_at, c.answered_at)
                    .where(_among(conn, c.student_number, wanted))
                    .order_by(c.student_number, c.requested_at, c.id)
                )
                .mappings()
                .all()
            ):
                changes[row["student_number"]].append(
                    ChangeState(
                        id=row["id"],
                        student_number=row["student_number"],
                        status=ChangeStatus(row["status"]),
                        applied_at=row["applied_at"],
                        answered_at=row["answered_at"],
                    )
                )
        return cls(rows, keys, children, documents, changes)

    def dossier(self, number: str) -> StudentDossier | None:
        """The dossier, built now; None when it is not on the page or has been destroyed."""
        row = self._rows.get(number)
        if row is None or row["personal_ct"] is None:
            return None
        key = self._keys.get(row["key_id"])
        if key is None:  # shredded between the two reads
            return None
        aad = crypto.aad(students.name, "personal_ct", number)
        plain = crypto.unseal(key, row["personal_ct"], aad, f"{students.name}/{number}")
        blob = from_json(plain, PersonBlob)
        children = {table: self._children[table].get(number, []) for table in CHILDREN}
        documents = tuple(
            DocumentRef(
                kind=DocumentKind(d["kind"]),
                sha256=d["sha256"],
                size=d["size"],
                media_type=d["media_type"],
            )
            for d in self._documents.get(number, [])
        )
        return dossier_of(row, blob, children, documents)

    def changes(self, number: str) -> list[ChangeState]:
        """The student's change requests (oldest first), as `ChangeState`s."""
        return list(self._changes.get(number, []))


def _grouped(rows: Iterable[RowMapping], column: str) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row[column]].append(row)
    return grouped


def _among(conn: Connection, column: ColumnElement[str], values: list[str]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter, whatever the count
    (an ``IN`` of a thousand parameters costs more to parse and plan than to run)."""
    if is_postgresql(conn):
        return column == any_(literal(values, postgresql.ARRAY(String())))
    return column.in_(values)

"""What every repository of one unit of work shares, and the helpers they all use.

Repositories translate rows to the frozen core records and back, explicitly,
table by table: no ORM objects escape. Writes are guarded by optimistic
versions (`write_version`): a record that carries ``version`` is stored only
over ``version - 1`` (core bumps the version on every change); a record
without one (consents, legal holds, feedback) is stored only over the version
this unit of work read. A stale write raises `Conflict`, never overwrites.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from attrs import frozen
from sqlalchemy import Column, Connection, Table, delete, insert, select, update

from dossier.core.enums import DocumentKind
from dossier.core.errors import Conflict, Destroyed, NotFound
from dossier.core.records import DocumentRef, Guardian, LearningNeeds, PersonalDetails
from dossier.storage import crypto
from dossier.storage.blind_index import BlindIndexer, IndexKind, IndexValue
from dossier.storage.converter import from_json, to_json
from dossier.storage.keys import DataKeys
from dossier.storage.schema import blind_indexes, document_refs, students, tombstones

T = TypeVar("T")


@frozen(kw_only=True)
class PersonBlob:
    """The sealed part of a registration or dossier row: everything personal in it."""

    person: PersonalDetails
    needs: LearningNeeds
    guardian: Guardian | None = None


class Session:
    """The connection, keys and bookkeeping one unit of work's repositories share."""

    def __init__(self, conn: Connection, keys: DataKeys, indexer: BlindIndexer) -> None:
        self.conn = conn
        self.keys = keys
        self.indexer = indexer
        self.read_versions: dict[tuple[str, str], int] = {}
        """Version of each unversioned record read here: the base of its next write."""
        self.key_ids: dict[tuple[str, str], str] = {}
        """Data key of each sealed row written or read here (table, row id)."""

    def forget(self) -> None:
        """Drop what was learnt about rows, after a SAVEPOINT rollback may have undone them."""
        self.read_versions.clear()
        self.key_ids.clear()

    # -- sealing personal blobs ----------------------------------------------------

    def seal(self, table: Table, row_id: str, key_id: str, value: Any) -> bytes:
        self.key_ids[(table.name, row_id)] = key_id
        key = self.keys.get(key_id)
        return crypto.seal(key, to_json(value), crypto.aad(table.name, "personal_ct", row_id))

    def unseal(self, table: Table, row_id: str, key_id: str, sealed: bytes, cls: type[T]) -> T:
        self.key_ids[(table.name, row_id)] = key_id
        where = f"{table.name}/{row_id}"
        aad = crypto.aad(table.name, "personal_ct", row_id)
        return from_json(crypto.unseal(self.keys.get(key_id), sealed, aad, where), cls)

    def new_key(self) -> str:
        key_id = str(uuid.uuid4())
        self.keys.create(key_id)
        return key_id

    def key_id_of(self, table: Table, pk: Column[Any], row_id: str, kind: str) -> str:
        """The data key of a row; `Destroyed` if it was shredded, `NotFound` if no such row."""
        cached = self.key_ids.get((table.name, row_id))
        if cached is not None:
            return cached
        query = select(table.c.key_id, table.c.student_number).where(pk == row_id)
        row = self.conn.execute(query).one_or_none()
        if row is None:
            raise NotFound(kind, row_id)
        if row.key_id is None:
            raise self.destroyed_error(row.student_number)
        self.key_ids[(table.name, row_id)] = row.key_id
        return str(row.key_id)

    def student_key_id(self, student_number: str) -> str:
        return self.key_id_of(students, students.c.student_number, student_number, "student")

    def destroyed_error(self, student_number: str | None) -> Destroyed:
        tombstone = None
        if student_number is not None:
            tombstone = self.conn.execute(
                select(tombstones.c.destroyed_at).where(
                    tombstones.c.student_number == student_number
                )
            ).scalar_one_or_none()
        destroyed_on = tombstone.date().isoformat() if tombstone is not None else "-"
        return Destroyed(student_number or "-", destroyed_on)

    # -- blind indexes -------------------------------------------------------------

    def write_index(
        self, owner_kind: str, owner_id: str, digests: dict[IndexKind, str], *, new: bool = False
    ) -> None:
        """Replace the owner's index rows (``new``: the owner was just added; nothing to drop)."""
        if not new:
            self.drop_index(owner_kind, [owner_id])
        self.conn.execute(insert(blind_indexes), index_rows(owner_kind, owner_id, digests))

    def drop_index(self, owner_kind: str, owner_ids: Sequence[str]) -> None:
        self.conn.execute(
            delete(blind_indexes).where(
                blind_indexes.c.owner_kind == owner_kind, blind_indexes.c.owner_id.in_(owner_ids)
            )
        )

    def find_by_index(self, owner_kind: str, kind: IndexKind, value: IndexValue) -> list[str]:
        digest = self.indexer.digest(kind, value)
        rows = self.conn.execute(
            select(blind_indexes.c.owner_id)
            .where(
                blind_indexes.c.owner_kind == owner_kind,
                blind_indexes.c.kind == kind.value,
                blind_indexes.c.digest == digest,
            )
            .order_by(blind_indexes.c.owner_id)
        ).scalars()
        return list(rows)

    # -- document references -------------------------------------------------------

    def write_documents(
        self,
        owner_kind: str,
        owner_id: str,
        documents: Sequence[DocumentRef],
        *,
        new: bool = False,
    ) -> None:
        """Replace the owner's document references (``new``: just added; nothing to delete)."""
        if not new:
            self.conn.execute(
                delete(document_refs).where(
                    document_refs.c.owner_kind == owner_kind, document_refs.c.owner_id == owner_id
                )
            )
        if documents:
            self.conn.execute(insert(document_refs), document_rows(owner_kind, owner_id, documents))

    def read_documents(self, owner_kind: str, owner_id: str) -> tuple[DocumentRef, ...]:
        rows = self.conn.execute(
            select(document_refs)
            .where(document_refs.c.owner_kind == owner_kind, document_refs.c.owner_id == owner_id)
            .order_by(document_refs.c.position)
        ).all()
        return tuple(
            DocumentRef(
                kind=DocumentKind(r.kind), sha256=r.sha256, size=r.size, media_type=r.media_type
            )
            for r in rows
        )

    # -- optimistic versions -------------------------------------------------------

    def write_version(
        self,
        table: Table,
        pk: Column[Any],
        row_id: str,
        kind: str,
        expected: int,
        values: dict[str, Any],
    ) -> None:
        """Update the row only if it is still at ``expected``; `Conflict` otherwise."""
        result = self.conn.execute(
            update(table).where(pk == row_id, table.c.version == expected).values(**values)
        )
        if result.rowcount == 1:
            return
        actual = self.conn.execute(select(table.c.version).where(pk == row_id)).scalar_one_or_none()
        if actual is None:
            raise NotFound(kind, row_id)
        raise Conflict(kind, row_id, expected, int(actual))

    def remember_version(self, table: Table, row_id: str, version: int) -> None:
        self.read_versions[(table.name, row_id)] = version

    def version_read(self, table: Table, row_id: str, kind: str) -> int:
        try:
            return self.read_versions[(table.name, row_id)]
        except KeyError:
            raise RuntimeError(f"read the {kind} in this unit of work before updating it") from None


def index_rows(
    owner_kind: str, owner_id: str, digests: dict[IndexKind, str]
) -> list[dict[str, Any]]:
    return [
        {"owner_kind": owner_kind, "owner_id": owner_id, "kind": kind.value, "digest": digest}
        for kind, digest in digests.items()
    ]


def document_rows(
    owner_kind: str, owner_id: str, documents: Iterable[DocumentRef]
) -> list[dict[str, Any]]:
    return [
        {
            "owner_kind": owner_kind,
            "owner_id": owner_id,
            "position": position,
            "kind": doc.kind.value,
            "sha256": doc.sha256,
            "size": doc.size,
            "media_type": doc.media_type,
        }
        for position, doc in enumerate(documents)
    ]

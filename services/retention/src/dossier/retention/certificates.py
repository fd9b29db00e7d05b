"""Destruction certificates (销毁证明): what was destroyed, what was kept and why, how, when,
approved by whom, executed by whom, and whether verification found anything left.

A certificate is written in the transaction that shreds the student and
outlives the data: auditors read it (``certificate.get``, ``destruction.list``)
long after nothing personal remains. It names fields, tables, counts and the
SHA-256 digests of the documents — never a value. What it lists as kept is
derived from the data map (`kept_records`): every table whose rows of the
student remain, every column that keeps its value, every column erased in
place, and the ground.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, null, or_, select, tuple_, update

from dossier.core import wire
from dossier.core.contracts.retention import (
    Certificate,
    DestroyedData,
    KeptRecord,
    Verification,
)
from dossier.core.errors import NotFound
from dossier.storage.data_map import AT_DESTRUCTION, TABLES, Fate, kept_columns
from dossier.storage.schema import destruction_certificates as table

KIND = "certificate"

METHOD = "crypto-shredding (AES-256-GCM data key deleted) + deletion of every object version"
"""销毁方式, as the certificate states it."""

DOSSIER_FIELDS = (
    "personal.name",
    "personal.gender",
    "personal.birth_date",
    "personal.id_document",
    "personal.phone",
    "personal.email",
    "personal.address",
    "guardian.name",
    "guardian.relation",
    "guardian.phone",
    "guardian.id_document",
    "needs.target_language",
    "needs.current_level",
    "needs.goals",
    "needs.preferred_schedule",
)
"""The personal fields of a dossier, sealed under the student's data key."""

REGISTRATION_FIELDS = tuple(f.replace("personal.", "applicant.", 1) for f in DOSSIER_FIELDS)
"""The personal fields of a registration form (《学员报名表》)."""

CHANGE_REQUEST_FIELDS = ("changes.before", "changes.after", "reason", "dispute_reason")
"""The sealed part of a change request (《信息变更申请表》)."""

NO_PERSONAL_VALUE = "what remains holds no personal value (only: {kinds})"
"""How each kept table's ground ends: the kinds of its kept columns, from the data map."""


def kept_records(counts: Mapping[str, int]) -> tuple[KeptRecord, ...]:
    """The kept part of the certificate: every table the data map keeps rows of at a
    destruction, with the student's row count (``counts``, by table), the columns that keep
    their values, the columns erased in place, and the ground — all from the map
    (`dossier.storage.data_map.AT_DESTRUCTION`), so the certificate names every kept column
    and cannot drift from what shredding does."""
    records = []
    for name, rows in AT_DESTRUCTION.items():
        if rows.fate is not Fate.KEPT:
            continue
        fields = kept_columns(name)
        kinds = ", ".join(sorted({TABLES[name][column].kind.value for column in fields}))
        records.append(
            KeptRecord(
                what=name,
                count=counts.get(name, 0),
                fields=fields,
                ground=f"{rows.ground}; {NO_PERSONAL_VALUE.format(kinds=kinds)}",
                erased=rows.erased,
            )
        )
    return tuple(records)


def _json(value: Any) -> Any:
    return wire.unstructure(value)


def _certificate(row: RowMapping) -> Certificate:
    verification = row["verification"]
    return Certificate(
        id=row["id"],
        request_id=row["request_id"],
        student_number=row["student_number"],
        branch=row["branch"],
        approver=row["approver"],
        responsible_person=row["responsible_person"],
        executed_at=row["executed_at"],
        method=row["method"],
        destroyed=wire.structure(row["destroyed"], DestroyedData),
        kept=tuple(wire.structure(k, KeptRecord) for k in row["kept"]),
        created_at=row["created_at"],
        verification=None if verification is None else wire.structure(verification, Verification),
    )


class CertificateStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, certificate: Certificate) -> None:
        self._conn.execute(
            insert(table).values(
                id=certificate.id,
                request_id=certificate.request_id,
                student_number=certificate.student_number,
                branch=certificate.branch,
                approver=certificate.approver,
                responsible_person=certificate.responsible_person,
                executed_at=certificate.executed_at,
                method=certificate.method,
                destroyed=_json(certificate.destroyed),
                kept=[_json(k) for k in certificate.kept],
                verification=null()  # SQL NULL (not JSON null): "not verified yet"
                if certificate.verification is None
                else _json(certificate.verification),
                created_at=certificate.created_at,
            )
        )

    def record_verification(self, certificate_id: str, verification: Verification) -> None:
        self._conn.execute(
            update(table)
            .where(table.c.id == certificate_id)
            .values(verification=_json(verification))
        )

    def get(self, certificate_id: str) -> Certificate:
        row = self._conn.execute(select(table).where(table.c.id == certificate_id)).mappings()
        found = row.first()
        if found is None:
            raise NotFound(KIND, certificate_id)
        return _certificate(found)

    def for_request(self, request_id: str) -> Certificate | None:
        rows = self._conn.execute(select(table).where(table.c.request_id == request_id))
        found = rows.mappings().first()
        return None if found is None else _certificate(found)

    def unverified(self, limit: int = 100) -> list[Certificate]:
        """Certificates whose verification is missing (an execution interrupted) or failed."""
        check = table.c.verification
        query = (
            select(table)
            .where(or_(check.is_(None), check["ok"].as_boolean().is_(False)))
            .order_by(table.c.executed_at, table.c.id)
            .limit(limit)
        )
        return [_certificate(r) for r in self._conn.execute(query).mappings()]

    def of_branch(self, branch: str, *, after: str | None, limit: int) -> Sequence[Certificate]:
        """Newest first (by execution time, then id); ``after`` a certificate id."""
        order = (table.c.executed_at.desc(), table.c.id.desc())
        query = select(table).where(table.c.branch == branch)
        if after is not None:
            cursor = self.get(after)
            query = query.where(
                tuple_(table.c.executed_at, table.c.id) < tuple_(cursor.executed_at, cursor.id)
            )
        rows = self._conn.execute(query.order_by(*order).limit(limit))
        return [_certificate(r) for r in rows.mappings()]

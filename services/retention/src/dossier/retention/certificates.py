"""Destruction certificates (销毁证明): what was destroyed, what was kept and why, how, when,
approved by whom, executed by whom, and whether verification found anything left.

A certificate is written in the transaction that shreds the student and
outlives the data: auditors read it (``certificate.get``, ``destruction.list``)
long after nothing personal remains. It names fields, tables, counts and the
SHA-256 digests of the documents — never a value.
"""

from __future__ import annotations

from collections.abc import Sequence
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

ACCOUNTING_GROUND = (
    "会计档案管理办法 (PRC Accounting Archives Management Measures, MOF/SAA Order No. 79): "
    "accounting vouchers are kept for the statutory period; 个人信息保护法 Art. 47 (PIPL): "
    "where a law requires retention, only storage and security measures continue"
)
PROCESSING_RECORD_GROUND = (
    "record of the processing (个人信息处理记录): who did what and when, kept so every change "
    "stays traceable; holds no personal data"
)


def kept_records(counts: dict[str, int]) -> tuple[KeptRecord, ...]:
    """The kept part of the certificate, from the number of rows of each kind left."""
    return (
        KeptRecord(
            what="payments",
            count=counts.get("payments", 0),
            fields=("amount_minor", "currency", "method", "receipt_ref", "paid_at", "recorded_by"),
            ground=ACCOUNTING_GROUND + "; linked only to the student number, no name or ID",
        ),
        KeptRecord(
            what="status_history",
            count=counts.get("status_history", 0),
            fields=("from_status", "to_status", "actor", "reason", "effective_date"),
            ground=PROCESSING_RECORD_GROUND,
        ),
        KeptRecord(
            what="course_enrolments",
            count=counts.get("course_enrolments", 0),
            fields=("course_code", "course_name", "starts_on", "ends_on", "status"),
            ground=ACCOUNTING_GROUND + " (what the payments paid for)",
        ),
        KeptRecord(
            what="consents",
            count=counts.get("consents", 0),
            fields=("purpose", "given_by", "granted_at", "withdrawn_at"),
            ground=PROCESSING_RECORD_GROUND + " (the lawful basis of past processing)",
        ),
        KeptRecord(
            what="requests",
            count=counts.get("requests", 0),
            fields=("status", "requested_by", "reviewed_by", "field names", "dates"),
            ground=PROCESSING_RECORD_GROUND + " (change and destruction requests)",
        ),
        KeptRecord(
            what="audit_entries",
            count=counts.get("audit_entries", 0),
            fields=("actor", "action", "at", "field names", "keyed value hashes"),
            ground=PROCESSING_RECORD_GROUND
            + "; the value hashes were keyed by the deleted data key and can no longer be matched",
        ),
        KeptRecord(
            what="disclosures",
            count=counts.get("disclosures", 0),
            fields=("recipient", "purpose", "field names", "disclosed_at", "disclosed_by"),
            ground=PROCESSING_RECORD_GROUND + " (个人信息提供记录: what went to whom, and when)",
        ),
        KeptRecord(
            what="notifications",
            count=counts.get("notifications", 0),
            fields=("kind", "channel", "text naming only the student number", "created_at"),
            ground=PROCESSING_RECORD_GROUND + " (what the student was told)",
        ),
        KeptRecord(
            what="review_findings",
            count=counts.get("review_findings", 0),
            fields=("rule", "severity", "status", "note"),
            ground=PROCESSING_RECORD_GROUND + " (the quarterly reviews, 定期审核)",
        ),
        KeptRecord(
            what="tombstone",
            count=1,
            fields=("student_number", "branch", "destroyed_at", "certificate_id"),
            ground="proof of destruction; keeps the student number from being reused",
        ),
    )


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

"""Storage test helpers: records whose every personal field carries a marker, and raw dumps.

A *marker* is a random string planted in every personal value; a test then
searches raw database bytes for it to prove nothing personal is stored in clear.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import make_url, text

from dossier.core import lifecycles
from dossier.core.enums import (
    Channel,
    ConsentGiver,
    ConsentPurpose,
    DocumentKind,
    EnrolmentStatus,
    Gender,
    IdDocumentType,
    PaymentMethod,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.lifecycle import Context
from dossier.core.records import (
    ChangeRequest,
    Consent,
    CourseEnrolment,
    DocumentRef,
    FieldChange,
    Guardian,
    IdDocument,
    LearningNeeds,
    Payment,
    PersonalDetails,
    Registration,
    StatusChange,
    StudentDossier,
)
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.keys import MasterKey
from dossier.storage.schema import metadata
from dossier.storage.sql import sqlite_checkpoint

AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def new_marker() -> str:
    return f"MRK{secrets.token_hex(8)}"


def ctx(actor: str = "officer-1", at: datetime = AT) -> Context:
    return Context(actor=actor, reason="checked", at=at)


def person(marker: str, phone_digits: str = "13800138000") -> PersonalDetails:
    return PersonalDetails(
        name=f"张{marker}",
        birth_date=date(2001, 5, 17),
        id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{marker}"),
        phone=f"+86{phone_digits}{marker}",
        gender=Gender.FEMALE,
        email=f"{marker}@example.cn",
        address=f"上海市{marker}路1号",
    )


def needs(marker: str) -> LearningNeeds:
    return LearningNeeds(
        target_language=f"en {marker}",
        current_level=f"B1 {marker}",
        goals=f"IELTS {marker}",
        preferred_schedule=f"weekends {marker}",
    )


def guardian(marker: str) -> Guardian:
    return Guardian(
        name=f"李{marker}",
        relation=f"mother {marker}",
        phone=f"+8613900000000{marker}",
        id_document=IdDocument(type=IdDocumentType.PRC_RESIDENT_ID, number=f"G{marker}"),
    )


def document(fill: str = "a", kind: DocumentKind = DocumentKind.REGISTRATION_FORM) -> DocumentRef:
    return DocumentRef(kind=kind, sha256=fill * 64, size=2048, media_type="application/pdf")


def registration(marker: str, *, id: str | None = None, branch: str = "SH01") -> Registration:
    return Registration(
        id=id or f"reg-{uuid.uuid4()}",
        branch=branch,
        channel=Channel.ONLINE,
        applicant=person(marker),
        needs=needs(marker),
        submitted_at=AT,
        guardian=guardian(marker),
        guardian_consent=True,
        documents=(document("a"), document("b", DocumentKind.ID_PROOF)),
    )


def dossier(
    marker: str, student_number: str, *, branch: str = "SH01", registration_id: str | None = None
) -> StudentDossier:
    """A dossier with every child collection filled (courses, payments, consents, history)."""
    return StudentDossier(
        student_number=student_number,
        branch=branch,
        personal=person(marker),
        needs=needs(marker),
        guardian=guardian(marker),
        status=StudentStatus.ENROLLED,
        admitted_at=AT,
        registration_id=registration_id,
        history=(
            StatusChange(
                from_status=None,
                to_status=StudentStatus.ENROLLED,
                actor="officer-1",
                reason="admitted",
                effective_date=AT.date(),
                recorded_at=AT,
            ),
        ),
        enrolments=(
            CourseEnrolment(
                id=f"enr-{uuid.uuid4()}",
                course_code="IELTS-7",
                course_name="IELTS band 7 intensive",
                starts_on=date(2026, 3, 9),
            ),
            CourseEnrolment(
                id=f"enr-{uuid.uuid4()}",
                course_code="SPK-1",
                course_name="Speaking club",
                starts_on=date(2026, 1, 5),
                ends_on=date(2026, 2, 28),
                status=EnrolmentStatus.ENDED,
                ended_reason="finished",
            ),
        ),
        payments=(
            Payment(
                id=f"pay-{uuid.uuid4()}",
                amount_minor=1_280_000,
                currency="CNY",
                method=PaymentMethod.WECHAT_PAY,
                receipt_ref="RC-2026-0001",
                paid_at=AT + timedelta(minutes=5),
                recorded_by="desk-1",
            ),
        ),
        documents=(document("c", DocumentKind.PAYMENT_RECEIPT),),
        consents=(
            Consent(
                id=f"con-{uuid.uuid4()}",
                student_number=student_number,
                purpose=ConsentPurpose.PROCESSING,
                given_by=ConsentGiver.GUARDIAN,
                granted_at=AT,
                recorded_by="desk-1",
            ),
        ),
    )


def change_request(marker: str, student_number: str, *, branch: str = "SH01") -> ChangeRequest:
    return ChangeRequest(
        id=f"chg-{uuid.uuid4()}",
        student_number=student_number,
        branch=branch,
        changes=(
            FieldChange(field="personal.phone", before=f"+86138{marker}", after=f"+86137{marker}"),
            FieldChange(field="personal.address", before=f"old {marker}", after=f"new {marker}"),
        ),
        reason=f"moved house {marker}",
        requested_by="student-self",
        requested_at=AT,
        dossier_version=1,
        documents=(document("d", DocumentKind.CHANGE_EVIDENCE),),
    )


def table_rows_as_text(db: Database) -> dict[str, str]:
    """Every row of every table (the schema's and any other), rendered as text, by table."""
    out: dict[str, str] = {}
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            names = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).scalars()
            for name in names:
                rows = conn.execute(text(f'SELECT t::text FROM "{name}" t')).scalars()
                out[name] = "\n".join(rows)
        else:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
            ).scalars()
            for name in list(names):
                found = conn.execute(text(f'SELECT * FROM "{name}"')).all()
                out[name] = "\n".join(repr(tuple(row)) for row in found)
    assert set(metadata.tables) <= set(out)
    return out


def sqlite_files(db: Database) -> bytes:
    """The raw bytes of the SQLite database and its WAL, after a checkpoint."""
    sqlite_checkpoint(db.engine)
    database = make_url(db.url).database
    assert database
    blob = b""
    for suffix in ("", "-wal", "-journal"):
        path = Path(database + suffix)
        if path.exists():
            blob += path.read_bytes()
    return blob


def raw_dump(db: Database) -> bytes:
    """Everything the database holds, as bytes: rows as text, plus the files on SQLite."""
    rows = "\n".join(table_rows_as_text(db).values()).encode("utf-8")
    return rows + (sqlite_files(db) if db.dialect == "sqlite" else b"")


def admit_many(url: str, master: str, worker: int, count: int, out: Any) -> None:
    """A worker process: its own engine, ``count`` admissions (建档) of branch SH01, each a unit
    of work of its own (student number, dossier, audit entry, outbox event); puts the numbers."""
    db = Database(url, MasterKey.from_base64(master))
    template = registration(f"w{worker}")
    numbers = []
    for i in range(count):
        with db.unit_of_work() as uow:
            number = uow.numbers.next("SH01", 2026)
            accepted = attrs.evolve(
                template,
                id=f"reg-{worker}-{i}",
                status=RegistrationStatus.ACCEPTED,
                student_number=number,
            )
            uow.apply(
                lifecycles.admit(accepted, ctx(f"worker-{worker}")),
                audit=AuditSpec(action="student.admitted", values={"personal.name": "x"}),
            )
            uow.commit()
        numbers.append(number)
    db.dispose()
    out.put(numbers)

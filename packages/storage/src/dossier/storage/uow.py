"""The unit of work: one transaction holding the repositories, the audit log and the outbox.

    with db.unit_of_work() as uow:
        uow.apply(lifecycles.admit(registration, ctx), audit=AuditSpec(action="student.admitted"))
        uow.commit()

Leaving the block without `commit` rolls everything back — records, audit
entries and outbox rows alike, since all are written on the same connection.
`commit` chains the buffered audit entries as its last statements (see
`dossier.storage.audit`) and then commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine

from dossier.core.lifecycle import Transitioned
from dossier.core.records import (
    ChangeRequest,
    DestructionRequest,
    Disclosure,
    Feedback,
    LegalHold,
    Registration,
    StudentDossier,
    Tombstone,
)
from dossier.storage.audit import AuditLog, AuditSpec
from dossier.storage.blind_index import BlindIndexer
from dossier.storage.keys import KeyVault
from dossier.storage.numbers import NumberAllocator, StudentNumbers
from dossier.storage.outbox import Outbox
from dossier.storage.read_trail import ReadAlerts, ReadTrail
from dossier.storage.repositories.base import Session
from dossier.storage.repositories.change_requests import ChangeRequestRepository
from dossier.storage.repositories.consents import ConsentRepository
from dossier.storage.repositories.destruction_requests import DestructionRequestRepository
from dossier.storage.repositories.disclosures import DisclosureRepository
from dossier.storage.repositories.feedback import FeedbackRepository
from dossier.storage.repositories.import_jobs import ImportJobRepository
from dossier.storage.repositories.legal_holds import LegalHoldRepository
from dossier.storage.repositories.notifications import NotificationRepository
from dossier.storage.repositories.registrations import RegistrationRepository
from dossier.storage.repositories.students import StudentRepository
from dossier.storage.shredding import shred
from dossier.storage.sql import sqlite_checkpoint

VersionedRecord = Registration | StudentDossier | ChangeRequest | DestructionRequest
UnversionedRecord = LegalHold | Feedback | Disclosure
"""Stored over the version this unit of work read (holds, feedback), or only ever added."""
AppliedRecord = VersionedRecord | UnversionedRecord


class UnitOfWork:
    def __init__(
        self,
        engine: Engine,
        vault: KeyVault,
        indexer: BlindIndexer,
        allocator: NumberAllocator,
    ) -> None:
        self._engine = engine
        self._vault = vault
        self._indexer = indexer
        self._allocator = allocator
        self._conn: Connection | None = None
        self._done = False
        self._shredded = False

    def __enter__(self) -> UnitOfWork:
        conn = self._engine.connect()
        try:
            conn.begin()
        except Exception:
            conn.close()
            raise
        self._conn = conn
        self.session = Session(conn, self._vault.session(conn), self._indexer)
        self.registrations = RegistrationRepository(self.session)
        self.students = StudentRepository(self.session)
        self.consents = ConsentRepository(self.session)
        self.change_requests = ChangeRequestRepository(self.session)
        self.destruction_requests = DestructionRequestRepository(self.session)
        self.legal_holds = LegalHoldRepository(self.session)
        self.feedback = FeedbackRepository(self.session)
        self.disclosures = DisclosureRepository(self.session)
        self.notifications = NotificationRepository(self.session)
        self.import_jobs = ImportJobRepository(self.session)
        self.audit = AuditLog(conn)
        self.reads = ReadTrail(conn)
        self.read_alerts = ReadAlerts(conn)
        self.outbox = Outbox(conn)
        self.numbers = StudentNumbers(self._allocator, conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is None:
            return
        if not self._done:
            self.rollback()
        self._conn.close()

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for queries the repositories do not offer."""
        if self._conn is None or self._done:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def commit(self) -> None:
        """Chain the audit entries, then COMMIT. The unit of work is finished afterwards."""
        conn = self.connection
        self.audit.flush()
        self.reads.flush()
        conn.commit()
        self._done = True
        if self._shredded and conn.dialect.name == "sqlite":
            sqlite_checkpoint(self._engine)  # so the WAL keeps no page with the deleted key

    def rollback(self) -> None:
        conn = self.connection
        conn.rollback()
        self._done = True

    def apply(self, transitioned: Transitioned[Any], audit: AuditSpec) -> None:
        """Write a transition's record, its audit entry and its events, all in this transaction.

        A record at version 1 is new (added), any later version replaces
        version - 1 (optimistic: `Conflict` when someone else was first).
        ``audit.values`` are hashed under the student's (or, before
        admission, the registration's) data key. Legal holds and feedback
        carry no version: one this unit of work read is updated (over the
        version read), any other added; a disclosure is only ever added.
        """
        record = transitioned.record
        if not isinstance(record, AppliedRecord):
            raise TypeError(f"apply() cannot store a {type(record).__name__}")
        self._store(record)
        events = transitioned.events
        self.audit.record(
            audit,
            branch=record.branch,
            actor=events[0].actor if events else None,
            student_number=getattr(record, "student_number", None),
            subject=_subject(record),
            data_key=self._value_key(record) if audit.values else None,
        )
        self.outbox.add(events)

    def shred(
        self,
        student_number: str,
        *,
        certificate_id: str,
        actor: str,
        at: datetime | None = None,
    ) -> Tombstone:
        """Crypto-shred a student (see `dossier.storage.shredding`); audited in this transaction."""
        self._shredded = True
        return shred(
            self.session,
            self.audit,
            student_number,
            certificate_id=certificate_id,
            actor=actor,
            at=at or datetime.now(UTC),
        )

    def _store(self, record: AppliedRecord) -> None:
        if isinstance(record, Disclosure):
            self.disclosures.add(record)
            return
        if isinstance(record, LegalHold | Feedback):
            repo: Any = self.legal_holds if isinstance(record, LegalHold) else self.feedback
            known = repo.known(record.id)
        else:
            repo = self._repository_for(record)
            known = record.version != 1
        if known:
            repo.update(record)
        else:
            repo.add(record)

    def _repository_for(self, record: VersionedRecord) -> object:
        if isinstance(record, Registration):
            return self.registrations
        if isinstance(record, StudentDossier):
            return self.students
        if isinstance(record, ChangeRequest):
            return self.change_requests
        return self.destruction_requests

    def _value_key(self, record: AppliedRecord) -> bytes:
        if isinstance(record, Registration):
            return self.registrations.data_key(record.id)
        if isinstance(record, Feedback):
            raise ValueError("feedback is about no student: its audit entry hashes no values")
        return self.students.data_key(record.student_number)


def _subject(record: AppliedRecord) -> str:
    return record.student_number if isinstance(record, StudentDossier) else record.id

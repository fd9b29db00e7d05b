"""Bulk admission for imports (批量导入建档): thousands of students in one transaction.

`BulkAdmitter.admit` takes submitted registrations (e.g. channel ``import``),
draws their student numbers in one call per branch, runs core's
``accept_registration`` and ``admit`` on each, and writes everything the
single path writes — one data key per student (shared by registration and
dossier), sealed personal blobs, blind indexes, documents, children, one
audit entry per student with keyed value hashes, the outbox rows of every
event — table by table with `bulk_insert`: COPY on PostgreSQL, executemany on
SQLite. It is an all-or-nothing part of the caller's unit of work: nothing is
visible before ``uow.commit()``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from dossier.core import lifecycles
from dossier.core.events import DomainEvent
from dossier.core.lifecycle import Context
from dossier.core.plugins import BranchRules
from dossier.core.records import Registration, StudentDossier
from dossier.storage import schema
from dossier.storage.audit import AuditSpec
from dossier.storage.outbox import rows_for
from dossier.storage.repositories.base import document_rows, index_rows
from dossier.storage.repositories.registrations import KIND as REGISTRATION
from dossier.storage.repositories.registrations import registration_row
from dossier.storage.repositories.students import student_rows
from dossier.storage.sql import bulk_insert, is_postgresql
from dossier.storage.uow import UnitOfWork

INSERT_ORDER = (
    schema.data_keys,
    schema.registrations,
    schema.students,
    schema.status_changes,
    schema.course_enrolments,
    schema.payments,
    schema.consents,
    schema.document_refs,
    schema.blind_indexes,
)
"""Referenced tables first."""


class BulkAdmitter:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def admit(
        self,
        registrations: Sequence[Registration],
        ctx: Context,
        *,
        year: int | None = None,
        rules: BranchRules | None = None,
        audit: AuditSpec | None = None,
    ) -> list[StudentDossier]:
        """Accept and admit every registration; returns the new dossiers, in input order.

        ``year`` (default: ``ctx.at``'s) picks the student-number sequence;
        ``rules`` formats the numbers (all registrations must then be of
        ``rules.branch``). ``audit.values`` is not supported here: each
        student's entry hashes its own name, birth date, ID document and phone.
        """
        uow = self._uow
        session = uow.session
        spec = audit or AuditSpec(action="student.admitted")
        numbers = self._numbers(registrations, year or ctx.at.year, rules)
        key_ids = [str(uuid.uuid4()) for _ in registrations]
        rows: dict[Table, list[Any]] = defaultdict(list)
        rows[schema.data_keys] = session.keys.rows(key_ids)
        events: list[DomainEvent] = []
        dossiers = []
        for registration, number, key_id in zip(registrations, numbers, key_ids, strict=True):
            accepted = lifecycles.accept_registration(registration, ctx, number)
            admitted = lifecycles.admit(accepted.record, ctx)
            dossier = admitted.record
            rows[schema.registrations].append(registration_row(session, accepted.record, key_id))
            rows[schema.document_refs].extend(
                document_rows(REGISTRATION, registration.id, registration.documents)
            )
            rows[schema.blind_indexes].extend(
                index_rows(
                    REGISTRATION, registration.id, session.indexer.digests(registration.applicant)
                )
            )
            for table, table_rows in student_rows(session, dossier, key_id).items():
                rows[table].extend(table_rows)
            person = dossier.personal
            uow.audit.record(
                AuditSpec(
                    action=spec.action,
                    actor=spec.actor,
                    fields=spec.fields,
                    values={
                        "personal.name": person.name,
                        "personal.birth_date": person.birth_date,
                        "personal.id_document": person.id_document,
                        "personal.phone": person.phone,
                    },
                ),
                branch=dossier.branch,
                actor=ctx.actor,
                student_number=number,
                subject=number,
                data_key=session.keys.get(key_id),
                at=ctx.at,
            )
            events.extend((*accepted.events, *admitted.events))
            dossiers.append(dossier)
        conn = uow.connection
        for table in INSERT_ORDER:
            bulk_insert(conn, table, rows[table])
        outbox_rows = rows_for(events, datetime.now(UTC))
        if is_postgresql(conn):
            bulk_insert(conn, schema.outbox, outbox_rows)  # seq comes from the identity
        else:
            uow.outbox.insert_rows(outbox_rows)
        return dossiers

    def _numbers(
        self, registrations: Sequence[Registration], year: int, rules: BranchRules | None
    ) -> list[str]:
        by_branch: dict[str, list[int]] = defaultdict(list)
        for position, registration in enumerate(registrations):
            by_branch[registration.branch].append(position)
        numbers = [""] * len(registrations)
        for branch, positions in sorted(by_branch.items()):
            if rules is not None and rules.branch.code != branch:
                raise ValueError("rules are for another branch than some registrations")
            drawn = self._uow.numbers.many(branch, year, len(positions), rules)
            for position, number in zip(positions, drawn, strict=True):
                numbers[position] = number
        return numbers

"""Intake use cases (报名 → 审核 → 录取 → 建档), each one unit of work.

`Intake` is what an embedding application calls in-process, and what the
NATS service calls for each request. Every changing use case writes its
records, its audit entry and its events in one transaction, at most once per
idempotency key (`dossier.storage.idempotency.transact`). Records of branches
outside the caller's scope are reported as not found, so a caller cannot
learn whether they exist.

The use cases are grouped by area: `dossier.intake.registrations` (submit,
review, withdraw), `dossier.intake.dossiers` (read, search) and
`dossier.intake.records` (courses, payments, documents); the bulk import is
`dossier.intake.imports`. `Intake` combines the first three.

    intake = Intake(db, branches, document_store)
    receipt = intake.submit_registration(Caller(actor, "key-1"), SubmitRegistration(...))
"""

from __future__ import annotations

from dossier.core.caller import Caller
from dossier.intake.dossiers import DossierHandlers
from dossier.intake.records import RecordHandlers
from dossier.intake.registrations import (
    ProbableDuplicates,
    RegistrationHandlers,
    prepare_registration,
    submission_problems,
)

__all__ = ["Caller", "Intake", "ProbableDuplicates", "prepare_registration", "submission_problems"]


class Intake(RegistrationHandlers, DossierHandlers, RecordHandlers):
    """Registrations, their review and admission; dossiers, courses, payments, documents —
    over one database, the branches' rules and one document store."""

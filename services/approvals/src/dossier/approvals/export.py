"""个人信息副本: the student's own copy of everything the school holds about them
(PIPL Art. 45, GDPR Art. 15), as JSON with their documents in base64.

Unmasked for the student themself (and for staff whose role sees values in
clear); logged in the audit trail (``dossier.exported``), never kept in the
idempotency ledger.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from dossier.approvals.reads import read_line
from dossier.approvals.views import (
    change_view,
    consent_view,
    destruction_view,
    disclosure_view,
    status_line,
)
from dossier.core.caller import Caller
from dossier.core.contracts.approvals import DossierExport, ExportDossier, ExportedDocument
from dossier.core.policy import Operation
from dossier.core.records import DocumentRef, StudentDossier
from dossier.core.views import Masker
from dossier.storage.audit import AuditSpec
from dossier.storage.objects import ObjectNotFound
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases

SECTIONS = (
    "reads",
    "personal",
    "guardian",
    "needs",
    "enrolments",
    "payments",
    "history",
    "consents",
    "change_requests",
    "destruction_requests",
    "disclosures",
    "documents",
)


class ExportHandlers(UseCases):
    def export_dossier(self, caller: Caller, query: ExportDossier) -> DossierExport:
        actor = caller.actor

        def work(uow: UnitOfWork) -> DossierExport:
            dossier = self._dossier(uow, actor, Operation.DOSSIER_EXPORT, query.student_number)
            number = dossier.student_number
            mask = Masker(self._rules(dossier.branch), actor)
            changes = uow.change_requests.for_student(number)
            holds = uow.legal_holds.for_student(number)
            refs = _unique([*dossier.documents, *(d for c in changes for d in c.documents)])
            documents, missing = self._documents(uow, dossier, refs)
            uow.audit.record(
                AuditSpec(action="dossier.exported", fields=SECTIONS),
                branch=dossier.branch,
                actor=actor.id,
                student_number=number,
                subject=number,
            )
            reads = tuple(
                read_line(entry, for_student=True) for entry in uow.reads.for_student(number)
            )
            export = DossierExport(
                exported_at=self.clock(),
                student_number=number,
                branch=dossier.branch,
                status=dossier.status,
                admitted_at=dossier.admitted_at,
                personal=mask.person(dossier.personal),
                guardian=mask.guardian(dossier.guardian),
                needs=dossier.needs,
                enrolments=dossier.enrolments,
                payments=dossier.payments,
                history=tuple(status_line(line) for line in dossier.history),
                consents=tuple(consent_view(c) for c in dossier.consents),
                change_requests=tuple(change_view(c, dossier.version, mask) for c in changes),
                destruction_requests=tuple(
                    destruction_view(r, holds, actor)
                    for r in uow.destruction_requests.for_student(number)
                ),
                disclosures=tuple(disclosure_view(d) for d in uow.disclosures.for_student(number)),
                documents=documents,
                missing_documents=missing,
                reads=reads,
            )
            kinds = (*mask.revealed_groups(), "export", *(("documents",) if documents else ()))
            self._record_read(uow, caller, dossier.branch, number, kinds)
            return export

        return self._logged(DossierExport, work)

    def _documents(
        self, uow: UnitOfWork, dossier: StudentDossier, refs: Iterable[DocumentRef]
    ) -> tuple[tuple[ExportedDocument, ...], tuple[DocumentRef, ...]]:
        key = uow.students.data_key(dossier.student_number)
        owners = [o for o in (dossier.student_number, dossier.registration_id) if o]
        found: list[ExportedDocument] = []
        missing: list[DocumentRef] = []
        for ref in refs:
            for owner in owners:
                try:
                    data = self.documents.get(owner, key, ref.sha256)
                except ObjectNotFound:
                    continue
                found.append(ExportedDocument(ref=ref, content=base64.b64encode(data).decode()))
                break
            else:
                missing.append(ref)
        return tuple(found), tuple(missing)


def _unique(refs: Iterable[DocumentRef]) -> list[DocumentRef]:
    seen: dict[str, DocumentRef] = {}
    for ref in refs:
        seen.setdefault(ref.sha256, ref)
    return list(seen.values())

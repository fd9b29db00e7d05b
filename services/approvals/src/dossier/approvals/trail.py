"""审计记录 of one student: the audit log's entries about them, for the dossier page.

Guarded like the dossier (``dossier.read``: the student's own record, staff of
its branch); other branches' students read as not found. Entries name the
action, the actor, the time and the field names; value hashes never leave the
service (a keyed hash of a phone number is still about the phone number).
"""

from __future__ import annotations

from dossier.core.caller import Caller
from dossier.core.contracts.approvals import AuditLine, AuditTrail, AuditTrailView
from dossier.core.policy import Operation
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, page_limit


class AuditTrailHandlers(UseCases):
    def audit_trail(self, caller: Caller, query: AuditTrail) -> AuditTrailView:
        page_limit(query.limit)

        def work(uow: UnitOfWork) -> AuditTrailView:
            dossier = self._dossier(uow, caller.actor, Operation.DOSSIER_READ, query.student_number)
            entries = uow.audit.for_student(dossier.student_number)
            return AuditTrailView(
                student_number=dossier.student_number,
                branch=dossier.branch,
                items=tuple(
                    AuditLine(
                        at=entry.at,
                        actor=entry.actor,
                        action=entry.action,
                        subject=entry.subject,
                        fields=entry.fields,
                    )
                    for entry in entries[-query.limit :]
                ),
                total=len(entries),
            )

        return self._reading(work)

"""档案分类: move a dossier between enrolled 在读, suspended 休学, completed 已结课 and
withdrawn 退学, with a reason and an effective date; read the full history.

Destruction is not a classification: it has its own request and approval.
"""

from __future__ import annotations

from dossier.approvals.views import status_view
from dossier.core.caller import Caller
from dossier.core.commands import ChangeStudentStatus
from dossier.core.contracts.approvals import StatusHistory, StatusView
from dossier.core.lifecycles import change_status
from dossier.core.policy import Operation
from dossier.storage.audit import AuditSpec
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases


class StatusHandlers(UseCases):
    def change_status(self, caller: Caller, command: ChangeStudentStatus) -> StatusView:
        """By an enrolment officer; an illegal move is refused, never silently ignored."""

        def work(uow: UnitOfWork) -> StatusView:
            dossier = self._dossier(
                uow, caller.actor, Operation.STATUS_CHANGE, command.student_number
            )
            reason = self._texts(dossier.branch, {"reason": command.reason})["reason"]
            moved = change_status(
                dossier, command.target, self._context(caller, reason, command.effective_date)
            )
            uow.apply(moved, AuditSpec(action="student.status_changed", fields=("status",)))
            return status_view(moved.record)

        return self._changing(caller, command, StatusView, work)

    def status_history(self, caller: Caller, query: StatusHistory) -> StatusView:
        def work(uow: UnitOfWork) -> StatusView:
            return status_view(
                self._dossier(uow, caller.actor, Operation.DOSSIER_READ, query.student_number)
            )

        return self._reading(work)

"""资料销毁申请 and 法律保留: request (completed or withdrawn students only), four-eyes review,
and the legal holds that block the execution (retention's job) until lifted.

Approval raises ``destruction.moved`` (status ``approved``) on the event
stream; the retention service executes it. A hold does not block approval —
the request is shown with its holds — it blocks execution.
"""

from __future__ import annotations

import uuid

from dossier.approvals.views import destruction_view, hold_view
from dossier.core.caller import Caller
from dossier.core.commands import LiftLegalHold, ReviewDestruction, SetLegalHold, SubmitDestruction
from dossier.core.contracts.approvals import (
    DestructionPage,
    DestructionView,
    GetDestruction,
    HoldPage,
    HoldView,
    ListDestructions,
    ListHolds,
)
from dossier.core.enums import Decision, DestructionStatus
from dossier.core.errors import GuardRefused
from dossier.core.lifecycles import (
    DESTRUCTION,
    approve_destruction,
    lift_legal_hold,
    reject_destruction,
    set_legal_hold,
    submit_destruction,
)
from dossier.core.policy import Actor, Operation, Subject
from dossier.core.records import DestructionRequest, LegalHold
from dossier.storage.audit import AuditSpec
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, hide_unless

OPEN = frozenset({DestructionStatus.SUBMITTED, DestructionStatus.APPROVED})


class DestructionHandlers(UseCases):
    def submit_destruction(self, caller: Caller, command: SubmitDestruction) -> DestructionView:
        """提交《资料销毁申请表》: by the student or staff for them, once completed or withdrawn."""

        def work(uow: UnitOfWork) -> DestructionView:
            dossier = self._dossier(
                uow, caller.actor, Operation.DESTRUCTION_SUBMIT, command.student_number
            )
            reason = self._texts(dossier.branch, {"reason": command.reason})["reason"]
            ctx = self._context(caller, reason)
            request = DestructionRequest(
                id=str(uuid.uuid4()),
                student_number=dossier.student_number,
                branch=dossier.branch,
                reason=reason,
                requested_by=caller.actor.id,
                requested_at=ctx.at,
            )
            submitted = submit_destruction(request, dossier, ctx)
            earlier = uow.destruction_requests.for_student(dossier.student_number)
            if any(r.status in OPEN for r in earlier):
                raise GuardRefused(DESTRUCTION.name, "submit", "destruction_under_way")
            uow.apply(submitted, AuditSpec(action="destruction.submitted"))
            return self._view(uow, request, caller.actor)

        return self._changing(caller, command, DestructionView, work)

    def review_destruction(self, caller: Caller, command: ReviewDestruction) -> DestructionView:
        """审批: approve or reject with a reason, by an approver who did not make the request."""

        def work(uow: UnitOfWork) -> DestructionView:
            request = self._request(
                uow, caller.actor, Operation.DESTRUCTION_REVIEW, command.request_id, deciding=True
            )
            reason = self._texts(request.branch, {"reason": command.reason})["reason"]
            ctx = self._context(caller, reason)
            if command.decision is Decision.APPROVE:
                moved, action = approve_destruction(request, ctx), "destruction.approved"
            else:
                moved, action = reject_destruction(request, ctx), "destruction.rejected"
            uow.apply(moved, AuditSpec(action=action))
            return self._view(uow, moved.record, caller.actor)

        return self._changing(caller, command, DestructionView, work)

    def get_destruction(self, caller: Caller, query: GetDestruction) -> DestructionView:
        def work(uow: UnitOfWork) -> DestructionView:
            request = self._request(uow, caller.actor, Operation.DESTRUCTION_READ, query.request_id)
            return self._view(uow, request, caller.actor)

        return self._reading(work)

    def list_destructions(self, caller: Caller, query: ListDestructions) -> DestructionPage:
        branch = self._branch(query.branch)
        number = query.student_number
        if number is None:
            self._require(caller.actor, Operation.DESTRUCTION_READ, branch.code)
        else:
            subject = Subject(student_number=number)
            hide_unless(
                caller.actor, Operation.DESTRUCTION_READ, branch.code, "student", number, subject
            )

        def work(uow: UnitOfWork) -> DestructionPage:
            if number is None:
                found = uow.destruction_requests.find(branch=branch.code, status=query.status)
            else:
                found = uow.destruction_requests.for_student(number)
            return DestructionPage(
                items=tuple(
                    self._view(uow, r, caller.actor)
                    for r in found
                    if r.branch == branch.code and query.status in (None, r.status)
                )
            )

        return self._reading(work)

    # -- legal holds (法律保留) ------------------------------------------------------------------

    def set_hold(self, caller: Caller, command: SetLegalHold) -> HoldView:
        """Set a hold (disputed fees, an authority's request…): destruction cannot be executed."""

        def work(uow: UnitOfWork) -> HoldView:
            dossier = self._dossier(
                uow, caller.actor, Operation.HOLD_MANAGE, command.student_number
            )
            reason = self._texts(dossier.branch, {"reason": command.reason})["reason"]
            ctx = self._context(caller, reason)
            hold = LegalHold(
                id=str(uuid.uuid4()),
                student_number=dossier.student_number,
                branch=dossier.branch,
                reason=reason,
                set_by=caller.actor.id,
                set_at=ctx.at,
            )
            uow.apply(set_legal_hold(hold, ctx), AuditSpec(action="hold.set"))
            return hold_view(hold)

        return self._changing(caller, command, HoldView, work)

    def lift_hold(self, caller: Caller, command: LiftLegalHold) -> HoldView:
        def work(uow: UnitOfWork) -> HoldView:
            hold = uow.legal_holds.get(command.hold_id)
            subject = Subject(student_number=hold.student_number)
            hide_unless(
                caller.actor, Operation.HOLD_MANAGE, hold.branch, "legal_hold", hold.id, subject
            )
            reason = self._texts(hold.branch, {"reason": command.reason})["reason"]
            lifted = lift_legal_hold(hold, self._context(caller, reason))
            uow.apply(lifted, AuditSpec(action="hold.lifted"))
            return hold_view(lifted.record)

        return self._changing(caller, command, HoldView, work)

    def list_holds(self, caller: Caller, query: ListHolds) -> HoldPage:
        def work(uow: UnitOfWork) -> HoldPage:
            dossier = self._dossier(uow, caller.actor, Operation.HOLD_MANAGE, query.student_number)
            holds = uow.legal_holds.for_student(
                dossier.student_number, active_only=query.active_only
            )
            return HoldPage(items=tuple(hold_view(h) for h in holds))

        return self._reading(work)

    # -- shared --------------------------------------------------------------------------------

    def _request(
        self,
        uow: UnitOfWork,
        actor: Actor,
        operation: Operation,
        request_id: str,
        *,
        deciding: bool = False,
    ) -> DestructionRequest:
        request = uow.destruction_requests.get(request_id)
        subject = Subject(
            student_number=request.student_number,
            requested_by=request.requested_by if deciding else None,
        )
        hide_unless(actor, operation, request.branch, "destruction_request", request_id, subject)
        return request

    def _view(self, uow: UnitOfWork, request: DestructionRequest, actor: Actor) -> DestructionView:
        holds = uow.legal_holds.for_student(request.student_number)
        return destruction_view(request, holds, actor)

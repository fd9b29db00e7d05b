"""资料销毁申请 for approvers: the branch's requests, one request with its legal holds, and the
decision — never on one's own request (the service refuses it; the page says so)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.commands import ReviewDestruction
from dossier.core.contracts.approvals import DestructionView, GetDestruction, ListDestructions
from dossier.core.enums import Decision, DestructionStatus
from dossier.core.policy import Operation
from dossier.gateway.accounts import Account
from dossier.gateway.staff_common import (
    branch_choices,
    can,
    choice_problem,
    chosen_branch,
    flash,
    hides_not_found,
    remote_problems,
    staff_for,
    staff_render,
    status_filter,
)
from dossier.gateway.web import checked_form, idempotency_key, redirect, send, text
from dossier.messaging.client import RemoteError


async def destruction_list(request: Request) -> Response:
    account = staff_for(request, Operation.DESTRUCTION_READ)
    branch = chosen_branch(request, account)
    status = status_filter(request, DestructionStatus, DestructionStatus.SUBMITTED)
    query = ListDestructions(branch=branch, status=DestructionStatus(status) if status else None)
    page = await send(request, account.actor, query)
    return staff_render(
        request,
        "staff/destructions.html",
        branch=branch,
        branches=branch_choices(request, account),
        status=status,
        statuses=[s.value for s in DestructionStatus],
        page=page,
    )


async def _page(
    request: Request,
    account: Account,
    request_id: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    found: DestructionView = await send(
        request, account.actor, GetDestruction(request_id=request_id)
    )
    own = found.requested_by == account.actor.id
    may_review = can(account, Operation.DESTRUCTION_REVIEW, found.branch)
    decidable = found.status == DestructionStatus.SUBMITTED
    return staff_render(
        request,
        "staff/destruction.html",
        status_code=status_code,
        destruction=found,
        own=own,
        may_review=may_review,
        decidable=decidable,
        may_decide=may_review and decidable and not own,
        may_open_dossier=can(account, Operation.DOSSIER_READ, found.branch),
        values=values or {},
        problems=problems or {},
        summary=summary,
    )


@hides_not_found
async def destruction_page(request: Request) -> Response:
    account = staff_for(request, Operation.DESTRUCTION_READ)
    return await _page(request, account, request.path_params["request_id"])


@hides_not_found
async def review(request: Request) -> Response:
    account = staff_for(request, Operation.DESTRUCTION_REVIEW)
    request_id = request.path_params["request_id"]
    form = await checked_form(request)
    values = {"decision": text(form, "decision"), "reason": text(form, "reason")}
    problems = choice_problem(request, "decision", values["decision"], Decision)
    if problems:
        return await _page(
            request, account, request_id, status_code=400, values=values, problems=problems
        )
    command = ReviewDestruction(
        request_id=request_id, decision=Decision(values["decision"]), reason=values["reason"]
    )
    try:
        await send(request, account.actor, command, idempotency_key(form))
    except RemoteError as refused:
        if refused.status != 400:
            raise
        return await _page(
            request,
            account,
            request_id,
            status_code=400,
            values=values,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    flash(request, f"staff.destruction.{values['decision']}_flash")
    return redirect(f"/staff/destructions/{request_id}")


routes = [
    Route("/staff/destructions", destruction_list, methods=["GET"]),
    Route("/staff/destructions/{request_id}", destruction_page, methods=["GET"]),
    Route("/staff/destructions/{request_id}/review", review, methods=["POST"]),
]

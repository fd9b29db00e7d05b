"""查阅记录 and misuse alerts for auditors and branch managers: who read a student's unmasked
data (per student, per staff member), and the alerts the read trail raised, which the auditor
acknowledges with a comment. The approvals service checks every request again."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.contracts.read_trail import (
    AcknowledgeReadAlert,
    ListReadAlerts,
    ListStaffReads,
    ListStudentReads,
    ReadAlertPage,
    ReadPage,
)
from dossier.core.policy import Operation
from dossier.gateway.ops_base import Operator, chosen_branch, operator_of, page
from dossier.gateway.web import checked_form, idempotency_key, redirect, refusal, send, text
from dossier.messaging.client import RemoteError

READS_PAGE = 50


async def reads(request: Request) -> Response:
    """Per student (``?student_number=``) or per staff member (``?actor=`` in ``?branch=``)."""
    operator = operator_of(request, Operation.READ_TRAIL_READ)
    branch = chosen_branch(request, operator)
    number = request.query_params.get("student_number", "").strip()
    actor = request.query_params.get("actor", "").strip()
    found: ReadPage | None = None
    refused: dict[str, Any] | None = None
    status_code = 200
    try:
        if number:
            found = await send(
                request,
                operator.actor,
                ListStudentReads(student_number=number, limit=READS_PAGE),
            )
        elif actor:
            query = ListStaffReads(branch=branch, actor=actor, limit=READS_PAGE)
            found = await send(request, operator.actor, query)
    except RemoteError as error:
        refused, status_code = refusal(error), error.status
    return page(
        request,
        operator,
        "ops/reads.html",
        section="reads",
        branch=branch,
        status_code=status_code,
        student_number=number,
        staff=actor,
        items=found.items if found is not None else None,
        refused=refused,
    )


async def _alerts_page(
    request: Request,
    operator: Operator,
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    branch = chosen_branch(request, operator)
    open_only = request.query_params.get("open") == "1"
    query = ListReadAlerts(branch=branch, open_only=open_only, limit=READS_PAGE)
    found: ReadAlertPage = await send(request, operator.actor, query)
    return page(
        request,
        operator,
        "ops/alerts.html",
        section="alerts",
        branch=branch,
        status_code=status_code,
        items=found.items,
        open_only=open_only,
        may_acknowledge=operator.may(Operation.READ_ALERT_ACKNOWLEDGE),
        refused=refused,
    )


async def alerts(request: Request) -> Response:
    return await _alerts_page(request, operator_of(request, Operation.READ_ALERT_READ))


async def acknowledge(request: Request) -> Response:
    operator = operator_of(request, Operation.READ_ALERT_ACKNOWLEDGE)
    form = await checked_form(request)
    command = AcknowledgeReadAlert(
        alert_id=request.path_params["alert_id"], comment=text(form, "comment")
    )
    try:
        await send(request, operator.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _alerts_page(request, operator, refused=shown, status_code=error.status)
    branch = text(form, "branch")
    branch = branch if branch in operator.branches else chosen_branch(request, operator)
    return redirect(f"/ops/alerts?branch={branch}&done=alert_acknowledged")


routes = [
    Route("/ops/reads", reads, methods=["GET"]),
    Route("/ops/alerts", alerts, methods=["GET"]),
    Route("/ops/alerts/{alert_id}/acknowledge", acknowledge, methods=["POST"]),
]

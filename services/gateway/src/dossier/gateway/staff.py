"""The staff console: front desk, enrolment officer, approver, reviewer, operator, auditor."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.gateway.web import render, require


async def console(request: Request) -> Response:
    account = require(request)
    return render(request, "staff/console.html", roles=sorted(r.value for r in account.roles))


routes = [Route("/staff", console)]

"""The student's own pages: their dossier, change requests, confirmations, consents, export."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.policy import Role
from dossier.gateway.web import render, require


async def me(request: Request) -> Response:
    require(request, Role.STUDENT)
    return render(request, "student/me.html")


routes = [Route("/me", me)]

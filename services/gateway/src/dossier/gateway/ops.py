"""Reviewer, operator and auditor pages (/ops…): the quarterly review, destruction certificates,
backups and the audit chain. Who may open which page follows the policy's `GRANTS`; every
request is checked again by the retention service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.gateway import ops_reads, ops_records, ops_reviews
from dossier.gateway.ops_base import SECTIONS, operator_of, page
from dossier.gateway.web import Forbidden


async def index(request: Request) -> Response:
    operator = operator_of(request)
    if not any(operator.may(op) for _, _, op in SECTIONS):
        raise Forbidden
    return page(request, operator, "ops/index.html", section="index")


routes = [
    Route("/ops", index, methods=["GET"]),
    *ops_reviews.routes,
    *ops_records.routes,
    *ops_reads.routes,
]

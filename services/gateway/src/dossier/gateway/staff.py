"""The staff console (工作台): front desk, enrolment officer, approver — and the way to the
other staff pages.

Its pages live beside it: `staff_registrations` (the review queue and admission),
`staff_dossiers` (search, the dossier page, documents, activation links),
`staff_records` (courses, payments, documents, status, holds, destruction requests),
`staff_changes` (change requests, four-eyes), `staff_destructions` and
`staff_imports` (bulk import with its progress). Every action is a NATS request as the
signed-in account; the services decide every rule.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dossier.core.policy import GRANTS, Operation, Role
from dossier.gateway import (
    staff_changes,
    staff_confidentiality,
    staff_destructions,
    staff_dossiers,
    staff_imports,
    staff_records,
    staff_registrations,
)
from dossier.gateway.staff_common import branch_choices, staff, staff_render

SECTIONS: tuple[tuple[str, tuple[tuple[Operation, str, str], ...]], ...] = (
    (
        "front",
        (
            (Operation.REGISTRATION_READ, "/staff/registrations", "queue"),
            (Operation.DOSSIER_SEARCH, "/staff/dossiers", "search"),
            (Operation.IMPORT_RUN, "/staff/imports", "import"),
        ),
    ),
    (
        "approve",
        (
            (Operation.CHANGE_READ, "/staff/changes", "changes"),
            (Operation.DESTRUCTION_READ, "/staff/destructions", "destructions"),
        ),
    ),
    (
        "confidentiality",
        (
            (Operation.CONFIDENTIALITY_READ, "/staff/policy", "policy"),
            (Operation.TRAINING_STATUS, "/staff/training", "training"),
        ),
    ),
)
"""The console's links: (operation that opens the page, path, text key)."""
OPS_OPERATIONS = (
    Operation.REVIEW_READ,
    Operation.CERTIFICATE_READ,
    Operation.BACKUP_MANAGE,
    Operation.AUDIT_VERIFY,
)
"""The reviewer, operator and auditor pages (/ops, `dossier.gateway.ops`) open for these."""


def _has_route(request: Request, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in request.app.routes)


async def console(request: Request) -> Response:
    account = staff(request)
    sections = [
        (
            name,
            [
                (path, key)
                for operation, path, key in links
                if account.roles & GRANTS[operation] - {Role.STUDENT}
            ],
        )
        for name, links in SECTIONS
    ]
    return staff_render(
        request,
        "staff/console.html",
        roles=sorted(r.value for r in account.roles),
        branches=branch_choices(request, account),
        sections=[(name, links) for name, links in sections if links],
        ops_link="/ops"
        if _has_route(request, "/ops") and any(account.roles & GRANTS[op] for op in OPS_OPERATIONS)
        else None,
    )


routes: list[BaseRoute] = [
    Route("/staff", console),
    *staff_registrations.routes,
    *staff_dossiers.routes,
    *staff_records.routes,
    *staff_changes.routes,
    *staff_destructions.routes,
    *staff_imports.routes,
    *staff_confidentiality.routes,
]
for _route in routes:  # pages, not the JSON API that /openapi.json describes
    if isinstance(_route, Route):
        _route.include_in_schema = False

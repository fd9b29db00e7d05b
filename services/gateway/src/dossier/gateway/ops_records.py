"""Destruction certificates (销毁证明), backups with their verification, and the audit chain's
verification: what an operator or auditor looks at to show that the records are kept and
destroyed as the rules say."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.contracts.retention import (
    AuditCheck,
    BackupCheck,
    BackupList,
    Certificate,
    CertificatePage,
    CreateBackup,
    GetCertificate,
    ListBackups,
    ListCertificates,
    VerifyAudit,
    VerifyBackup,
)
from dossier.core.policy import Operation
from dossier.gateway.ops_base import Operator, chosen_branch, operator_of, page
from dossier.gateway.web import checked_form, idempotency_key, redirect, refusal, send, text
from dossier.messaging.client import RemoteError

CERTIFICATES_PAGE = 50


# -- certificates ------------------------------------------------------------------------------


async def certificates(request: Request) -> Response:
    operator = operator_of(request, Operation.CERTIFICATE_READ)
    branch = chosen_branch(request, operator)
    query = ListCertificates(
        branch=branch,
        after=request.query_params.get("after") or None,
        limit=CERTIFICATES_PAGE,
    )
    found: CertificatePage = await send(request, operator.actor, query)
    return page(
        request,
        operator,
        "ops/certificates.html",
        section="certificates",
        branch=branch,
        items=found.items,
        next_after=found.next_after,
    )


async def certificate(request: Request) -> Response:
    operator = operator_of(request, Operation.CERTIFICATE_READ)
    query = GetCertificate(certificate_id=request.path_params["certificate_id"])
    found: Certificate = await send(request, operator.actor, query)
    return page(
        request,
        operator,
        "ops/certificate.html",
        section="certificates",
        branch=found.branch,
        certificate=found,
    )


# -- backups -----------------------------------------------------------------------------------


async def _backups_page(
    request: Request,
    operator: Operator,
    *,
    check: BackupCheck | None = None,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    found: BackupList = await send(request, operator.actor, ListBackups())
    items = sorted(found.items, key=lambda b: b.created_at, reverse=True)
    return page(
        request,
        operator,
        "ops/backups.html",
        section="backups",
        status_code=status_code,
        items=items,
        check=check,
        refused=refused,
    )


async def backups(request: Request) -> Response:
    return await _backups_page(request, operator_of(request, Operation.BACKUP_MANAGE))


async def create_backup(request: Request) -> Response:
    operator = operator_of(request, Operation.BACKUP_MANAGE)
    form = await checked_form(request)
    command = CreateBackup(incremental=text(form, "kind") == "incremental")
    try:
        await send(request, operator.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _backups_page(request, operator, refused=shown, status_code=error.status)
    return redirect("/ops/backups?done=backup_created")


async def verify_backup(request: Request) -> Response:
    """Re-read every part of the backup and check it (a read: nothing changes)."""
    operator = operator_of(request, Operation.BACKUP_MANAGE)
    await checked_form(request)
    query = VerifyBackup(backup_id=request.path_params["backup_id"])
    try:
        check = await send(request, operator.actor, query)
    except RemoteError as error:
        shown = refusal(error)
        return await _backups_page(request, operator, refused=shown, status_code=error.status)
    return await _backups_page(request, operator, check=check)


# -- the audit chain ---------------------------------------------------------------------------


def _audit_page(
    request: Request,
    operator: Operator,
    *,
    chosen: str = "",
    result: AuditCheck | None = None,
) -> Response:
    return page(
        request,
        operator,
        "ops/audit.html",
        section="audit",
        branch=chosen or None,
        chosen=chosen,
        result=result,
    )


async def audit(request: Request) -> Response:
    return _audit_page(request, operator_of(request, Operation.AUDIT_VERIFY))


async def verify_audit(request: Request) -> Response:
    """Walk the hash chain of one branch (or every branch the person may see) and show breaks."""
    operator = operator_of(request, Operation.AUDIT_VERIFY)
    form = await checked_form(request)
    chosen = text(form, "branch")
    if chosen not in operator.branches:
        chosen = "" if operator.everywhere else chosen_branch(request, operator)
    result = await send(request, operator.actor, VerifyAudit(branch=chosen or None))
    return _audit_page(request, operator, chosen=chosen, result=result)


routes = [
    Route("/ops/certificates", certificates, methods=["GET"]),
    Route("/ops/certificates/{certificate_id}", certificate, methods=["GET"]),
    Route("/ops/backups", backups, methods=["GET"]),
    Route("/ops/backups", create_backup, methods=["POST"]),
    Route("/ops/backups/{backup_id}/verify", verify_backup, methods=["POST"]),
    Route("/ops/audit", audit, methods=["GET"]),
    Route("/ops/audit", verify_audit, methods=["POST"]),
]

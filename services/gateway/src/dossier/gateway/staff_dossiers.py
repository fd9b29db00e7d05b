"""Dossiers (学员档案) for staff: search, the dossier page, documents to download, and the
student's one-time activation link.

The link is made by roles that see the student unmasked only (`staff_common.INVITE_ROLES`).
A student who has activated their account cannot be invited again: an admin may reset the
account, giving a reason — the password stops working, the account's sessions end, and the
reset is recorded in ``gateway_account_events`` with the admin's account and the reason.

The dossier page reads the dossier first (`dossier.get`): a number of another branch
and a number nobody has are both answered not found by intake, and the page is then
the site's plain 404 — nothing else is asked, so nothing else can differ. Then, at
once: the status history, the audit trail, and what the role may read of change
requests, destruction requests and legal holds.
"""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.attachments import MAGIC, MAX_ATTACHMENT_BYTES
from dossier.core.contracts.approvals import (
    AuditTrail,
    ListChanges,
    ListDestructions,
    ListHolds,
    StatusHistory,
)
from dossier.core.contracts.intake import (
    DocumentContent,
    DossierSummary,
    DossierView,
    GetDocument,
    GetDossier,
    SearchDossiers,
)
from dossier.core.enums import DocumentKind, PaymentMethod, StudentStatus
from dossier.core.policy import Operation
from dossier.gateway.accounts import Account, AccountClosed, AlreadyActivated
from dossier.gateway.limits import PAGE_TEXT, say
from dossier.gateway.staff_common import (
    branch_choices,
    can,
    chosen_branch,
    hides_not_found,
    may_invite,
    may_reset,
    remote_problems,
    staff,
    staff_for,
    staff_render,
    time_zone_of,
)
from dossier.gateway.web import checked_form, gateway, locale_of, send, send_form, text
from dossier.gateway.web import download as download_response
from dossier.messaging.client import RemoteError

EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}
SEARCH_FIELDS = ("student_number", "phone", "name", "birth_date")
STATUS_TARGETS = [s.value for s in StudentStatus if s is not StudentStatus.DESTROYED]
DESTROYABLE = {StudentStatus.COMPLETED.value, StudentStatus.WITHDRAWN.value}


async def search(request: Request) -> Response:
    account = staff_for(request, Operation.DOSSIER_SEARCH)
    branch = chosen_branch(request, account)
    values = {name: request.query_params.get(name, "").strip() for name in SEARCH_FIELDS}
    found: tuple[DossierSummary, ...] | None = None
    problems: dict[str, str] = {}
    summary = ""
    if any(values.values()):
        body: dict[str, Any] = {"branch": branch, **{k: v or None for k, v in values.items()}}
        try:
            found = (await send_form(request, account.actor, SearchDossiers, body)).items
        except RemoteError as refused:
            if refused.status != 400:
                raise
            problems, summary = remote_problems(refused), refused.message
    return staff_render(
        request,
        "staff/dossiers.html",
        status_code=400 if problems else 200,
        branch=branch,
        branches=branch_choices(request, account),
        values=values,
        problems=problems,
        summary=summary,
        found=found,
    )


async def dossier_page(request: Request) -> Response:
    account = staff_for(request, Operation.DOSSIER_READ)
    return await render_dossier(request, account, request.path_params["number"])


async def render_dossier(
    request: Request,
    account: Account,
    number: str,
    *,
    status_code: int = 200,
    failed: str = "",
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    """The dossier page; after a refused form, with that form's values and problems."""
    actor = account.actor
    dossier: DossierView = await send(request, actor, GetDossier(student_number=number))
    branch = dossier.branch
    number = dossier.student_number
    calls: dict[str, Any] = {
        "history": send(request, actor, StatusHistory(student_number=number)),
        "trail": send(request, actor, AuditTrail(student_number=number)),
    }
    if can(account, Operation.CHANGE_READ, branch):
        calls["changes"] = send(request, actor, ListChanges(branch=branch, student_number=number))
    if can(account, Operation.DESTRUCTION_READ, branch):
        calls["destructions"] = send(
            request, actor, ListDestructions(branch=branch, student_number=number)
        )
    if can(account, Operation.HOLD_MANAGE, branch):
        calls["holds"] = send(request, actor, ListHolds(student_number=number))
    answers = dict(zip(calls, await asyncio.gather(*calls.values()), strict=True))
    may = {
        op.value: can(account, op, branch)
        for op in (
            Operation.COURSE_MANAGE,
            Operation.PAYMENT_RECORD,
            Operation.DOCUMENT_ADD,
            Operation.DOCUMENT_READ,
            Operation.STATUS_CHANGE,
            Operation.CHANGE_SUBMIT,
            Operation.CHANGE_READ,
            Operation.HOLD_MANAGE,
            Operation.DESTRUCTION_SUBMIT,
            Operation.DESTRUCTION_READ,
        )
    }
    may["invite"] = may_invite(account, branch)
    activated = may["invite"] and (
        gateway(request).accounts.activation_state(number) == "activated"
    )
    may["reset"] = activated and may_reset(account, branch)
    locale = locale_of(request)
    return staff_render(
        request,
        "staff/dossier.html",
        status_code=status_code,
        dossier=dossier,
        history=answers["history"],
        trail=answers["trail"],
        changes=answers.get("changes"),
        destructions=answers.get("destructions"),
        holds=answers.get("holds"),
        may=may,
        destroyable=dossier.status in DESTROYABLE,
        status_targets=[s for s in STATUS_TARGETS if s != dossier.status],
        payment_methods=[m.value for m in PaymentMethod],
        document_kinds=[k.value for k in DocumentKind],
        media_types=sorted(MAGIC),
        max_kb=MAX_ATTACHMENT_BYTES // 1024,
        time_zone=time_zone_of(request, branch),
        failed=failed,
        values=values or {},
        problems=problems or {},
        summary=summary,
        activated=activated,
        account_text={key: say(key, locale) for key in PAGE_TEXT if key.startswith("invite.")},
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


async def download(request: Request) -> Response:
    """The document's bytes, as an attachment of its declared (and checked) type."""
    account = staff_for(request, Operation.DOCUMENT_READ)
    number, sha256 = request.path_params["number"], request.path_params["sha256"]
    found: DocumentContent = await send(
        request, account.actor, GetDocument(student_number=number, sha256=sha256)
    )
    ref = found.ref
    media_type = ref.media_type
    if media_type not in EXTENSIONS:
        media_type = "application/octet-stream"
    filename = (
        f"{_safe(number)}-{_safe(ref.kind)}-{ref.sha256[:12]}.{EXTENSIONS.get(media_type, 'bin')}"
    )
    return download_response(base64.b64decode(found.content), filename, media_type)


async def invite(request: Request) -> Response:
    """A one-time activation link for the student's web pages, shown once, never stored; for
    a student who activated their account already, a reset by an admin with a reason."""
    account = staff(request)
    form = await checked_form(request)
    dossier: DossierView = await send(
        request, account.actor, GetDossier(student_number=request.path_params["number"])
    )
    if not may_invite(account, dossier.branch):
        return staff_render(request, "error.html", status_code=403, message_key="error.forbidden")
    state = gateway(request)
    locale = locale_of(request)
    activated = state.accounts.activation_state(dossier.student_number) == "activated"
    reason = text(form, "reason")[:500]
    if activated and not may_reset(account, dossier.branch):
        return staff_render(
            request, "error.html", status_code=409, message=say("invite.activated", locale)
        )
    if activated and not reason:
        return staff_render(
            request, "error.html", status_code=400, message=say("invite.reason_required", locale)
        )
    branch = state.settings.config.branches.get(dossier.branch)
    try:
        code = state.accounts.invite_student(
            dossier.student_number,
            dossier.branch,
            locale=branch.locale if branch is not None else locale,
            by=account.id,
            reason=reason if activated else None,
        )
    except AlreadyActivated:  # activated between the check and now
        return staff_render(
            request, "error.html", status_code=409, message=say("invite.activated", locale)
        )
    except AccountClosed:
        return staff_render(
            request, "error.html", status_code=409, message=say("invite.closed", locale)
        )
    link = f"{state.settings.public_url.rstrip('/')}/activate/{code}"
    return staff_render(request, "staff/invite.html", dossier=dossier, link=link)


routes = [
    Route("/staff/dossiers", search, methods=["GET"]),
    Route("/staff/dossiers/{number}", hides_not_found(dossier_page), methods=["GET"]),
    Route(
        "/staff/dossiers/{number}/documents/{sha256}", hides_not_found(download), methods=["GET"]
    ),
    Route("/staff/dossiers/{number}/invite", hides_not_found(invite), methods=["POST"]),
]

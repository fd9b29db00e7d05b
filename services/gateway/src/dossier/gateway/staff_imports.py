"""批量导入 for enrolment officers: upload a CSV or XLSX file, follow its progress, read the
row-level report (row, column, rule, message — never a cell's value).

``import.start`` answers when the whole file is done, so the gateway sends it in the
background and shows the job at once: the job's id follows from the actor and the
idempotency key (`dossier.core.commands.import_job_id`, the derivation intake uses), and
``import.status`` reads its progress as last committed. The page works without script
(a refresh link); static/app.js polls the small JSON answer of ``/progress`` and moves the bar. A
double-clicked form is the same key, hence the same job. Another gateway instance
shows the same progress; only an error before the job existed is known to the
instance that sent it.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from typing import Any

from attrs import define
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dossier.core.commands import import_job_id
from dossier.core.contracts.intake import (
    GetImportStatus,
    ImportFormat,
    ImportReport,
    ImportState,
    StartImport,
)
from dossier.core.policy import Operation
from dossier.gateway.accounts import Account
from dossier.gateway.i18n import translate
from dossier.gateway.staff_common import (
    branch_choices,
    chosen_branch,
    hides_not_found,
    local_problem,
    remote_problems,
    staff_for,
    staff_render,
)
from dossier.gateway.web import checked_form, idempotency_key, locale_of, redirect, send, text
from dossier.messaging.client import RemoteError

MAX_IMPORT_BYTES = 650 * 1024
"""The file travels base64 in one NATS request (intake takes up to 900 KiB)."""
FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
IMPORT_TIMEOUT = 600.0
START_WAIT = 2.0
"""How long the upload waits for a quick answer (a refused file) before showing progress."""
DONE_STATES = frozenset({ImportState.COMPLETED, ImportState.REJECTED, ImportState.FAILED})
KEEP_PENDING = 3600.0
RECENT = "staff_imports"


@define
class _Pending:
    task: asyncio.Task[Any]
    account_id: str
    started: float


_PENDING: dict[str, _Pending] = {}
"""Imports this instance sent and whose answer it still keeps (an early refusal)."""


def _forget_old() -> None:
    cutoff = time.monotonic() - KEEP_PENDING
    for job_id, pending in list(_PENDING.items()):
        if pending.task.done() and pending.started < cutoff:
            del _PENDING[job_id]


def _retrieved(task: asyncio.Task[Any]) -> None:
    """An answer nobody asks for again is not an "exception never retrieved"."""
    if not task.cancelled():
        task.exception()


def _form(
    request: Request,
    account: Account,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    recent = request.session.get(RECENT)
    return staff_render(
        request,
        "staff/imports.html",
        status_code=status_code,
        branch=(values or {}).get("branch") or chosen_branch(request, account),
        branches=branch_choices(request, account),
        max_kb=MAX_IMPORT_BYTES // 1024,
        recent=recent if isinstance(recent, list) else [],
        values=values or {},
        problems=problems or {},
        summary=summary,
    )


async def import_form(request: Request) -> Response:
    return _form(request, staff_for(request, Operation.IMPORT_RUN))


async def start(request: Request) -> Response:
    account = staff_for(request, Operation.IMPORT_RUN)
    form = await checked_form(request)
    values = {
        "branch": text(form, "branch"),
        "source_system": text(form, "source_system"),
        "strict": "yes" if form.get("strict") == "yes" else "",
    }
    problems: dict[str, str] = {}
    upload = form.get("file")
    data, file_format = b"", ""
    if not isinstance(upload, UploadFile) or not upload.filename:
        problems.update(local_problem(request, "content", "required"))
    else:
        suffix = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        file_format = FORMATS.get(suffix, "")
        if not file_format:
            allowed = ", ".join(FORMATS.values())
            problems.update(local_problem(request, "format", "not_allowed_value", allowed=allowed))
        data = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            problems.update(local_problem(request, "content", "too_large", max=MAX_IMPORT_BYTES))
    if problems:
        return _form(request, account, status_code=400, values=values, problems=problems)
    key = idempotency_key(form) or secrets.token_urlsafe(16)
    job_id = import_job_id(account.actor.id, key)
    command = StartImport(
        branch=values["branch"],
        format=ImportFormat(file_format),
        content=base64.b64encode(data).decode(),
        source_system=values["source_system"],
        strict=bool(values["strict"]),
    )
    pending = _PENDING.get(job_id)
    if pending is None:  # a double-click sends the same key: the same job, sent once
        _forget_old()
        sent = send(request, account.actor, command, key, timeout=IMPORT_TIMEOUT, attempts=1)
        task = asyncio.create_task(sent)
        task.add_done_callback(_retrieved)
        pending = _PENDING[job_id] = _Pending(task, account.id, time.monotonic())
    await asyncio.wait({pending.task}, timeout=START_WAIT)
    if pending.task.done() and isinstance(pending.task.exception(), RemoteError):
        refused = pending.task.exception()
        assert isinstance(refused, RemoteError)
        del _PENDING[job_id]
        if refused.status != 400:
            raise refused
        return _form(
            request,
            account,
            status_code=400,
            values=values,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    recent = request.session.get(RECENT)
    request.session[RECENT] = [job_id, *(j for j in recent or [] if j != job_id)][:5]
    return redirect(f"/staff/imports/{job_id}")


async def _report(request: Request, account: Account, job_id: str) -> ImportReport | None:
    """The job's report; None while this instance is still starting it."""
    try:
        report: ImportReport = await send(request, account.actor, GetImportStatus(job_id=job_id))
    except RemoteError as error:
        pending = _PENDING.get(job_id)
        if error.code != "not_found" or pending is None or pending.account_id != account.id:
            raise
        if not pending.task.done():
            return None
        failed = pending.task.exception()
        if isinstance(failed, BaseException):
            raise failed from None
        raise
    return report


@hides_not_found
async def job_page(request: Request) -> Response:
    account = staff_for(request, Operation.IMPORT_RUN)
    job_id = request.path_params["job_id"]
    report = await _report(request, account, job_id)
    return staff_render(
        request,
        "staff/import.html",
        job_id=job_id,
        report=report,
        done=report is not None and report.state in DONE_STATES,
    )


async def progress(request: Request) -> Response:
    """``{"state", "label", "rows_total", "rows_done", "valid", "invalid", "imported", "done"}``:
    what static/app.js needs to move the bar."""
    account = staff_for(request, Operation.IMPORT_RUN)
    try:
        report = await _report(request, account, request.path_params["job_id"])
    except RemoteError as error:
        if error.code == "not_found":
            raise HTTPException(404) from None
        return JSONResponse({"error": error.code}, status_code=error.status)
    locale = locale_of(request)
    if report is None:
        label = translate("staff.import_state.starting", locale)
        return JSONResponse(
            {"state": "starting", "label": label, "rows_total": 0, "rows_done": 0, "done": False}
        )
    return JSONResponse(
        {
            "state": report.state.value,
            "rows_total": report.rows_total,
            "rows_done": report.rows_done,
            "valid": report.valid,
            "invalid": report.invalid,
            "imported": report.imported,
            "label": translate(f"staff.import_state.{report.state.value}", locale),
            "done": report.state in DONE_STATES,
        }
    )


routes = [
    Route("/staff/imports", import_form, methods=["GET"]),
    Route("/staff/imports", start, methods=["POST"]),
    Route("/staff/imports/{job_id}", job_page, methods=["GET"]),
    Route("/staff/imports/{job_id}/progress", progress, methods=["GET"]),
]

"""The student's change requests (信息变更): ask for a change with evidence, follow it, and
confirm or dispute it once applied; and the notifications that announce it.

Confirming needs the one-time code of the student's notification. The service
names the unused code to the student themselves (``notification.list``), so the
page carries it into the confirm and dispute forms: the student never copies it.
Only when no open code is found (a code received some other way) does the page
ask for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.attachments import MAGIC, MAX_ATTACHMENT_BYTES
from dossier.core.changes import CHANGEABLE
from dossier.core.commands import SubmitChange
from dossier.core.contracts.approvals import (
    ConfirmChange,
    DisputeChange,
    GetChange,
    ListChanges,
    ListNotifications,
    NotificationPage,
)
from dossier.core.enums import DocumentKind
from dossier.core.records import FieldChange
from dossier.gateway.i18n import translate
from dossier.gateway.student_base import Student, page, student_of
from dossier.gateway.web import (
    attachment_from,
    checked_form,
    idempotency_key,
    locale_of,
    redirect,
    refusal,
    send,
    text,
)
from dossier.messaging.client import RemoteError

ROWS = 3
"""Fields one request form offers (a request may name each changeable field once)."""

EVIDENCE_FIELD = "attachments"


# -- listing ------------------------------------------------------------------------------


async def changes(request: Request) -> Response:
    student = student_of(request)
    after = request.query_params.get("after") or None
    query = ListChanges(branch=student.branch, student_number=student.number, after=after)
    listed, notifications = await asyncio.gather(
        send(request, student.actor, query),
        send(request, student.actor, ListNotifications(student_number=student.number)),
    )
    answerable = {n.change_id for n in notifications.items if n.code}
    return page(
        request,
        student,
        "student/changes.html",
        section="changes",
        items=listed.items,
        next_after=listed.next_after,
        answerable=answerable,
    )


async def notifications(request: Request) -> Response:
    student = student_of(request)
    found: NotificationPage = await send(
        request, student.actor, ListNotifications(student_number=student.number)
    )
    return page(
        request,
        student,
        "student/notifications.html",
        section="notifications",
        items=found.items,
    )


# -- a new request ------------------------------------------------------------------------


def _form_page(
    request: Request,
    student: Student,
    *,
    values: dict[str, str],
    problems: list[dict[str, str]],
    message: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        student,
        "student/change_form.html",
        section="changes",
        status_code=status_code,
        rows=range(ROWS),
        changeable=list(CHANGEABLE),
        values=values,
        problems=problems,
        evidence_problems=[p for p in problems if p["field"].startswith(EVIDENCE_FIELD)],
        message=message,
        media_types=sorted(MAGIC),
        max_kb=MAX_ATTACHMENT_BYTES // 1024,
    )


async def change_form(request: Request) -> Response:
    return _form_page(request, student_of(request), values={}, problems=[])


async def submit_change(request: Request) -> Response:
    student = student_of(request)
    form = await checked_form(request)
    locale = locale_of(request)
    values = {name: text(form, name) for name in ("reason",)}
    requested: list[FieldChange] = []
    for row in range(ROWS):
        path, value = text(form, f"field-{row}"), text(form, f"value-{row}")
        values[f"field-{row}"], values[f"value-{row}"] = path, value
        if path:
            requested.append(FieldChange(field=path, after=value))
    attachment, found = await attachment_from(
        form.get("evidence"), DocumentKind.CHANGE_EVIDENCE, f"{EVIDENCE_FIELD}[0]"
    )
    problems = [{"field": p.field, "message": p.message(locale)} for p in found]
    if not requested:
        message = translate("student.change_form.at_least_one", locale)
        problems.insert(0, {"field": "changes", "message": message})
    if problems:
        return _form_page(request, student, values=values, problems=problems, status_code=400)
    command = SubmitChange(
        student_number=student.number,
        changes=tuple(requested),
        reason=values["reason"],
        attachments=(attachment,) if attachment is not None else (),
    )
    try:
        receipt = await send(request, student.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return _form_page(
            request,
            student,
            values=values,
            problems=shown["problems"],
            message=shown["message"],
            status_code=error.status,
        )
    return redirect(f"/me/changes/{receipt.change_id}?done=submitted")


# -- one request: follow it, confirm or dispute it -------------------------------------------


async def _open_code(request: Request, student: Student, change_id: str) -> str | None:
    """The unused code of the student's newest notification about ``change_id``."""
    found: NotificationPage = await send(
        request, student.actor, ListNotifications(student_number=student.number)
    )
    return next((n.code for n in found.items if n.change_id == change_id and n.code), None)


async def _change_page(
    request: Request,
    student: Student,
    change_id: str,
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    change, code = await asyncio.gather(
        send(request, student.actor, GetChange(change_id=change_id)),
        _open_code(request, student, change_id),
    )
    return page(
        request,
        student,
        "student/change.html",
        section="changes",
        status_code=status_code,
        change=change,
        code=code,
        refused=refused,
    )


async def change(request: Request) -> Response:
    return await _change_page(request, student_of(request), request.path_params["change_id"])


async def _answer(request: Request, disputed: bool, done: str) -> Response:
    student = student_of(request)
    form = await checked_form(request)
    change_id = request.path_params["change_id"]
    code = text(form, "code") or await _open_code(request, student, change_id)
    if code is None:
        await send(request, student.actor, GetChange(change_id=change_id))  # 404 if not own
        return redirect(f"/me/changes/{change_id}?done=no_code")
    command = (
        DisputeChange(change_id=change_id, token=code, reason=text(form, "reason"))
        if disputed
        else ConfirmChange(change_id=change_id, token=code)
    )
    try:
        await send(request, student.actor, command, idempotency_key(form))
    except RemoteError as error:
        return await _change_page(
            request, student, change_id, refused=refusal(error), status_code=error.status
        )
    return redirect(f"/me/changes/{change_id}?done={done}")


async def confirm(request: Request) -> Response:
    return await _answer(request, False, "confirmed")


async def dispute(request: Request) -> Response:
    return await _answer(request, True, "disputed")


routes = [
    Route("/me/changes", changes, methods=["GET"]),
    Route("/me/changes", submit_change, methods=["POST"]),
    Route("/me/changes/new", change_form, methods=["GET"]),
    Route("/me/changes/{change_id}", change, methods=["GET"]),
    Route("/me/changes/{change_id}/confirm", confirm, methods=["POST"]),
    Route("/me/changes/{change_id}/dispute", dispute, methods=["POST"]),
    Route("/me/notifications", notifications, methods=["GET"]),
]

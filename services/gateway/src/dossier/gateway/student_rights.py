"""The student's rights over their data: consents (授权同意) and who received their data,
destruction on request (资料销毁), a copy of everything (个人信息副本), and feedback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core import wire
from dossier.core.commands import (
    RecordConsent,
    SubmitDestruction,
    SubmitFeedback,
    WithdrawConsent,
)
from dossier.core.contracts.approvals import (
    DestructionPage,
    ExportDossier,
    ListConsents,
    ListDestructions,
    ListDisclosures,
)
from dossier.core.contracts.read_trail import ListMyReads, ReadPage
from dossier.core.enums import ConsentGiver, ConsentPurpose
from dossier.gateway.student_base import Student, page, student_of
from dossier.gateway.web import (
    checked_form,
    download,
    idempotency_key,
    redirect,
    refusal,
    send,
    text,
)
from dossier.messaging.client import RemoteError

READS_PAGE = 50
FEEDBACK_TOPICS = ("courses", "registration", "changes", "privacy", "other")


# -- consents and disclosures -----------------------------------------------------------------


async def _consents_page(
    request: Request,
    student: Student,
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    consents, disclosures = await asyncio.gather(
        send(request, student.actor, ListConsents(student_number=student.number)),
        send(request, student.actor, ListDisclosures(student_number=student.number)),
    )
    active = {c.purpose for c in consents.items if c.active}
    return page(
        request,
        student,
        "student/consents.html",
        section="consents",
        status_code=status_code,
        items=consents.items,
        open_purposes=[p.value for p in ConsentPurpose if p not in active],
        disclosures=disclosures.items,
        refused=refused,
    )


async def consents(request: Request) -> Response:
    return await _consents_page(request, student_of(request))


async def record_consent(request: Request) -> Response:
    student = student_of(request)
    form = await checked_form(request)
    try:
        purpose = ConsentPurpose(text(form, "purpose"))
    except ValueError:
        return await _consents_page(request, student, status_code=400)
    command = RecordConsent(
        student_number=student.number, purpose=purpose, given_by=ConsentGiver.STUDENT
    )
    try:
        await send(request, student.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _consents_page(request, student, refused=shown, status_code=error.status)
    return redirect("/me/consents?done=consent_recorded")


async def withdraw_consent(request: Request) -> Response:
    student = student_of(request)
    form = await checked_form(request)
    command = WithdrawConsent(consent_id=request.path_params["consent_id"])
    try:
        await send(request, student.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _consents_page(request, student, refused=shown, status_code=error.status)
    return redirect("/me/consents?done=consent_withdrawn")


# -- who viewed my record (查阅记录) --------------------------------------------------------------


async def reads(request: Request) -> Response:
    """Who in the school viewed the student's record: role, display name, when, which kinds."""
    student = student_of(request)
    before = _instant(request.query_params.get("before", ""))
    query = ListMyReads(student_number=student.number, before=before, limit=READS_PAGE)
    found: ReadPage = await send(request, student.actor, query)
    return page(
        request,
        student,
        "student/reads.html",
        section="reads",
        items=found.items,
        next_before=found.next_before.isoformat() if found.next_before else None,
    )


def _instant(value: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)


# -- destruction on request --------------------------------------------------------------------


async def _destruction_page(
    request: Request,
    student: Student,
    *,
    reason: str = "",
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    query = ListDestructions(branch=student.branch, student_number=student.number)
    found: DestructionPage = await send(request, student.actor, query)
    return page(
        request,
        student,
        "student/destruction.html",
        section="destruction",
        status_code=status_code,
        items=found.items,
        reason=reason,
        refused=refused,
    )


async def destruction(request: Request) -> Response:
    return await _destruction_page(request, student_of(request))


async def submit_destruction(request: Request) -> Response:
    student = student_of(request)
    form = await checked_form(request)
    reason = text(form, "reason")
    command = SubmitDestruction(student_number=student.number, reason=reason)
    try:
        await send(request, student.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _destruction_page(
            request, student, reason=reason, refused=shown, status_code=error.status
        )
    return redirect("/me/destruction?done=destruction_submitted")


# -- a copy of everything ----------------------------------------------------------------------


async def export_page(request: Request) -> Response:
    return page(request, student_of(request), "student/export.html", section="export")


async def export(request: Request) -> Response:
    """The student's data as a JSON file (``dossier.export``; the service logs each export)."""
    student = student_of(request)
    await checked_form(request)
    data = await send(request, student.actor, ExportDossier(student_number=student.number))
    day = datetime.now(UTC).strftime("%Y%m%d")
    return download(
        orjson.dumps(wire.unstructure(data), option=orjson.OPT_INDENT_2),
        f"dossier-{student.number}-{day}.json",
        "application/json",
    )


# -- feedback ----------------------------------------------------------------------------------


def _feedback_page(
    request: Request,
    student: Student,
    *,
    values: dict[str, str],
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return page(
        request,
        student,
        "student/feedback.html",
        section="feedback",
        status_code=status_code,
        topics=FEEDBACK_TOPICS,
        values=values,
        refused=refused,
    )


async def feedback(request: Request) -> Response:
    return _feedback_page(request, student_of(request), values={})


async def submit_feedback(request: Request) -> Response:
    student = student_of(request)
    form = await checked_form(request)
    values = {"topic": text(form, "topic"), "text": text(form, "text")}
    anonymous = form.get("anonymous") == "yes"
    command = SubmitFeedback(
        branch=student.branch, topic=values["topic"], text=values["text"], anonymous=anonymous
    )
    try:
        await send(request, student.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return _feedback_page(
            request, student, values=values, refused=shown, status_code=error.status
        )
    return redirect("/me/feedback?done=feedback_sent")


routes = [
    Route("/me/consents", consents, methods=["GET"]),
    Route("/me/consents", record_consent, methods=["POST"]),
    Route("/me/consents/{consent_id}/withdraw", withdraw_consent, methods=["POST"]),
    Route("/me/reads", reads, methods=["GET"]),
    Route("/me/destruction", destruction, methods=["GET"]),
    Route("/me/destruction", submit_destruction, methods=["POST"]),
    Route("/me/export", export_page, methods=["GET"]),
    Route("/me/export", export, methods=["POST"]),
    Route("/me/feedback", feedback, methods=["GET"]),
    Route("/me/feedback", submit_feedback, methods=["POST"]),
]

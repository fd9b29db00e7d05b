"""What staff record on a dossier: courses (enrol, end), payments, documents, status (档案分类),
legal holds (法律保留) and a destruction request (资料销毁申请).

Each form is one NATS request with the form's idempotency key (a double-click acts
once). A refusal with field problems shows the dossier page again with the form as
filled in and each problem beside its field; any other refusal is the error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.commands import (
    ChangeStudentStatus,
    EndCourse,
    EnrolCourse,
    LiftLegalHold,
    RecordPayment,
    SetLegalHold,
    SubmitDestruction,
)
from dossier.core.contracts.intake import AddDocument
from dossier.core.enums import DocumentKind, PaymentMethod, StudentStatus
from dossier.core.errors import Problem
from dossier.core.policy import Operation
from dossier.gateway.accounts import Account
from dossier.gateway.staff_common import (
    choice_problem,
    flash,
    hides_not_found,
    parse_amount,
    parse_date,
    parse_local_datetime,
    remote_problems,
    staff_for,
    time_zone_of,
)
from dossier.gateway.staff_dossiers import render_dossier
from dossier.gateway.web import (
    attachment_from,
    checked_form,
    idempotency_key,
    locale_of,
    redirect,
    send,
    text,
)
from dossier.messaging.client import RemoteError

Action = Callable[[], Awaitable[Any]]


async def _act(
    request: Request,
    account: Account,
    number: str,
    form_name: str,
    values: dict[str, str],
    problems: dict[str, str],
    action: Action,
    done: str,
) -> Response:
    """Run ``action`` unless the page already found problems; back to the dossier page."""
    summary = ""
    if not problems:
        try:
            await action()
        except RemoteError as refused:
            if refused.status != 400:
                raise
            problems, summary = remote_problems(refused), refused.message
        else:
            flash(request, done)
            return redirect(f"/staff/dossiers/{number}#{form_name}")
    return await render_dossier(
        request,
        account,
        number,
        status_code=400,
        failed=form_name,
        values=values,
        problems=problems,
        summary=summary,
    )


def _values(form: FormData, *names: str) -> dict[str, str]:
    return {name: text(form, name) for name in names}


@hides_not_found
async def enrol(request: Request) -> Response:
    account = staff_for(request, Operation.COURSE_MANAGE)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "course_code", "course_name", "starts_on", "ends_on")
    problems: dict[str, str] = {}
    starts = parse_date(values["starts_on"], "starts_on", problems, request, required=True)
    ends = parse_date(values["ends_on"], "ends_on", problems, request)

    async def action() -> Any:
        assert starts is not None
        command = EnrolCourse(
            student_number=number,
            course_code=values["course_code"],
            course_name=values["course_name"],
            starts_on=starts,
            ends_on=ends,
        )
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(
        request, account, number, "courses", values, problems, action, "staff.flash.enrolled"
    )


@hides_not_found
async def end_course(request: Request) -> Response:
    account = staff_for(request, Operation.COURSE_MANAGE)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "ended_on", "reason")
    values["enrolment_id"] = request.path_params["enrolment_id"]
    problems: dict[str, str] = {}
    ended = parse_date(values["ended_on"], "ended_on", problems, request, required=True)

    async def action() -> Any:
        assert ended is not None
        command = EndCourse(
            student_number=number,
            enrolment_id=values["enrolment_id"],
            ended_on=ended,
            reason=values["reason"],
        )
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(
        request, account, number, "end-course", values, problems, action, "staff.flash.ended"
    )


@hides_not_found
async def record_payment(request: Request) -> Response:
    account = staff_for(request, Operation.PAYMENT_RECORD)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "amount", "currency", "method", "receipt_ref", "paid_at", "branch")
    problems: dict[str, str] = {}
    amount = parse_amount(values["amount"], "amount_minor", problems, request)
    zone = time_zone_of(request, values["branch"])
    paid_at = parse_local_datetime(values["paid_at"], "paid_at", problems, request, zone)
    problems.update(choice_problem(request, "method", values["method"], PaymentMethod))

    async def action() -> Any:
        assert amount is not None
        assert paid_at is not None
        command = RecordPayment(
            student_number=number,
            amount_minor=amount,
            currency=values["currency"],
            method=PaymentMethod(values["method"]),
            receipt_ref=values["receipt_ref"],
            paid_at=paid_at,
        )
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(
        request, account, number, "payments", values, problems, action, "staff.flash.paid"
    )


@hides_not_found
async def add_document(request: Request) -> Response:
    """Upload a document (type and size checked here first, then by intake on its bytes)."""
    account = staff_for(request, Operation.DOCUMENT_ADD)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "kind")
    problems: dict[str, str] = choice_problem(request, "kind", values["kind"], DocumentKind)
    if not problems:
        document, wrong = await attachment_from(
            form.get("document"), DocumentKind(values["kind"]), ""
        )
        if document is None and not wrong:
            wrong = [Problem("content", "required")]
        problems.update({p.field: p.message(locale_of(request)) for p in wrong})

    async def action() -> Any:
        assert document is not None
        command = AddDocument(
            student_number=number,
            kind=document.kind,
            media_type=document.media_type,
            content=document.content,
            sha256=document.sha256,
        )
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(
        request, account, number, "documents", values, problems, action, "staff.flash.filed"
    )


@hides_not_found
async def change_status(request: Request) -> Response:
    account = staff_for(request, Operation.STATUS_CHANGE)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "target", "reason", "effective_date")
    problems: dict[str, str] = {}
    effective = parse_date(values["effective_date"], "effective_date", problems, request)
    problems.update(choice_problem(request, "target", values["target"], StudentStatus))

    async def action() -> Any:
        command = ChangeStudentStatus(
            student_number=number,
            target=StudentStatus(values["target"]),
            reason=values["reason"],
            effective_date=effective,
        )
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(
        request, account, number, "status", values, problems, action, "staff.flash.status"
    )


@hides_not_found
async def set_hold(request: Request) -> Response:
    account = staff_for(request, Operation.HOLD_MANAGE)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "reason")

    async def action() -> Any:
        command = SetLegalHold(student_number=number, reason=values["reason"])
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(request, account, number, "holds", values, {}, action, "staff.flash.hold")


@hides_not_found
async def lift_hold(request: Request) -> Response:
    account = staff_for(request, Operation.HOLD_MANAGE)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "reason")
    values["hold_id"] = request.path_params["hold_id"]

    async def action() -> Any:
        command = LiftLegalHold(hold_id=values["hold_id"], reason=values["reason"])
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(
        request, account, number, "lift-hold", values, {}, action, "staff.flash.lifted"
    )


@hides_not_found
async def request_destruction(request: Request) -> Response:
    account = staff_for(request, Operation.DESTRUCTION_SUBMIT)
    number = request.path_params["number"]
    form = await checked_form(request)
    values = _values(form, "reason")

    async def action() -> Any:
        command = SubmitDestruction(student_number=number, reason=values["reason"])
        return await send(request, account.actor, command, idempotency_key(form))

    return await _act(
        request, account, number, "destruction", values, {}, action, "staff.flash.destruction"
    )


routes = [
    Route("/staff/dossiers/{number}/courses", enrol, methods=["POST"]),
    Route("/staff/dossiers/{number}/courses/{enrolment_id}/end", end_course, methods=["POST"]),
    Route("/staff/dossiers/{number}/payments", record_payment, methods=["POST"]),
    Route("/staff/dossiers/{number}/documents", add_document, methods=["POST"]),
    Route("/staff/dossiers/{number}/status", change_status, methods=["POST"]),
    Route("/staff/dossiers/{number}/holds", set_hold, methods=["POST"]),
    Route("/staff/dossiers/{number}/holds/{hold_id}/lift", lift_hold, methods=["POST"]),
    Route("/staff/dossiers/{number}/destruction", request_destruction, methods=["POST"]),
]

"""信息变更: staff file a change request for a student; approvers list, read field by field,
approve all or some fields, reject with a comment, and re-base stale requests.

The four-eyes rule is the service's (`change.review` refuses the requester,
``self_approval``); the page shows it too: on one's own request the decision controls
are replaced by an explanation. A stale request (the dossier changed since it was
based) offers re-basing instead of approval, which the service would refuse.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.attachments import MAGIC, MAX_ATTACHMENT_BYTES
from dossier.core.changes import CHANGEABLE
from dossier.core.commands import RebaseChange, ReviewChange, SubmitChange
from dossier.core.contracts.approvals import ChangeView, GetChange, ListChanges
from dossier.core.contracts.intake import DossierView, GetDossier
from dossier.core.enums import ChangeStatus, Decision, DocumentKind
from dossier.core.policy import Operation
from dossier.core.records import FieldChange
from dossier.gateway.accounts import Account
from dossier.gateway.i18n import gender_options, id_type_options
from dossier.gateway.staff_common import (
    branch_choices,
    can,
    choice_problem,
    chosen_branch,
    flash,
    hides_not_found,
    local_problem,
    remote_problems,
    staff_for,
    staff_render,
    status_filter,
)
from dossier.gateway.web import (
    attachment_from,
    checked_form,
    fields_of,
    idempotency_key,
    locale_of,
    redirect,
    send,
    text,
)
from dossier.messaging.client import RemoteError

DECIDABLE = {ChangeStatus.SUBMITTED.value, ChangeStatus.DISPUTED.value}
PAGE_SIZE = 50


def current_values(dossier: DossierView) -> dict[str, str]:
    """What the dossier holds now for each changeable field, as masked for the caller."""
    personal = dossier.personal
    guardian = dossier.guardian
    return {
        "personal.name": personal.name,
        "personal.birth_date": personal.birth_date,
        "personal.id_document": f"{personal.id_document_type}:{personal.id_number}",
        "personal.phone": personal.phone,
        "personal.email": personal.email or "",
        "personal.address": personal.address or "",
        "personal.gender": personal.gender,
        "guardian.name": guardian.name if guardian else "",
        "guardian.relation": guardian.relation if guardian else "",
        "guardian.phone": guardian.phone if guardian else "",
        **{f"needs.{name}": str(value) for name, value in fields_of(dossier.needs)},
    }


# -- submit (staff on the student's behalf) ----------------------------------------------


async def _form(
    request: Request,
    account: Account,
    number: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    dossier: DossierView = await send(request, account.actor, GetDossier(student_number=number))
    locale = locale_of(request)
    return staff_render(
        request,
        "staff/change_new.html",
        status_code=status_code,
        dossier=dossier,
        fields=list(CHANGEABLE),
        current=current_values(dossier),
        genders=gender_options(locale),
        id_types=id_type_options(locale),
        media_types=sorted(MAGIC),
        max_kb=MAX_ATTACHMENT_BYTES // 1024,
        values=values or {},
        problems=problems or {},
        summary=summary,
    )


@hides_not_found
async def new_change(request: Request) -> Response:
    account = staff_for(request, Operation.CHANGE_SUBMIT)
    return await _form(request, account, request.path_params["number"])


def _requested(values: dict[str, str]) -> list[FieldChange]:
    """The fields given a new value (blank: unchanged); an ID document is ``type:number``."""
    changes = []
    for path in CHANGEABLE:
        if path == "personal.id_document":
            number = values.get("personal.id_document.number", "")
            if number:
                kind = values.get("personal.id_document.type", "")
                changes.append(FieldChange(field=path, after=f"{kind}:{number}"))
        elif values.get(path):
            changes.append(FieldChange(field=path, after=values[path]))
    return changes


@hides_not_found
async def submit_change(request: Request) -> Response:
    account = staff_for(request, Operation.CHANGE_SUBMIT)
    number = request.path_params["number"]
    form = await checked_form(request)
    names = [*CHANGEABLE, "personal.id_document.type", "personal.id_document.number", "reason"]
    values = {name: text(form, name) for name in names}
    problems: dict[str, str] = {}
    changes = _requested(values)
    if not changes:
        problems.update(local_problem(request, "changes", "required"))
    evidence, wrong = await attachment_from(
        form.get("evidence"), DocumentKind.CHANGE_EVIDENCE, "attachments[0]"
    )
    if wrong:  # the page shows evidence problems together, beside the upload
        problems["attachments"] = " ".join(p.message(locale_of(request)) for p in wrong)
    attachments = (evidence,) if evidence is not None else ()
    if problems:
        return await _form(
            request, account, number, status_code=400, values=values, problems=problems
        )
    command = SubmitChange(
        student_number=number,
        changes=tuple(changes),
        reason=values["reason"],
        attachments=attachments,
    )
    try:
        receipt = await send(request, account.actor, command, idempotency_key(form))
    except RemoteError as refused:
        if refused.status != 400:
            raise
        return await _form(
            request,
            account,
            number,
            status_code=400,
            values=values,
            problems=_by_path(refused, changes),
            summary=refused.message,
        )
    flash(request, "staff.change.submitted_flash")
    if can(account, Operation.CHANGE_READ, receipt.branch):
        return redirect(f"/staff/changes/{receipt.change_id}")
    return redirect(f"/staff/dossiers/{number}")


def _by_path(refused: RemoteError, changes: list[FieldChange]) -> dict[str, str]:
    """Problems by the form's field names: ``changes[2].after`` is the third field given."""
    problems: dict[str, str] = {}
    for problem in refused.problems:
        field = problem.field
        if field.startswith("changes[") and "]" in field:
            index = field[len("changes[") : field.index("]")]
            if index.isdigit() and int(index) < len(changes):
                field = changes[int(index)].field
        if field == "personal.id_document":
            field = "personal.id_document.number"
        problems.setdefault(field, problem.message)
    return problems


# -- the approver's queue and page -------------------------------------------------------


async def change_list(request: Request) -> Response:
    account = staff_for(request, Operation.CHANGE_READ)
    branch = chosen_branch(request, account)
    status = status_filter(request, ChangeStatus, ChangeStatus.SUBMITTED)
    query = ListChanges(
        branch=branch,
        limit=PAGE_SIZE,
        status=ChangeStatus(status) if status else None,
        after=request.query_params.get("after") or None,
    )
    page = await send(request, account.actor, query)
    return staff_render(
        request,
        "staff/changes.html",
        branch=branch,
        branches=branch_choices(request, account),
        status=status,
        statuses=[s.value for s in ChangeStatus],
        page=page,
    )


async def _change_page(
    request: Request,
    account: Account,
    change_id: str,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    change: ChangeView = await send(request, account.actor, GetChange(change_id=change_id))
    own = change.requested_by == account.actor.id
    may_review = can(account, Operation.CHANGE_REVIEW, change.branch)
    decidable = change.status in DECIDABLE
    return staff_render(
        request,
        "staff/change.html",
        status_code=status_code,
        change=change,
        own=own,
        may_review=may_review,
        decidable=decidable,
        may_decide=may_review and decidable and not own,
        may_rebase=may_review and change.stale,
        may_open_dossier=can(account, Operation.DOSSIER_READ, change.branch),
        values=values or {},
        problems=problems or {},
        summary=summary,
    )


@hides_not_found
async def change_page(request: Request) -> Response:
    account = staff_for(request, Operation.CHANGE_READ)
    return await _change_page(request, account, request.path_params["change_id"])


@hides_not_found
async def review_change(request: Request) -> Response:
    """Approve the ticked fields (all ticked: the whole request), or reject with a comment."""
    account = staff_for(request, Operation.CHANGE_REVIEW)
    change_id = request.path_params["change_id"]
    form = await checked_form(request)
    decision = text(form, "decision")
    ticked = [f for f in form.getlist("fields") if isinstance(f, str)]
    requested = [f for f in form.getlist("requested") if isinstance(f, str)]
    values: dict[str, Any] = {"comment": text(form, "comment"), "fields": ticked}
    wrong = choice_problem(request, "decision", decision, Decision)
    if wrong:
        return await _change_page(
            request,
            account,
            change_id,
            status_code=400,
            values=values,
            problems=wrong,
        )
    fields: tuple[str, ...] | None = None
    if decision == Decision.APPROVE.value and requested and set(ticked) != set(requested):
        fields = tuple(ticked)  # some fields; none ticked is for the service to refuse
    command = ReviewChange(
        change_id=change_id, decision=Decision(decision), comment=values["comment"], fields=fields
    )
    try:
        await send(request, account.actor, command, idempotency_key(form))
    except RemoteError as refused:
        if refused.status != 400:
            raise
        return await _change_page(
            request,
            account,
            change_id,
            status_code=400,
            values=values,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    if decision == Decision.REJECT.value:
        flash(request, "staff.change.rejected_flash")
    elif fields is None:
        flash(request, "staff.change.approved_flash")
    else:
        flash(request, "staff.change.partly_approved_flash")
    return redirect(f"/staff/changes/{change_id}")


@hides_not_found
async def rebase_change(request: Request) -> Response:
    account = staff_for(request, Operation.CHANGE_REVIEW)
    change_id = request.path_params["change_id"]
    form = await checked_form(request)
    command = RebaseChange(change_id=change_id, comment=text(form, "comment"))
    try:
        await send(request, account.actor, command, idempotency_key(form))
    except RemoteError as refused:
        if refused.status != 400:
            raise
        return await _change_page(
            request,
            account,
            change_id,
            status_code=400,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    flash(request, "staff.change.rebased_flash")
    return redirect(f"/staff/changes/{change_id}")


routes = [
    Route("/staff/dossiers/{number}/changes/new", new_change, methods=["GET"]),
    Route("/staff/dossiers/{number}/changes", submit_change, methods=["POST"]),
    Route("/staff/changes", change_list, methods=["GET"]),
    Route("/staff/changes/{change_id}", change_page, methods=["GET"]),
    Route("/staff/changes/{change_id}/review", review_change, methods=["POST"]),
    Route("/staff/changes/{change_id}/rebase", rebase_change, methods=["POST"]),
]

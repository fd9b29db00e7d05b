"""The review queue (待审核) and a registration's page: its details as the service masks them
for the role, its probable duplicates side by side, and the decision (录取 / 不予录取).

Acceptance is refused by intake while probable duplicates exist unless the reviewer
says they looked at them (``allow_duplicates``); the page shows that refusal beside
the box to tick, and the new student number once admitted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from attrs import evolve, frozen
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.commands import ReviewRegistration
from dossier.core.contracts.intake import (
    DossierView,
    DuplicateHint,
    GetDossier,
    GetRegistration,
    ListRegistrations,
    RegistrationPage,
    RegistrationSummary,
    RegistrationView,
)
from dossier.core.enums import Decision, RegistrationStatus
from dossier.core.policy import Operation
from dossier.gateway.accounts import Account
from dossier.gateway.staff_common import (
    branch_choices,
    can,
    choice_problem,
    chosen_branch,
    flash,
    hides_not_found,
    remote_problems,
    staff_for,
    staff_render,
)
from dossier.gateway.web import checked_form, idempotency_key, redirect, send, text
from dossier.messaging.client import RemoteError

PAGE_SIZE = 20
NEWEST_SCAN_LIMIT = 2_000
"""Newest first is the queue read to its end and turned round; a queue longer than this
shows its oldest part only (the service pages oldest first)."""
SIDE_BY_SIDE = 4
"""How many probable duplicates are fetched and shown beside the registration."""


async def _newest_first(
    request: Request, account: Account, query: ListRegistrations, after: str | None
) -> RegistrationPage:
    items: list[RegistrationSummary] = []
    cursor: str | None = None
    while len(items) < NEWEST_SCAN_LIMIT:
        page: RegistrationPage = await send(
            request, account.actor, evolve(query, limit=200, after=cursor)
        )
        items.extend(page.items)
        cursor = page.next_after
        if cursor is None:
            break
    items.reverse()
    if after is not None:
        ids = [item.registration_id for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    shown = items[:PAGE_SIZE]
    more = len(items) > PAGE_SIZE
    return RegistrationPage(
        items=tuple(shown), next_after=shown[-1].registration_id if more else None
    )


async def queue(request: Request) -> Response:
    account = staff_for(request, Operation.REGISTRATION_READ)
    branch = chosen_branch(request, account)
    params = request.query_params
    status = params.get("status", RegistrationStatus.SUBMITTED.value)
    if status not in {s.value for s in RegistrationStatus}:
        status = RegistrationStatus.SUBMITTED.value
    order = "newest" if params.get("order") == "newest" else "oldest"
    after = params.get("after") or None
    query = ListRegistrations(branch=branch, status=RegistrationStatus(status))
    if order == "newest":
        page = await _newest_first(request, account, query, after)
    else:
        page = await send(request, account.actor, evolve(query, limit=PAGE_SIZE, after=after))
    return staff_render(
        request,
        "staff/registrations.html",
        branch=branch,
        branches=branch_choices(request, account),
        status=status,
        statuses=[s.value for s in RegistrationStatus],
        order=order,
        page=page,
        after=after,
    )


async def _hidden_or(request: Request, account: Account, query: Any) -> Any:
    """The record, or None when the caller may not see it (another branch's)."""
    try:
        return await send(request, account.actor, query)
    except RemoteError as error:
        if error.code in {"not_found", "access_denied", "destroyed"}:
            return None
        raise


@frozen(kw_only=True)
class Duplicate:
    """A probable duplicate beside the registration: the hint, and the record it points to
    (a registration or a dossier) as far as the caller may see it (None: not at all)."""

    hint: DuplicateHint
    record: RegistrationView | DossierView | None


async def _duplicates(
    request: Request, account: Account, hints: tuple[DuplicateHint, ...]
) -> list[Duplicate]:
    """Each hint with the record it points to, as far as the caller may see it."""
    shown = hints[:SIDE_BY_SIDE]
    lookups = [
        _hidden_or(request, account, GetRegistration(registration_id=hint.registration_id))
        if hint.registration_id
        else _hidden_or(request, account, GetDossier(student_number=hint.student_number or ""))
        for hint in shown
    ]
    records = await asyncio.gather(*lookups)
    return [
        Duplicate(hint=hint, record=record) for hint, record in zip(shown, records, strict=True)
    ]


async def _page(
    request: Request,
    account: Account,
    registration_id: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    registration: RegistrationView = await send(
        request, account.actor, GetRegistration(registration_id=registration_id)
    )
    duplicates = await _duplicates(request, account, registration.duplicates)
    return staff_render(
        request,
        "staff/registration.html",
        status_code=status_code,
        registration=registration,
        duplicates=duplicates,
        more_duplicates=max(0, len(registration.duplicates) - SIDE_BY_SIDE),
        may_review=can(account, Operation.REGISTRATION_REVIEW, registration.branch)
        and registration.status == RegistrationStatus.SUBMITTED,
        may_open_dossier=can(account, Operation.DOSSIER_READ, registration.branch),
        values=values or {},
        problems=problems or {},
        summary=summary,
    )


@hides_not_found
async def registration_page(request: Request) -> Response:
    account = staff_for(request, Operation.REGISTRATION_READ)
    return await _page(request, account, request.path_params["registration_id"])


@hides_not_found
async def review(request: Request) -> Response:
    account = staff_for(request, Operation.REGISTRATION_REVIEW)
    registration_id = request.path_params["registration_id"]
    form = await checked_form(request)
    values = {
        "decision": text(form, "decision"),
        "reason": text(form, "reason"),
        "allow_duplicates": "yes" if form.get("allow_duplicates") == "yes" else "",
    }
    problems = choice_problem(request, "decision", values["decision"], Decision)
    if problems:
        return await _page(
            request, account, registration_id, status_code=400, values=values, problems=problems
        )
    command = ReviewRegistration(
        registration_id=registration_id,
        decision=Decision(values["decision"]),
        reason=values["reason"],
        allow_duplicates=bool(values["allow_duplicates"]),
    )
    try:
        outcome = await send(request, account.actor, command, idempotency_key(form))
    except RemoteError as refused:
        if refused.code == "probable_duplicates":
            return await _page(
                request,
                account,
                registration_id,
                status_code=refused.status,
                values=values,
                problems={"allow_duplicates": refused.message},
            )
        if refused.status != 400:
            raise
        return await _page(
            request,
            account,
            registration_id,
            status_code=400,
            values=values,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    if not outcome.student_number:  # an admission shows its number on the page
        flash(request, "staff.reg.rejected_flash")
    return redirect(f"/staff/registrations/{registration_id}")


routes = [
    Route("/staff/registrations", queue, methods=["GET"]),
    Route("/staff/registrations/{registration_id}", registration_page, methods=["GET"]),
    Route("/staff/registrations/{registration_id}/review", review, methods=["POST"]),
]

"""The quarterly review (定期审核) pages: a branch's runs with findings per rule and a chart over
the quarters, a run's work list (resolve or waive each finding with a note), sign-off, and the
CSV and HTML downloads the retention service writes."""

from __future__ import annotations

import asyncio
from typing import Any

from attrs import frozen
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.contracts.retention import (
    Export,
    ExportReview,
    GetReviewRun,
    ListFindings,
    ListReviewRuns,
    ResolveFinding,
    ReviewReport,
    RunPage,
    RunView,
    SignOffReview,
    StartReview,
    WaiveFinding,
)
from dossier.core.enums import FindingStatus
from dossier.core.policy import Operation
from dossier.gateway.ops_base import Operator, chosen_branch, operator_of, page
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

FINDINGS_PAGE = 50


@frozen(kw_only=True)
class Bar:
    label: str
    value: int
    x: int
    y: int
    height: int


@frozen(kw_only=True)
class Chart:
    """Vertical bars, drawn as inline SVG by the template (no script, no library)."""

    bars: tuple[Bar, ...]
    width: int
    height: int
    baseline: int
    bar_width: int


def bar_chart(series: list[tuple[str, int]]) -> Chart:
    bar, gap, plot, top, bottom = 48, 24, 160, 24, 40
    peak = max((value for _, value in series), default=0) or 1
    bars = []
    for index, (label, value) in enumerate(series):
        height = round(plot * value / peak)
        bars.append(
            Bar(
                label=label,
                value=value,
                x=gap + index * (bar + gap),
                y=top + plot - height,
                height=height,
            )
        )
    return Chart(
        bars=tuple(bars),
        width=gap + len(series) * (bar + gap),
        height=top + plot + bottom,
        baseline=top + plot,
        bar_width=bar,
    )


def per_rule(runs: list[RunView]) -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
    """Quarters (oldest first), rules, and the count of each rule in each quarter."""
    quarters = sorted({run.quarter for run in runs})
    counts: dict[str, dict[str, int]] = {}
    for run in runs:
        for item in run.by_rule:
            row = counts.setdefault(item.rule, {})
            row[run.quarter] = row.get(run.quarter, 0) + item.count
    return quarters, sorted(counts), counts


# -- runs --------------------------------------------------------------------------------------


async def _runs_page(
    request: Request,
    operator: Operator,
    branch: str,
    *,
    quarter: str = "",
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    found: RunPage = await send(request, operator.actor, ListReviewRuns(branch=branch))
    runs = sorted(found.items, key=lambda run: run.quarter, reverse=True)
    quarters, rules, counts = per_rule(runs)
    totals = {q: sum(r.findings for r in runs if r.quarter == q) for q in quarters}
    return page(
        request,
        operator,
        "ops/reviews.html",
        section="reviews",
        branch=branch,
        status_code=status_code,
        runs=runs,
        quarters=quarters,
        rules=rules,
        counts=counts,
        totals=totals,
        chart=bar_chart([(q, totals[q]) for q in quarters]),
        may_run=operator.may(Operation.REVIEW_RUN),
        quarter=quarter,
        refused=refused,
    )


async def reviews(request: Request) -> Response:
    operator = operator_of(request, Operation.REVIEW_READ)
    return await _runs_page(request, operator, chosen_branch(request, operator))


async def start_review(request: Request) -> Response:
    operator = operator_of(request, Operation.REVIEW_RUN)
    form = await checked_form(request)
    branch = text(form, "branch")
    if branch not in operator.branches:
        branch = chosen_branch(request, operator)
    quarter = text(form, "quarter").upper()
    command = StartReview(branch=branch, quarter=quarter or None)
    try:
        run: RunView = await send(request, operator.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _runs_page(
            request, operator, branch, quarter=quarter, refused=shown, status_code=error.status
        )
    return redirect(f"/ops/reviews/{run.id}?done=review_started")


async def report(request: Request) -> Response:
    """The retention service's HTML report over the chosen branch's runs, to save."""
    operator = operator_of(request, Operation.REVIEW_READ)
    branch = chosen_branch(request, operator)
    made: Export = await send(request, operator.actor, ReviewReport(branches=(branch,)))
    return download(made.content, made.filename, made.media_type)


# -- one run: its work list --------------------------------------------------------------------


async def _run_page(
    request: Request,
    operator: Operator,
    run_id: str,
    *,
    refused: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    status = request.query_params.get("status", "")
    status = status if status in {s.value for s in FindingStatus} else ""
    rule = request.query_params.get("rule", "")
    query = ListFindings(
        run_id=run_id,
        status=FindingStatus(status) if status else None,
        rule=rule or None,
        after=request.query_params.get("after") or None,
        limit=FINDINGS_PAGE,
    )
    run, findings = await asyncio.gather(
        send(request, operator.actor, GetReviewRun(run_id=run_id)),
        send(request, operator.actor, query),
    )
    return page(
        request,
        operator,
        "ops/run.html",
        section="reviews",
        branch=run.branch,
        status_code=status_code,
        run=run,
        findings=findings.items,
        next_after=findings.next_after,
        status=status,
        rule=rule,
        statuses=[s.value for s in FindingStatus],
        may_resolve=operator.may(Operation.REVIEW_RESOLVE),
        may_sign_off=operator.may(Operation.REVIEW_SIGN_OFF),
        refused=refused,
    )


async def run(request: Request) -> Response:
    operator = operator_of(request, Operation.REVIEW_READ)
    return await _run_page(request, operator, request.path_params["run_id"])


async def close_finding(request: Request) -> Response:
    """处理 (resolve) or 豁免 (waive) one finding, with the reviewer's note."""
    operator = operator_of(request, Operation.REVIEW_RESOLVE)
    form = await checked_form(request)
    run_id = request.path_params["run_id"]
    waive = text(form, "action") == "waive"
    close = WaiveFinding if waive else ResolveFinding
    command = close(finding_id=request.path_params["finding_id"], note=text(form, "note"))
    try:
        await send(request, operator.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _run_page(request, operator, run_id, refused=shown, status_code=error.status)
    done = "finding_waived" if waive else "finding_resolved"
    return redirect(f"/ops/reviews/{run_id}?done={done}")


async def sign_off(request: Request) -> Response:
    operator = operator_of(request, Operation.REVIEW_SIGN_OFF)
    form = await checked_form(request)
    run_id = request.path_params["run_id"]
    command = SignOffReview(run_id=run_id, note=text(form, "note"))
    try:
        await send(request, operator.actor, command, idempotency_key(form))
    except RemoteError as error:
        shown = refusal(error)
        return await _run_page(request, operator, run_id, refused=shown, status_code=error.status)
    return redirect(f"/ops/reviews/{run_id}?done=signed_off")


async def export_csv(request: Request) -> Response:
    operator = operator_of(request, Operation.REVIEW_READ)
    query = ExportReview(run_id=request.path_params["run_id"])
    made: Export = await send(request, operator.actor, query)
    return download(made.content, made.filename, made.media_type)


routes = [
    Route("/ops/reviews", reviews, methods=["GET"]),
    Route("/ops/reviews", start_review, methods=["POST"]),
    Route("/ops/reviews/report", report, methods=["GET"]),
    Route("/ops/reviews/{run_id}", run, methods=["GET"]),
    Route("/ops/reviews/{run_id}/export.csv", export_csv, methods=["GET"]),
    Route("/ops/reviews/{run_id}/sign-off", sign_off, methods=["POST"]),
    Route("/ops/reviews/{run_id}/findings/{finding_id}", close_finding, methods=["POST"]),
]

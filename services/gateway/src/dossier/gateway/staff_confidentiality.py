"""保密承诺与培训: the branch's confidentiality policy, acknowledging it, staff training.

Every member of staff reads the current policy of their branch here and acknowledges it;
until they have (and again after a new version or the branch's renewal period), the gateway
mints their tokens limited to masked data (`dossier.gateway.accounts.AccountStore.
policy_due`) and every page says why, with a link here. The branch manager (approver) and
the admin publish a new version and record training sessions, with their material files
(a multipart form; each file checked here first, as every upload is, then by approvals);
they and the auditor see each member of staff's standing and who is due, on the page and
as a CSV file (UTF-8 with a BOM, so Excel shows Chinese; headers in the page's language),
and download each session's material files.
"""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.attachments import MAGIC, MAX_ATTACHMENT_BYTES
from dossier.core.contracts.confidentiality import (
    AcknowledgePolicy,
    CurrentPolicy,
    GetTrainingMaterial,
    MaterialContent,
    PolicyStanding,
    PublishPolicy,
    RecordTraining,
    TrainingReport,
    TrainingStatus,
)
from dossier.core.enums import DocumentKind
from dossier.core.policy import Operation
from dossier.gateway.accounts import Account
from dossier.gateway.i18n import translate
from dossier.gateway.staff_common import (
    branch_choices,
    can,
    chosen_branch,
    flash,
    hides_not_found,
    remote_problems,
    staff_for,
    staff_render,
)
from dossier.gateway.web import (
    attachment_from,
    checked_form,
    download,
    idempotency_key,
    locale_of,
    redirect,
    send,
    send_form,
    text,
)
from dossier.messaging.client import RemoteError


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


# -- the policy --------------------------------------------------------------------------


async def _policy_page(
    request: Request,
    account: Account,
    branch: str,
    *,
    status_code: int = 200,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    standing: PolicyStanding = await send(request, account.actor, CurrentPolicy(branch=branch))
    return staff_render(
        request,
        "staff/policy.html",
        status_code=status_code,
        branch=branch,
        branches=branch_choices(request, account),
        standing=standing,
        may_publish=can(account, Operation.CONFIDENTIALITY_PUBLISH, branch),
        may_see_status=can(account, Operation.TRAINING_STATUS, branch),
        problems=problems or {},
        summary=summary,
    )


async def policy_page(request: Request) -> Response:
    account = staff_for(request, Operation.CONFIDENTIALITY_READ)
    return await _policy_page(request, account, chosen_branch(request, account))


async def acknowledge(request: Request) -> Response:
    account = staff_for(request, Operation.CONFIDENTIALITY_ACKNOWLEDGE)
    form = await checked_form(request)
    branch, version = text(form, "branch"), text(form, "version")
    body = {"branch": branch, "version": int(version) if version.isdigit() else version}
    try:
        await send_form(request, account.actor, AcknowledgePolicy, body, idempotency_key(form))
    except RemoteError as refused:
        if refused.status != 400:
            raise
        return await _policy_page(
            request,
            account,
            branch,
            status_code=400,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    flash(request, "staff.policy.acknowledged_flash", version=version)
    return redirect(f"/staff/policy?branch={branch}")


async def _publish_page(
    request: Request,
    account: Account,
    branch: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    if values is None:
        standing: PolicyStanding = await send(request, account.actor, CurrentPolicy(branch=branch))
        current = standing.policy
        values = {
            "text_zh": current.text_zh if current else "",
            "text_en": current.text_en if current else "",
        }
    return staff_render(
        request,
        "staff/policy_publish.html",
        status_code=status_code,
        branch=branch,
        branches=branch_choices(request, account),
        values=values,
        problems=problems or {},
        summary=summary,
    )


async def publish_form(request: Request) -> Response:
    account = staff_for(request, Operation.CONFIDENTIALITY_PUBLISH)
    return await _publish_page(request, account, chosen_branch(request, account))


async def publish(request: Request) -> Response:
    account = staff_for(request, Operation.CONFIDENTIALITY_PUBLISH)
    form = await checked_form(request)
    values = {name: text(form, name) for name in ("branch", "text_zh", "text_en")}
    command = PublishPolicy(
        branch=values["branch"], text_zh=values["text_zh"], text_en=values["text_en"]
    )
    try:
        published = await send(request, account.actor, command, idempotency_key(form))
    except RemoteError as refused:
        if refused.status != 400:
            raise
        return await _publish_page(
            request,
            account,
            values["branch"],
            status_code=400,
            values=values,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    flash(request, "staff.policy.published_flash", version=str(published.version))
    return redirect(f"/staff/policy?branch={published.branch}")


# -- training and the status ----------------------------------------------------------------


async def _training_page(
    request: Request,
    account: Account,
    branch: str,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    summary: str = "",
) -> Response:
    report: TrainingReport = await send(request, account.actor, TrainingStatus(branch=branch))
    return staff_render(
        request,
        "staff/training.html",
        status_code=status_code,
        branch=branch,
        branches=branch_choices(request, account),
        report=report,
        may_record=can(account, Operation.TRAINING_RECORD, branch),
        media_types=sorted(MAGIC),
        max_kb=MAX_ATTACHMENT_BYTES // 1024,
        values=values or {},
        problems=problems or {},
        summary=summary,
    )


async def training_page(request: Request) -> Response:
    account = staff_for(request, Operation.TRAINING_STATUS)
    return await _training_page(request, account, chosen_branch(request, account))


async def record_training(request: Request) -> Response:
    account = staff_for(request, Operation.TRAINING_RECORD)
    form = await checked_form(request)
    names = ("branch", "topic", "held_on", "trainer")
    values = {name: text(form, name) for name in names}
    attendees = [a for a in form.getlist("attendees") if isinstance(a, str) and a.strip()]
    attendees += _lines(text(form, "other_attendees"))
    values["other_attendees"] = text(form, "other_attendees")
    values["materials"] = text(form, "materials")
    files, problems = await _files(request, form.getlist("files"))
    if problems:
        return await _training_page(
            request, account, values["branch"], status_code=400, values=values, problems=problems
        )
    body: dict[str, Any] = {
        **{name: values[name] for name in names},
        "attendees": attendees,
        "materials": _lines(values["materials"]),
        "files": files,
    }
    try:
        await send_form(request, account.actor, RecordTraining, body, idempotency_key(form))
    except RemoteError as refused:
        if refused.status not in (400, 413):  # 413: the files together exceed the request
            raise
        return await _training_page(
            request,
            account,
            values["branch"],
            status_code=400,
            values=values,
            problems=remote_problems(refused),
            summary=refused.message,
        )
    flash(request, "staff.training.recorded_flash")
    return redirect(f"/staff/training?branch={values['branch']}")


async def _files(
    request: Request, uploads: list[Any]
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The material files chosen (none chosen: none), as the request's ``files``, after the
    checks every upload gets (type, bytes of that type, size); problems named as approvals
    names them (``files[0].content``)."""
    files: list[dict[str, str]] = []
    problems: dict[str, str] = {}
    chosen = [u for u in uploads if isinstance(u, UploadFile) and u.filename]
    for index, upload in enumerate(chosen):
        attachment, wrong = await attachment_from(upload, DocumentKind.OTHER, f"files[{index}]")
        problems.update({p.field: p.message(locale_of(request)) for p in wrong})
        if attachment is not None:
            files.append(
                {
                    "name": upload.filename or "",
                    "media_type": attachment.media_type,
                    "content": attachment.content,
                }
            )
    return files, problems


@hides_not_found
async def material(request: Request) -> Response:
    """A training material file, as an attachment of its (checked) type and its file name."""
    account = staff_for(request, Operation.TRAINING_STATUS)
    query = GetTrainingMaterial(
        branch=chosen_branch(request, account),
        training_id=request.path_params["training_id"],
        document_id=request.path_params["document_id"],
    )
    found: MaterialContent = await send(request, account.actor, query)
    media_type = found.ref.media_type if found.ref.media_type in MAGIC else ""
    return download(
        base64.b64decode(found.content),
        found.ref.name,
        media_type or "application/octet-stream",
    )


CSV_COLUMNS = (
    "actor",
    "roles",
    "acknowledged_version",
    "acknowledged_at",
    "policy_due",
    "last_training",
    "training_due",
)


async def training_csv(request: Request) -> Response:
    """The status as CSV: UTF-8 with a BOM (Excel reads Chinese), the page's language."""
    account = staff_for(request, Operation.TRAINING_STATUS)
    branch = chosen_branch(request, account)
    report: TrainingReport = await send(request, account.actor, TrainingStatus(branch=branch))
    locale = locale_of(request)
    yes, no = translate("staff.yes", locale), translate("staff.no", locale)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([translate(f"staff.training.column.{c}", locale) for c in CSV_COLUMNS])
    for s in report.staff:
        writer.writerow(
            [
                s.actor,
                " ".join(translate(f"staff.role.{r}", locale) for r in s.roles),
                "" if s.acknowledged_version is None else s.acknowledged_version,
                "" if s.acknowledged_at is None else f"{s.acknowledged_at:%Y-%m-%d %H:%M} UTC",
                yes if s.due else no,
                "" if s.last_training is None else s.last_training.isoformat(),
                yes if s.training_due else no,
            ]
        )
    return download("\ufeff" + out.getvalue(), f"training-{branch}.csv", "text/csv; charset=utf-8")


routes = [
    Route("/staff/policy", policy_page, methods=["GET"]),
    Route("/staff/policy/acknowledge", acknowledge, methods=["POST"]),
    Route("/staff/policy/publish", publish_form, methods=["GET"]),
    Route("/staff/policy/publish", publish, methods=["POST"]),
    Route("/staff/training", training_page, methods=["GET"]),
    Route("/staff/training", record_training, methods=["POST"]),
    Route("/staff/training.csv", training_csv, methods=["GET"]),
    Route("/staff/training/{training_id}/files/{document_id}", material, methods=["GET"]),
]

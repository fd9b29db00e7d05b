"""Public pages: the home page and the online registration form (《学员报名表》)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core import wire
from dossier.core.attachments import MAGIC, MAX_ATTACHMENT_BYTES, Attachment
from dossier.core.branch import Branch
from dossier.core.commands import SubmitRegistration
from dossier.core.contracts.intake import RegistrationReceipt
from dossier.core.enums import Channel, DocumentKind, Gender
from dossier.core.policy import Actor, Role
from dossier.core.rules import validators
from dossier.gateway.i18n import gender_options, id_type_options
from dossier.gateway.limits import client_address, say
from dossier.gateway.web import (
    attachment_from,
    checked_form,
    gateway,
    idempotency_key,
    locale_of,
    redirect,
    render,
    send_form,
    text,
)
from dossier.messaging.client import RemoteError

FORM_FIELDS = (
    "branch",
    "applicant.name",
    "applicant.gender",
    "applicant.birth_date",
    "applicant.id_document.type",
    "applicant.id_document.number",
    "applicant.phone",
    "applicant.email",
    "applicant.address",
    "needs.target_language",
    "needs.current_level",
    "needs.goals",
    "needs.preferred_schedule",
    "guardian.name",
    "guardian.relation",
    "guardian.phone",
)


def applicant_actor(branch: str) -> Actor:
    """Who submits an online form: an applicant, not yet a student, of the chosen branch."""
    return Actor(id="web:applicant", roles={Role.STUDENT}, branches={branch})


async def home(request: Request) -> Response:
    return render(request, "home.html")


def _form_context(request: Request) -> dict[str, Any]:
    branches = gateway(request).settings.config.branches
    locale = locale_of(request)
    return {
        "branch_options": [(code, branches[code].name) for code in sorted(branches)],
        "gender_options": gender_options(locale),
        "id_type_options": id_type_options(locale),
        "media_types": sorted(MAGIC),
        "max_kb": MAX_ATTACHMENT_BYTES // 1024,
        "phone_example": lambda code: _phone_example(branches, code),
    }


def _phone_example(branches: Mapping[str, Branch], code: str | None) -> str:
    """The example mobile of the chosen branch's region (the first branch's before a choice)."""
    branch = branches.get(code or "") or (branches[min(branches)] if branches else None)
    return validators.phone_example(branch.phone_region if branch else "CN")


async def registration_form(request: Request) -> Response:
    return render(request, "register.html", values={}, problems={}, **_form_context(request))


def _optional(value: str) -> str | None:
    return value or None


def registration_body(form: FormData, attachment: Attachment | None) -> dict[str, Any]:
    """The form as the JSON the intake service structures; the service checks every rule."""
    body: dict[str, Any] = {
        "branch": text(form, "branch"),
        "channel": Channel.ONLINE.value,
        "applicant": {
            "name": text(form, "applicant.name"),
            "gender": text(form, "applicant.gender") or Gender.UNDISCLOSED.value,
            "birth_date": text(form, "applicant.birth_date"),
            "id_document": {
                "type": text(form, "applicant.id_document.type"),
                "number": text(form, "applicant.id_document.number"),
            },
            "phone": text(form, "applicant.phone"),
            "email": _optional(text(form, "applicant.email")),
            "address": _optional(text(form, "applicant.address")),
        },
        "needs": {
            "target_language": text(form, "needs.target_language"),
            "current_level": text(form, "needs.current_level"),
            "goals": text(form, "needs.goals"),
            "preferred_schedule": text(form, "needs.preferred_schedule"),
        },
        "guardian_consent": form.get("guardian_consent") == "yes",
        "attachments": [wire.unstructure(attachment)] if attachment else [],
    }
    guardian = {k: text(form, f"guardian.{k}") for k in ("name", "relation", "phone")}
    body["guardian"] = guardian if any(guardian.values()) else None
    return body


def _refused(
    request: Request, values: dict[str, str], problems: dict[str, str], summary: str = ""
) -> Response:
    """The form again, as filled in, with each problem beside its field."""
    return render(
        request,
        "register.html",
        status_code=400,
        values=values,
        problems=problems,
        summary=summary,
        **_form_context(request),
    )


def registration_allowed(request: Request) -> bool:
    """Count one online registration from the client's address; False past its limit."""
    limiter = gateway(request).registrations
    address = client_address(request)
    if limiter.exceeded(address):
        return False
    limiter.hit(address)
    return True


async def submit_registration(request: Request) -> Response:
    form = await checked_form(request)
    if not registration_allowed(request):
        page = render(
            request,
            "error.html",
            status_code=429,
            message=say("limits.too_many", locale_of(request)),
        )
        page.headers["retry-after"] = str(
            gateway(request).registrations.retry_after(client_address(request))
        )
        return page
    attachment, wrong = await attachment_from(
        form.get("document"), DocumentKind.ID_PROOF, "attachments[0]"
    )
    values = {name: text(form, name) for name in FORM_FIELDS}
    values["guardian_consent"] = "yes" if form.get("guardian_consent") == "yes" else ""
    locale = locale_of(request)
    if wrong:
        return _refused(request, values, {p.field: p.message(locale) for p in wrong})
    actor = applicant_actor(values["branch"])
    body = registration_body(form, attachment)
    try:
        receipt: RegistrationReceipt = await send_form(
            request, actor, SubmitRegistration, body, idempotency_key(form)
        )
    except RemoteError as refused:
        if refused.status != 400 or not refused.problems:
            raise
        problems = {p.field: p.message for p in refused.problems}
        return _refused(request, values, problems, refused.message)
    return redirect(f"/register/done?ref={receipt.registration_id}")


async def registration_done(request: Request) -> Response:
    return render(request, "register_done.html", reference=request.query_params.get("ref", ""))


routes = [
    Route("/", home),
    Route("/register", registration_form, methods=["GET"]),
    Route("/register", submit_registration, methods=["POST"]),
    Route("/register/done", registration_done),
]

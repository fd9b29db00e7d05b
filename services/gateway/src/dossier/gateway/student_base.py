"""What the student's pages share: who is signed in, their branch, and how a page is rendered.

A student's actor carries their student number, and every request names that
number, so the services answer for the student's own record only; a page
never takes a student number from the browser.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dossier.core.enums import Locale
from dossier.core.messages import DEFAULT_CATALOGUE
from dossier.core.policy import Actor, Role
from dossier.gateway.i18n import translate
from dossier.gateway.web import Forbidden, gateway, local_time, locale_of, render, require

SECTIONS = (
    ("overview", "/me"),
    ("changes", "/me/changes"),
    ("notifications", "/me/notifications"),
    ("consents", "/me/consents"),
    ("reads", "/me/reads"),
    ("destruction", "/me/destruction"),
    ("export", "/me/export"),
    ("feedback", "/me/feedback"),
)
"""The student's pages, in the order of their navigation."""


@frozen(kw_only=True)
class Student:
    actor: Actor
    number: str
    branch: str
    time_zone: str


def student_of(request: Request) -> Student:
    """The signed-in student (else sign in, or `Forbidden` for staff)."""
    account = require(request, Role.STUDENT)
    if account.student_number is None or not account.branches:
        raise Forbidden
    branch = sorted(account.branches)[0]
    known = gateway(request).settings.config.branches.get(branch)
    return Student(
        actor=account.actor,
        number=account.student_number,
        branch=branch,
        time_zone=known.time_zone if known is not None else "Asia/Shanghai",
    )


def field_label(path: str, locale: Locale) -> str:
    """A dossier field's name on the page (``personal.phone`` → 手机号码), else the path."""
    key = f"student.field.{path}"
    shown = translate(key, locale)
    return path if shown == key else shown


def page(
    request: Request,
    student: Student,
    template: str,
    *,
    section: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    locale = locale_of(request)
    done = request.query_params.get("done", "")
    return render(
        request,
        template,
        status_code=status_code,
        student=student,
        sections=SECTIONS,
        section=section,
        done=done if done.isidentifier() else "",
        when=lambda value: local_time(value, student.time_zone),
        term=lambda value: str(DEFAULT_CATALOGUE.term(str(value), locale)) if value else "",
        field_label=lambda path: field_label(path, locale),
        **context,
    )

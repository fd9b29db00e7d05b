"""The student's own pages (/me…): their dossier, change requests and confirmations,
notifications, consents, destruction request, their data to download, feedback.

The overview also tells the student of every activation of their web account (when,
newest first), so an activation that was not theirs shows on their own page.

Every page asks the services as the student (`Student.actor`, which carries the
student number) about the student's own number: another student's change id,
consent id or anything else reads as not found, because the services say so.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.core.contracts.approvals import ListNotifications
from dossier.core.contracts.intake import GetDossier
from dossier.gateway import student_changes, student_rights
from dossier.gateway.limits import say
from dossier.gateway.student_base import page, student_of
from dossier.gateway.web import account_of, gateway, locale_of, send


async def me(request: Request) -> Response:
    """个人档案: the dossier as the service shows it to the student, and what awaits them."""
    student = student_of(request)
    dossier, notifications = await asyncio.gather(
        send(request, student.actor, GetDossier(student_number=student.number)),
        send(request, student.actor, ListNotifications(student_number=student.number)),
    )
    to_confirm = [n for n in notifications.items if n.answerable and n.change_id]
    account = account_of(request)
    locale = locale_of(request)
    return page(
        request,
        student,
        "student/me.html",
        section="overview",
        dossier=dossier,
        to_confirm=to_confirm,
        activations=gateway(request).accounts.activations(account.id) if account else [],
        activations_text={k: say(f"activations.{k}", locale) for k in ("title", "body")},
    )


routes = [
    Route("/me", me),
    *student_changes.routes,
    *student_rights.routes,
]

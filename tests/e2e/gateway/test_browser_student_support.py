"""Steps the student and ops browser tests share (no tests here): staff acting over NATS with
tokens from the stack — the staff pages are someone else's — and a student activating their
one-time link in the browser."""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from playwright.sync_api import Page, expect

from dossier.core.attachments import Attachment
from dossier.core.commands import ReviewRegistration, SubmitRegistration
from dossier.core.enums import Channel, Decision, DocumentKind, IdDocumentType
from dossier.core.policy import Role
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails
from dossier.messaging.client import DossierClient
from tests.e2e.gateway.conftest import PASSWORD, Site
from tests.support.nats import sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_serial = itertools.count(1)


def serial() -> int:
    """A number no other person of the test run has: unique ID documents and phones."""
    return next(_serial)


class Staff:
    """A member of staff acting over NATS, as the CLI would (a token minted by the stack).

    Each call runs on its own thread and event loop: Playwright's sync API owns this one's.
    """

    def __init__(
        self,
        site: Site,
        actor_id: str,
        *roles: Role,
        branches: tuple[str, ...] = ("SH01",),
        student_number: str | None = None,
    ) -> None:
        self.nats_url = site.stack.url_for("staff")
        self.token = site.stack.token(
            actor_id, *roles, branches=branches, student_number=student_number
        )

    def __call__(self, message: Any, body: dict[str, Any] | None = None) -> Any:
        async def call() -> Any:
            nc = await sign_in(self.nats_url)
            try:
                client = DossierClient(nc, self.token, timeout=30)
                if isinstance(message, str):
                    return await client.request(message, body or {})
                return await client.send(message)
            finally:
                await nc.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, call()).result()


def desk(site: Site) -> Staff:
    return Staff(site, "desk-1", Role.FRONT_DESK)


def clerk(site: Site) -> Staff:
    """The enrolment officer who admits (录取) registrations."""
    return Staff(site, "clerk-1", Role.ENROLMENT_OFFICER)


def approver(site: Site) -> Staff:
    """The second person (审核人) who decides requests: never the one who made them."""
    return Staff(site, "approver-1", Role.APPROVER)


def admit(site: Site, registration_id: str) -> str:
    outcome = clerk(site)(
        ReviewRegistration(registration_id=registration_id, decision=Decision.APPROVE, reason="ok")
    )
    return str(outcome.student_number)


def new_student(site: Site, name: str = "林小雨") -> str:
    """Registered at the front desk with an ID copy and admitted: the student number."""
    n = serial()
    receipt = desk(site)(
        SubmitRegistration(
            branch="SH01",
            channel=Channel.FRONT_DESK,
            applicant=PersonalDetails(
                name=name,
                birth_date=date(1998, 3, 14),
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"P{n:08d}"),
                phone=f"1391000{n:04d}",
            ),
            needs=LearningNeeds(target_language="English", goals="IELTS 7"),
            attachments=(
                Attachment(
                    kind=DocumentKind.ID_PROOF,
                    media_type="image/png",
                    content=base64.b64encode(PNG).decode(),
                ),
            ),
        )
    )
    return admit(site, receipt.registration_id)


def activate(page: Page, link: str, password: str = PASSWORD) -> None:
    """The student opens their one-time link, chooses a password and lands on their records."""
    page.goto(link)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/me$"))


def notification_code(site: Site, number: str) -> str:
    """The student's own open code, as the service names it to them (a student's token)."""
    student = Staff(site, f"web:{number}", Role.STUDENT, student_number=number)
    page = student("notification.list", {"student_number": number})
    return str(next(n["code"] for n in page["items"] if n.get("code")))

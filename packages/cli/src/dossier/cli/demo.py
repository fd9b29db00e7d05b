"""`dossier demo`: the records process, narrated, on a real embedded stack.

It starts the stack in a fresh data folder (SQLite, a nats-server of its own,
a local object store), then plays the people of a school: a front-desk clerk
registers students, an enrolment officer reviews and admits them, courses
and payments are recorded, and it shows what each role may see, the events
published and the audit chain verified. Every step is a NATS request to the
running services, exactly as any client would send it.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import nats

from dossier.cli.init import initialise
from dossier.cli.stack import EmbeddedStack
from dossier.core.attachments import Attachment
from dossier.core.commands import (
    EnrolCourse,
    RecordPayment,
    ReviewRegistration,
    SubmitRegistration,
)
from dossier.core.enums import (
    Channel,
    Decision,
    DocumentKind,
    IdDocumentType,
    PaymentMethod,
)
from dossier.core.policy import Actor, Role
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.embedded import free_port
from dossier.messaging.events import EVENTS_STREAM
from dossier.messaging.tokens import TokenIssuer, private_key_from
from dossier.storage.db import Database

Say = Callable[[str], None]

ID_SCAN = b"\x89PNG\r\n\x1a\n" + b"\x00" * 48 + b"scan of an identity card"
RECEIPT = b"%PDF-1.7\n% receipt WX-20261128-0001\n"


def _applicant(passport: str, phone: str) -> PersonalDetails:
    return PersonalDetails(
        name="陈静怡",
        birth_date=date(2001, 4, 12),
        id_document=IdDocument(type=IdDocumentType.PASSPORT, number=passport),
        phone=phone,
        email="jingyi.chen@example.cn",
    )


def _form(applicant: PersonalDetails) -> SubmitRegistration:
    return SubmitRegistration(
        branch="SH01",
        channel=Channel.FRONT_DESK,
        applicant=applicant,
        needs=LearningNeeds(
            target_language="en",
            current_level="B1",
            goals="IELTS 7.0 for a master's programme",
            preferred_schedule="weekday evenings",
        ),
        attachments=(
            Attachment(
                kind=DocumentKind.ID_PROOF,
                media_type="image/png",
                content=base64.b64encode(ID_SCAN).decode(),
            ),
        ),
    )


class Walkthrough:
    def __init__(self, stack: EmbeddedStack, say: Say) -> None:
        self.stack = stack
        self.say = say
        key_file = stack.config.token_private_key_file
        assert key_file is not None
        self.issuer = TokenIssuer(private_key_from(key_file.read_text().strip()))

    def token(self, actor_id: str, role: Role) -> str:
        actor = Actor(id=actor_id, roles={role}, branches={"SH01"})
        return self.issuer.issue(actor, ttl=timedelta(minutes=30))

    async def run(self) -> dict[str, Any]:
        say = self.say
        nc = await nats.connect(self.stack.nats_url)
        try:
            desk = DossierClient(nc, self.token("clerk.li", Role.FRONT_DESK))
            desk_en = DossierClient(nc, self.token("clerk.li", Role.FRONT_DESK), locale="en")
            officer = DossierClient(nc, self.token("officer.wang", Role.ENROLMENT_OFFICER))

            say("1. 前台 The front-desk clerk types in a registration form with two mistakes.")
            wrong = attrs.evolve(
                _form(_applicant("E1234567", "138 0013 800")),
                needs=LearningNeeds(target_language=""),
            )
            for client, label in ((desk, "zh-CN"), (desk_en, "en")):
                try:
                    await client.send(wrong)
                except RemoteError as refused:
                    say(f"   refused ({refused.code}), every problem at once, in {label}:")
                    for problem in refused.problems:
                        say(f"     - {problem.field}: {problem.message}")
            say("   Nothing was stored.")

            say("2. The clerk corrects the form and attaches a scan of the passport.")
            receipt = await desk.send(_form(_applicant("E1234567", "+86 138 0013 8000")))
            say(f"   registration {receipt['registration_id'][:8]}… is waiting for review.")

            say("3. 招生 The enrolment officer reviews it: no probable duplicates; admitted.")
            outcome = await officer.send(
                ReviewRegistration(
                    registration_id=receipt["registration_id"],
                    decision=Decision.APPROVE,
                    reason="identity and contact checked",
                )
            )
            number = outcome["student_number"]
            parsed = DEFAULT_FORMAT.parse(number)
            say(f"   student number {number} (branch {parsed.prefix}, check character valid)")

            say("4. Someone registers again with the same passport at the front desk.")
            again = await desk.send(_form(_applicant("E1234567", "+86 139 1234 5678")))
            try:
                await officer.send(
                    ReviewRegistration(
                        registration_id=again["registration_id"],
                        decision=Decision.APPROVE,
                        reason="looks fine",
                    )
                )
            except RemoteError as refused:
                say(f"   acceptance refused: {refused.message}")
            await officer.send(
                ReviewRegistration(
                    registration_id=again["registration_id"],
                    decision=Decision.REJECT,
                    reason=f"duplicate of {number}",
                )
            )
            say("   the officer rejects it as a duplicate, with the reason recorded.")

            say("5. A course is chosen, the fee paid by WeChat Pay, the receipt filed.")
            await officer.send(
                EnrolCourse(
                    student_number=number,
                    course_code="IELTS-EVE",
                    course_name="IELTS Academic (evenings)",
                    starts_on=date.today() + timedelta(days=3),
                )
            )
            await officer.send(
                RecordPayment(
                    student_number=number,
                    amount_minor=1_280_000,
                    currency="CNY",
                    method=PaymentMethod.WECHAT_PAY,
                    receipt_ref="WX-20261128-0001",
                    paid_at=datetime.now(UTC),
                )
            )
            from dossier.intake.api import AddDocument, GetDossier

            await officer.send(
                AddDocument(
                    student_number=number,
                    kind=DocumentKind.PAYMENT_RECEIPT,
                    media_type="application/pdf",
                    content=base64.b64encode(RECEIPT).decode(),
                )
            )

            say("6. What each role sees of the same dossier (学员档案):")
            full = await officer.send(GetDossier(student_number=number))
            masked = await desk.send(GetDossier(student_number=number))
            for label, view in (("enrolment officer", full), ("front desk", masked)):
                person = view["personal"]
                say(
                    f"   {label:>17}: {person['name']}, {person['phone']}, "
                    f"{person['id_number']}, {person['email']}"
                )
            say(
                f"   courses {len(full['enrolments'])}, payments {len(full['payments'])}, "
                f"documents {len(full['documents'])}, status {full['status']}"
            )

            js = nc.jetstream()
            for _ in range(50):
                info = await js.stream_info(EVENTS_STREAM)
                if info.state.messages >= 8:
                    break
                await asyncio.sleep(0.1)
            say(
                f"7. {info.state.messages} events published on JetStream (no personal data in any)."
            )
            return {"student_number": number, "events": info.state.messages}
        finally:
            await nc.close()


def run_demo(home: Path | None, say: Say = print) -> dict[str, Any]:
    folder = home or Path(tempfile.mkdtemp(prefix="dossier-demo-"))
    say(f"Dossier demo — data folder {folder}")
    if not (folder / "dossier.toml").exists():
        initialise(folder, nats_url=f"nats://127.0.0.1:{free_port()}")
    stack = EmbeddedStack(folder)
    say("Starting nats-server (JetStream), migrating SQLite, starting the intake service…")
    stack.start()
    try:
        say(f"   up: nats {stack.nats_url}, services {', '.join(stack.services)}")
        result = asyncio.run(Walkthrough(stack, say).run())
    finally:
        stack.stop()
    db = Database.open(stack.config.storage, upgrade=False)
    try:
        report = db.verify_audit()
    finally:
        db.dispose()
    entries = sum(report.branches.values())
    verdict = "intact" if report.ok else f"BROKEN at {report.breaks[0]}"
    say(f"8. Audit chain of {entries} entries verified: {verdict}.")
    say("Changes with a second approver, destruction and backups arrive with the approvals")
    say("and retention services. Stopped cleanly; the data stays in the folder above.")
    result["audit_ok"] = report.ok
    return result

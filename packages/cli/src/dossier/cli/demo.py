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
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from nats.js.api import StreamInfo

from dossier.cli.init import initialise
from dossier.cli.stack import EmbeddedStack
from dossier.core.attachments import Attachment
from dossier.core.commands import (
    AnswerChange,
    ChangeStudentStatus,
    EnrolCourse,
    RecordPayment,
    ReviewChange,
    ReviewDestruction,
    ReviewRegistration,
    SubmitChange,
    SubmitDestruction,
    SubmitRegistration,
)
from dossier.core.contracts.approvals import ListNotifications
from dossier.core.contracts.intake import AddDocument, GetDossier
from dossier.core.contracts.retention import (
    Certificate,
    CreateBackup,
    ListCertificates,
    VerifyBackup,
)
from dossier.core.enums import (
    Channel,
    Decision,
    DocumentKind,
    IdDocumentType,
    PaymentMethod,
    StudentStatus,
)
from dossier.core.policy import Actor, Role
from dossier.core.records import FieldChange, IdDocument, LearningNeeds, PersonalDetails
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.connection import connect
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

    def token(self, actor_id: str, role: Role, student_number: str | None = None) -> str:
        branches = {"*"} if role in {Role.OPERATOR, Role.AUDITOR} else {"SH01"}
        actor = Actor(id=actor_id, roles={role}, branches=branches, student_number=student_number)
        return self.issuer.issue(actor, ttl=timedelta(minutes=30))

    async def approvals_and_retention(self, nc: Any, number: str) -> dict[str, Any]:
        """Steps 9–13: a change with a second approver, withdrawal, destruction, backup."""
        say = self.say
        student = DossierClient(nc, self.token(f"student:{number}", Role.STUDENT, number))
        officer = DossierClient(nc, self.token("officer.wang", Role.ENROLMENT_OFFICER))
        manager = DossierClient(nc, self.token("manager.zhao", Role.APPROVER))
        operator = DossierClient(nc, self.token("operator.sun", Role.OPERATOR), timeout=60)

        say("9. 信息变更 The student asks to change her phone number, giving a reason.")
        change = await student.send(
            SubmitChange(
                student_number=number,
                changes=(FieldChange(field="personal.phone", after="+86 139 8765 4321"),),
                reason="new phone contract",
            )
        )
        try:
            await officer.send(
                ReviewChange(change_id=change.change_id, decision=Decision.APPROVE, comment="x")
            )
        except RemoteError as refused:
            say(f"   the enrolment officer may not approve it: {refused.code}")
        await manager.send(
            ReviewChange(
                change_id=change.change_id,
                decision=Decision.APPROVE,
                comment="checked against the new contract",
            )
        )
        say("   the branch manager (a second person) approves: applied, reason and time audited.")
        notes = await student.send(ListNotifications(student_number=number))
        text = next(n.text for n in notes.items if n.answerable)
        code = re.search(r"[A-Za-z0-9_-]{20,}", text)
        assert code is not None
        say(f"   notice to the student: {text.replace(code.group(0), '••••')}")
        await student.send(
            AnswerChange(change_id=change.change_id, token=code.group(0), confirm=True)
        )
        say("   the student confirms the change with the one-time code.")

        say("10. 退学 The student withdraws; she asks for her data to be destroyed.")
        await officer.send(
            ChangeStudentStatus(
                student_number=number, target=StudentStatus.WITHDRAWN, reason="moved abroad"
            )
        )
        request = await student.send(
            SubmitDestruction(student_number=number, reason="I have left the school")
        )
        await manager.send(
            ReviewDestruction(
                request_id=request.request_id, decision=Decision.APPROVE, reason="no hold"
            )
        )
        say("   approved by the branch manager; the retention service executes it.")
        certificate: Certificate | None = None
        for _ in range(100):
            page = await operator.send(ListCertificates(branch="SH01"))
            if page.items and page.items[0].verification is not None:
                certificate = page.items[0]
                break
            await asyncio.sleep(0.2)
        verification = certificate.verification if certificate is not None else None
        verified = verification is not None and verification.ok
        say(
            f"11. 销毁证明 certificate {certificate.id[:8] if certificate else '?'}…: "
            f"{certificate.method if certificate else '?'}"
        )
        for kept in certificate.kept if certificate else ():
            if kept.count:
                say(f"    kept {kept.count} {kept.what} — {kept.ground.split(';')[0]}")
        say(f"    verification: {'nothing decryptable remains' if verified else '?'}")
        try:
            await officer.send(GetDossier(student_number=number))
        except RemoteError as gone:
            say(f"    reading the dossier now: {gone.message}")

        say("12. 备份 The operator takes a backup and verifies every part.")
        backup = await operator.send(CreateBackup())
        check = await operator.send(VerifyBackup(backup_id=backup.id))
        say(
            f"    backup {backup.id}: {backup.parts} part(s), {backup.rows} rows, "
            f"{backup.objects} objects — verified {'ok' if check.ok else 'FAILED'}"
        )
        return {
            "certificate_ok": verified,
            "backup_ok": check.ok,
        }

    async def events_stream(self) -> StreamInfo:
        """The events stream as an operator sees it (staff may not use the JetStream API)."""
        ops = await connect(self.stack.config.bus("ops"), "dossier-demo-ops")
        try:
            js = ops.jetstream()
            for _ in range(50):
                info = await js.stream_info(EVENTS_STREAM)
                if info.state.messages >= 8:
                    break
                await asyncio.sleep(0.1)
            return info
        finally:
            await ops.close()

    async def run(self) -> dict[str, Any]:
        say = self.say
        nc = await connect(self.stack.config.bus("staff"), "dossier-demo")
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
                        say(f"     - {problem.message}")
            say("   Nothing was stored.")

            say("2. The clerk corrects the form and attaches a scan of the passport.")
            receipt = await desk.send(_form(_applicant("E1234567", "+86 138 0013 8000")))
            say(f"   registration {receipt.registration_id[:8]}… is waiting for review.")

            say("3. 招生 The enrolment officer reviews it: no probable duplicates; admitted.")
            outcome = await officer.send(
                ReviewRegistration(
                    registration_id=receipt.registration_id,
                    decision=Decision.APPROVE,
                    reason="identity and contact checked",
                )
            )
            number = outcome.student_number
            parsed = DEFAULT_FORMAT.parse(number)
            say(f"   student number {number} (branch {parsed.prefix}, check character valid)")

            say("4. Someone registers again with the same passport at the front desk.")
            again = await desk.send(_form(_applicant("E1234567", "+86 139 1234 5678")))
            try:
                await officer.send(
                    ReviewRegistration(
                        registration_id=again.registration_id,
                        decision=Decision.APPROVE,
                        reason="looks fine",
                    )
                )
            except RemoteError as refused:
                say(f"   acceptance refused: {refused.message}")
            await officer.send(
                ReviewRegistration(
                    registration_id=again.registration_id,
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
                person = view.personal
                say(
                    f"   {label:>17}: {person.name}, {person.phone}, "
                    f"{person.id_number}, {person.email}"
                )
            say(
                f"   courses {len(full.enrolments)}, payments {len(full.payments)}, "
                f"documents {len(full.documents)}, status {full.status.value}"
            )

            info = await self.events_stream()
            say(f"7. {info.state.messages} events so far on JetStream, none with personal data.")
            result = await self.approvals_and_retention(nc, number)
            return {"student_number": number, **result}
        finally:
            await nc.close()


def run_demo(home: Path | None, say: Say = print) -> dict[str, Any]:
    folder = home or Path(tempfile.mkdtemp(prefix="dossier-demo-"))
    say(f"Dossier demo — data folder {folder}")
    if not (folder / "dossier.toml").exists():
        initialise(folder, nats_url=f"nats://127.0.0.1:{free_port()}")
    stack = EmbeddedStack(folder)
    say("Starting nats-server (JetStream), migrating SQLite, starting the services…")
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
    say("Stopped cleanly; the data stays in the folder above.")
    result["audit_ok"] = report.ok
    return result

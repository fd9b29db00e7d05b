"""The intake service end to end: a real nats-server, real PostgreSQL, real service processes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy

from dossier.core import wire
from dossier.core.attachments import Attachment
from dossier.core.commands import (
    EnrolCourse,
    RecordPayment,
    ReviewRegistration,
    SubmitRegistration,
)
from dossier.core.contracts.intake import (
    AddDocument,
    DossierChanged,
    GetDocument,
    GetDossier,
    GetRegistration,
)
from dossier.core.enums import (
    Channel,
    Decision,
    DocumentKind,
    IdDocumentType,
    PaymentMethod,
    RegistrationStatus,
    StudentStatus,
)
from dossier.core.policy import Role
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.events import EVENTS_STREAM
from dossier.storage.schema import (
    audit_log,
    idempotency_keys,
    outbox,
    registrations,
    students,
)
from tests.support.nats import operator_reads, sign_in
from tests.support.stack import Stack

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"id-card-scan"
PDF = b"%PDF-1.7\n" + b"receipt" * 50


def applicant(n: int = 0) -> PersonalDetails:
    return PersonalDetails(
        name="王小明",
        birth_date=date(1999, 12, 31),
        id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{10_000_000 + n}"),
        phone=f"+86 139 {n:04d} {n % 10_000:04d}",
    )


def submission(n: int = 0, branch: str = "SH01") -> SubmitRegistration:
    return SubmitRegistration(
        branch=branch,
        channel=Channel.FRONT_DESK,
        applicant=applicant(n),
        needs=LearningNeeds(target_language="en", current_level="B1", goals="IELTS 7"),
        attachments=(
            Attachment(
                kind=DocumentKind.ID_PROOF,
                media_type="image/png",
                content=base64.b64encode(PNG).decode(),
            ),
        ),
    )


def run(stack: Stack, scenario: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        nc = await sign_in(stack.url_for("staff"))
        try:
            await scenario(nc)
        finally:
            await nc.close()

    asyncio.run(main())


def counts(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(
                    sqlalchemy.select(sqlalchemy.func.count()).select_from(table)
                ).scalar_one()
                for table in (registrations, students, audit_log, outbox)
            }
    finally:
        engine.dispose()


@pytest.fixture
def intake(dossier_stack: Stack) -> Stack:
    dossier_stack.start("intake")
    dossier_stack.wait_until_serving("intake")
    return dossier_stack


def test_registration_to_admitted_dossier_with_course_payment_and_documents(intake: Stack) -> None:
    desk = intake.token("desk-1", Role.FRONT_DESK)
    officer = intake.token("officer-1", Role.ENROLMENT_OFFICER)

    async def scenario(nc: Any) -> None:
        front_desk = DossierClient(nc, desk)
        staff = DossierClient(nc, officer, locale="en")
        receipt = await front_desk.send(submission())
        assert receipt.status == RegistrationStatus.SUBMITTED

        seen = await staff.send(GetRegistration(registration_id=receipt.registration_id))
        assert seen.applicant.name == "王小明"  # officers see names unmasked
        assert seen.duplicates == ()

        outcome = await staff.send(
            ReviewRegistration(
                registration_id=receipt.registration_id,
                decision=Decision.APPROVE,
                reason="documents checked",
            )
        )
        number = outcome.student_number
        assert outcome.status == RegistrationStatus.ACCEPTED
        assert DEFAULT_FORMAT.parse(number).prefix == "SH01"

        await staff.send(
            EnrolCourse(
                student_number=number,
                course_code="IELTS-A",
                course_name="IELTS Academic",
                starts_on=date(2026, 12, 1),
            )
        )
        changed = await staff.send(
            RecordPayment(
                student_number=number,
                amount_minor=880_000,
                currency="CNY",
                method=PaymentMethod.WECHAT_PAY,
                receipt_ref="WX-0001",
                paid_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
            )
        )
        assert changed == DossierChanged(
            student_number=number, version=3, change="payment.recorded"
        )
        dossier = await staff.send(GetDossier(student_number=number))
        assert [c.course_code for c in dossier.enrolments] == ["IELTS-A"]
        assert dossier.payments[0].amount_minor == 880_000
        assert dossier.status == StudentStatus.ENROLLED

        receipt_ref = await staff.send(
            AddDocument(
                student_number=number,
                kind=DocumentKind.PAYMENT_RECEIPT,
                media_type="application/pdf",
                content=base64.b64encode(PDF).decode(),
            )
        )
        dossier = await staff.send(GetDossier(student_number=number))
        kinds = {d.kind: d.sha256 for d in dossier.documents}
        assert kinds == {
            "id_proof": hashlib.sha256(PNG).hexdigest(),
            "payment_receipt": receipt_ref.sha256,
        }
        for content, sha in ((PNG, kinds["id_proof"]), (PDF, kinds["payment_receipt"])):
            fetched = await staff.send(GetDocument(student_number=number, sha256=sha))
            assert base64.b64decode(fetched.content) == content

        masked = await front_desk.send(GetDossier(student_number=number))
        assert masked.personal.name == "王**"
        assert "****" in masked.personal.phone

        js = (await sign_in(intake.url_for("ops"))).jetstream()  # as an operator inspects it
        for _ in range(50):
            if (await js.stream_info(EVENTS_STREAM)).state.messages >= 6:
                break
            await asyncio.sleep(0.1)
        sub = await operator_reads(js, "dossier.events.SH01.>", "e2e-check")
        messages = await sub.fetch(20, timeout=2)
        types = [m.subject.split(".", 3)[3] for m in messages]
        assert types == [
            "registration.submitted",
            "registration.decided",
            "student.admitted",
            "student.record_changed",
            "student.record_changed",
            "student.record_changed",
        ]
        for message in messages:
            assert "王小明" not in message.data.decode()
            assert "E10000000" not in message.data.decode()

    run(intake, scenario)
    assert counts(intake.database_url)["students"] == 1
    engine = sqlalchemy.create_engine(intake.database_url)
    with engine.connect() as conn:
        answers = b"".join(conn.execute(sqlalchemy.select(idempotency_keys.c.response)).scalars())
    engine.dispose()
    assert answers, "the changing requests' answers were not kept for retries"
    for personal in ("王小明", "E10000000", "13900000000"):
        assert personal.encode() not in answers, "a kept answer holds personal data"


def test_the_same_submission_sent_three_times_with_one_key_registers_once(intake: Stack) -> None:
    desk = intake.token("desk-1", Role.FRONT_DESK)

    async def scenario(nc: Any) -> None:
        client = DossierClient(nc, desk)
        answers = [
            await client.send(submission(7), idempotency_key="same-key-0001") for _ in range(3)
        ]
        assert len({a.registration_id for a in answers}) == 1

    run(intake, scenario)
    assert counts(intake.database_url)["registrations"] == 1


def test_bad_requests_get_structured_errors_and_write_nothing(intake: Stack) -> None:
    desk = intake.token("desk-1", Role.FRONT_DESK)
    officer_elsewhere = intake.token("officer-9", Role.ENROLMENT_OFFICER, branches=("BJ01",))
    officer = intake.token("officer-1", Role.ENROLMENT_OFFICER)

    async def raw(nc: Any, verb: str, body: bytes, token: str | None) -> tuple[str, dict[str, Any]]:
        headers = {"Idempotency-Key": "bad-request-01"}
        if token is not None:
            headers["Dossier-Actor"] = token
        reply = await nc.request(f"dossier.intake.{verb}", body, headers=headers, timeout=5)
        status = (reply.headers or {}).get("Nats-Service-Error-Code", "200")
        return status, json.loads(reply.data)

    async def scenario(nc: Any) -> None:
        good = json.loads(wire.dumps(submission(1)))
        before = counts(intake.database_url)

        status, body = await raw(nc, "registration.submit", b"{", desk)
        assert (status, body["error"]["problems"][0]["rule"]) == ("400", "malformed_json")

        wrong = {**good, "guardian_consent": "yes", "applicant": {**good["applicant"], "phone": 5}}
        status, body = await raw(nc, "registration.submit", json.dumps(wrong).encode(), desk)
        assert status == "400"
        assert {(p["field"], p["rule"]) for p in body["error"]["problems"]} == {
            ("guardian_consent", "wrong_type"),
            ("applicant.phone", "wrong_type"),
        }

        unknown = {**good, "admin": True}
        status, body = await raw(nc, "registration.submit", json.dumps(unknown).encode(), desk)
        assert [(p["field"], p["rule"]) for p in body["error"]["problems"]] == [
            ("admin", "unknown_field")
        ]

        invalid = {**good, "applicant": {**good["applicant"], "phone": "12345", "name": "X1"}}
        status, body = await raw(nc, "registration.submit", json.dumps(invalid).encode(), desk)
        assert {(p["field"], p["rule"]) for p in body["error"]["problems"]} == {
            ("applicant.phone", "phone_format"),
            ("applicant.name", "name_characters"),
        }
        assert all("12345" not in p["message"] for p in body["error"]["problems"])

        huge = {**good, "needs": {**good["needs"], "goals": "x" * 1_000_000}}
        status, body = await raw(nc, "registration.submit", json.dumps(huge).encode(), desk)
        assert (status, body["error"]["code"]) == ("413", "payload_too_large")

        fake = {**good, "attachments": [{**good["attachments"][0], "content": "PHNjcmlwdD4="}]}
        status, body = await raw(nc, "registration.submit", json.dumps(fake).encode(), desk)
        assert body["error"]["problems"][0]["rule"] == "content_type_mismatch"

        for token, code in ((None, "token_missing"), ("x.y.z", "token_invalid")):
            status, body = await raw(nc, "registration.submit", wire.dumps(submission(1)), token)
            assert (status, body["error"]["code"]) == ("401", code)

        assert counts(intake.database_url) == before

        pending = await DossierClient(nc, desk).send(submission(3))
        with pytest.raises(RemoteError) as desk_review:
            await DossierClient(nc, desk).send(
                ReviewRegistration(
                    registration_id=pending.registration_id, decision=Decision.REJECT, reason="x"
                )
            )
        assert (desk_review.value.code, desk_review.value.status) == ("access_denied", 403)
        submitted = await DossierClient(nc, desk).send(submission(2))
        admitted = await DossierClient(nc, officer).send(
            ReviewRegistration(
                registration_id=submitted.registration_id, decision=Decision.APPROVE, reason="ok"
            )
        )
        before = counts(intake.database_url)
        with pytest.raises(RemoteError) as hidden:
            await DossierClient(nc, officer_elsewhere).send(
                GetDossier(student_number=admitted.student_number)
            )
        assert (hidden.value.code, hidden.value.status) == ("not_found", 404)
        with pytest.raises(RemoteError) as refused:
            await DossierClient(nc, officer_elsewhere).send(
                EnrolCourse(
                    student_number=admitted.student_number,
                    course_code="X",
                    course_name="X",
                    starts_on=date(2026, 12, 1),
                )
            )
        assert refused.value.code == "not_found"
        assert counts(intake.database_url) == before

    run(intake, scenario)

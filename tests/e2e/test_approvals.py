"""The approvals service end to end: real nats-server and PostgreSQL, real service processes.

Students are admitted through intake; everything after goes through approvals
over NATS. Every state change is counted: one audit entry and one event per
record transition, nothing when a request is refused.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import func, select

from dossier.core.attachments import Attachment
from dossier.core.commands import (
    ChangeStudentStatus,
    RebaseChange,
    RecordConsent,
    RecordDisclosure,
    ReviewChange,
    ReviewDestruction,
    ReviewRegistration,
    SubmitChange,
    SubmitDestruction,
    SubmitRegistration,
)
from dossier.core.contracts.approvals import (
    ConfirmChange,
    DisputeChange,
    GetChange,
    GetDestruction,
    ListChanges,
    ListDisclosures,
    ListNotifications,
)
from dossier.core.contracts.intake import GetDossier
from dossier.core.enums import (
    ChangeStatus,
    Channel,
    ConsentGiver,
    ConsentPurpose,
    Decision,
    DestructionStatus,
    DocumentKind,
    IdDocumentType,
    StudentStatus,
)
from dossier.core.policy import Role
from dossier.core.records import FieldChange, IdDocument, LearningNeeds, PersonalDetails
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.events import EVENTS_STREAM
from dossier.storage.db import Database
from dossier.storage.schema import (
    audit_log,
    change_requests,
    destruction_requests,
    disclosures,
    notifications,
    outbox,
    students,
)
from tests.support.nats import operator_reads, sign_in
from tests.support.stack import Stack, logs

NAME_MARKER = "Qzxwvmarker"
ID_MARKER = "E93817264"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"id-card-scan"
CODE = re.compile(r"[A-Za-z0-9_-]{24}")


@pytest.fixture
def services(dossier_stack: Stack) -> Stack:
    dossier_stack.start("intake")
    dossier_stack.start("approvals")
    dossier_stack.wait_until_serving("intake")
    dossier_stack.wait_until_serving("approvals")
    return dossier_stack


def run(stack: Stack, scenario: Callable[[Any], Awaitable[None]]) -> None:
    async def main() -> None:
        nc = await sign_in(stack.url_for("staff"))
        try:
            await scenario(nc)
        finally:
            await nc.close()

    asyncio.run(main())


class Db:
    """Direct looks at the test's PostgreSQL: counts per action, versions, rows."""

    def __init__(self, url: str) -> None:
        self.engine = sqlalchemy.create_engine(url)

    def scalar(self, query: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def actions(self) -> dict[str, int]:
        query = select(audit_log.c.action, func.count()).group_by(audit_log.c.action)
        return {a: int(n) for a, n in self.rows(query)}

    def events(self) -> dict[str, int]:
        return {
            t: int(n)
            for t, n in self.rows(select(outbox.c.type, func.count()).group_by(outbox.c.type))
        }

    def state(self) -> dict[str, Any]:
        """What must not move when a decision is refused."""
        return {
            "actions": self.actions(),
            "events": self.events(),
            "versions": sorted(self.rows(select(students.c.student_number, students.c.version))),
            "changes": sorted(
                self.rows(
                    select(
                        change_requests.c.id, change_requests.c.status, change_requests.c.version
                    )
                )
            ),
            "destructions": sorted(
                self.rows(
                    select(
                        destruction_requests.c.id,
                        destruction_requests.c.status,
                        destruction_requests.c.version,
                    )
                )
            ),
            "notifications": self.scalar(select(func.count()).select_from(notifications)),
        }


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    keys = set(before) | set(after)
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)
    }


async def admit(stack: Stack, nc: Any, n: int) -> str:
    """Through intake: the front desk registers, an officer admits. Markers in name and ID."""
    desk = DossierClient(nc, stack.token("desk-1", Role.FRONT_DESK))
    officer = DossierClient(nc, stack.token("officer-1", Role.ENROLMENT_OFFICER))
    receipt = await desk.send(
        SubmitRegistration(
            branch="SH01",
            channel=Channel.FRONT_DESK,
            applicant=PersonalDetails(
                name=f"王{NAME_MARKER}",
                birth_date=date(2000, 5, 17),
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"{ID_MARKER}{n}"),
                phone=f"+86 138 0013 {n:04d}",
            ),
            needs=LearningNeeds(target_language="en", goals="IELTS 7"),
            attachments=(
                Attachment(
                    kind=DocumentKind.ID_PROOF,
                    media_type="image/png",
                    content=base64.b64encode(PNG).decode(),
                ),
            ),
        )
    )
    outcome = await officer.send(
        ReviewRegistration(
            registration_id=receipt.registration_id, decision=Decision.APPROVE, reason="ok"
        )
    )
    return str(outcome.student_number)


async def code_of(client: DossierClient, number: str) -> str:
    page = await client.send(ListNotifications(student_number=number))
    found = CODE.findall(page.items[0].text)
    assert len(found) == 1
    return str(found[0])


def change(number: str, field: str, after: str) -> SubmitChange:
    return SubmitChange(
        student_number=number, changes=(FieldChange(field=field, after=after),), reason="信息有变"
    )


def test_change_requests_end_to_end(services: Stack) -> None:
    db = Db(services.database_url)
    approver_token = services.token("approver-1", Role.APPROVER)
    second_approver = services.token("approver-2", Role.APPROVER)
    manager = services.token("manager-1", Role.ENROLMENT_OFFICER, Role.APPROVER)
    elsewhere = services.token("approver-hk", Role.APPROVER, branches=("HK01",))
    officer_token = services.token("officer-1", Role.ENROLMENT_OFFICER)

    async def scenario(nc: Any) -> None:
        number = await admit(services, nc, 1)
        me = DossierClient(nc, services.token("stu-1", Role.STUDENT, student_number=number))
        approver = DossierClient(nc, approver_token, locale="en")
        officer = DossierClient(nc, officer_token)

        # submitted by the student, approved by a second person, applied, confirmed
        before = (db.actions(), db.events())
        submitted = await me.send(change(number, "personal.phone", "+8613911112222"))
        approved = await approver.send(
            ReviewChange(change_id=submitted.change_id, decision=Decision.APPROVE, comment="ok")
        )
        assert approved.status == ChangeStatus.APPLIED
        dossier = await officer.send(GetDossier(student_number=number))  # intake sees it
        assert dossier.personal.phone == "+8613911112222"
        assert dossier.version == 2
        confirmed = await me.send(
            ConfirmChange(change_id=submitted.change_id, token=await code_of(me, number))
        )
        assert confirmed.status == ChangeStatus.CONFIRMED
        assert moved(before[0], db.actions()) == {
            "change.submitted": 1,
            "change.approved": 1,
            "student.record_changed": 1,
            "change.applied": 1,
            "change.confirmed": 1,
        }
        assert moved(before[1], db.events()) == {"change.moved": 4, "student.record_changed": 1}

        # a wrong code, a used code: refused
        with pytest.raises(RemoteError) as reused:
            await me.send(ConfirmChange(change_id=submitted.change_id, token="A" * 24))
        assert (reused.value.code, reused.value.status) == ("access_denied", 403)

        # rejected: the dossier is untouched, the student is told
        rejected_one = await me.send(change(number, "needs.goals", "TOEFL 100"))
        before = (db.actions(), db.events())
        rejected = await approver.send(
            ReviewChange(
                change_id=rejected_one.change_id, decision=Decision.REJECT, comment="无依据"
            )
        )
        assert rejected.status == ChangeStatus.REJECTED
        assert moved(before[0], db.actions()) == {"change.rejected": 1}
        assert moved(before[1], db.events()) == {"change.moved": 1}
        assert (await officer.send(GetDossier(student_number=number))).version == 2

        # disputed: back to review
        disputed_one = await me.send(change(number, "personal.email", "wang@example.cn"))
        await approver.send(
            ReviewChange(change_id=disputed_one.change_id, decision=Decision.APPROVE, comment="")
        )
        disputed = await me.send(
            DisputeChange(
                change_id=disputed_one.change_id,
                token=await code_of(me, number),
                reason="邮箱写错了",
            )
        )
        assert disputed.status == ChangeStatus.DISPUTED
        queue = await approver.send(ListChanges(branch="SH01", status=ChangeStatus.DISPUTED))
        assert [c.change_id for c in queue.items] == [disputed_one.change_id]

        # four-eyes and branch scope, on a request the manager made
        own = await DossierClient(nc, manager).send(change(number, "needs.goals", "DELE B2"))
        before_state = db.state()
        for token, code, status in ((manager, "access_denied", 403), (elsewhere, "not_found", 404)):
            for decision in Decision:
                with pytest.raises(RemoteError) as refused:
                    await DossierClient(nc, token).send(
                        ReviewChange(change_id=own.change_id, decision=decision, comment="x")
                    )
                assert (refused.value.code, refused.value.status) == (code, status)
        with pytest.raises(RemoteError) as hidden:  # a rebase is no decision: scope applies
            await DossierClient(nc, elsewhere).send(
                RebaseChange(change_id=own.change_id, comment="x")
            )
        assert hidden.value.code == "not_found"
        assert db.state() == before_state

        # stale: the dossier changed in between (the goals above) → refused, re-based, approved
        first = await me.send(change(number, "personal.address", "上海市黄浦区1号"))
        await DossierClient(nc, second_approver).send(
            ReviewChange(change_id=own.change_id, decision=Decision.APPROVE, comment="")
        )
        with pytest.raises(RemoteError) as stale:
            await approver.send(
                ReviewChange(change_id=first.change_id, decision=Decision.APPROVE, comment="")
            )
        assert (stale.value.code, stale.value.status) == ("stale_change", 409)
        assert "re-base" in stale.value.message
        view = await approver.send(GetChange(change_id=first.change_id))
        assert view.stale
        rebased = await approver.send(RebaseChange(change_id=first.change_id, comment="核对"))
        assert rebased.dossier_version == view.current_dossier_version
        applied = await approver.send(
            ReviewChange(change_id=first.change_id, decision=Decision.APPROVE, comment="")
        )
        assert applied.status == ChangeStatus.APPLIED
        after_rebase = await officer.send(GetDossier(student_number=number))
        assert after_rebase.personal.address == "上海市黄浦区1号"

        # notifications: the student's number, a code; never a name or an ID number
        staff_view = await officer.send(ListNotifications(student_number=number))
        student_view = await me.send(ListNotifications(student_number=number))
        texts = [i.text for i in (*staff_view.items, *student_view.items)]
        texts += db.rows(select(notifications.c.text))
        assert len(staff_view.items) == 5
        for text in map(str, texts):
            assert NAME_MARKER not in text
            assert ID_MARKER not in text
            assert "13911112222" not in text

        # events on the stream carry no personal value either
        js = (await sign_in(services.url_for("ops"))).jetstream()  # as an operator reads it
        sub = await operator_reads(js, "dossier.events.SH01.>", "e2e-approvals-check")
        total = sum(db.events().values())
        seen: list[Any] = []
        for _ in range(50):
            seen += await sub.fetch(100, timeout=2)
            if len(seen) >= total:
                break
        assert len(seen) == total
        for message in seen:
            for marker in (NAME_MARKER, ID_MARKER, "13911112222", "wang@example.cn"):
                assert marker not in message.data.decode()

    run(services, scenario)
    audit_is_intact_and_logs_are_clean(services)


def test_destruction_and_disclosure_end_to_end(services: Stack) -> None:
    db = Db(services.database_url)
    officer_token = services.token("officer-1", Role.ENROLMENT_OFFICER)
    approver_token = services.token("approver-1", Role.APPROVER)
    manager = services.token("manager-1", Role.ENROLMENT_OFFICER, Role.APPROVER)
    elsewhere = services.token("approver-hk", Role.APPROVER, branches=("HK01",))

    async def scenario(nc: Any) -> None:
        number = await admit(services, nc, 2)
        me = DossierClient(
            nc, services.token("stu-2", Role.STUDENT, student_number=number), locale="en"
        )
        officer = DossierClient(nc, officer_token)
        approver = DossierClient(nc, approver_token)

        # refused while enrolled, with the reason
        before = db.state()
        with pytest.raises(RemoteError) as enrolled:
            await me.send(SubmitDestruction(student_number=number, reason="please delete"))
        assert (enrolled.value.code, enrolled.value.status) == ("transition_refused", 409)
        assert "only completed or withdrawn students" in enrolled.value.message
        assert db.state() == before

        # withdrawn first (档案分类), then the request is taken
        history = await officer.send(
            ChangeStudentStatus(
                student_number=number, target=StudentStatus.WITHDRAWN, reason="退学"
            )
        )
        assert [h.to_status for h in history.history] == [
            StudentStatus.ENROLLED,
            StudentStatus.WITHDRAWN,
        ]
        request = await DossierClient(nc, manager).send(
            SubmitDestruction(student_number=number, reason="学员申请")
        )
        review = ReviewDestruction(
            request_id=request.request_id, decision=Decision.APPROVE, reason="符合条件"
        )
        before = db.state()
        for token, code in ((manager, "access_denied"), (elsewhere, "not_found")):
            with pytest.raises(RemoteError) as refused:
                await DossierClient(nc, token).send(review)
            assert refused.value.code == code
        assert db.state() == before

        before_counts = (db.actions(), db.events())
        approved = await approver.send(review)
        assert approved.status == DestructionStatus.APPROVED
        assert moved(before_counts[0], db.actions()) == {"destruction.approved": 1}
        assert moved(before_counts[1], db.events()) == {"destruction.moved": 1}
        seen = await me.send(GetDestruction(request_id=request.request_id))
        assert (seen.status, seen.on_hold) == (DestructionStatus.APPROVED, False)

        js = (await sign_in(services.url_for("ops"))).jetstream()  # as an operator reads it
        sub = await operator_reads(
            js, "dossier.events.SH01.destruction.moved", "e2e-retention-like"
        )
        statuses: list[str] = []
        for _ in range(50):
            for message in await sub.fetch(10, timeout=2):
                body = message.data.decode()
                statuses.append("approved" if '"approved"' in body else "submitted")
                assert request.request_id in body
            if "approved" in statuses:
                break
        assert statuses == ["submitted", "approved"]
        assert (await js.stream_info(EVENTS_STREAM)).state.messages >= 2

        # disclosure: refused without consent, allowed with it, logged
        disclose = RecordDisclosure(
            student_number=number,
            recipient="Cambridge English exam centre",
            purpose=ConsentPurpose.EXAM_BOARD,
            fields=("personal.name", "personal.birth_date"),
        )
        before = db.state()
        with pytest.raises(RemoteError) as no_consent:
            await officer.send(disclose)
        assert (no_consent.value.code, no_consent.value.status) == ("consent_required", 403)
        assert db.state() == before
        assert db.scalar(select(func.count()).select_from(disclosures)) == 0

        await me.send(
            RecordConsent(
                student_number=number,
                purpose=ConsentPurpose.EXAM_BOARD,
                given_by=ConsentGiver.STUDENT,
            )
        )
        before_counts = (db.actions(), db.events())
        logged = await officer.send(disclose)
        assert logged.fields == ("personal.name", "personal.birth_date")
        assert moved(before_counts[0], db.actions()) == {"disclosure.recorded": 1}
        assert moved(before_counts[1], db.events()) == {"disclosure.recorded": 1}
        rows = db.rows(select(disclosures.c.student_number, disclosures.c.recipient))
        assert rows == [(number, "Cambridge English exam centre")]
        mine = await me.send(ListDisclosures(student_number=number))
        assert [d.recipient for d in mine.items] == ["Cambridge English exam centre"]

    run(services, scenario)
    audit_is_intact_and_logs_are_clean(services)


def audit_is_intact_and_logs_are_clean(stack: Stack) -> None:
    database = Database.open(stack.config().storage, upgrade=False)
    try:
        assert database.verify_audit().ok
    finally:
        database.dispose()
    for name, text in logs(stack).items():
        assert "internal error" not in text, name
        for marker in (NAME_MARKER, ID_MARKER, "13911112222"):
            assert marker not in text, name

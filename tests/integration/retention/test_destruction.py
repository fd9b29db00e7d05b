"""Destruction (资料销毁): approved requests executed, certified and verified; nothing personal left
in any table, file or object version; idempotent, held back by legal holds, restartable; and the
JetStream consumer that executes what the approvals service approved."""

from __future__ import annotations

import asyncio
import base64
import secrets
import string
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from dossier.core import wire
from dossier.core.attachments import Attachment
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import RecordPayment, ReviewRegistration, SubmitRegistration
from dossier.core.contracts.intake import AddDocument
from dossier.core.contracts.retention import GetCertificate, ListCertificates
from dossier.core.enums import (
    ChangeStatus,
    Channel,
    Decision,
    DestructionStatus,
    DocumentKind,
    IdDocumentType,
    PaymentMethod,
    StudentStatus,
)
from dossier.core.errors import (
    AccessDenied,
    Destroyed,
    GuardRefused,
    IllegalTransition,
    NotFound,
)
from dossier.core.events import DestructionRequestMoved
from dossier.core.lifecycle import Context, Transitioned
from dossier.core.lifecycles import (
    approve_destruction,
    change_status,
    lift_legal_hold,
    set_legal_hold,
    submit_destruction,
)
from dossier.core.policy import Actor, Role
from dossier.core.records import (
    ChangeRequest,
    DestructionRequest,
    FieldChange,
    IdDocument,
    LearningNeeds,
    LegalHold,
    PersonalDetails,
)
from dossier.host.runtime import DatabaseOutbox
from dossier.intake.handlers import Caller as IntakeCaller
from dossier.intake.handlers import Intake
from dossier.messaging.events import (
    EVENTS_STREAM,
    PARKED_STREAM,
    DurableConsumer,
    OutboxRelay,
    ensure_streams,
)
from dossier.retention import ledger
from dossier.retention.certificates import METHOD
from dossier.retention.destruction import Destruction
from dossier.storage.audit import AuditSpec
from dossier.storage.data_map import ERASED
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import IdempotencyLedger, Once
from dossier.storage.objects import LocalObjectStore, ObjectStore, ObjectStoreError
from dossier.storage.schema import destruction_certificates, outbox, payments
from tests.integration.retention.conftest import DatabaseFactory
from tests.support.nats import BusServer, sign_in
from tests.support.s3 import unique_bucket
from tests.support.storage import raw_dump

BRANCHES = {
    "SH01": Branch(code="SH01", name="上海一校"),
    "BJ01": Branch(code="BJ01", name="北京一校"),
}
DESK = Actor(id="desk-1", roles={Role.FRONT_DESK}, branches={"SH01"})
OFFICER = Actor(id="officer-1", roles={Role.ENROLMENT_OFFICER}, branches={"SH01"})
APPROVER = Actor(id="approver-1", roles={Role.APPROVER}, branches={"SH01"})
OPERATOR = Actor(id="operator-1", roles={Role.OPERATOR}, branches={"SH01"})
OTHER_OPERATOR = Actor(id="operator-bj", roles={Role.OPERATOR}, branches={"BJ01"})
AUDITOR = Caller(Actor(id="auditor-1", roles={Role.AUDITOR}))
PNG = b"\x89PNG\r\n\x1a\n"


class Marker:
    """Distinctive personal values: a name, a passport number, a phone, an e-mail, an address."""

    def __init__(self) -> None:
        letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
        digits = "".join(secrets.choice(string.digits) for _ in range(8))
        self.name = f"Zq{letters}"
        self.passport = f"E{digits}"
        self.phone = f"139{digits[::-1]}"
        self.email = f"zq{letters}@example.cn"
        self.address = f"上海市{letters}路8号"

    @property
    def needles(self) -> tuple[str, ...]:
        return (self.name, self.passport, self.phone, f"zq{self.name[2:]}", self.address)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["local", "s3"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "objects")
    else:
        yield request.getfixturevalue("s3_store")


@pytest.fixture
def buckets(objects: ObjectStore) -> tuple[str, str]:
    documents, backups = unique_bucket("docs"), unique_bucket("backups")
    objects.ensure_bucket(documents, versioning=True)
    objects.ensure_bucket(backups, versioning=True)
    return documents, backups


def destruction(
    db: Database, objects: ObjectStore, buckets: tuple[str, str], **kw: Any
) -> Destruction:
    return Destruction(
        db, BRANCHES, objects, documents_bucket=buckets[0], backups_bucket=buckets[1], **kw
    )


def key() -> str:
    return f"key-{uuid.uuid4().hex}"


def admit_marked(db: Database, documents: DocumentStore, marker: Marker) -> tuple[str, str]:
    """A student registered, admitted, filed and paid through intake (every call with an
    idempotency key, as the service makes them), an answer kept for retries that shows the
    student's name, and an applied change request with evidence."""
    intake = Intake(db, BRANCHES, documents)
    receipt = intake.submit_registration(
        IntakeCaller(DESK, key()),
        SubmitRegistration(
            branch="SH01",
            channel=Channel.FRONT_DESK,
            applicant=PersonalDetails(
                name=marker.name,
                birth_date=date(1998, 3, 4),
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number=marker.passport),
                phone=f"+86{marker.phone}",
                email=marker.email,
                address=marker.address,
            ),
            needs=LearningNeeds(target_language="en", goals="IELTS"),
            attachments=(
                Attachment(
                    kind=DocumentKind.ID_PROOF,
                    media_type="image/png",
                    content=base64.b64encode(PNG + marker.passport.encode()).decode(),
                ),
            ),
        ),
    )
    outcome = intake.review_registration(
        IntakeCaller(OFFICER, key()),
        ReviewRegistration(
            registration_id=receipt.registration_id, decision=Decision.APPROVE, reason="ok"
        ),
    )
    number = outcome.student_number
    assert number is not None
    intake.add_document(
        IntakeCaller(OFFICER, key()),
        AddDocument(
            student_number=number,
            kind=DocumentKind.PAYMENT_RECEIPT,
            media_type="application/pdf",
            content=base64.b64encode(f"%PDF-1.4 receipt {marker.name}".encode()).decode(),
        ),
    )
    intake.record_payment(
        IntakeCaller(OFFICER, key()),
        RecordPayment(
            student_number=number,
            amount_minor=1_280_000,
            currency="CNY",
            method=PaymentMethod.WECHAT_PAY,
            receipt_ref="RC-2026-0042",
            paid_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        ),
    )
    with db.unit_of_work() as uow:  # an answer kept for retries that shows personal values
        answer = {"student_number": number, "personal": {"name": marker.name}}
        IdempotencyLedger(uow.connection).remember(
            Once("officer-1", key(), "fingerprint"), orjson.dumps(answer)
        )
        uow.commit()
    at = datetime.now(UTC) - timedelta(days=30)
    change = ChangeRequest(
        id=f"chg-{uuid.uuid4()}",
        student_number=number,
        branch="SH01",
        changes=(FieldChange(field="personal.address", before=marker.address, after="新地址"),),
        reason=f"moved away from {marker.address}",
        requested_by="student",
        requested_at=at,
        dossier_version=1,
        status=ChangeStatus.APPLIED,
        applied_at=at,
    )
    with db.unit_of_work() as uow:
        uow.apply(Transitioned(change, ()), AuditSpec(action="change.applied", actor="officer-1"))
        evidence = PNG + f"evidence {marker.name}".encode()
        documents.put(number, uow.students.data_key(number), evidence, "image/png")
        uow.commit()
    return number, receipt.registration_id


def approve(db: Database, number: str) -> str:
    """Withdrawn, then a destruction request submitted and approved by another person."""
    now = datetime.now(UTC)
    with db.unit_of_work() as uow:
        dossier = uow.students.get(number)
        withdrawn = change_status(
            dossier,
            StudentStatus.WITHDRAWN,
            Context(actor="officer-1", reason="left the school", at=now),
        )
        uow.apply(withdrawn, AuditSpec(action="status.changed"))
        request = DestructionRequest(
            id=f"dr-{uuid.uuid4()}",
            student_number=number,
            branch="SH01",
            reason="student asked",
            requested_by="officer-1",
            requested_at=now,
        )
        ctx = Context(actor="officer-1", reason="student asked", at=now)
        uow.apply(
            submit_destruction(request, withdrawn.record, ctx),
            AuditSpec(action="destruction.submitted"),
        )
        approved = approve_destruction(request, Context(actor="approver-1", reason="ok", at=now))
        uow.apply(approved, AuditSpec(action="destruction.approved"))
        uow.commit()
    return request.id


def objects_of(store: ObjectStore, bucket: str) -> dict[tuple[str, str | None], bytes]:
    return {
        (info.key, info.version_id): b""
        if info.is_delete_marker
        else store.get(bucket, info.key, info.version_id)
        for info in store.list_versions(bucket)
    }


def counted(db: Database, column: Any) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {k: int(n) for k, n in conn.execute(select(column, func.count()).group_by(column))}


def certificates(db: Database) -> int:
    with db.engine.connect() as conn:
        query = select(func.count()).select_from(destruction_certificates)
        return int(conn.execute(query).scalar_one())


def assert_nowhere(blob: bytes, marker: Marker) -> None:
    for needle in marker.needles:
        encoded = needle.encode()
        assert encoded not in blob, "a personal value survived the destruction"
        assert encoded.hex().encode() not in blob, "a personal value survived (hex)"


# -- execution -------------------------------------------------------------------------------


def test_executing_leaves_nothing_personal_anywhere_and_certifies_it(
    make_db: DatabaseFactory, engine: str, objects: ObjectStore, buckets: tuple[str, str]
) -> None:
    db = make_db(engine)
    marker, other = Marker(), Marker()
    documents = DocumentStore(objects, buckets[0])
    number, registration_id = admit_marked(db, documents, marker)
    kept_number, _ = admit_marked(db, documents, other)
    request_id = approve(db, number)
    before = objects_of(objects, buckets[0])
    assert sum(1 for k, _ in before if number in k or registration_id in k) == 3

    dump = raw_dump(db)  # the planted answer shows the detector works (bytea shows as hex)
    assert marker.name.encode() in dump or marker.name.encode().hex().encode() in dump

    retention = destruction(db, objects, buckets)
    certificate = retention.execute(request_id, OPERATOR)

    assert certificate.verification is not None
    assert certificate.verification.ok, certificate.verification.checks
    assert {c.name for c in certificate.verification.checks} >= {
        "records_unreadable",
        "data_keys_deleted",
        "sealed_fields_blank",
        "blind_indexes_removed",
        "stored_answers_removed",
        "object_versions_removed",
    }
    assert certificate.verification.object_versions_deleted == 3
    assert (certificate.approver, certificate.responsible_person) == ("approver-1", "operator-1")
    assert certificate.method == METHOD
    destroyed = certificate.destroyed
    assert destroyed.registrations == (registration_id,)
    assert len(destroyed.change_requests) == 1
    assert "changes[personal.address]" in destroyed.change_request_fields
    assert len(destroyed.documents) == 3  # ID proof, receipt, and the unreferenced evidence
    assert destroyed.blind_indexes >= 6
    assert destroyed.idempotency_answers >= 1
    kept = {k.what: k for k in certificate.kept}
    assert kept["payments"].count == 1
    assert "会计档案管理办法" in kept["payments"].ground
    assert kept["status_changes"].count == 3  # admitted, withdrawn, destroyed
    assert kept["payments"].erased == ("receipt_ref",)
    assert "receipt_ref" not in kept["payments"].fields
    assert {"free_text_erased", "account_closed", "restored_copies_removed"} <= {
        c.name for c in certificate.verification.checks
    }

    # nothing personal in any table or file …
    assert_nowhere(raw_dump(db), marker)
    # … nor in any version of any object, and nothing at all under the student's prefixes
    after = objects_of(objects, buckets[0])
    assert not [k for k, _ in after if f"/{number}/" in k or f"/{registration_id}/" in k]
    assert_nowhere(b"".join(after.values()), marker)
    if isinstance(objects, LocalObjectStore):
        files = [p for p in (objects.root).rglob("*") if p.is_file()]
        assert_nowhere(b"".join(p.read_bytes() for p in files), marker)
    # the other student is untouched
    with db.unit_of_work() as uow:
        assert uow.students.get(kept_number).personal.name == other.name
        with pytest.raises(Destroyed):
            uow.students.get(number)
        tombstone = uow.students.tombstone(number)
        assert tombstone is not None
        assert tombstone.certificate_id == certificate.id
        request = uow.destruction_requests.get(request_id)
        assert (request.status, request.certificate_id) == (
            DestructionStatus.EXECUTED,
            certificate.id,
        )
    # payments are kept for accounting, pseudonymised: amounts and dates, no name or ID; the
    # receipt number, typed by staff, is erased like every free text linked to the student
    with db.engine.connect() as conn:
        (row,) = conn.execute(select(payments).where(payments.c.student_number == number)).all()
    assert (row.amount_minor, row.currency, row.receipt_ref) == (1_280_000, "CNY", ERASED)
    # the ledger beside the backups knows, so no restore brings the student back
    entry = next(e for e in ledger.entries(objects, buckets[1]) if e.student_number == number)
    assert (entry.certificate_id, entry.registration_ids) == (certificate.id, (registration_id,))
    assert db.verify_audit().ok
    with db.engine.connect() as conn:
        types = dict(
            conn.execute(select(outbox.c.type, func.count()).group_by(outbox.c.type)).all()
        )
    assert types["destruction.verified"] == 1
    assert types["destruction.moved"] == 3  # submitted, approved, executed

    # executing again returns the same certificate and changes nothing
    assert retention.execute(request_id, OPERATOR) == certificate
    with db.engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(destruction_certificates)).scalar() == 1
        )
    # the certificate outlives the data, for auditors
    assert retention.get_certificate(AUDITOR, GetCertificate(certificate_id=certificate.id)) == (
        certificate
    )
    listed = retention.list_certificates(AUDITOR, ListCertificates(branch="SH01"))
    assert listed.items == (certificate,)
    assert_nowhere(repr(certificate).encode(), marker)


def test_a_legal_hold_blocks_execution_until_lifted(
    make_db: DatabaseFactory, engine: str, tmp_path: Path
) -> None:
    db = make_db(engine)
    objects = LocalObjectStore(tmp_path / "objects")
    buckets = ("documents", "backups")
    for bucket in buckets:
        objects.ensure_bucket(bucket)
    number, _ = admit_marked(db, DocumentStore(objects, buckets[0]), Marker())
    request_id = approve(db, number)
    hold = LegalHold(
        id=f"hold-{uuid.uuid4()}",
        student_number=number,
        branch="SH01",
        reason="fee dispute",
        set_by="approver-1",
        set_at=datetime.now(UTC),
    )
    with db.unit_of_work() as uow:
        ctx = Context(actor="approver-1", reason="fee dispute", at=datetime.now(UTC))
        uow.apply(set_legal_hold(hold, ctx), AuditSpec(action="hold.set"))
        uow.commit()
    retention = destruction(db, objects, buckets)

    with pytest.raises(GuardRefused) as refused:
        retention.execute(request_id, OPERATOR)
    assert refused.value.reason == "legal_hold"
    assert "legal hold" in str(refused.value)
    assert retention.sweep(OPERATOR) == []
    with db.unit_of_work() as uow:
        assert uow.students.get(number).status is StudentStatus.WITHDRAWN
        assert uow.destruction_requests.get(request_id).status is DestructionStatus.APPROVED
    with db.engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(destruction_certificates)).scalar() == 0
        )

    with db.unit_of_work() as uow:
        held = uow.legal_holds.get(hold.id)
        ctx = Context(actor="approver-1", reason="settled", at=datetime.now(UTC))
        uow.apply(lift_legal_hold(held, ctx), AuditSpec(action="hold.lifted"))
        uow.commit()
    (certificate,) = retention.sweep(OPERATOR)  # the sweep picks up what the hold held back
    assert certificate.request_id == request_id
    assert certificate.verification is not None
    assert certificate.verification.ok


def test_only_approved_requests_of_the_callers_branches_are_executed(
    make_db: DatabaseFactory, tmp_path: Path
) -> None:
    db = make_db("sqlite")
    objects = LocalObjectStore(tmp_path / "objects")
    for bucket in ("documents", "backups"):
        objects.ensure_bucket(bucket)
    number, _ = admit_marked(db, DocumentStore(objects, "documents"), Marker())
    request_id = approve(db, number)
    retention = destruction(db, objects, ("documents", "backups"))
    with pytest.raises(NotFound):
        retention.execute(request_id, OTHER_OPERATOR)
    with pytest.raises(AccessDenied):
        retention.execute(request_id, APPROVER)
    with pytest.raises(NotFound):
        retention.execute("no-such-request", OPERATOR)
    certificate = retention.execute(request_id, OPERATOR)
    with pytest.raises(NotFound):
        retention.get_certificate(
            Caller(Actor(id="approver-bj", roles={Role.APPROVER}, branches={"BJ01"})),
            GetCertificate(certificate_id=certificate.id),
        )
    with pytest.raises(AccessDenied):
        retention.list_certificates(Caller(DESK), ListCertificates(branch="SH01"))

    second, _ = admit_marked(db, DocumentStore(objects, "documents"), Marker())
    with db.unit_of_work() as uow:  # submitted, never approved
        dossier = uow.students.get(second)
        now = datetime.now(UTC)
        ctx = Context(actor="officer-1", reason="left", at=now)
        withdrawn = change_status(dossier, StudentStatus.WITHDRAWN, ctx)
        uow.apply(withdrawn, AuditSpec(action="status.changed"))
        request = DestructionRequest(
            id="dr-submitted",
            student_number=second,
            branch="SH01",
            reason="asked",
            requested_by="officer-1",
            requested_at=now,
        )
        uow.apply(
            submit_destruction(request, withdrawn.record, ctx),
            AuditSpec(action="destruction.submitted"),
        )
        uow.commit()
    with pytest.raises(IllegalTransition):
        retention.execute("dr-submitted", OPERATOR)


class FlakyStore(LocalObjectStore):
    """Fails the first deletion, like an object store that went away mid-destruction."""

    failures = 1

    def delete_all_versions(self, bucket: str, key: str) -> int:
        if FlakyStore.failures:
            FlakyStore.failures -= 1
            raise ObjectStoreError("delete", "unavailable")
        return super().delete_all_versions(bucket, key)


def test_an_interrupted_execution_is_finished_by_the_sweep(
    make_db: DatabaseFactory, tmp_path: Path
) -> None:
    db = make_db("postgresql")
    objects = FlakyStore(tmp_path / "objects")
    for bucket in ("documents", "backups"):
        objects.ensure_bucket(bucket)
    number, _ = admit_marked(db, DocumentStore(objects, "documents"), Marker())
    request_id = approve(db, number)
    retention = destruction(db, objects, ("documents", "backups"))
    with pytest.raises(ObjectStoreError):
        retention.execute(request_id, OPERATOR)
    with db.unit_of_work() as uow, pytest.raises(Destroyed):  # step 1 is done: shredded …
        uow.students.get(number)
    with db.engine.connect() as conn:
        (pending,) = conn.execute(select(destruction_certificates.c.verification)).all()
    assert pending.verification is None  # … and certified, but not verified
    assert list(objects.list_versions("documents", f"students/{number}/"))

    (certificate,) = retention.sweep(OPERATOR)
    assert certificate.verification is not None
    assert certificate.verification.ok
    assert not list(objects.list_versions("documents", f"students/{number}/"))
    assert retention.sweep(OPERATOR) == []
    assert retention.execute(request_id, OPERATOR) == certificate


# -- the JetStream consumer ------------------------------------------------------------------


def test_the_consumer_executes_approved_requests_once_across_restarts(
    make_db: DatabaseFactory, tmp_path: Path, nats_own_server: BusServer
) -> None:
    db = make_db("sqlite")
    objects = LocalObjectStore(tmp_path / "objects")
    for bucket in ("documents", "backups"):
        objects.ensure_bucket(bucket)
    number, _ = admit_marked(db, DocumentStore(objects, "documents"), Marker())
    held_number, _ = admit_marked(db, DocumentStore(objects, "documents"), Marker())
    request_id = approve(db, number)
    retention = destruction(db, objects, ("documents", "backups"))
    with db.unit_of_work() as uow:  # a second student, approved but held
        hold = LegalHold(
            id="hold-1",
            student_number=held_number,
            branch="SH01",
            reason="authority request",
            set_by="approver-1",
            set_at=datetime.now(UTC),
        )
        ctx = Context(actor="approver-1", reason="authority request", at=datetime.now(UTC))
        uow.apply(set_legal_hold(hold, ctx), AuditSpec(action="hold.set"))
        uow.commit()
    held_request = approve(db, held_number)

    async def main() -> None:
        nc = await sign_in(nats_own_server.url_for("retention"))
        js = nc.jetstream()
        await ensure_streams(js)
        relay = OutboxRelay(js, DatabaseOutbox(db))
        while await relay.relay_once():
            pass

        def consumer() -> DurableConsumer:
            return DurableConsumer(
                nc,
                js,
                "retention-destruction",
                retention.on_event,
                filter_subject="dossier.events.*.destruction.moved",
                retry_delay=0.05,
            )

        first = consumer()
        while await first.consume_once(timeout=0.5):
            pass
        await first.close()  # the service restarts …
        with db.unit_of_work() as uow:
            assert uow.destruction_requests.get(request_id).status is DestructionStatus.EXECUTED
            assert uow.destruction_requests.get(held_request).status is DestructionStatus.APPROVED

        # … and the approval event is delivered again (a republished copy, under a new id)
        again = DestructionRequestMoved(
            branch="SH01",
            occurred_at=datetime.now(UTC),
            actor="approver-1",
            request_id=request_id,
            student_number=number,
            status=DestructionStatus.APPROVED,
        )
        await js.publish(
            "dossier.events.SH01.destruction.moved",
            wire.dumps(again),
            headers={"Nats-Msg-Id": again.event_id},
        )
        second = consumer()
        while await second.consume_once(timeout=0.5):
            pass
        info = await js.consumer_info(EVENTS_STREAM, "retention-destruction")
        assert (info.num_ack_pending, info.num_pending) == (0, 0)
        parked = await js.stream_info(PARKED_STREAM)
        assert parked.state.messages == 0
        await second.close()
        await nc.close()

    asyncio.run(main())
    with db.engine.connect() as conn:
        rows = conn.execute(select(destruction_certificates.c.request_id)).scalars().all()
    assert rows == [request_id], "one certificate, whatever the deliveries"
    (certificate,) = retention.list_certificates(AUDITOR, ListCertificates(branch="SH01")).items
    assert certificate.responsible_person == "dossier-retention"
    assert certificate.verification is not None
    assert certificate.verification.ok

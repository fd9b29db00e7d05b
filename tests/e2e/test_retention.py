"""Destruction end to end on S3 (issue 6): nothing of the student survives, not even a restore.

Real nats-server, PostgreSQL and moto's S3 server; intake, approvals and
retention run as processes configured for S3 objects. A student whose name,
passport number, phone, e-mail and documents carry a random marker is
admitted, backed up, withdrawn, destroyed on request (four eyes), and backed
up again. Then the marker is looked for — as text, hex and base64 — in every
row of every table, every version of every object of both buckets, the
decrypted records of the later backup, and a database and bucket restored
from the EARLIER backup, where the destruction ledger must destroy the
student again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import signal
import string
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy
from nats.js.errors import NotFoundError

from dossier.core import wire
from dossier.core.attachments import Attachment
from dossier.core.commands import (
    ChangeStudentStatus,
    ReviewDestruction,
    ReviewRegistration,
    SubmitDestruction,
    SubmitRegistration,
)
from dossier.core.contracts.intake import AddDocument, GetDocument, GetDossier
from dossier.core.contracts.retention import (
    Certificate,
    CreateBackup,
    ListCertificates,
    VerifyBackup,
)
from dossier.core.enums import Channel, Decision, DocumentKind, IdDocumentType, StudentStatus
from dossier.core.errors import Destroyed
from dossier.core.policy import Role
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails
from dossier.host.config import Config
from dossier.host.runtime import object_store
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.events import DurableConsumer
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.storage.db import Database
from dossier.storage.migrations import upgrade
from dossier.storage.objects import ObjectStore
from dossier.storage.settings import StorageSettings
from tests.support.nats import sign_in
from tests.support.postgres import throwaway_database
from tests.support.s3 import S3Server, moto_server, unique_bucket
from tests.support.stack import Stack, logs

# -- the markers: random per run, so nothing left from another run can match ------------------

MARK = "ZZMARK" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(8))
PHONE = "139" + "".join(secrets.choice(string.digits) for _ in range(8))
NAME = MARK.capitalize()  # "Zzmark…": Latin letters only, as the name rule wants
EMAIL = f"{MARK.lower()}@example.com"
MARKERS = (MARK, PHONE)
ID_SCAN = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + f"passport {MARK} tel {PHONE}".encode()
RECEIPT = f"%PDF-1.7\n% receipt for {NAME}, {MARK}, {PHONE}\n".encode()


def _forms(marker: str) -> tuple[bytes, ...]:
    """The marker as it could appear: raw (case folded), hex, and base64 at every alignment."""
    raw = marker.encode()
    found = [raw.lower(), raw.hex().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        found.append(encoded[4 if shift else 0 : -4])  # only the characters the marker decides
    return tuple(found)


FORMS = {marker: _forms(marker) for marker in MARKERS}


def leaks(data: bytes | str) -> list[str]:
    """Which markers appear in ``data``, in any of their forms."""
    blob = data.encode() if isinstance(data, str) else data
    folded = blob.lower()
    found = []
    for marker, (raw, hexed, *b64) in FORMS.items():
        if raw in folded or hexed in folded or any(form in blob for form in b64):
            found.append(marker)
    return found


def test_leaks_finds_every_form() -> None:
    for marker in MARKERS:
        for text in (
            f"x{marker.lower()}y",
            marker.encode().hex().upper(),
            *(base64.b64encode(b"ab"[:n] + marker.encode() + b"zz").decode() for n in range(3)),
        ):
            assert leaks(text) == [marker], text
    assert leaks("nothing here " + PHONE[:-1]) == []


# -- the stack, on S3 ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture
def services(dossier_stack: Stack, s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """intake, approvals and retention on this test's database, NATS and its own S3 buckets."""
    path = dossier_stack.config_path
    text = path.read_text(encoding="utf-8")
    for old, new in (
        ("[objects]\n", f'[objects]\nregion = "{s3.region}"\n'),
        ('"dossier-documents"', f'"{unique_bucket("docs")}"'),
        ('"dossier-backups"', f'"{unique_bucket("backups")}"'),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    # the documented overrides; Stack.env passes os.environ on to the processes
    monkeypatch.setenv("DOSSIER_OBJECTS_KIND", "s3")
    monkeypatch.setenv("DOSSIER_S3_ENDPOINT", s3.endpoint)
    monkeypatch.setenv("DOSSIER_S3_ACCESS_KEY", s3.access_key)
    monkeypatch.setenv("DOSSIER_S3_SECRET_KEY", s3.secret_key)
    assert dossier_stack.config().objects.kind == "s3"
    for service in ("intake", "approvals", "retention"):
        dossier_stack.start(service)
    for service in ("intake", "approvals", "retention"):
        dossier_stack.wait_until_serving(service)
    return dossier_stack


def run(stack: Stack, scenario: Callable[[Any], Awaitable[dict[str, str]]]) -> dict[str, str]:
    async def main() -> dict[str, str]:
        nc = await sign_in(stack.url_for("staff"))
        try:
            return await scenario(nc)
        finally:
            await nc.close()

    return asyncio.run(main())


# -- where the marker is looked for ------------------------------------------------------------


def database_leaks(url: str) -> dict[str, list[str]]:
    """Every row of every table (the whole row cast to text) that holds a marker."""
    engine = sqlalchemy.create_engine(url)
    found: dict[str, list[str]] = {}
    try:
        with engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).all()
            assert len(tables) > 10, tables
            for schema, table in tables:
                rows = conn.exec_driver_sql(f'SELECT t::text FROM "{schema}"."{table}" AS t')
                for (row,) in rows:
                    if hits := leaks(row):
                        found.setdefault(table, []).extend(hits)
    finally:
        engine.dispose()
    return found


def bucket_leaks(store: ObjectStore, bucket: str) -> tuple[int, dict[str, list[str]]]:
    """How many object versions the bucket holds, and those that hold a marker."""
    versions = 0
    found: dict[str, list[str]] = {}
    for info in store.list_versions(bucket):
        if info.is_delete_marker:
            continue
        versions += 1
        if hits := leaks(store.get(bucket, info.key, version_id=info.version_id)):
            found[f"{info.key}@{info.version_id}"] = hits
    return versions, found


async def stream_leaks(nc: Any) -> tuple[int, dict[str, list[str]]]:
    """How many messages all JetStream streams hold, and those (headers too) with a marker."""
    js = nc.jetstream()
    messages = 0
    found: dict[str, list[str]] = {}
    for info in await js.streams_info():
        name = info.config.name
        if not info.state.messages:
            continue
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                message = await js.get_msg(name, seq)
            except NotFoundError:
                continue  # deleted or never stored (discard policy)
            messages += 1
            text = (message.data or b"") + repr(message.headers).encode()
            if hits := leaks(text):
                found[f"{name}#{seq} {message.subject}"] = hits
    return messages, found


def keys_of(store: ObjectStore, bucket: str, owners: tuple[str, ...]) -> list[str]:
    """Every version or delete marker left under ``students/<owner>/``."""
    return [
        info.key
        for owner in owners
        for info in store.list_versions(bucket, prefix=f"students/{owner}/")
    ]


def backups_of(config: Config, db: Database, store: ObjectStore) -> Backups:
    key_file = config.retention.backup_key_file
    assert key_file is not None
    return Backups(
        db,
        store,
        documents_bucket=config.objects.documents_bucket,
        backups_bucket=config.objects.backups_bucket,
        key=BackupKey.from_file(key_file),
    )


# -- the test -----------------------------------------------------------------------------------


def test_destroyed_student_survives_nowhere_not_even_in_a_restore(
    services: Stack, postgres_server_url: str
) -> None:
    started = time.monotonic()
    operator_token = services.token("operator-1", Role.OPERATOR, branches=("*",))

    async def scenario(nc: Any) -> dict[str, str]:
        desk = DossierClient(nc, services.token("desk-1", Role.FRONT_DESK))
        officer = DossierClient(nc, services.token("officer-1", Role.ENROLMENT_OFFICER))
        approver = DossierClient(nc, services.token("approver-1", Role.APPROVER))
        operator = DossierClient(nc, operator_token, timeout=60)

        # 1. admitted with an ID-proof scan; a receipt filed afterwards
        receipt = await desk.send(
            SubmitRegistration(
                branch="SH01",
                channel=Channel.FRONT_DESK,
                applicant=PersonalDetails(
                    name=NAME,
                    birth_date=date(2001, 4, 12),
                    id_document=IdDocument(type=IdDocumentType.PASSPORT, number=MARK),
                    phone=f"+86{PHONE}",
                    email=EMAIL,
                ),
                needs=LearningNeeds(target_language="en", goals="IELTS 7"),
                attachments=(
                    Attachment(
                        kind=DocumentKind.ID_PROOF,
                        media_type="image/png",
                        content=base64.b64encode(ID_SCAN).decode(),
                    ),
                ),
            )
        )
        outcome = await officer.send(
            ReviewRegistration(
                registration_id=receipt.registration_id, decision=Decision.APPROVE, reason="ok"
            )
        )
        number = str(outcome.student_number)
        student = DossierClient(
            nc, services.token("stu-1", Role.STUDENT, student_number=number), locale="en"
        )
        await officer.send(
            AddDocument(
                student_number=number,
                kind=DocumentKind.PAYMENT_RECEIPT,
                media_type="application/pdf",
                content=base64.b64encode(RECEIPT).decode(),
            )
        )

        # the marker really is in the record and the documents (read back through intake)
        dossier = await officer.send(GetDossier(student_number=number))
        assert leaks(wire.dumps(dossier)) == list(MARKERS)
        assert len(dossier.documents) == 2
        for ref in dossier.documents:
            document = await officer.send(GetDocument(student_number=number, sha256=ref.sha256))
            assert leaks(base64.b64decode(document.content)) == list(MARKERS)

        # 2. a backup BEFORE the destruction, verified
        before = await operator.send(CreateBackup())
        checked = await operator.send(VerifyBackup(backup_id=before.id))
        assert checked.ok, checked
        assert before.objects >= 2, before

        # 3. withdrawn; destruction asked by the student, approved by a second person
        await officer.send(
            ChangeStudentStatus(
                student_number=number, target=StudentStatus.WITHDRAWN, reason="退学"
            )
        )
        request = await student.send(SubmitDestruction(student_number=number, reason="please"))
        await approver.send(
            ReviewDestruction(
                request_id=request.request_id, decision=Decision.APPROVE, reason="no hold"
            )
        )
        certificate: Certificate | None = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            page = await operator.send(ListCertificates(branch="SH01"))
            if page.items and page.items[0].verification is not None:
                certificate = page.items[0]
                break
            await asyncio.sleep(0.2)
        assert certificate is not None, "no verified certificate within 30 s"
        assert certificate.student_number == number
        assert certificate.request_id == request.request_id
        assert certificate.verification is not None
        assert certificate.verification.ok, certificate.verification
        assert leaks(wire.dumps(certificate)) == []
        with pytest.raises(RemoteError) as gone:
            await officer.send(GetDossier(student_number=number))
        assert gone.value.code == "destroyed"

        # 4. a backup AFTER the destruction, verified
        after = await operator.send(CreateBackup())
        checked = await operator.send(VerifyBackup(backup_id=after.id))
        assert checked.ok, checked

        # 5a. no event (nor any other JetStream message) ever carried a marker
        messages, found = await stream_leaks(await sign_in(services.url_for("ops")))
        assert found == {}
        assert messages >= 8
        return {
            "number": number,
            "registration": str(receipt.registration_id),
            "before": str(before.id),
            "after": str(after.id),
        }

    ids = run(services, scenario)
    owners = (ids["number"], ids["registration"])
    config = services.config()
    store = object_store(config.objects)
    documents, backups_bucket = config.objects.documents_bucket, config.objects.backups_bucket

    # 5. nowhere: the database, every object version of both buckets, the later backup
    assert database_leaks(services.database_url) == {}
    versions, found = bucket_leaks(store, documents)
    assert found == {}
    assert keys_of(store, documents, owners) == []
    assert versions == 0  # the bucket held this student's documents only
    versions, found = bucket_leaks(store, backups_bucket)
    assert found == {}
    assert versions >= 5  # two manifests, their parts, the ledger entry

    db = Database.open(config.storage, upgrade=False)
    try:
        backups = backups_of(config, db, store)
        records = list(backups.records(backups.manifest(ids["after"])))
        assert any("t" in r and r["t"] == "tombstones" for r in records)
        for record in records:
            if "o" in record:
                assert not record["o"].startswith(tuple(f"students/{o}/" for o in owners))
                assert leaks(base64.b64decode(record["d"])) == [], record["o"]
            assert leaks(json.dumps(record, ensure_ascii=False)) == [], record.get("t")
        assert db.verify_audit().ok

        # control: restored WITHOUT the ledger, the earlier backup does bring the student back
        # (data key, record and both documents) — which is what the ledger is there to stop
        resurrected = unique_bucket("unreplayed-docs")
        with throwaway_database(postgres_server_url) as target_url:
            upgrade(target_url)
            target = Database.open(
                StorageSettings(
                    database_url=target_url, master_key_file=config.storage.master_key_file
                ),
                upgrade=False,
            )
            try:
                backups.restore(
                    ids["before"], target, objects_into=(store, resurrected), replay_ledger=False
                )
                with target.unit_of_work() as uow:
                    assert uow.students.get(ids["number"]).personal.name == NAME
            finally:
                target.dispose()
        assert len(keys_of(store, resurrected, owners)) >= 2

        # 6. the backup from BEFORE, restored: the ledger destroys the student again
        restored_bucket = unique_bucket("restored-docs")
        with throwaway_database(postgres_server_url) as target_url:
            upgrade(target_url)
            target = Database.open(
                StorageSettings(
                    database_url=target_url, master_key_file=config.storage.master_key_file
                ),
                upgrade=False,
            )
            try:
                backups.restore(ids["before"], target, objects_into=(store, restored_bucket))
                with target.unit_of_work() as uow, pytest.raises(Destroyed):
                    uow.students.get(ids["number"])
                assert target.verify_audit().ok
            finally:
                target.dispose()
            assert database_leaks(target_url) == {}
        _, found = bucket_leaks(store, restored_bucket)
        assert found == {}
        assert keys_of(store, restored_bucket, owners) == []
    finally:
        db.dispose()

    for name, text in logs(services).items():
        assert leaks(text) == [], name
        assert "internal error" not in text, name
    assert time.monotonic() - started < 60


def test_retention_service_stops_promptly_on_sigterm(dossier_stack: Stack) -> None:
    """Like intake and approvals (well under a second), retention exits soon after SIGTERM."""
    process = dossier_stack.start("retention")
    dossier_stack.wait_until_serving("retention")
    time.sleep(4.5)  # several 1 s fetches of the durable consumer have expired
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=8) == 0
    except subprocess.TimeoutExpired:
        pytest.fail("dossier-retention still running 8 s after SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class _ExpiredFetch:
    """A pull subscription whose ``fetch`` runs out of time the way nats-py's ``_fetch_n``
    does when the no-wait probe used up the deadline: a plain ``asyncio.TimeoutError``."""

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        raise TimeoutError


def test_an_empty_fetch_is_no_consumer_failure() -> None:
    async def handler(_: Any) -> None:
        return None

    consumer = DurableConsumer(None, None, "probe", handler, filter_subject="x.>")  # type: ignore[arg-type]
    consumer._pull = _ExpiredFetch()  # type: ignore[assignment]
    assert asyncio.run(consumer.consume_once()) == 0

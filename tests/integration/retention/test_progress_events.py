"""The retention service publishes the progress of backups and review runs on NATS.

A real nats-server, the retention service's endpoints (`dossier.retention.service.spec`)
run by `ServiceRunner`, a PostgreSQL database filled through the intake use cases, a
local object store. The client subscribes to ``dossier.progress.retention.*.<job id>``
before it sends the request, then collects events until the reply and the final event.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dossier.core.contracts.retention import CreateBackup, StartReview, VerifyBackup
from dossier.core.enums import Locale
from dossier.core.policy import Actor, Role
from dossier.messaging import headers
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.progress import ProgressPublisher
from dossier.messaging.service import ServiceRunner
from dossier.messaging.tokens import (
    TokenIssuer,
    TokenVerifier,
    generate_private_key,
    private_key_from,
)
from dossier.retention.archive import BackupKey
from dossier.retention.backups import Backups
from dossier.retention.destruction import Destruction
from dossier.retention.operations import Operations
from dossier.retention.review import Reviews
from dossier.retention.service import spec
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.objects import LocalObjectStore
from tests.integration.retention.conftest import BRANCHES, DatabaseFactory, admit_students
from tests.support.nats import BusServer, sign_in

PRIVATE = private_key_from(generate_private_key())
ISSUER = TokenIssuer(PRIVATE)
OPERATOR = Actor(id="operator-1", roles={Role.OPERATOR}, branches={"*"})
DOCS, BACKUPS = "docs", "backups"
PERSONAL = ("Zhang", "张", "+86", "@example")  # what a progress event must never carry

Scenario = Callable[[Any, DossierClient], Awaitable[None]]


@pytest.fixture
def filled(make_db: DatabaseFactory, local_store: LocalObjectStore) -> Database:
    db = make_db("postgresql")
    local_store.ensure_bucket(DOCS)
    admit_students(db, DocumentStore(local_store, DOCS), 12)
    return db


def serve(
    server: BusServer,
    db: Database,
    store: LocalObjectStore,
    scenario: Scenario,
    *,
    interval: float = 0.0,
) -> None:
    backups = Backups(
        db,
        store,
        documents_bucket=DOCS,
        backups_bucket=BACKUPS,
        key=BackupKey.from_text(BackupKey.generate()),
        part_size=4096,
    )
    destruction = Destruction(db, BRANCHES, store, documents_bucket=DOCS, backups_bucket=BACKUPS)
    publisher = ProgressPublisher("retention", interval=interval)
    service = spec(
        Reviews(db, BRANCHES, page_size=5),
        destruction,
        Operations(db, backups),
        Locale.EN,
    )

    async def main() -> None:
        service_nc = await sign_in(server.url_for("retention"))
        runner = ServiceRunner(
            service_nc, service, TokenVerifier(PRIVATE.public_key()), progress=publisher
        )
        await runner.start()
        client_nc = await sign_in(server.url_for("staff"))
        try:
            await scenario(client_nc, DossierClient(client_nc, ISSUER.issue(OPERATOR), timeout=60))
        finally:
            await runner.stop()
            await service_nc.close()
            await client_nc.close()

    asyncio.run(main())


async def watched(
    nc: Any, job: str, request: Awaitable[Any]
) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """Subscribe to the job's events, run ``request``, and collect events up to the final one."""
    events: list[dict[str, Any]] = []
    subjects: list[str] = []
    final = asyncio.Event()

    async def heard(msg: Any) -> None:
        subjects.append(msg.subject)
        raw = msg.data.decode()
        assert not any(mark in raw for mark in PERSONAL), raw
        event = json.loads(raw)
        events.append(event)
        if event["stage"] in {"done", "failed"}:
            final.set()

    sub = await nc.subscribe(f"dossier.progress.retention.*.{job}", cb=heard)
    await nc.flush()
    try:
        reply = await request
        await asyncio.wait_for(final.wait(), timeout=5)
    finally:
        await sub.unsubscribe()
    return reply, events, subjects


def assert_counts_up(events: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    seen = [e for e in events if e["stage"] == stage]
    assert len(seen) >= 2, f"too few {stage} events: {events}"
    done = [e["done"] for e in seen]
    assert done == sorted(done), done
    assert done[-1] > done[0], done
    assert all(e["total"] is None or e["done"] <= e["total"] for e in seen)
    return seen


def test_a_backup_over_nats_publishes_rising_progress_and_a_final_event(
    nats_session_server: BusServer, filled: Database, local_store: LocalObjectStore
) -> None:
    job = f"backup-{uuid.uuid4().hex}"

    async def scenario(nc: Any, client: DossierClient) -> None:
        reply, events, subjects = await watched(
            nc, job, client.send(CreateBackup(job_id=job), idempotency_key=uuid.uuid4().hex)
        )
        assert set(subjects) == {f"dossier.progress.retention.backup-create.{job}"}
        assert {e["job"] for e in events} == {job}
        assert {e["kind"] for e in events} == {"backup-create"}
        assert set(events[0]) == {"job", "kind", "stage", "done", "total", "at"}
        rows = assert_counts_up(events, "rows")
        assert rows[-1]["done"] == rows[-1]["total"] == reply.rows
        assert events[-1]["stage"] == "done"
        assert [e["stage"] for e in events].count("done") == 1

        verify_job = f"verify-{uuid.uuid4().hex}"
        checked, events, _ = await watched(
            nc,
            verify_job,
            client.request(
                "backup.verify",
                VerifyBackup(backup_id=reply.id, job_id=verify_job),
                mutating=False,
            ),
        )
        assert checked["ok"]
        parts = assert_counts_up(events, "parts")
        assert parts[-1]["done"] == parts[-1]["total"] == reply.parts
        assert events[-1]["stage"] == "done"

    serve(nats_session_server, filled, local_store, scenario)


def test_a_review_run_reports_its_dossiers_under_the_request_id(
    nats_session_server: BusServer, filled: Database, local_store: LocalObjectStore
) -> None:
    request_id = f"req-{uuid.uuid4().hex}"

    async def scenario(nc: Any, client: DossierClient) -> None:
        sent = {
            headers.ACTOR: ISSUER.issue(OPERATOR),
            headers.REQUEST_ID: request_id,
            headers.IDEMPOTENCY_KEY: uuid.uuid4().hex,
        }
        body = json.dumps({"branch": "SH01", "quarter": "2026Q2"}).encode()
        reply, events, subjects = await watched(
            nc,
            request_id,
            nc.request("dossier.retention.review.start", body, headers=sent, timeout=60),
        )
        run = json.loads(reply.data)
        assert run["status"] == "completed"
        assert set(subjects) == {f"dossier.progress.retention.review-start.{request_id}"}
        dossiers = assert_counts_up(events, "dossiers")
        assert dossiers[-1]["done"] == dossiers[-1]["total"] == run["dossiers"] == 12
        assert events[-1] == {**events[-1], "stage": "done", "done": 12, "total": 12}

    serve(nats_session_server, filled, local_store, scenario)


def test_a_failed_job_ends_with_a_failed_event_and_events_are_throttled(
    nats_session_server: BusServer, filled: Database, local_store: LocalObjectStore
) -> None:
    job = f"review-{uuid.uuid4().hex}"

    async def scenario(nc: Any, client: DossierClient) -> None:
        request = client.send(
            StartReview(branch="SH01", quarter="not-a-quarter", job_id=job),
            idempotency_key=uuid.uuid4().hex,
        )

        async def refused() -> None:
            with pytest.raises(RemoteError) as error:
                await request
            assert error.value.code == "validation_failed"

        _, events, _ = await watched(nc, job, refused())
        assert [e["stage"] for e in events] == ["failed"]

        with pytest.raises(RemoteError) as error:  # a job id must be one subject token
            await client.send(CreateBackup(job_id="a.b.*"), idempotency_key=uuid.uuid4().hex)
        assert [p.field for p in error.value.problems] == ["job_id"]

        throttled = f"review-{uuid.uuid4().hex}"
        _, events, _ = await watched(
            nc,
            throttled,
            client.send(
                StartReview(branch="SH01", quarter="2026Q3", job_id=throttled),
                idempotency_key=uuid.uuid4().hex,
            ),
        )
        # 12 dossiers in pages of 5 would give 4 events; 5 a second lets fewer through
        assert len(events) < 5
        assert events[-1]["stage"] == "done"

    serve(nats_session_server, filled, local_store, scenario, interval=60.0)

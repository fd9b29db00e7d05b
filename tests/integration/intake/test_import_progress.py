"""``import.start`` and ``import.resume`` tell a progress callback after each chunk."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import orjson

from dossier.core import wire
from dossier.core.caller import Caller
from dossier.core.contracts.intake import ImportFormat, ImportState, StartImport
from dossier.intake.handlers import Intake
from dossier.intake.imports.importer import Importer, ImportProgress
from dossier.intake.service import spec
from dossier.messaging import headers
from dossier.messaging.progress import ProgressPublisher
from dossier.messaging.service import ServiceRunner
from dossier.messaging.tokens import (
    TokenIssuer,
    TokenVerifier,
    generate_private_key,
    private_key_from,
)
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from tests.integration.intake.conftest import BRANCHES, OFFICER, csv_file, student_row
from tests.support.nats import BusServer, sign_in


def test_start_reports_each_chunk_as_stage_done_and_total(
    make_importer: Callable[..., Importer],
) -> None:
    importer = make_importer(chunk_size=5)
    data = csv_file([student_row(n) for n in range(12)])
    command = StartImport(
        branch="SH01",
        format=ImportFormat.CSV,
        content=base64.b64encode(data).decode(),
        source_system="x",
    )
    heard: list[ImportProgress] = []
    report = importer.start(
        Caller(OFFICER.actor, "progress-key-01", progress=heard.append), command
    )
    assert report.state is ImportState.COMPLETED
    assert [(p.stage, p.done, p.total) for p in heard] == [
        ("importing", 5, 12),
        ("importing", 10, 12),
        ("completed", 12, 12),
    ]


def test_an_import_over_nats_publishes_its_chunks_under_the_request_id(
    make_importer: Callable[..., Importer],
    db: Database,
    documents: DocumentStore,
    nats_session_server: BusServer,
) -> None:
    """The client subscribes to ``dossier.progress.intake.*.<request id>`` before sending
    ``import.start``, and hears every chunk, then the final event — names, no values."""
    private = private_key_from(generate_private_key())
    publisher = ProgressPublisher("intake", interval=0.0)
    service = spec(
        Intake(db, BRANCHES, documents),
        importer=make_importer(chunk_size=4),
    )
    data = csv_file([student_row(n) for n in range(10)])
    body = StartImport(
        branch="SH01",
        format=ImportFormat.CSV,
        content=base64.b64encode(data).decode(),
        source_system="x",
    )

    async def main() -> list[dict[str, Any]]:
        service_nc = await sign_in(nats_session_server.url_for("intake"))
        runner = ServiceRunner(
            service_nc, service, TokenVerifier(private.public_key()), progress=publisher
        )
        await runner.start()
        client_nc = await sign_in(nats_session_server.url_for("staff"))
        heard: list[dict[str, Any]] = []
        request_id = "import-progress-0001"

        async def hear(msg: Any) -> None:
            heard.append(orjson.loads(msg.data))

        sub = await client_nc.subscribe(f"dossier.progress.intake.*.{request_id}", cb=hear)
        await client_nc.flush()
        try:
            token = TokenIssuer(private).issue(OFFICER.actor)
            reply = await client_nc.request(
                "dossier.intake.import.start",
                wire.dumps(body),
                timeout=60,
                headers={
                    headers.ACTOR: token,
                    headers.REQUEST_ID: request_id,
                    headers.IDEMPOTENCY_KEY: "import-progress-key",
                },
            )
            assert orjson.loads(reply.data)["state"] == "completed"
            for _ in range(50):
                if heard and heard[-1]["stage"] == "done":
                    break
                await asyncio.sleep(0.1)
        finally:
            await sub.unsubscribe()
            await runner.stop()
            await service_nc.close()
            await client_nc.close()
        return heard

    heard = asyncio.run(main())
    importing = [e["done"] for e in heard if e["stage"] == "importing"]
    assert importing == [4, 8], heard
    assert heard[-1]["stage"] == "done"
    assert {e["kind"] for e in heard} == {"import-start"}
    assert not any("王小明" in str(e) or "Li Lei" in str(e) for e in heard)

"""The NATS server killed and restarted under load: services reconnect, no event lost or doubled.

Two intake instances take registrations from several clients. When a quarter are answered,
nats-server is killed (SIGKILL) and started again a second later on the same port with the
same JetStream folder; the services are left alone. The clients re-send what went
unanswered with the same idempotency keys. Afterwards: every request answered and applied
once; both instances still the processes they were, each having logged its reconnection;
the outbox drained; and every event of the outbox is in ``DOSSIER_EVENTS`` exactly once (by
``Nats-Msg-Id``), with nothing in the stream that the outbox does not hold.

`nats_fault` is what a benchmark calls with a bigger load.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from pathlib import Path

import sqlalchemy

from dossier.messaging.events import EVENTS_STREAM
from dossier.storage.schema import outbox
from tests.reliability.faults import (
    WORKLOADS,
    Driven,
    FaultCounts,
    Progress,
    audit_ok,
    connect,
    counts,
    drive,
    fault_stack,
    restart_nats,
    rows,
    start_service,
    stream_messages,
    wait_for_outbox,
)

REQUESTS = int(os.environ.get("DOSSIER_FAULT_REQUESTS", "120"))


def nats_fault(requests: int, *, server_url: str, folder: Path, clients: int = 8) -> FaultCounts:
    """``requests`` registrations through two intake instances; nats-server killed and
    restarted when a quarter are answered. The figures, with the stream's own in ``extra``."""
    workload = WORKLOADS["intake"]
    with fault_stack(folder, server_url) as (running, server):
        jobs = workload.prepare(running, requests, uuid.uuid4().hex[:12])
        instances = [start_service(running, "intake", f"intake-{n}") for n in "ab"]
        running.wait_until_serving("intake", instances=2, timeout=60)
        progress = Progress(total=len(jobs), hold_at=3 / 4)

        async def fault() -> int:
            try:
                await progress.reached(1 / 4)
                down_at = progress.answered
                await asyncio.to_thread(restart_nats, server, 3.0)  # > the clients' timeout
                return down_at
            finally:
                progress.release()

        async def run() -> tuple[Driven, int]:
            driven, down_at = await asyncio.gather(
                drive(
                    running.url_for("staff"),
                    workload.token(running),
                    jobs,
                    clients=clients,
                    progress=progress,
                ),
                fault(),
            )
            return driven, down_at

        driven, down_at = asyncio.run(run())
        left = wait_for_outbox(running.database_url)
        stored = {
            str(e) for (e,) in rows(running.database_url, sqlalchemy.select(outbox.c.event_id))
        }

        async def stream_ids() -> Counter[str]:
            nc = await connect(running.url_for("ops"))
            try:
                found = await stream_messages(nc, EVENTS_STREAM)
            finally:
                await nc.close()
            return Counter(m.headers.get("Nats-Msg-Id", "") for m in found)

        in_stream = asyncio.run(stream_ids())
        logs = [(running.home / f"intake-{n}.log").read_text() for n in "ab"]
        return counts(
            "nats-server kill -9 and restart",
            jobs,
            driven,
            workload.reconcile(running, jobs, driven),
            outbox_unsent=left,
            audit_ok=audit_ok(running),
            down_at=down_at,
            services_alive=sum(p.poll() is None for p in instances),
            reconnected=sum('"message": "nats reconnected"' in log for log in logs),
            outbox_events=len(stored),
            stream_events=sum(in_stream.values()),
            events_missing=len(stored - set(in_stream)),
            events_doubled=sum(n - 1 for n in in_stream.values() if n > 1),
            events_unknown=len(set(in_stream) - stored),
        )


def test_nats_restart_under_load_loses_and_doubles_nothing(
    postgres_server_url: str, tmp_path: Path
) -> None:
    result = nats_fault(REQUESTS, server_url=postgres_server_url, folder=tmp_path)
    print(result)
    extra = result.extra
    assert 0 < extra["down_at"] < result.requests, "the server was not restarted mid-run"
    assert extra["services_alive"] == 2, "a service process died (none may be restarted)"
    assert extra["reconnected"] == 2, "an instance did not log its reconnection"
    assert result.answered == result.requests, result
    assert (result.lost, result.duplicated, result.half_written) == (0, 0, 0), result
    assert result.outbox_unsent == 0, "the outbox did not drain"
    assert extra["outbox_events"] >= result.requests
    assert (extra["events_missing"], extra["events_doubled"], extra["events_unknown"]) == (0, 0, 0)
    assert extra["stream_events"] == extra["outbox_events"]
    assert result.audit_ok

"""PostgreSQL connections cut under load: requests fail cleanly or are retried; nothing half-done.

Two intake instances take registrations from several clients while every other backend of
the test database is terminated (``pg_terminate_backend``) four times during the run, and
then the database refuses connections for a second and a half (a restart, as the services
see it). Requests caught in flight either succeed (the unit of work is re-run on a dropped
connection) or answer a documented, retryable error code whose body carries no traceback
and no exception text; the clients re-send those with the same idempotency key.
Afterwards every request is answered and applied once, each registration has its audit
entry and its event (nothing half-written), the outbox drains, the audit chain verifies
and the services are the processes they were.

`postgres_fault` is what a benchmark calls with a bigger load.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from tests.reliability.faults import (
    DOCUMENTED,
    RETRYABLE,
    WORKLOADS,
    Driven,
    FaultCounts,
    Progress,
    audit_ok,
    counts,
    database_outage,
    drive,
    fault_stack,
    start_service,
    terminate_backends,
    wait_for_outbox,
)

REQUESTS = int(os.environ.get("DOSSIER_FAULT_REQUESTS", "120"))
CUTS = (0.15, 0.3, 0.45, 0.6)
OUTAGE_AT, OUTAGE_S = 0.7, 1.5
TRACEBACK_SIGNS = ("Traceback", 'File "', "psycopg", "sqlalchemy", "OperationalError", "SSL")


def postgres_fault(
    requests: int, *, server_url: str, folder: Path, clients: int = 8
) -> tuple[FaultCounts, Driven]:
    """``requests`` registrations through two intake instances while the database's other
    backends are terminated at each of `CUTS`; the figures and every reply."""
    workload = WORKLOADS["intake"]
    with fault_stack(folder, server_url) as (running, _):
        jobs = workload.prepare(running, requests, uuid.uuid4().hex[:12])
        instances = [start_service(running, "intake", f"intake-{n}") for n in "ab"]
        running.wait_until_serving("intake", instances=2, timeout=60)
        progress = Progress(total=len(jobs))

        async def fault() -> list[int]:
            terminated = []
            for at in CUTS:
                await progress.reached(at)
                terminated.append(await asyncio.to_thread(terminate_backends, running.database_url))
            await progress.reached(OUTAGE_AT)
            terminated.append(
                await asyncio.to_thread(database_outage, running.database_url, OUTAGE_S)
            )
            return terminated

        async def run() -> tuple[Driven, list[int]]:
            driven, terminated = await asyncio.gather(
                drive(
                    running.url_for("staff"),
                    workload.token(running),
                    jobs,
                    clients=clients,
                    progress=progress,
                ),
                fault(),
            )
            return driven, terminated

        driven, terminated = asyncio.run(run())
        left = wait_for_outbox(running.database_url)
        result = counts(
            "pg_terminate_backend ×4, then 1.5 s refusing connections",
            jobs,
            driven,
            workload.reconcile(running, jobs, driven),
            outbox_unsent=left,
            audit_ok=audit_ok(running),
            terminated=terminated,
            services_alive=sum(p.poll() is None for p in instances),
            units_rerun=sum(
                log.read_text().count("retrying a unit of work after")
                for log in running.home.glob("intake-*.log")
            ),
        )
        return result, driven


def test_terminated_connections_fail_cleanly_and_leave_nothing_half_written(
    postgres_server_url: str, tmp_path: Path
) -> None:
    result, driven = postgres_fault(REQUESTS, server_url=postgres_server_url, folder=tmp_path)
    print(result)
    terminated = result.extra["terminated"]
    assert len(terminated) == len(CUTS) + 1, terminated
    assert all(n > 0 for n in terminated), terminated
    assert result.extra["services_alive"] == 2
    assert result.extra["units_rerun"] + len(driven.error_replies) > 0, "no request was hit"
    for code, _status, message, problems in driven.error_replies:
        assert code in DOCUMENTED, code
        assert code in RETRYABLE, (code, message)
        assert code != "internal_error", "a database failure is a storage_error, not a bug"
        assert not any(sign in message + problems for sign in TRACEBACK_SIGNS), message
    assert driven.refused == {}
    assert result.answered == result.requests, result
    assert (result.lost, result.duplicated, result.half_written) == (0, 0, 0), result
    assert result.outbox_unsent == 0, "the outbox did not drain"
    assert result.audit_ok

"""kill -9 of one of two instances of a service under load: nothing lost, nothing done twice.

For each service, a mutating verb it answers (`faults.WORKLOADS`: intake
``registration.submit``, approvals ``consent.record`` on admitted students, retention
``review.resolve`` on the findings of a review run) is sent by several concurrent clients,
each request with its own idempotency key and re-sent with it until answered. When a third
of the requests are answered, one of the two instances is killed with SIGKILL and started
again. Afterwards every request is answered, each applied exactly once (its row, its audit
entry, its event: counted by the request's own marker), the outbox drains and the audit
chain verifies.

`kill_fault` is what a benchmark calls with a bigger load (``DOSSIER_FAULT_REQUESTS``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

from tests.reliability.faults import (
    WORKLOADS,
    Driven,
    FaultCounts,
    Progress,
    audit_ok,
    counts,
    drive,
    fault_stack,
    start_service,
    wait_for_outbox,
)

REQUESTS = int(os.environ.get("DOSSIER_FAULT_REQUESTS", "120"))


def kill_fault(
    service: str, requests: int, *, server_url: str, folder: Path, clients: int = 8
) -> FaultCounts:
    """Run ``requests`` of the service's workload and kill -9 one of its two instances when a
    third are answered, then start it again; the figures of the run."""
    workload = WORKLOADS[service]
    with fault_stack(folder, server_url) as (running, _):
        jobs = workload.prepare(running, requests, uuid.uuid4().hex[:12])
        victim = start_service(running, service, f"{service}-a")
        start_service(running, service, f"{service}-b")
        running.wait_until_serving(service, instances=2, timeout=60)
        progress = Progress(total=len(jobs), hold_at=2 / 3)

        async def fault() -> tuple[int, int]:
            try:
                await progress.reached(1 / 3)
                killed_at = progress.answered
                victim.kill()
                await asyncio.to_thread(victim.wait)
                start_service(running, service, f"{service}-restarted")
                await asyncio.to_thread(running.wait_until_serving, service, 2, 60)
                return killed_at, progress.answered
            finally:
                progress.release()  # the last third runs on the survivor and the restarted one

        async def run() -> tuple[Driven, tuple[int, int]]:
            return await asyncio.gather(
                drive(
                    running.url_for("staff"),
                    workload.token(running),
                    jobs,
                    clients=clients,
                    progress=progress,
                ),
                fault(),
            )

        driven, (killed_at, back_at) = asyncio.run(run())
        left = wait_for_outbox(running.database_url)
        return counts(
            f"kill -9 {service}",
            jobs,
            driven,
            workload.reconcile(running, jobs, driven),
            outbox_unsent=left,
            audit_ok=audit_ok(running),
            killed_at=killed_at,
            restarted_at=back_at,
            victim_returncode=victim.returncode,
            alive=sum(p.poll() is None for p in running.processes),
            restarted_answered=_answered(running.home / f"{service}-restarted.log"),
        )


def _answered(log: Path) -> int:
    """Requests an instance answered, by its log's request lines."""
    return sum('"message": "request"' in line for line in log.read_text().splitlines())


@pytest.mark.parametrize("service", ["intake", "approvals", "retention"])
def test_kill_9_of_one_instance_loses_and_doubles_nothing(
    service: str, postgres_server_url: str, tmp_path: Path
) -> None:
    result = kill_fault(service, REQUESTS, server_url=postgres_server_url, folder=tmp_path)
    print(result)
    assert result.extra["victim_returncode"] == -9
    assert 0 < result.extra["killed_at"] < result.requests, "the kill was not mid-run"
    assert result.extra["alive"] == 2, "the restarted instance and the survivor are running"
    assert result.extra["restarted_answered"] > 0, "the restarted instance took no requests"
    assert result.answered == result.requests, result
    assert (result.lost, result.duplicated, result.half_written) == (0, 0, 0), result
    assert not set(result.errors) - {"unavailable", "storage_error", "conflict"}, result.errors
    assert result.outbox_unsent == 0, "the outbox did not drain"
    assert result.audit_ok

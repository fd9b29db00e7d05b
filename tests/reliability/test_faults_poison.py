"""Poison on the destruction subject: parked after bounded retries, visible, never blocking.

The retention service's durable consumer ``retention-destruction`` reads
``dossier.events.*.destruction.moved``. Four students are withdrawn and their destruction
requested through the approvals service. Then, in this order, the stream receives:

- two invalid payloads published by hand: text that is not JSON, and a ``destruction.moved``
  whose request id holds a NUL character (the wire refuses it);
- the approval of the *poison* student, whose destruction the database refuses every time
  (a trigger on ``tombstones`` raises for that student number: an event that can never be
  processed, as the consumer sees it);
- the approvals of the three other students.

The three destructions behind the poison are executed and verified while it is retried;
after ``max_deliver`` attempts the poison is on ``DOSSIER_PARKED`` with headers naming the
consumer, the subject, the error and the attempts; the retention instance's ``/metrics``
shows ``dossier_parked_events`` equal to what is parked; nothing is left pending on the
consumer; and the invalid payloads are parked at once (an unreadable event is `Poison`:
no retry can help it), visible beside the poison.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy

from dossier.core import wire
from dossier.core.commands import ChangeStudentStatus, ReviewDestruction, SubmitDestruction
from dossier.core.contracts.retention import ListCertificates
from dossier.core.enums import Decision, DestructionStatus, StudentStatus
from dossier.core.events import DestructionRequestMoved
from dossier.core.policy import Role
from dossier.messaging.client import DossierClient
from dossier.messaging.embedded import free_port
from dossier.messaging.events import EVENTS_STREAM, PARKED_STREAM, event_subject
from tests.reliability.faults import (
    BRANCH,
    admit_students,
    connect,
    fault_stack,
    open_db,
    start_service,
    stream_messages,
)

CONSUMER = "retention-destruction"
MAX_DELIVER = 5  # DurableConsumer's default, which the retention service keeps


async def _until(check: Any, what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"no {what} within {timeout}s")


def refuse_tombstone_of(url: str, student_number: str) -> None:
    """From now on the database refuses to write ``student_number``'s tombstone, so every
    attempt to destroy that student fails (and is rolled back whole)."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE FUNCTION test_refuse_tombstone() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF NEW.student_number = '{student_number}' THEN "
                "RAISE EXCEPTION 'refused by the fault injection'; END IF; RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER test_refuse_tombstone BEFORE INSERT ON tombstones "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_tombstone()"
            )
    finally:
        engine.dispose()


def _parked_gauge(port: int) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("dossier_parked_events "):
                return float(line.split()[1])
    return None


def test_poison_event_is_parked_and_the_destructions_behind_it_run(
    postgres_server_url: str, tmp_path: Path
) -> None:
    with fault_stack(tmp_path, postgres_server_url) as (running, _):
        db = open_db(running)
        try:
            numbers = admit_students(db, 4)
        finally:
            db.dispose()
        victim = numbers[0]
        refuse_tombstone_of(running.database_url, victim)
        metrics_port = free_port()
        start_service(running, "approvals")
        retention = start_service(running, "retention", DOSSIER_METRICS_PORT=str(metrics_port))
        running.wait_until_serving("approvals", timeout=60)
        running.wait_until_serving("retention", timeout=60)
        invalid = wire.dumps(
            DestructionRequestMoved(
                branch=BRANCH,
                occurred_at=datetime.now(UTC),
                actor="someone",
                request_id="invalid\x00" + uuid.uuid4().hex,
                student_number=victim,
                status=DestructionStatus.APPROVED,
            )
        )
        nul_id, garbage_id = f"nul-{uuid.uuid4()}", f"garbage-{uuid.uuid4()}"

        async def scenario() -> dict[str, Any]:
            nc = await connect(running.url_for("staff"))
            ops = await connect(running.url_for("ops"))  # reads the streams, as an operator would
            js = (await connect(running.url_for("intake"))).jetstream()  # a service may publish
            officer = DossierClient(nc, running.token("officer-1", Role.ENROLMENT_OFFICER))
            approver = DossierClient(nc, running.token("approver-1", Role.APPROVER))
            operator = DossierClient(
                nc, running.token("operator-1", Role.OPERATOR, branches=("*",))
            )
            try:
                requests = []
                for number in numbers:
                    await officer.send(
                        ChangeStudentStatus(
                            student_number=number, target=StudentStatus.WITHDRAWN, reason="left"
                        )
                    )
                    request = await officer.send(
                        SubmitDestruction(student_number=number, reason="asked by the student")
                    )
                    requests.append(request.request_id)
                subject = event_subject(BRANCH, "destruction.moved")
                await js.publish(subject, b"{not json", headers={"Nats-Msg-Id": garbage_id})
                await js.publish(subject, invalid, headers={"Nats-Msg-Id": nul_id})
                for request_id in requests:  # the poison student's first
                    await approver.send(
                        ReviewDestruction(
                            request_id=request_id, decision=Decision.APPROVE, reason="no hold"
                        )
                    )

                async def verified() -> Any:
                    page = await operator.send(ListCertificates(branch=BRANCH))
                    done = [
                        c for c in page.items if c.verification is not None and c.verification.ok
                    ]
                    return len(done) == len(requests) - 1 and done

                certificates = await _until(verified, "three verified certificates")

                async def parked() -> Any:
                    return await stream_messages(ops, PARKED_STREAM)

                parked_messages = await _until(parked, "parked event")

                async def settled() -> Any:
                    info = await ops.jetstream().consumer_info(EVENTS_STREAM, CONSUMER)
                    return info.num_pending == 0 and info.num_ack_pending == 0

                await _until(settled, "consumer with nothing pending")
                return {
                    "certificates": certificates,
                    "requests": requests,
                    "parked": await stream_messages(ops, PARKED_STREAM),
                    "first_parked": parked_messages,
                }
            finally:
                await nc.close()
                await ops.close()
                await js._nc.close()

        seen = asyncio.run(scenario())
        poison_request, *others = seen["requests"]
        assert sorted(c.request_id for c in seen["certificates"]) == sorted(others)
        parked = seen["parked"]
        poisoned = [m for m in parked if poison_request.encode() in m.data]
        assert len(poisoned) == 1, parked
        event = wire.loads(poisoned[0].data, DestructionRequestMoved)
        assert (event.status, event.student_number) == (DestructionStatus.APPROVED, victim)
        headers = poisoned[0].headers
        assert headers["Dossier-Consumer"] == CONSUMER
        assert headers["Dossier-Original-Subject"] == event_subject(BRANCH, "destruction.moved")
        assert headers["Dossier-Error"] == "Transient"
        assert headers["Dossier-Attempts"] == str(MAX_DELIVER), "parked before its retries ran out"
        assert poisoned[0].subject == f"dossier.parked.{CONSUMER}"
        # the invalid payloads: parked at once, on their first delivery, as Poison
        invalid_parked = [
            m for m in parked if m.headers.get("Nats-Msg-Id", "").endswith((nul_id, garbage_id))
        ]
        assert len(invalid_parked) == 2, parked
        for message in invalid_parked:
            assert message.headers["Dossier-Error"] == "Poison"
            assert message.headers["Dossier-Attempts"] == "1"

        deadline = time.monotonic() + 30  # the gauges refresh every 5 s
        gauge = _parked_gauge(metrics_port)
        while gauge != float(len(parked)) and time.monotonic() < deadline:
            time.sleep(0.5)
            gauge = _parked_gauge(metrics_port)
        assert gauge == float(len(parked)), gauge
        assert retention.poll() is None

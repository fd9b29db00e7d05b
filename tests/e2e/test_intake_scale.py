"""Intake under load and faults: several processes, one queue group, nothing lost or doubled."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import pytest
import sqlalchemy

from dossier.core.policy import Role
from dossier.core.student_number import DEFAULT_FORMAT
from dossier.messaging.events import EVENTS_STREAM
from dossier.storage.schema import audit_log, outbox, registrations, students
from tests.support.load import admit_many
from tests.support.nats import operator_reads, sign_in
from tests.support.stack import Stack

SCALE = int(os.environ.get("DOSSIER_SCALE_REGISTRATIONS", "10000"))
KILL_RUN = int(os.environ.get("DOSSIER_KILL_REGISTRATIONS", "5000"))


def _scalar(url: str, query: Any) -> Any:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(query).scalar_one()
    finally:
        engine.dispose()


def _count(url: str, table: Any, *where: Any) -> int:
    return int(
        _scalar(url, sqlalchemy.select(sqlalchemy.func.count()).select_from(table).where(*where))
    )


def _events(nats_url: str, subject: str) -> tuple[int, int]:
    """(messages, distinct event ids) on ``subject`` once the outbox has drained."""

    async def read() -> tuple[int, int]:
        nc = await sign_in(nats_url)
        js = nc.jetstream()
        stored = (await js.stream_info(EVENTS_STREAM, subjects_filter=subject)).state.subjects
        expected = (stored or {}).get(subject, 0)
        sub = await operator_reads(js, subject, f"check-{time.monotonic_ns()}")
        ids: list[str] = []
        quiet = 0
        while len(ids) < expected and quiet < 10:
            try:
                batch = await sub.fetch(500, timeout=3)
            except TimeoutError:  # nats' own and asyncio's alike, under load
                quiet += 1
                continue
            for message in batch:
                ids.append((message.headers or {}).get("Nats-Msg-Id", ""))
        await nc.close()
        return len(ids), len(set(ids))

    return asyncio.run(read())


def _wait_for_outbox(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _count(url, outbox, outbox.c.sent_at.is_(None)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _count(url, outbox, outbox.c.sent_at.is_(None)) == 0, "the outbox did not drain"


def _check_exactly_once(stack: Stack, expected: int, numbers: list[str]) -> None:
    url = stack.database_url
    assert len(numbers) == expected
    assert len(set(numbers)) == expected, "a student number was handed out twice"
    for number in numbers:
        DEFAULT_FORMAT.parse(number)
    assert _count(url, students) == expected
    assert _count(url, registrations) == expected
    assert _count(url, audit_log, audit_log.c.action == "student.admitted") == expected
    _wait_for_outbox(url)
    admitted, distinct = _events(stack.url_for("ops"), "dossier.events.SH01.student.admitted")
    assert (admitted, distinct) == (expected, expected)


@pytest.mark.slow
def test_four_instances_share_the_load_and_admit_each_registration_once(
    dossier_stack: Stack,
) -> None:
    for index in range(4):
        dossier_stack.start("intake", log_name=f"intake-{index}")
    dossier_stack.wait_until_serving("intake", instances=4)
    numbers = asyncio.run(
        admit_many(
            dossier_stack.url_for("staff"),
            dossier_stack.token("desk-1", Role.FRONT_DESK),
            dossier_stack.token("officer-1", Role.ENROLMENT_OFFICER),
            range(SCALE),
        )
    )
    _check_exactly_once(dossier_stack, SCALE, numbers)


@pytest.mark.slow
def test_kill_9_of_one_instance_mid_run_loses_and_doubles_nothing(dossier_stack: Stack) -> None:
    victim = dossier_stack.start("intake", log_name="intake-victim")
    dossier_stack.start("intake", log_name="intake-survivor")
    dossier_stack.wait_until_serving("intake", instances=2)

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if _count(dossier_stack.database_url, students) >= KILL_RUN // 4:
                victim.kill()
                victim.wait()
                return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    numbers = asyncio.run(
        admit_many(
            dossier_stack.url_for("staff"),
            dossier_stack.token("desk-1", Role.FRONT_DESK),
            dossier_stack.token("officer-1", Role.ENROLMENT_OFFICER),
            range(KILL_RUN),
            timeout=2.0,
        )
    )
    killer.join()
    assert victim.returncode == -9, "the victim was not killed mid-run"
    _check_exactly_once(dossier_stack, KILL_RUN, numbers)

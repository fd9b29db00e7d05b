"""kill -9 of intake right after an answered ``dossier.get``: every answered read is in the
read trail (查阅记录), which still verifies, and the restarted service chains on from it.

The read's entry is committed in the read's own transaction before the answer is sent, so
an answer the client holds is a committed entry whatever happens to the process next.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import sqlalchemy

from dossier.core.policy import Role
from dossier.storage.schema import read_trail
from tests.reliability.endpoints import call
from tests.reliability.faults import admit_students, fault_stack, open_db, rows, start_service

READER = "web:officer.kill"


def _recorded(url: str) -> list[str]:
    query = sqlalchemy.select(read_trail.c.student_number).where(read_trail.c.actor == READER)
    return sorted(row.student_number for row in rows(url, query))


def test_kill_9_right_after_an_answered_read_loses_no_recorded_read(
    postgres_server_url: str, tmp_path: Path
) -> None:
    with fault_stack(tmp_path, postgres_server_url) as (running, _):
        db = open_db(running)
        try:
            numbers = admit_students(db, 4, with_id_proof=False)
        finally:
            db.dispose()
        victim = start_service(running, "intake", "intake-a")
        running.wait_until_serving("intake", instances=1, timeout=60)
        token = running.token(READER, Role.ENROLMENT_OFFICER)

        async def read_then_kill() -> list[str]:
            nc = await running.connect("staff")
            answered = []
            try:
                for number in numbers:
                    body = orjson.dumps({"student_number": number})
                    reply = await call(
                        nc, "dossier.intake.dossier.get", body, token=token, key=None
                    )
                    assert reply.ok, reply
                    answered.append(number)
                victim.kill()  # SIGKILL the moment the last answer is in
            finally:
                await nc.close()
            return answered

        answered = asyncio.run(read_then_kill())
        victim.wait()
        assert victim.returncode == -9
        assert _recorded(running.database_url) == sorted(answered)

        start_service(running, "intake", "intake-restarted")
        running.wait_until_serving("intake", instances=1, timeout=60)

        async def read_again() -> None:
            nc = await running.connect("staff")
            try:
                body = orjson.dumps({"student_number": numbers[0]})
                reply = await call(nc, "dossier.intake.dossier.get", body, token=token, key=None)
                assert reply.ok, reply
            finally:
                await nc.close()

        asyncio.run(read_again())
        assert len(_recorded(running.database_url)) == len(answered) + 1
        db = open_db(running)
        try:  # the restarted service sealed what the killed one left, and the new read
            deadline = time.monotonic() + 30
            while (report := db.verify_read_trail()).branches.get("SH01", 0) < len(answered) + 1:
                assert time.monotonic() < deadline, report
                time.sleep(0.1)
        finally:
            db.dispose()
        assert report.ok, report.breaks
        assert report.branches == {"SH01": len(answered) + 1}

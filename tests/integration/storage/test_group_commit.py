"""Group commit: concurrent single admissions share transactions; nobody hears "done" early."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import attrs
import pytest

from dossier.core import lifecycles
from dossier.core.enums import RegistrationStatus
from dossier.core.records import StudentDossier
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.group_commit import GroupCommitter
from dossier.storage.uow import UnitOfWork
from tests.support import storage as build

THREADS = 8
EACH = 25


def admission(marker: str, registration_id: str) -> Callable[[UnitOfWork], StudentDossier]:
    """A job: one full admission (number, dossier, audit entry, outbox event)."""
    template = build.registration(marker, id=registration_id)

    def job(uow: UnitOfWork) -> StudentDossier:
        number = uow.numbers.next("SH01", 2026)
        accepted = attrs.evolve(template, status=RegistrationStatus.ACCEPTED, student_number=number)
        admitted = lifecycles.admit(accepted, build.ctx())
        uow.apply(admitted, audit=AuditSpec(action="student.admitted"))
        return admitted.record

    return job


def test_concurrent_admissions_are_grouped_and_answered_after_commit(
    db: Database, open_db: Callable[[], Database]
) -> None:
    reader = open_db()
    seen_committed: list[bool] = []
    lock = threading.Lock()

    def caller(committer: GroupCommitter, worker: int) -> list[str]:
        numbers = []
        for i in range(EACH):
            dossier = committer.submit(admission(f"w{worker}", f"r-{worker}-{i}"))
            with reader.unit_of_work() as uow:  # visible to everyone the moment we hear back
                visible = uow.students.get(dossier.student_number) == dossier
            with lock:
                seen_committed.append(visible)
            numbers.append(dossier.student_number)
        return numbers

    with GroupCommitter(db, max_batch=32, max_wait=0.01) as committer:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(lambda w: caller(committer, w), range(THREADS)))
        batches = committer.batches
    numbers = [n for chunk in results for n in chunk]
    assert len(set(numbers)) == THREADS * EACH
    assert all(seen_committed)
    assert batches < THREADS * EACH  # several admissions shared a transaction
    report = db.verify_audit()
    assert report.ok
    assert report.branches == {"SH01": THREADS * EACH}


def test_a_failing_job_fails_alone(db: Database) -> None:
    def broken(uow: UnitOfWork) -> None:
        admission("bad", "r-bad")(uow)
        raise KeyError("job bug")

    with GroupCommitter(db, max_batch=8, max_wait=0.05) as committer:
        good = [committer.submit_future(admission("ok", f"r-{i}")) for i in range(3)]
        bad = committer.submit_future(broken)
        more = committer.submit_future(admission("ok", "r-3"))
        with pytest.raises(KeyError, match="job bug"):
            bad.result()
        dossiers = [f.result() for f in (*good, more)]
    with db.unit_of_work() as uow:
        assert uow.students.numbers() == sorted(d.student_number for d in dossiers)
        assert [e.student_number for e in uow.audit.entries("SH01")] == [
            d.student_number for d in dossiers
        ]
        assert len(uow.outbox.pending()) == 4
    assert db.verify_audit().ok


def test_asyncio_callers(db: Database) -> None:
    async def main(committer: GroupCommitter) -> list[StudentDossier]:
        jobs = [committer.submit_async(admission("a", f"r-{i}")) for i in range(20)]
        return await asyncio.gather(*jobs)

    with GroupCommitter(db, max_batch=50, max_wait=0.02) as committer:
        dossiers = asyncio.run(main(committer))
        assert committer.batches <= 2
    assert len({d.student_number for d in dossiers}) == 20


def test_closed_committer_refuses_work(db: Database) -> None:
    committer = GroupCommitter(db)
    committer.close()
    with pytest.raises(RuntimeError, match="closed"):
        committer.submit(admission("x", "r"))

"""Progress events: subject, payload, throttling, and never failing the job."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson

from dossier.messaging.progress import JobProgress, ProgressPublisher, progress_subject


class Recording(ProgressPublisher):
    def __init__(self, clock: list[float], interval: float = 0.2) -> None:
        super().__init__("retention", interval=interval, clock=lambda: clock[0])
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, subject: str, payload: bytes) -> None:
        self.sent.append((subject, orjson.loads(payload)))


def test_events_are_throttled_and_the_final_one_always_goes() -> None:
    clock = [100.0]
    publisher = Recording(clock)
    job = publisher.job("backup-create", "job-00000001")
    for done in range(10):  # ten updates within 0.09 s: only the first goes
        job.update("rows", done, 50)
        clock[0] += 0.01
    clock[0] += 0.2
    job.update("rows", 40, 50)
    job.finish()
    subjects = {subject for subject, _ in publisher.sent}
    assert subjects == {"dossier.progress.retention.backup-create.job-00000001"}
    events = [event for _, event in publisher.sent]
    assert [(e["stage"], e["done"], e["total"]) for e in events] == [
        ("rows", 0, 50),
        ("rows", 40, 50),
        ("done", 40, 50),
    ]
    assert set(events[0]) == {"job", "kind", "stage", "done", "total", "at"}
    assert events[0]["at"].endswith("Z")


def test_a_job_without_a_usable_id_publishes_nothing() -> None:
    publisher = Recording([0.0])
    for job_id in (None, "short", "a.b", "x" * 129, "has space-0000"):
        job = publisher.job("review-start", job_id)
        job.update("dossiers", 1, 2)
        job.finish(ok=False)
    assert publisher.sent == []
    assert progress_subject("intake", "import-start", "j1234567") == (
        "dossier.progress.intake.import-start.j1234567"
    )


class Failing:
    """A connection whose every publish fails."""

    async def publish(self, subject: str, payload: bytes) -> None:
        raise ConnectionError("nats is away")


def test_publishing_from_a_worker_thread_never_raises() -> None:
    publisher = ProgressPublisher("retention", interval=0)
    job: JobProgress = publisher.job("backup-create", "job-00000002")
    job.update("rows", 1)  # not bound yet: nothing, quietly

    async def main() -> None:
        publisher.bind(Failing())  # type: ignore[arg-type]

        def work() -> None:
            for done in range(5):
                job.update("rows", done)
            job.finish()

        await asyncio.to_thread(work)
        await asyncio.sleep(0.05)  # the failed sends are logged, not raised

    asyncio.run(main())
    worker = threading.Thread(target=job.finish)  # the loop has stopped: still quiet
    worker.start()
    worker.join()

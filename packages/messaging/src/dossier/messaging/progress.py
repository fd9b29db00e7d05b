"""Progress events of long jobs on core NATS: ``dossier.progress.<service>.<kind>.<job>``.

A long job behind an endpoint (a backup, a quarterly review, a bulk import)
runs in a worker thread and answers only when it ends. While it runs, the
service publishes its progress so that a client can draw a bar:

- **subject** ``dossier.progress.<service>.<kind>.<job>`` — ``kind`` names the
  job (``backup-create``, ``review-run`` …), ``job`` is the job id: the
  ``job_id`` the client put in the request's body, else the request's
  ``Dossier-Request-Id``. Either way the client knows it before it sends the
  request, so it subscribes first (``dossier.progress.<service>.*.<job>``),
  then sends, and reads events until the reply (or the final event) comes.
  A job id is one subject token: letters, digits, ``-`` and ``_``, 8 to 128.
- **payload** JSON ``{"job", "kind", "stage", "done", "total", "at"}`` —
  ``stage`` a word, ``done`` a count within the stage, ``total`` the stage's
  total or null, ``at`` the UTC time. Never anything personal.
- **rate** at most one event per job every ``interval`` (0.2 s: 5 a second)
  — those in between are dropped, not queued — and always the final one:
  stage ``done`` (or ``failed``), with the last counts.

Publishing is fire-and-forget: from the job's thread it hops onto the event
loop (`asyncio.run_coroutine_threadsafe`) and returns at once; core NATS
keeps nothing, so events sent before anyone subscribed are gone, and a
failure to publish (NATS away, the loop stopping) is logged at debug level
and never fails the job.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from nats.aio.client import Client

from dossier.core.errors import Problem, ValidationError
from dossier.core.progress import Reported

log = logging.getLogger("dossier.messaging.progress")

SUBJECT_ROOT = "dossier.progress"
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
"""A job id: one NATS subject token, long enough not to be guessed by accident."""
INTERVAL = 0.2
"""Seconds between two events of one job (the final one excepted): at most 5 a second."""


def progress_subject(service: str, kind: str, job: str) -> str:
    return f"{SUBJECT_ROOT}.{service}.{kind}.{job}"


class ProgressPublisher:
    """One per service process: knows the connection and the loop, hands out `JobProgress`es.

    Created before the connection exists (the endpoints are declared first)
    and `bind`-ed once connected; until then its jobs publish nothing.
    """

    def __init__(
        self,
        service: str,
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.interval = interval
        self.clock = clock
        self._nc: Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, nc: Client, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Publish on ``nc`` from now on, through ``loop`` (default: the running one)."""
        self._nc = nc
        self._loop = loop or asyncio.get_running_loop()

    def job(self, kind: str, job_id: str | None) -> JobProgress:
        """The progress of one job; with no (valid) job id, one that publishes nothing."""
        valid = job_id is not None and JOB_ID.fullmatch(job_id) is not None
        return JobProgress(self, kind, job_id if valid else None)

    def publish(self, subject: str, payload: bytes) -> None:
        """Send from any thread, without waiting; a failure is logged, never raised."""
        nc, loop = self._nc, self._loop
        if nc is None or loop is None or loop.is_closed():
            return
        sending = _send(nc, subject, payload)
        try:
            future = asyncio.run_coroutine_threadsafe(sending, loop)
        except RuntimeError:  # the loop is shutting down
            sending.close()
            return
        future.add_done_callback(_log_failure)


class JobProgress:
    """One job's progress events: throttled `update`s and a final `finish`."""

    def __init__(self, publisher: ProgressPublisher, kind: str, job_id: str | None) -> None:
        self.publisher = publisher
        self.kind = kind
        self.job_id = job_id
        self.subject = None if job_id is None else progress_subject(publisher.service, kind, job_id)
        self.stage = "started"
        self.done = 0
        self.total: int | None = None
        self._last: float | None = None

    def update(self, stage: str, done: int, total: int | None = None) -> None:
        """The job's latest state; sent unless one was sent less than ``interval`` ago."""
        self.stage, self.done, self.total = stage, done, total
        now = self.publisher.clock()
        if self._last is not None and now - self._last < self.publisher.interval:
            return
        self._last = now
        self._send(stage)

    def finish(self, ok: bool = True) -> None:
        """The final event, always sent: stage ``done`` (or ``failed``) with the last counts."""
        self._send("done" if ok else "failed")

    def _send(self, stage: str) -> None:
        if self.subject is None:
            return
        event = {
            "job": self.job_id,
            "kind": self.kind,
            "stage": stage,
            "done": self.done,
            "total": self.total,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        self.publisher.publish(self.subject, orjson.dumps(event))


async def _send(nc: Client, subject: str, payload: bytes) -> None:
    await nc.publish(subject, payload)


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        log.debug("progress event not sent: %s", type(error).__name__)


T = TypeVar("T")


def job_id_of(request_id: str, body: Any) -> str:
    """The job id of a long request: the body's ``job_id``, else the request id."""
    given: str | None = getattr(body, "job_id", None)
    if given is None:
        return request_id
    if not JOB_ID.fullmatch(given):
        raise ValidationError(
            [Problem("job_id", "invalid_value", {"expected": "8-128 of A-Z a-z 0-9 _ -"})]
        )
    return given


def run_tracked(
    publisher: ProgressPublisher,
    kind: str,
    job_id: str,
    work: Callable[[Callable[[Reported], None]], T],
) -> T:
    """Run ``work(sink)``, publishing what the sink hears and a final done/failed event."""
    job = publisher.job(kind, job_id)

    def sink(progress: Reported) -> None:
        job.update(progress.stage, progress.done, progress.total)

    try:
        result = work(sink)
    except BaseException:
        job.finish(ok=False)
        raise
    job.finish()
    return result

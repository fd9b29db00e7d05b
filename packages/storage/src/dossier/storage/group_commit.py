"""Group commit for the service path: many concurrent small writes, one transaction per batch.

A service instance answering many single admissions at once spends most of
each one waiting for its own COMMIT (a WAL flush) and, per branch, for the
audit-chain head. `GroupCommitter` lets callers hand their work to one writer
thread instead:

    committer = GroupCommitter(db, max_batch=64, max_wait=0.005)
    dossier = committer.submit(lambda uow: admit_one(uow, registration))   # from any thread
    dossier = await committer.submit_async(lambda uow: admit_one(uow, registration))

The writer takes the first waiting job, gathers more for up to ``max_wait``
seconds or ``max_batch`` jobs, and runs them in one unit of work, each inside
its own SAVEPOINT: a job that raises is rolled back alone (its buffered audit
entries dropped) and its caller gets the exception at once. The others
commit together — one COMMIT, one head update per branch — and only then is
each caller answered. If that COMMIT fails, every caller of the batch gets the
error: a caller is never told "done" for work that was not committed.

Jobs run one after another on the writer thread, so a job must not block on
another job, and must not commit or roll back the unit of work itself.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from attrs import frozen

from dossier.storage.db import Database
from dossier.storage.uow import UnitOfWork

R = TypeVar("R")
Job = Callable[[UnitOfWork], Any]


@frozen
class _Pending:
    job: Job
    future: Future[Any]


_STOP = object()


class GroupCommitter:
    def __init__(self, db: Database, *, max_batch: int = 64, max_wait: float = 0.005) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be positive and max_wait not negative")
        self._db = db
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._closed = False
        self.batches = 0
        """Transactions committed so far (for tests and benchmarks)."""
        self._thread = threading.Thread(target=self._run, name="dossier-group-commit", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[UnitOfWork], R]) -> R:
        """Run ``job`` in the next batch; return its result once that batch has committed."""
        future: Future[R] = self.submit_future(job)
        return future.result()

    async def submit_async(self, job: Callable[[UnitOfWork], R]) -> R:
        """`submit` for asyncio callers: awaits the batch's commit without blocking the loop."""
        return await asyncio.wrap_future(self.submit_future(job))

    def submit_future(self, job: Callable[[UnitOfWork], R]) -> Future[R]:
        if self._closed:
            raise RuntimeError("the group committer is closed")
        future: Future[R] = Future()
        self._queue.put(_Pending(job, future))
        return future

    def close(self) -> None:
        """Finish every job already submitted, then stop the writer thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the writer thread ---------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            deadline = time.monotonic() + self._max_wait
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self._commit([p for p in batch if isinstance(p, _Pending)])

    def _commit(self, batch: list[_Pending]) -> None:
        done: list[tuple[_Pending, Any]] = []
        try:
            with self._db.unit_of_work() as uow:
                for pending in batch:
                    if not pending.future.set_running_or_notify_cancel():
                        continue
                    mark, reads_mark = uow.audit.mark(), uow.reads.mark()
                    savepoint = uow.connection.begin_nested()
                    try:
                        result = pending.job(uow)
                    except BaseException as error:  # a job must never kill the writer thread
                        savepoint.rollback()
                        uow.audit.discard_after(mark)
                        uow.reads.discard_after(reads_mark)
                        uow.session.forget()
                        pending.future.set_exception(error)
                        continue
                    savepoint.commit()
                    done.append((pending, result))
                uow.commit()
            self.batches += 1
        except BaseException as error:  # every caller hears of it; the writer lives on
            for pending, _ in done:
                pending.future.set_exception(error)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        for pending, result in done:
            pending.future.set_result(result)

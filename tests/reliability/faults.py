"""Fault injection for the reliability suite: real processes and servers, the faults put on them.

What the ``test_faults_*`` modules and the benchmarks share:

- `fault_stack`: a fresh migrated PostgreSQL database, this run's own nats-server (restartable
  on its port, JetStream store kept) and a configured data folder; `start_service` starts a
  service process with extra environment (every process gets its own metrics port setting,
  so several instances can share a host);
- `drive`: many concurrent clients sending mutating requests, each with its own idempotency
  key, re-sent with the same key until answered (no answer, no responders, a lost
  connection, a retryable error code), keeping every error reply;
- the faults: `restart_nats` (kill -9 and start again on the same port), `terminate_backends`
  (``pg_terminate_backend`` of every other connection to the database), `database_outage`
  (the database refuses connections for a while), `TcpProxy` (an S3 endpoint that can be
  cut and restored while the server behind it keeps its data);
- the checks: `reconcile` (each request applied exactly once, each change with its audit entry
  and its event), `wait_for_outbox`, `stream_messages`, `audit_ok`;
- `WORKLOADS`: one quick mutating verb per service, its requests and where their effects are;
- `FaultCounts`: the figures of a run (requests, answered, lost, duplicated, …) that the
  tests assert on and a benchmark prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import selectors
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import nats
import orjson
import sqlalchemy
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from dossier.core.caller import Caller as RetentionCaller
from dossier.core.commands import RecordConsent
from dossier.core.contracts.retention import ResolveFinding, StartReview
from dossier.core.enums import Channel, ConsentGiver, ConsentPurpose, DocumentKind, IdDocumentType
from dossier.core.lifecycle import Context
from dossier.core.policy import Actor, Role
from dossier.core.records import DocumentRef, IdDocument, LearningNeeds, PersonalDetails
from dossier.core.records import Registration as RegistrationRecord
from dossier.messaging import embedded, headers
from dossier.messaging.client import DossierClient, RemoteError, Unavailable
from dossier.messaging.replies import ERROR_CODE_HEADER
from dossier.retention.review import Reviews
from dossier.storage.bulk import BulkAdmitter
from dossier.storage.db import Database
from dossier.storage.migrations import upgrade
from dossier.storage.schema import audit_log, consents, outbox, review_findings
from tests.support.load import registration
from tests.support.nats import BusServer, bus_server, sign_in
from tests.support.postgres import throwaway_database
from tests.support.stack import Stack, stack

BRANCH = "SH01"

RETRYABLE = frozenset({"unavailable", "storage_error", "internal_error", "conflict"})
"""Error codes docs/errors.md tells a caller to retry with the same idempotency key."""

DOCUMENTED = frozenset(
    line.split("|")[1].strip().strip("`")
    for line in (Path(__file__).resolve().parents[2] / "docs" / "errors.md")
    .read_text(encoding="utf-8")
    .split("## Rules")[0]
    .splitlines()
    if line.startswith("| `")
)
"""Every error code docs/errors.md documents."""


# -- the stack -----------------------------------------------------------------------------------


@contextlib.contextmanager
def fault_stack(folder: Path, server_url: str) -> Iterator[tuple[Stack, BusServer]]:
    """A configured data folder on a fresh database and this run's own nats-server."""
    folder.mkdir(parents=True, exist_ok=True)
    with throwaway_database(server_url) as url:
        upgrade(url)
        server = bus_server(folder)
        server.start()
        try:
            with stack(folder / "home", url, server) as running:
                yield running, server
        finally:
            if server.running:
                server.stop()


def start_service(
    running: Stack, service: str, log_name: str | None = None, **env: str
) -> subprocess.Popen[bytes]:
    """Like `Stack.start`, with extra environment; the metrics port is off unless given."""
    with (running.home / f"{log_name or service}.log").open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"dossier.{service}.service",
                "--config",
                str(running.config_path),
            ],
            env={**running.env, "DOSSIER_METRICS_PORT": "0", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running.processes.append(process)
    return process


def open_db(running: Stack) -> Database:
    return Database.open(running.config().storage, upgrade=False)


async def connect(url: str) -> Client:
    """A client connection that reconnects forever, quickly, and keeps quiet about it."""

    async def quiet(*_: Any) -> None:
        return None

    return await sign_in(
        url,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        error_cb=quiet,
        disconnected_cb=quiet,
        reconnected_cb=quiet,
    )


# -- driving load --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One logical request: its idempotency key, its body, and what identifies its effect."""

    key: str
    message: Any
    marker: str


@dataclass
class Driven:
    answers: dict[str, Any] = field(default_factory=dict)
    """idempotency key → the answer"""
    refused: dict[str, str] = field(default_factory=dict)
    """idempotency key → the error code of a final, non-retryable refusal"""
    error_replies: list[tuple[str, int, str, str]] = field(default_factory=list)
    """every error reply: (code, status, message, raw body), retried or not"""
    resends: int = 0
    seconds: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.answers)


@dataclass
class Progress:
    """How many requests are answered so far (read by the fault, written by the clients).

    With ``hold_at`` set, the clients start no new request once that fraction is answered
    until `release` (the fault is over: the rest of the load runs on the recovered system).
    """

    answered: int = 0
    total: int = 0
    hold_at: float | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self._released.set()

    async def may_start(self) -> None:
        if self.hold_at is not None and self.answered >= self.hold_at * self.total:
            await self._released.wait()

    async def reached(self, fraction: float, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.total or self.answered < fraction * self.total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.answered}/{self.total} answered after {timeout}s")
            await asyncio.sleep(0.02)


async def drive(
    nats_url: str,
    token: str,
    jobs: Sequence[Job],
    *,
    clients: int = 8,
    timeout: float = 2.0,
    retry: frozenset[str] = RETRYABLE,
    give_up_after: float = 60.0,
    progress: Progress | None = None,
) -> Driven:
    """Send every job from ``clients`` concurrent clients until each is answered or refused.

    A job is re-sent with its own idempotency key after no answer, no responders, a lost
    connection or a ``retry`` error code. A job still unanswered ``give_up_after`` seconds
    after it was first sent is given up, and then no new job is started: the rest stay
    unanswered (the caller counts them lost) rather than each waiting out its own time.
    """
    nc = await connect(nats_url)
    client = DossierClient(nc, token, timeout=timeout, attempts=1)
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    driven = Driven()
    progress = progress or Progress(total=len(jobs))
    started = time.monotonic()

    async def one(job: Job) -> None:
        delay = 0.05
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            try:
                driven.answers[job.key] = await client.send(job.message, idempotency_key=job.key)
                progress.answered += 1
                return
            except RemoteError as error:
                driven.error_replies.append(
                    (error.code, error.status, error.message, repr(error.problems))
                )
                if error.code not in retry:
                    driven.refused[job.key] = error.code
                    return
            except (Unavailable, nats.errors.Error, TimeoutError):
                pass
            driven.resends += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        gave_up.set()

    gave_up = asyncio.Event()

    async def worker() -> None:
        while not queue.empty() and not gave_up.is_set():
            await progress.may_start()
            if queue.empty() or gave_up.is_set():
                return
            await one(queue.get_nowait())

    try:
        await asyncio.gather(*(worker() for _ in range(clients)))
    finally:
        driven.seconds = time.monotonic() - started
        await nc.close()
    return driven


@dataclass(frozen=True)
class RawReply:
    code: str
    status: int | None
    data: bytes


async def raw_request(
    nc: Client, subject: str, body: bytes, token: str, *, timeout: float = 30.0
) -> RawReply:
    """One request, the reply's bytes as they came (for scanning error bodies)."""
    sent = {
        headers.ACTOR: token,
        headers.REQUEST_ID: str(uuid.uuid4()),
        headers.IDEMPOTENCY_KEY: uuid.uuid4().hex,
        headers.LOCALE: "en",
    }
    reply = await nc.request(subject, body, timeout=timeout, headers=sent)
    status = (reply.headers or {}).get(ERROR_CODE_HEADER)
    if status is None:
        return RawReply("ok", None, reply.data)
    error = orjson.loads(reply.data).get("error", {})
    return RawReply(str(error.get("code")), int(status), reply.data)


# -- preparing records ----------------------------------------------------------------------------


def admit_students(
    db: Database, count: int, *, first: int = 0, with_id_proof: bool = True
) -> list[str]:
    """``count`` admitted students in one import (in process); their student numbers."""
    now = datetime.now(UTC)
    proof = DocumentRef(
        kind=DocumentKind.ID_PROOF, sha256="b" * 64, size=10, media_type="image/png"
    )
    registrations = [
        RegistrationRecord(
            id=f"prep-{uuid.uuid4()}",
            branch=BRANCH,
            channel=Channel.IMPORT,
            applicant=PersonalDetails(
                name="王五",
                birth_date=date(1996, 3, 9),
                id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"P{30_000_000 + n}"),
                phone=f"+86139{n:08d}",
            ),
            needs=LearningNeeds(target_language="en"),
            submitted_at=now,
            documents=(proof,) if with_id_proof else (),
        )
        for n in range(first, first + count)
    ]
    with db.unit_of_work() as uow:
        dossiers = BulkAdmitter(uow).admit(
            registrations, Context(actor="importer", reason="prep", at=now)
        )
        uow.commit()
    return [d.student_number for d in dossiers]


# -- checks ----------------------------------------------------------------------------------------


def rows(url: str, query: Any) -> list[Any]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def unsent(url: str) -> int:
    query = sqlalchemy.select(sqlalchemy.func.count()).select_from(outbox)
    return int(rows(url, query.where(outbox.c.sent_at.is_(None)))[0][0])


def wait_for_outbox(url: str, timeout: float = 60.0) -> int:
    """Until no outbox row is unsent (or ``timeout``); the rows still unsent."""
    deadline = time.monotonic() + timeout
    while (left := unsent(url)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return left


def events_by(url: str, event_type: str, ref: str) -> Counter[str]:
    """Outbox rows of ``event_type`` counted by the payload's ``ref`` field."""
    found = rows(url, sqlalchemy.select(outbox.c.payload).where(outbox.c.type == event_type))
    return Counter(str(json.loads(payload)[ref]) for (payload,) in found)


def audited(url: str, action: str) -> Counter[str]:
    """Audit entries of ``action`` counted by subject."""
    found = rows(url, sqlalchemy.select(audit_log.c.subject).where(audit_log.c.action == action))
    return Counter(str(subject) for (subject,) in found)


def audit_ok(running: Stack) -> bool:
    db = open_db(running)
    try:
        return db.verify_audit().ok
    finally:
        db.dispose()


@dataclass(frozen=True)
class Reconciled:
    lost: int
    """requests never answered, or answered with no effect stored"""
    duplicated: int
    """effects beyond one per request, effects of no request, audit entries or events beyond one"""
    half_written: int
    """effects without their audit entry or without their event"""


def reconcile(
    jobs: Sequence[Job],
    driven: Driven,
    effects: Mapping[str, Sequence[str]],
    audit: Counter[str],
    events: Counter[str],
    answer_ref: Callable[[Any], str],
) -> Reconciled:
    """``effects``: marker → the ids of the rows it produced; ``audit`` and ``events``: counts
    by those row ids; ``answer_ref``: the row id an answer names (it must be the stored one)."""
    markers = {job.marker for job in jobs}
    lost = sum(
        1
        for job in jobs
        if job.key not in driven.answers
        or answer_ref(driven.answers[job.key]) not in effects.get(job.marker, ())
    )
    duplicated = sum(max(0, len(ids) - 1) for m, ids in effects.items() if m in markers)
    duplicated += sum(len(ids) for m, ids in effects.items() if m not in markers)
    produced = {row for ids in effects.values() for row in ids}
    duplicated += sum(max(0, audit[row] - 1) + max(0, events[row] - 1) for row in produced)
    duplicated += sum(n for row, n in audit.items() if row not in produced)
    duplicated += sum(n for row, n in events.items() if row not in produced)
    half = sum(1 for row in produced if not audit[row] or not events[row])
    return Reconciled(lost=lost, duplicated=duplicated, half_written=half)


@dataclass(frozen=True)
class StreamMessage:
    stream: str
    seq: int
    subject: str
    headers: Mapping[str, str]
    data: bytes


async def stream_messages(nc: Client, stream: str) -> list[StreamMessage]:
    """Every message a stream holds, in order."""
    js = nc.jetstream()
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return []
    found = []
    if not info.state.messages:
        return []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            message = await js.get_msg(stream, seq)
        except NotFoundError:
            continue
        found.append(
            StreamMessage(
                stream, seq, str(message.subject), dict(message.headers or {}), message.data or b""
            )
        )
    return found


# -- faults ----------------------------------------------------------------------------------------


def restart_nats(server: BusServer, down_for: float = 1.0) -> None:
    """kill -9 the server, leave it down ``down_for`` seconds, start it on the same port and
    JetStream folder."""
    server.kill()
    time.sleep(down_for)  # the outage itself
    server.start()


def terminate_backends(url: str) -> int:
    """``pg_terminate_backend`` of every other connection to ``url``'s database; how many."""
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            killed = conn.exec_driver_sql(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalar_one()
            return int(killed)
    finally:
        engine.dispose()


def database_outage(url: str, seconds: float) -> int:
    """The database refuses new connections for ``seconds`` and every other backend of it is
    terminated (a restart or fail-over, seen from the services); how many were terminated."""
    name = sqlalchemy.make_url(url).database
    admin = sqlalchemy.make_url(url).set(database="postgres")
    engine = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            try:
                killed = int(
                    conn.exec_driver_sql(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                        "FROM pg_stat_activity WHERE datname = %s",
                        (name,),
                    ).scalar_one()
                )
                time.sleep(seconds)  # the outage itself
            finally:
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            return killed
    finally:
        engine.dispose()


class TcpProxy:
    """A TCP forwarder on a fixed port to ``target``: `cut` closes the port and every
    connection through it (the server behind looks down); `restore` listens again on the same
    port. Stands in for an S3 server that goes down and comes back with its data (moto keeps
    its data only in memory, so stopping moto itself would lose every bucket)."""

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or embedded.free_port()
        self._listener: socket.socket | None = None
        self._pairs: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._pairs:
                with contextlib.suppress(OSError):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    sock.close()
            self._pairs.clear()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        try:
            a.setblocking(False)
            b.setblocking(False)
            selector.register(a, selectors.EVENT_READ, b)
            selector.register(b, selectors.EVENT_READ, a)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.1):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.setblocking(True)
                    key.data.sendall(data)
                    key.data.setblocking(False)
        except OSError:
            return
        finally:
            selector.close()
            with self._lock:
                for sock in (a, b):
                    self._pairs.discard(sock)
                    with contextlib.suppress(OSError):
                        sock.close()


# -- what a benchmark reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCounts:
    """The figures of one fault run: what a test asserts on and a benchmark prints."""

    fault: str
    requests: int
    answered: int
    lost: int
    duplicated: int
    half_written: int
    resends: int
    errors: Mapping[str, int]
    seconds: float
    outbox_unsent: int
    audit_ok: bool
    extra: Mapping[str, Any] = field(default_factory=dict)


def counts(
    fault: str,
    jobs: Sequence[Job],
    driven: Driven,
    reconciled: Reconciled,
    *,
    outbox_unsent: int,
    audit_ok: bool,
    **extra: Any,
) -> FaultCounts:
    return FaultCounts(
        fault=fault,
        requests=len(jobs),
        answered=driven.answered,
        lost=reconciled.lost,
        duplicated=reconciled.duplicated,
        half_written=reconciled.half_written,
        resends=driven.resends,
        errors=dict(Counter(code for code, *_ in driven.error_replies)),
        seconds=round(driven.seconds, 2),
        outbox_unsent=outbox_unsent,
        audit_ok=audit_ok,
        extra=extra,
    )


def grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(marker, row id) pairs → marker → row ids."""
    found: dict[str, list[str]] = {}
    for marker, row in pairs:
        found.setdefault(marker, []).append(row)
    return found


# -- workloads: a mutating verb per service, its requests, where their effects are -------------


@dataclass(frozen=True)
class Workload:
    service: str
    verb: str
    role: Role
    prepare: Callable[[Stack, int, str], list[Job]]
    """(stack, requests, run id) → the jobs, after writing whatever they act on"""
    effects: Callable[[Stack], tuple[dict[str, list[str]], Counter[str], Counter[str]]]
    """→ marker → row ids, audit entries by row id, events by row id"""
    answer_ref: Callable[[Any], str]

    def token(self, running: Stack) -> str:
        return running.token(f"{self.service}-load", self.role)

    def reconcile(self, running: Stack, jobs: Sequence[Job], driven: Driven) -> Reconciled:
        effects, audit, events = self.effects(running)
        return reconcile(jobs, driven, effects, audit, events, self.answer_ref)


def _registrations(running: Stack, count: int, run: str) -> list[Job]:
    return [
        Job(key=f"{run}-reg-{n:06d}", message=registration(n), marker=f"E{20_000_000 + n}")
        for n in range(count)
    ]


def _registration_effects(
    running: Stack,
) -> tuple[dict[str, list[str]], Counter[str], Counter[str]]:
    db = open_db(running)
    try:
        with db.unit_of_work() as uow:
            found = uow.registrations.find(branch=BRANCH, limit=10**7)
    finally:
        db.dispose()
    url = running.database_url
    return (
        grouped((r.applicant.id_document.number, r.id) for r in found),
        audited(url, "registration.submitted"),
        events_by(url, "registration.submitted", "registration_id"),
    )


def _consents(running: Stack, count: int, run: str) -> list[Job]:
    db = open_db(running)
    try:
        numbers = admit_students(db, count)
    finally:
        db.dispose()
    return [
        Job(
            key=f"{run}-consent-{n:06d}",
            message=RecordConsent(
                student_number=number,
                purpose=ConsentPurpose.MARKETING,
                given_by=ConsentGiver.STUDENT,
            ),
            marker=number,
        )
        for n, number in enumerate(numbers)
    ]


def _consent_effects(running: Stack) -> tuple[dict[str, list[str]], Counter[str], Counter[str]]:
    url = running.database_url
    found = rows(url, sqlalchemy.select(consents.c.student_number, consents.c.id))
    return (
        grouped((str(number), str(row)) for number, row in found),
        audited(url, "consent.recorded"),
        events_by(url, "consent.changed", "consent_id"),
    )


def _findings(running: Stack, count: int, run: str) -> list[Job]:
    """Students without an ID proof, reviewed in process: one ``missing_id_proof`` finding each."""
    db = open_db(running)
    try:
        admit_students(db, count, with_id_proof=False)
        reviewer = Actor(
            id="reviewer-prep", roles=frozenset({Role.REVIEWER}), branches=frozenset({BRANCH})
        )
        Reviews(db, running.config().branches).start_run(
            RetentionCaller(reviewer), StartReview(branch=BRANCH)
        )
    finally:
        db.dispose()
    found = rows(
        running.database_url,
        sqlalchemy.select(review_findings.c.id).order_by(review_findings.c.id).limit(count),
    )
    assert len(found) == count, f"{len(found)} findings for {count} students"
    return [
        Job(
            key=f"{run}-resolve-{n:06d}",
            message=ResolveFinding(finding_id=str(finding), note="dealt with in the fault run"),
            marker=str(finding),
        )
        for n, (finding,) in enumerate(found)
    ]


def _finding_effects(running: Stack) -> tuple[dict[str, list[str]], Counter[str], Counter[str]]:
    url = running.database_url
    resolved = rows(
        url, sqlalchemy.select(review_findings.c.id).where(review_findings.c.status == "resolved")
    )
    return (
        grouped((str(row), str(row)) for (row,) in resolved),
        audited(url, "review.finding_resolved"),
        events_by(url, "review.finding_moved", "finding_id"),
    )


WORKLOADS: Mapping[str, Workload] = {
    "intake": Workload(
        service="intake",
        verb="registration.submit",
        role=Role.FRONT_DESK,
        prepare=_registrations,
        effects=_registration_effects,
        answer_ref=lambda answer: str(answer.registration_id),
    ),
    "approvals": Workload(
        service="approvals",
        verb="consent.record",
        role=Role.ENROLMENT_OFFICER,
        prepare=_consents,
        effects=_consent_effects,
        answer_ref=lambda answer: str(answer.consent_id),
    ),
    "retention": Workload(
        service="retention",
        verb="review.resolve",
        role=Role.REVIEWER,
        prepare=_findings,
        effects=_finding_effects,
        answer_ref=lambda answer: str(answer.id),
    ),
}
"""One mutating verb per service: quick, realistic, each request acting on its own record."""

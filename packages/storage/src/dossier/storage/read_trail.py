"""The read trail (查阅记录): who saw a student's unmasked data, chained like the audit log.

One entry per request that revealed a student's unmasked personal data or
documents: who (actor id and roles), when, which student, which *kinds* of
data (field groups such as ``personal``, ``contact``, ``id_document``,
``documents``, ``export`` — never the values), through which channel (``web``
for the gateway, ``bus`` otherwise) and the request id.

Crash safety and the chain: the reading use case inserts its entry *unsealed*
(``seq``, ``prev_hash``, ``hash`` NULL) and commits it before the answer leaves the
service, so an answered read is a committed entry (a ``kill -9`` right after the
answer loses nothing). A chainer (`seal`, run by the service's `ReadSealer` just
after, and by any process that starts later) then seals the unsealed entries of a
branch in batches under the branch's head lock, exactly as `dossier.storage.audit`
chains its own — ``seq``, ``prev_hash``, ``hash = SHA-256(prev_hash ‖ canonical)``
(`audit.canonical_json`) — in a chain of its own (``read_trail`` +
``read_trail_heads``). Reads never wait for the head lock or for each other; the
window in which an entry is not yet chained is the chainer's next tick. `verify`
recomputes the sealed chain. docs/privacy.md has the measurements behind this.

Misuse alerts (``read_alerts``): `ReadAlerts` counts a staff member's recent
entries (distinct students per hour and per day, bulk exports per hour) and
opens at most one alert per (actor, rule, window).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from attrs import frozen
from sqlalchemy import (
    BigInteger,
    Connection,
    RowMapping,
    String,
    bindparam,
    case,
    column,
    func,
    select,
    update,
    values,
)

from dossier.storage.audit import GENESIS, ChainBreak, VerifyReport, canonical_json
from dossier.storage.schema import read_alerts, read_trail, read_trail_heads
from dossier.storage.sql import bulk_insert, insert_ignoring_conflicts, is_postgresql

KINDS = ("personal", "contact", "id_document", "documents", "export", "disclosure")
"""The field groups an entry may name."""


@frozen(kw_only=True)
class ReadEntry:
    """One recorded read: no personal value, only who, when, whose record and which kinds."""

    id: str
    branch: str
    at: datetime
    actor: str
    roles: tuple[str, ...]
    student_number: str
    kinds: tuple[str, ...]
    channel: str
    request_id: str | None = None
    seq: int = 0


def channel_of(actor_id: str) -> str:
    """``web`` for the gateway's actors (``web:<login>``), ``bus`` for every other caller."""
    return "web" if actor_id.startswith("web:") else "bus"


def _row_of(entry: ReadEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "branch": entry.branch,
        "at": entry.at.astimezone(UTC),
        "actor": entry.actor,
        "roles": list(entry.roles),
        "student_number": entry.student_number,
        "kinds": list(entry.kinds),
        "channel": entry.channel,
        "request_id": entry.request_id,
    }


def entry_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(row)).hexdigest()


def entry_of(row: Mapping[Any, Any]) -> ReadEntry:
    return ReadEntry(
        id=row["id"],
        branch=row["branch"],
        at=row["at"],
        actor=row["actor"],
        roles=tuple(row["roles"]),
        student_number=row["student_number"],
        kinds=tuple(row["kinds"]),
        channel=row["channel"],
        request_id=row["request_id"],
        seq=int(row["seq"] or 0),
    )


class ReadTrail:
    """The read-trail entries of one unit of work: buffered, chained at commit (`flush`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending: list[ReadEntry] = []

    @property
    def pending(self) -> tuple[ReadEntry, ...]:
        return tuple(self._pending)

    def mark(self) -> int:
        """A point to `discard_after` when a SAVEPOINT is rolled back."""
        return len(self._pending)

    def discard_after(self, mark: int) -> None:
        del self._pending[mark:]

    def add(self, entries: Sequence[ReadEntry]) -> None:
        """Queue entries already built (the batching writer's); chained at `flush`."""
        self._pending.extend(entries)

    def record(
        self,
        *,
        branch: str,
        actor: str,
        roles: Sequence[str],
        student_number: str,
        kinds: Sequence[str],
        request_id: str | None = None,
        channel: str | None = None,
        at: datetime | None = None,
    ) -> ReadEntry:
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"read-trail kinds must be some of {KINDS}, not {sorted(unknown)}")
        entry = ReadEntry(
            id=str(uuid.uuid4()),
            branch=branch,
            at=at or datetime.now(UTC),
            actor=actor,
            roles=tuple(sorted(roles)),
            student_number=student_number,
            kinds=tuple(k for k in KINDS if k in kinds),
            channel=channel or channel_of(actor),
            request_id=request_id,
        )
        self._pending.append(entry)
        return entry

    def flush(self) -> None:
        """Insert the queued entries, unsealed: `seal` chains them (after this commits)."""
        if self._pending:
            rows = [
                {**_row_of(e), "seq": None, "prev_hash": None, "hash": None} for e in self._pending
            ]
            bulk_insert(self._conn, read_trail, rows)
        self._pending.clear()

    # -- queries ------------------------------------------------------------------------

    def for_student(
        self, student_number: str, *, before: datetime | None = None, limit: int = 100
    ) -> list[ReadEntry]:
        """The student's entries, newest first."""
        query = select(read_trail).where(read_trail.c.student_number == student_number)
        if before is not None:
            query = query.where(read_trail.c.at < before)
        rows = self._conn.execute(
            query.order_by(read_trail.c.at.desc(), read_trail.c.id).limit(limit)
        ).mappings()
        return [entry_of(row) for row in rows]

    def for_actor(
        self,
        actor: str,
        *,
        branches: Sequence[str] | None = None,
        before: datetime | None = None,
        limit: int = 100,
    ) -> list[ReadEntry]:
        """One staff member's entries (in ``branches``, if given), newest first."""
        query = select(read_trail).where(read_trail.c.actor == actor)
        if branches is not None:
            query = query.where(read_trail.c.branch.in_(list(branches)))
        if before is not None:
            query = query.where(read_trail.c.at < before)
        rows = self._conn.execute(
            query.order_by(read_trail.c.at.desc(), read_trail.c.id).limit(limit)
        ).mappings()
        return [entry_of(row) for row in rows]

    def distinct_students(
        self, actor: str, branch: str, hour: datetime, day: datetime
    ) -> tuple[int, int]:
        """How many distinct students' records ``actor`` saw in ``branch`` since ``hour`` and
        since ``day`` (``day`` ≤ ``hour``), in one query."""
        number = read_trail.c.student_number
        recent = case((read_trail.c.at >= hour, number), else_=None)
        row = self._conn.execute(
            select(func.count(func.distinct(recent)), func.count(func.distinct(number))).where(
                read_trail.c.actor == actor,
                read_trail.c.branch == branch,
                read_trail.c.at >= day,
            )
        ).one()
        return int(row[0]), int(row[1])

    def exports(self, actor: str, branch: str, since: datetime) -> int:
        """How many exports ``actor`` made in ``branch`` since ``since``."""
        rows = self._conn.execute(
            select(read_trail.c.kinds).where(
                read_trail.c.actor == actor,
                read_trail.c.branch == branch,
                read_trail.c.at >= since,
            )
        ).scalars()
        return sum(1 for kinds in rows if "export" in kinds)


# -- sealing ---------------------------------------------------------------------------


def seal(conn: Connection, branch: str, *, limit: int = 1000) -> list[ReadEntry]:
    """Chain ``branch``'s unsealed entries (oldest first, at most ``limit``) under its head
    lock: number them, hash them, move the head. The entries sealed; the caller commits.

    Any process may seal: the head lock makes one wait for the other, and a row sealed by
    one is no longer unsealed when the other looks (READ COMMITTED: each statement sees
    what committed before it)."""
    waiting = conn.execute(
        select(read_trail.c.id)
        .where(read_trail.c.branch == branch, read_trail.c.seq.is_(None))
        .limit(1)
    ).first()
    if waiting is None:  # nothing to seal: no head lock taken
        return []
    seq, prev = _lock_head(conn, branch)
    rows = (
        conn.execute(
            select(read_trail)
            .where(read_trail.c.branch == branch, read_trail.c.seq.is_(None))
            .order_by(read_trail.c.at, read_trail.c.id)
            .limit(limit)
        )
        .mappings()
        .all()
    )
    if not rows:
        return []
    sealed: list[ReadEntry] = []
    updates: list[dict[str, Any]] = []
    for row in rows:
        seq += 1
        doc = {**row, "seq": seq, "prev_hash": prev}
        doc["roles"], doc["kinds"] = list(doc["roles"]), list(doc["kinds"])
        prev = entry_hash(prev, doc)
        updates.append({"row_id": row["id"], "s": seq, "p": doc["prev_hash"], "h": prev})
        sealed.append(entry_of({**row, "seq": seq}))
    if is_postgresql(conn):  # one statement for the batch
        sealed_values = values(
            column("row_id", String),
            column("s", BigInteger),
            column("p", String),
            column("h", String),
            name="sealed",
        ).data([(u["row_id"], u["s"], u["p"], u["h"]) for u in updates])
        conn.execute(
            update(read_trail)
            .where(read_trail.c.id == sealed_values.c.row_id)
            .values(seq=sealed_values.c.s, prev_hash=sealed_values.c.p, hash=sealed_values.c.h)
        )
    else:
        conn.execute(
            update(read_trail)
            .where(read_trail.c.id == bindparam("row_id"))
            .values(seq=bindparam("s"), prev_hash=bindparam("p"), hash=bindparam("h")),
            updates,
        )
    conn.execute(
        update(read_trail_heads)
        .where(read_trail_heads.c.branch == branch)
        .values(seq=seq, hash=prev)
    )
    return sealed


def unsealed(conn: Connection, branch: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(read_trail)
            .where(read_trail.c.branch == branch, read_trail.c.seq.is_(None))
        ).scalar_one()
    )


def _lock_head(conn: Connection, branch: str) -> tuple[int, str]:
    query = (
        select(read_trail_heads.c.seq, read_trail_heads.c.hash)
        .where(read_trail_heads.c.branch == branch)
        .with_for_update()
    )
    head = conn.execute(query).one_or_none()
    if head is None:
        conn.execute(
            insert_ignoring_conflicts(conn, read_trail_heads).values(
                branch=branch, seq=0, hash=GENESIS
            )
        )
        head = conn.execute(query).one()
    return int(head.seq), str(head.hash)


# -- alerts ----------------------------------------------------------------------------


@frozen(kw_only=True)
class ReadAlert:
    id: str
    branch: str
    actor: str
    rule: str
    window: str
    count: int
    threshold: int
    raised_at: datetime
    notices: tuple[tuple[str, str], ...] = ()
    """(channel, text) of each notice sent to the branch manager."""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    comment: str | None = None


def alert_of(row: RowMapping) -> ReadAlert:
    values = {column.name: row[column.name] for column in read_alerts.c}
    values["notices"] = tuple((str(n[0]), str(n[1])) for n in values["notices"])
    return ReadAlert(**values)


class ReadAlerts:
    """The misuse alerts: opened once per (actor, rule, window), acknowledged by an auditor."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def open(
        self,
        *,
        branch: str,
        actor: str,
        rule: str,
        window: str,
        count: int,
        threshold: int,
        at: datetime,
    ) -> ReadAlert | None:
        """The new alert, or None when this (actor, rule, window) has one already."""
        alert = ReadAlert(
            id=str(uuid.uuid4()),
            branch=branch,
            actor=actor,
            rule=rule,
            window=window,
            count=count,
            threshold=threshold,
            raised_at=at,
        )
        inserted = self._conn.execute(
            insert_ignoring_conflicts(self._conn, read_alerts)
            .values(
                id=alert.id,
                branch=branch,
                actor=actor,
                rule=rule,
                window=window,
                count=count,
                threshold=threshold,
                raised_at=at,
                notices=[],
            )
            .returning(read_alerts.c.id)
        ).scalar_one_or_none()
        return alert if inserted is not None else None

    def windows(self, actor: str, windows: Sequence[str]) -> set[tuple[str, str]]:
        """The (rule, window) pairs among ``windows`` that have an alert for ``actor`` already
        (then nothing need be counted for them)."""
        found = self._conn.execute(
            select(read_alerts.c.rule, read_alerts.c.window).where(
                read_alerts.c.actor == actor, read_alerts.c.window.in_(list(windows))
            )
        ).all()
        return {(str(rule), str(window)) for rule, window in found}

    def get(self, alert_id: str) -> ReadAlert | None:
        row = (
            self._conn.execute(select(read_alerts).where(read_alerts.c.id == alert_id))
            .mappings()
            .one_or_none()
        )
        return None if row is None else alert_of(row)

    def noticed(self, alert_id: str, notices: Sequence[tuple[str, str]]) -> None:
        """Keep the notices sent about the alert (channel, text)."""
        self._conn.execute(
            update(read_alerts)
            .where(read_alerts.c.id == alert_id)
            .values(notices=[list(n) for n in notices])
        )

    def acknowledge(self, alert_id: str, *, by: str, comment: str, at: datetime) -> None:
        self._conn.execute(
            update(read_alerts)
            .where(read_alerts.c.id == alert_id)
            .values(acknowledged_by=by, acknowledged_at=at, comment=comment)
        )

    def listed(
        self, branches: Sequence[str] | None, *, open_only: bool = False, limit: int = 100
    ) -> list[ReadAlert]:
        query = select(read_alerts)
        if branches is not None:
            query = query.where(read_alerts.c.branch.in_(list(branches)))
        if open_only:
            query = query.where(read_alerts.c.acknowledged_at.is_(None))
        rows = self._conn.execute(
            query.order_by(read_alerts.c.raised_at.desc()).limit(limit)
        ).mappings()
        return [alert_of(row) for row in rows]


# -- verification ----------------------------------------------------------------------


def verify(conn: Connection, branch: str | None = None) -> VerifyReport:
    """Recompute every read-trail chain (or ``branch``'s) against its entries and head."""
    heads = {
        row.branch: (int(row.seq), str(row.hash))
        for row in conn.execute(select(read_trail_heads)).all()
        if branch is None or row.branch == branch
    }
    in_trail = {
        str(b)
        for b in conn.execute(select(read_trail.c.branch).distinct()).scalars()
        if branch is None or b == branch
    }
    counts: dict[str, int] = {}
    breaks: list[ChainBreak] = []
    for name in sorted(heads.keys() | in_trail):
        count, problem = _verify_branch(conn, name, heads.get(name))
        counts[name] = count
        if problem is not None:
            breaks.append(problem)
    return VerifyReport(counts, tuple(breaks))


def _verify_branch(
    conn: Connection, branch: str, head: tuple[int, str] | None
) -> tuple[int, ChainBreak | None]:
    expected, prev, count = 1, GENESIS, 0
    result = conn.execution_options(stream_results=True, max_row_buffer=1000).execute(
        select(read_trail)
        .where(read_trail.c.branch == branch, read_trail.c.seq.is_not(None))
        .order_by(read_trail.c.seq)
    )
    for row in result.mappings():
        count += 1
        seq, entry_id = int(row["seq"]), str(row["id"])
        if seq != expected:
            detail = f"expected seq {expected}, found {seq}"
            return count, ChainBreak(branch, expected, entry_id, "seq", detail)
        if row["prev_hash"] != prev:
            detail = "prev_hash differs from the previous entry's hash"
            return count, ChainBreak(branch, seq, entry_id, "prev_hash", detail)
        doc = dict(row)
        doc["roles"], doc["kinds"] = list(doc["roles"]), list(doc["kinds"])
        if entry_hash(prev, doc) != row["hash"]:
            return count, ChainBreak(branch, seq, entry_id, "hash", "content does not match hash")
        prev, expected = str(row["hash"]), expected + 1
    result.close()
    if head is None:
        return count, ChainBreak(branch, None, None, "no_head", "entries without a head row")
    if head != (expected - 1, prev):
        detail = f"head says seq {head[0]}, chain ends at seq {expected - 1}"
        return count, ChainBreak(branch, head[0], None, "head", detail)
    return count, None


class Sealing(Protocol):
    """What the chainer drives: `dossier.storage.usecases.UseCases.seal_reads`."""

    def seal_reads(self) -> int: ...


_log = logging.getLogger(__name__)


class ReadSealer:
    """The chainer of one `UseCases`: a thread that seals the read-trail entries soon after
    they commit (``seal_reads``: chain them, check the misuse thresholds), and stops when
    there has been nothing to do for a while (the next read starts it again)."""

    IDLE_TICKS = 20
    TICK_S = 0.2

    def __init__(self, sealer: Sealing) -> None:
        self._sealing = sealer
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._kicked = False

    def stop(self) -> None:
        with self._lock:
            self._stopping, thread = True, self._thread
        self._stopped.set()
        if thread is not None:
            thread.join()

    def kick(self) -> None:
        """Something was recorded: seal at the next tick (starting the thread if it stopped)."""
        with self._lock:
            if self._stopping:
                return
            self._kicked = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="dossier-read-trail-sealer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        idle = 0
        while True:
            self._stopped.wait(self.TICK_S)  # a tick's worth of entries: one batch
            try:
                sealed = self._sealing.seal_reads()
            except Exception:  # the next tick tries again; a restart seals what is left
                _log.exception("sealing the read trail failed")
                sealed = 0
            with self._lock:
                idle = 0 if sealed or self._kicked else idle + 1
                self._kicked = False
                if idle >= self.IDLE_TICKS or self._stopping:
                    self._thread = None
                    return

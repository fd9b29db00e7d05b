"""The audit log (审计记录): append-only, one hash chain per branch, written with the change.

Each entry records who did what, when, to which student of which branch, the
names of the fields touched and a *keyed* hash of each new value — never the
value. Value hashes are HMAC-SHA256 under a key derived (HKDF) from the
student's own data key: an auditor holding the key can match a value, and
once the student is crypto-shredded nobody can, not even to confirm a guess.

The chain, per branch:

- every entry carries its branch sequence number ``seq`` (1, 2, 3…), the
  previous entry's hash ``prev_hash`` (64 zeros for the first) and
  ``hash = SHA-256(prev_hash ‖ canonical(entry))``, where `canonical` is the
  sorted-key JSON of every column but ``hash``;
- ``audit_heads(branch, seq, hash)`` names the last entry. A unit of work
  buffers its entries and, as its last statements before COMMIT, locks the
  head row of each branch it touched (``SELECT … FOR UPDATE``, branches in
  sorted order so two writers never deadlock), numbers and chains its
  entries, inserts them and moves the head. Writers of different branches
  never wait for each other; writers of one branch wait only for that short
  tail of each other's transactions.

`verify` walks each chain in ``seq`` order and recomputes everything, so an
edited entry (hash), a deleted or reordered one (seq, prev_hash) and a
truncated tail (head) are each reported with branch, seq, entry id and what
is wrong.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import uuid
from collections.abc import Generator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from attrs import field, frozen
from sqlalchemy import (
    ColumnClause,
    Connection,
    DateTime,
    Result,
    RowMapping,
    Text,
    cast,
    literal_column,
    select,
    text,
    type_coerce,
    update,
)

from dossier.core.records import AuditEvent
from dossier.storage import crypto
from dossier.storage.converter import unstructure
from dossier.storage.schema import audit_heads, audit_log
from dossier.storage.sql import bulk_insert, insert_ignoring_conflicts, is_postgresql

GENESIS = "0" * 64
"""``prev_hash`` of the first entry of every branch chain."""


@frozen(kw_only=True)
class AuditSpec:
    """What a service says about an operation; storage adds who-keys, hashes and the chain.

    ``values`` are the new plain values of the fields touched: only their
    keyed hashes are stored. ``fields`` lists touched fields whose value is
    not hashed (it is merged with the keys of ``values``). ``actor`` defaults
    to the actor of the transition's events.
    """

    action: str
    actor: str | None = None
    fields: tuple[str, ...] = ()
    values: Mapping[str, object] = field(factory=dict)
    subject: str | None = None


def value_hash(data_key: bytes, name: str, value: object) -> str:
    """Keyed hash of one field value: HMAC(HKDF(student key), name ‖ canonical value)."""
    key = crypto.derive_key(data_key, "dossier/audit-value")
    encoded = orjson.dumps(unstructure(value), option=orjson.OPT_SORT_KEYS)
    return crypto.keyed_hash(key, name.encode("utf-8") + b"\x1f" + encoded)


def canonical(entry: Mapping[Any, Any]) -> bytes:
    """The bytes an entry's hash covers: sorted-key JSON of every column but ``hash``.

    Timestamps are UTC ISO 8601 with microseconds and a ``Z``; no whitespace;
    UTF-8 without ``\\u`` escapes for non-ASCII — what Python's
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    gives, so an auditor can recompute it with any JSON library. (orjson with
    sorted keys writes the same bytes for the values an entry holds — strings,
    null, integers, lists and objects of strings — and is used for those; any
    other value goes through ``json.dumps``.)
    """
    doc = {name: value for name, value in entry.items() if name != "hash"}
    doc["at"] = _utc_text(doc["at"])
    doc["fields"] = list(doc["fields"])
    doc["value_hashes"] = dict(doc["value_hashes"])
    return _encode(doc)


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    """Any chained entry's hash input (the audit log's, the read trail's): sorted-key JSON of
    ``doc`` — every column but ``hash``, ``at`` as `canonical` writes it — as `canonical`."""
    body = {name: value for name, value in doc.items() if name != "hash"}
    body["at"] = _utc_text(body["at"])
    return _encode(body)


def _utc_text(at: object) -> object:
    if isinstance(at, datetime):
        if at.tzinfo is None:  # SQLite hands stored UTC back naive
            at = at.replace(tzinfo=UTC)
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return at


def _encode(doc: dict[str, Any]) -> bytes:
    """``doc`` as canonical JSON; orjson when every value is of a kind it writes identically."""
    if all(_plain(value) for value in doc.values()):
        try:
            return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
            pass
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _plain(value: object) -> bool:
    kind = type(value)
    if kind is str or kind is int or value is None:
        return True
    if kind is list:
        return all(type(item) is str for item in value)  # type: ignore[attr-defined]
    if kind is dict:
        return all(
            type(k) is str and type(v) is str
            for k, v in value.items()  # type: ignore[attr-defined]
        )
    return False


def chain_hash(prev_hash: str, entry: Mapping[Any, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(entry)).hexdigest()


def _row_of(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "branch": event.branch,
        "at": event.at.astimezone(UTC),
        "actor": event.actor,
        "action": event.action,
        "student_number": event.student_number,
        "subject": event.subject,
        "fields": list(event.fields),
        "value_hashes": dict(event.value_hashes),
    }


def event_of(row: RowMapping) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        branch=row["branch"],
        student_number=row["student_number"],
        subject=row["subject"],
        fields=tuple(row["fields"]),
        value_hashes=dict(row["value_hashes"]),
    )


class AuditLog:
    """The audit entries of one unit of work: buffered, then chained at commit (`flush`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending: list[AuditEvent] = []

    @property
    def pending(self) -> tuple[AuditEvent, ...]:
        return tuple(self._pending)

    def mark(self) -> int:
        """A point to `discard_after` when a SAVEPOINT is rolled back."""
        return len(self._pending)

    def discard_after(self, mark: int) -> None:
        del self._pending[mark:]

    def append(self, event: AuditEvent) -> None:
        """Queue an entry whose value hashes are already computed."""
        self._pending.append(event)

    def record(
        self,
        spec: AuditSpec,
        *,
        branch: str,
        actor: str | None = None,
        student_number: str | None = None,
        subject: str | None = None,
        data_key: bytes | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        """Build the entry for ``spec`` (hashing its values under ``data_key``) and queue it."""
        if spec.values and data_key is None:
            raise ValueError("hashing audit values needs the student's data key")
        who = spec.actor or actor
        if not who:
            raise ValueError("an audit entry needs an actor")
        hashes = (
            {name: value_hash(data_key, name, value) for name, value in spec.values.items()}
            if data_key is not None
            else {}
        )
        event = AuditEvent(
            id=str(uuid.uuid4()),
            at=at or datetime.now(UTC),
            actor=who,
            action=spec.action,
            branch=branch,
            student_number=student_number,
            subject=spec.subject or subject,
            fields=tuple(dict.fromkeys((*spec.fields, *spec.values))),
            value_hashes=hashes,
        )
        self.append(event)
        return event

    def flush(self) -> None:
        """Chain and insert the queued entries; the last statements before COMMIT."""
        by_branch: dict[str, list[AuditEvent]] = {}
        for event in self._pending:
            by_branch.setdefault(event.branch, []).append(event)
        for branch in sorted(by_branch):
            seq, prev = self._lock_head(branch)
            rows = []
            for event in by_branch[branch]:
                seq += 1
                row = {**_row_of(event), "seq": seq, "prev_hash": prev}
                row["hash"] = prev = chain_hash(prev, row)
                rows.append(row)
            bulk_insert(self._conn, audit_log, rows)
            self._conn.execute(
                update(audit_heads).where(audit_heads.c.branch == branch).values(seq=seq, hash=prev)
            )
        self._pending.clear()

    def _lock_head(self, branch: str) -> tuple[int, str]:
        query = (
            select(audit_heads.c.seq, audit_heads.c.hash)
            .where(audit_heads.c.branch == branch)
            .with_for_update()
        )
        head = self._conn.execute(query).one_or_none()
        if head is None:  # the branch's first entry: create the head, whoever races
            self._conn.execute(
                insert_ignoring_conflicts(self._conn, audit_heads).values(
                    branch=branch, seq=0, hash=GENESIS
                )
            )
            head = self._conn.execute(query).one()
        return int(head.seq), str(head.hash)

    def entries(self, branch: str, *, after_seq: int = 0, limit: int = 1000) -> list[AuditEvent]:
        """Committed entries of one branch in chain order (for auditors, 审计查询)."""
        rows = self._conn.execute(
            select(audit_log)
            .where(audit_log.c.branch == branch, audit_log.c.seq > after_seq)
            .order_by(audit_log.c.seq)
            .limit(limit)
        ).mappings()
        return [event_of(row) for row in rows]

    def for_student(self, student_number: str) -> list[AuditEvent]:
        rows = self._conn.execute(
            select(audit_log)
            .where(audit_log.c.student_number == student_number)
            .order_by(audit_log.c.branch, audit_log.c.seq)
        ).mappings()
        return [event_of(row) for row in rows]


# -- verification ------------------------------------------------------------------


@frozen
class ChainBreak:
    """The first thing wrong in one branch's chain.

    ``problem`` is one of ``hash`` (the entry's content does not match its
    hash: edited), ``prev_hash`` (the entry does not follow the one before:
    reordered or something removed), ``seq`` (a sequence number is missing or
    out of place: deleted or reordered), ``head`` (the chain does not end where
    the head says: truncated, or the head edited), ``no_head`` (entries but no
    head row). ``seq`` and ``entry_id`` locate it (the head's seq for ``head``).
    """

    branch: str
    seq: int | None
    entry_id: str | None
    problem: str
    detail: str = ""


@frozen
class VerifyReport:
    branches: Mapping[str, int]
    """Entries checked per branch."""
    breaks: tuple[ChainBreak, ...]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(conn: Connection, branch: str | None = None, *, batch: int = 1000) -> VerifyReport:
    """Recompute every chain (or ``branch``'s) against its entries and head.

    Each chain is read once, in ``seq`` order, as a stream (a server-side
    cursor on PostgreSQL, ``batch`` rows at a time) of the columns the hash
    covers, JSON columns as text: memory holds a few batches, whatever the
    length of the chain. On PostgreSQL the next batch is fetched in a thread
    while this one is checked, and timestamps come formatted by the server.
    """
    heads = {
        row.branch: (int(row.seq), str(row.hash))
        for row in conn.execute(select(audit_heads)).all()
        if branch is None or row.branch == branch
    }
    in_log = {b for b in _branches_in_log(conn) if branch is None or b == branch}
    counts: dict[str, int] = {}
    breaks: list[ChainBreak] = []
    for name in sorted(heads.keys() | in_log):
        count, problem = _verify_branch(conn, name, heads.get(name), batch)
        counts[name] = count
        if problem is not None:
            breaks.append(problem)
    return VerifyReport(counts, tuple(breaks))


def _branches_in_log(conn: Connection) -> list[str]:
    """The distinct branches of the log by a loose index scan: one index probe per branch."""
    found = conn.execute(
        text(
            "WITH RECURSIVE b(branch) AS ("
            " SELECT min(branch) FROM audit_log"
            " UNION ALL"
            " SELECT (SELECT min(a.branch) FROM audit_log a WHERE a.branch > b.branch)"
            " FROM b WHERE b.branch IS NOT NULL"
            ") SELECT branch FROM b WHERE branch IS NOT NULL"
        )
    ).scalars()
    return [str(b) for b in found]


_PG_AT: ColumnClause[str] = literal_column(
    """to_char(audit_log.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
)
"""``at`` as `canonical` writes it (``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` of the UTC time),
except that ``strftime`` does not pad a year before 1000 (see `_verify_branch`)."""


def _columns(postgresql: bool) -> tuple[Any, ...]:
    return (
        audit_log.c.seq,
        audit_log.c.id,
        audit_log.c.prev_hash,
        audit_log.c.hash,
        audit_log.c.action,
        audit_log.c.actor,
        _PG_AT if postgresql else type_coerce(audit_log.c.at, DateTime(timezone=True)),
        audit_log.c.student_number,
        audit_log.c.subject,
        cast(audit_log.c.fields, Text),
        cast(audit_log.c.value_hashes, Text),
    )


_STR = {str}


def _verify_branch(
    conn: Connection, branch: str, head: tuple[int, str] | None, batch: int
) -> tuple[int, ChainBreak | None]:
    """Walk one chain. The hash input is built byte for byte as `canonical` builds it, from
    the raw columns: no mapping per row, one ``orjson.dumps`` per entry (``json.dumps`` only for
    an entry holding a value orjson might write differently, see `_plain`)."""
    expected_seq, prev, count = 1, GENESIS, 0
    sha256, dumps, loads = hashlib.sha256, orjson.dumps, orjson.loads
    sort_keys = orjson.OPT_SORT_KEYS
    postgresql = is_postgresql(conn)
    query = (
        select(*_columns(postgresql)).where(audit_log.c.branch == branch).order_by(audit_log.c.seq)
    )
    result = conn.execution_options(stream_results=True, max_row_buffer=batch).execute(query)
    batches = _prefetched(result, batch) if postgresql else _batches(result, batch)
    try:
        for rows in batches:
            for seq, entry_id, prev_hash, hash_, action, actor, at, number, subject, f, vh in rows:
                count += 1
                if seq != expected_seq:
                    detail = f"expected seq {expected_seq}, found {seq}"
                    return count, ChainBreak(branch, expected_seq, str(entry_id), "seq", detail)
                if prev_hash != prev:
                    detail = "prev_hash differs from the previous entry's hash"
                    return count, ChainBreak(branch, seq, str(entry_id), "prev_hash", detail)
                try:
                    fields, hashes = loads(f), loads(vh)
                except orjson.JSONDecodeError:  # e.g. NaN, which json reads and orjson does not
                    fields, hashes = json.loads(f), json.loads(vh)
                if type(at) is not str:  # SQLite
                    at = _utc_text(at)
                elif at[0] == "0":  # a year before 1000, which strftime does not pad
                    at = at[:4].lstrip("0") + at[4:]
                doc = {
                    "action": action,
                    "actor": actor,
                    "at": at,
                    "branch": branch,
                    "fields": fields,
                    "id": entry_id,
                    "prev_hash": prev_hash,
                    "seq": seq,
                    "student_number": number,
                    "subject": subject,
                    "value_hashes": hashes,
                }
                if (
                    type(fields) is list
                    and (not fields or set(map(type, fields)) == _STR)
                    and type(hashes) is dict
                    and (not hashes or set(map(type, hashes.values())) == _STR)
                ):
                    body = dumps(doc, option=sort_keys)
                else:
                    body = canonical(doc)
                if sha256(prev.encode("ascii") + body).hexdigest() != hash_:
                    detail = "content does not match hash"
                    return count, ChainBreak(branch, seq, str(entry_id), "hash", detail)
                prev, expected_seq = str(hash_), expected_seq + 1
    finally:
        batches.close()
        result.close()
    last_seq = expected_seq - 1
    if head is None:
        return count, ChainBreak(branch, None, None, "no_head", "entries without a head row")
    if head != (last_seq, prev):
        detail = f"head says seq {head[0]}, chain ends at seq {last_seq}"
        return count, ChainBreak(branch, head[0], None, "head", detail)
    return count, None


def _batches(result: Result[Any], size: int) -> Generator[Sequence[Any], None, None]:
    while rows := result.fetchmany(size):
        yield rows


def _prefetched(result: Result[Any], size: int) -> Generator[Sequence[Any], None, None]:
    """The result's rows in batches, the next one fetched in a thread while this one is used.

    The connection is used by the fetching thread alone until it has stopped
    (at the end, or when the caller stops early): never by two at once.
    """
    ready: queue.Queue[Sequence[Any] | BaseException] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: Sequence[Any] | BaseException) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            while offer(rows := result.fetchmany(size)) and rows:
                pass
        except BaseException as error:  # handed to the caller's thread
            offer(error)

    fetcher = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    fetcher.start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item
    finally:
        stop.set()
        fetcher.join()

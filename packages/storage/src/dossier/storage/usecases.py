"""The use-case layer every service shares (beside the unit of work and `transact`).

A service's use cases are methods of a `UseCases` subclass, grouped by area in
modules (``dossier.approvals.change_requests``, ``dossier.retention.review``,
``dossier.intake.handlers``…). Each takes the `Caller` first and a request
(a command or a query) second, and is callable in-process without NATS: this
is what an embedding application calls, and what ``service.py`` declares for
each contract. The base offers what they all need:

- who calls: `Caller` (the verified actor, the idempotency key…) and
  `_context` (the `Context` of a transition: actor, reason, now);
- the wrappers: `_changing` (one transaction, at most once per idempotency
  key, the first answer kept with the change), `_logged` (one transaction
  outside the ledger: a read that writes its audit entry, a step of a long
  job) and `_reading`;
- the branch: `_branch`, `_rules`, `_today`, `_texts` (free texts checked by
  the branch's rules);
- visibility: `_require` (the role may do the operation in the branch),
  `_dossier` and `hide_unless` (records out of the caller's reach read as not
  found, so a caller cannot learn whether they exist).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dossier.core import wire
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.errors import DossierError, NotFound, Problem, ValidationError
from dossier.core.hookspecs import FieldKind, StaffNotice
from dossier.core.lifecycle import Context
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.policy import Actor, Operation, Role, Subject, require, reveal
from dossier.core.records import StudentDossier
from dossier.core.views import student_only
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import Once, transact
from dossier.storage.read_trail import ReadAlert, ReadEntry, ReadSealer, seal
from dossier.storage.uow import UnitOfWork

__all__ = ["UseCases", "fingerprint", "hide_unless", "page_limit", "utc_now"]

T = TypeVar("T")

_SEALER_LOCK = threading.Lock()

ALERT_CHANNELS = ("outbox",)
"""The notice channels a misuse alert is sent on (a plugin may serve others)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def fingerprint(command: Any) -> str:
    """What a request asked for, as the idempotency ledger compares it: SHA-256 of the
    command's ``type`` and its wire bytes."""
    return hashlib.sha256(f"{command.type}\n".encode() + wire.dumps(command)).hexdigest()


class UseCases:
    """The state and the helpers of a service's use cases: one database, the branches and
    their rules, a clock, and (for the services that keep documents) the document store."""

    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        documents: DocumentStore | None = None,
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.branches = dict(branches)
        self._document_store = documents
        self.plugins = plugins or PluginHost()
        self.clock = clock
        self.read_trail = True
        """Record unmasked reads (查阅记录). A measurement switch for the bench alone
        (bench/read_trail.py compares on and off): never turned off in a deployment."""
        self.on_read_alert: Callable[[ReadAlert], None] = _ignore
        """Called after a misuse alert is opened (the service counts it in its metrics)."""
        self._read_sealer: ReadSealer | None = None
        self.seal_in_background = False
        """Seal the read trail in a thread of its own just after each read (`ReadSealer`): what
        the services do. Off in process by default, where the embedding application calls
        `seal_reads` when it suits it (until then an entry is recorded and shown, not yet
        chained)."""

    @property
    def documents(self) -> DocumentStore:
        """The encrypted document store; a `RuntimeError` where none was given."""
        if self._document_store is None:
            raise RuntimeError(f"{type(self).__name__} was built without a document store")
        return self._document_store

    # -- transactions ----------------------------------------------------------------------

    def _changing(
        self,
        caller: Caller,
        command: Any,
        result_type: type[T],
        work: Callable[[UnitOfWork], T],
        *,
        ledger_actor: str | None = None,
    ) -> T:
        """Run ``work`` in one transaction, at most once per idempotency key.

        The first answer is kept with the change under (actor, key); a retry
        with the same key and request gets it back, with another request
        `IdempotencyKeyReused`. ``ledger_actor`` replaces the actor there when
        it must not be kept (anonymous feedback).
        """
        once = None
        if caller.idempotency_key is not None:
            once = Once(
                ledger_actor or caller.actor.id, caller.idempotency_key, fingerprint(command)
            )
        return self._transact(result_type, work, once)

    def _logged(self, result_type: type[T], work: Callable[[UnitOfWork], T]) -> T:
        """``work`` in one committed transaction, never kept in the idempotency ledger: a read
        that writes its audit entry, or one step of a long job (a review page, a shredding)."""
        return self._transact(result_type, work, None)

    def _reading(self, work: Callable[[UnitOfWork], T]) -> T:
        """``work`` in a unit of work that is rolled back: reads only."""
        with self.db.unit_of_work() as uow:
            return work(uow)

    def _transact(
        self, result_type: type[T], work: Callable[[UnitOfWork], T], once: Once | None
    ) -> T:
        def encode(result: T) -> bytes:
            return wire.dumps(result)

        def decode(raw: bytes) -> T:
            return wire.loads(raw, result_type)

        return transact(self.db, work, once=once, encode=encode, decode=decode)

    def _context(self, caller: Caller, reason: str, effective: date | None = None) -> Context:
        """A transition's context: the caller, ``reason``, now, and the effective date."""
        return Context(actor=caller.actor.id, reason=reason, at=self.clock(), effective=effective)

    # -- branches --------------------------------------------------------------------------

    def _branch(self, code: str, path: str = "branch") -> Branch:
        """The configured branch ``code``; otherwise a problem at ``path``."""
        branch = self.branches.get(code)
        if branch is None:
            allowed = ", ".join(sorted(self.branches))
            raise ValidationError([Problem(path, "not_allowed_value", {"allowed": allowed})])
        return branch

    def _rules(self, code: str) -> BranchRules:
        return self.plugins.rules_for(self._branch(code))

    def _today(self, code: str) -> date:
        """Today in the branch's time zone."""
        return self.clock().astimezone(ZoneInfo(self._branch(code).time_zone)).date()

    def _texts(
        self, code: str, required: Mapping[str, str], optional: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Free-text inputs (reasons, notes, comments…) checked by the branch's rules, all
        problems at once; blank required ones are ``required``. The normalised texts by path."""
        rules = self._rules(code)
        today = self._today(code)
        problems: list[Problem] = []
        out: dict[str, str] = {}
        for path, value in {**required, **(optional or {})}.items():
            checked = rules.check_field(FieldKind.FREE_TEXT, path, value, today)
            problems.extend(checked.problems)
            text = str(checked.value) if not checked.problems else value
            if path in required and not checked.problems and not text:
                problems.append(Problem(path, "required"))
            out[path] = text
        if problems:
            raise ValidationError(problems)
        return out

    # -- access ----------------------------------------------------------------------------

    def _require(self, actor: Actor, operation: Operation, branch: str | None) -> None:
        """The actor's role may ``operation`` in ``branch`` (None: chain-wide), or
        `AccessDenied` — for listings and other requests that name no record."""
        require(actor, operation, branch)

    def _dossier(
        self,
        uow: UnitOfWork,
        actor: Actor,
        operation: Operation,
        student_number: str,
        *,
        kind: str = "student",
        ref: str | None = None,
    ) -> StudentDossier:
        """The dossier, if ``actor`` may ``operation`` it; otherwise not found (as ``kind``
        ``ref``: a record reached through another one is hidden under its own name)."""
        ref = student_number if ref is None else ref
        subject = Subject(student_number=student_number)
        try:
            dossier = uow.students.get(student_number)
        except DossierError as error:
            tombstone = uow.students.tombstone(student_number)
            if tombstone is not None:  # destroyed: say so, to those who may know it existed
                hide_unless(actor, operation, tombstone.branch, kind, ref, subject)
                raise error from None
            raise (NotFound(kind, ref) if kind != "student" else error) from None
        hide_unless(actor, operation, dossier.branch, kind, ref, subject)
        return dossier

    # -- read trail (查阅记录) and misuse alerts --------------------------------------------

    def _recorded_reads(
        self,
        caller: Caller,
        reads: Sequence[tuple[str, str, Sequence[str]]],
        uow: UnitOfWork | None = None,
    ) -> None:
        """Record reads (branch, student number, kinds) that revealed unmasked data, for a use
        case that only read: inserted unsealed and committed before this returns — so an
        answered read is never lost, even to a ``kill -9`` — then sealed into the branch's
        chain and checked against the misuse thresholds by the chainer (`ReadSealer`), off
        the request path. ``uow``: the read's own unit of work, committed here (one
        transaction for the read and its entry), else a new one."""
        wanted = [r for r in reads if self._records(caller, r[1], r[2])]
        if not wanted:
            return
        actor = caller.actor
        now = self.clock()
        with nullcontext(uow) if uow is not None else self.db.unit_of_work() as work:
            for branch, number, kinds in wanted:
                work.reads.record(
                    branch=branch,
                    actor=actor.id,
                    roles=[role.value for role in actor.roles],
                    student_number=number,
                    kinds=kinds,
                    request_id=caller.request_id,
                    at=now,
                )
            work.commit()
        if self.seal_in_background:
            self._sealer().kick()

    def _sealer(self) -> ReadSealer:
        with _SEALER_LOCK:
            if self._read_sealer is None:
                self._read_sealer = ReadSealer(self)
            return self._read_sealer

    def stop_sealing(self) -> None:
        """Stop the chainer thread (at shutdown); what is left unsealed, the next start seals."""
        if self._read_sealer is not None:
            self._read_sealer.stop()

    def seal_reads(self) -> int:
        """Seal every configured branch's unsealed read-trail entries now and check them
        against the misuse thresholds (what the chainer does on its own just after each read;
        for tests, and for a process that starts after a crash). Entries sealed."""
        sealed = 0
        for code in sorted(self.branches):
            while True:
                with self.db.unit_of_work() as uow:
                    entries = seal(uow.connection, code)
                    if entries:
                        self._check_reads(uow, entries)
                    uow.commit()
                sealed += len(entries)
                if not entries:
                    break
        return sealed

    def _records(self, caller: Caller, student_number: str, kinds: Sequence[str]) -> bool:
        actor = caller.actor
        if not kinds or not self.read_trail:
            return False
        return not (actor.student_number == student_number and student_only(actor))

    def _record_read(
        self,
        uow: UnitOfWork,
        caller: Caller,
        branch: str,
        student_number: str,
        kinds: Sequence[str],
    ) -> bool:
        """Record that ``caller`` saw ``kinds`` of the student's data unmasked (nothing when
        ``kinds`` is empty, or the student reads their own record), and check the branch's
        misuse thresholds — in ``uow``, a changing use case's transaction (an export, a
        disclosure), which commits before answering. A use case that only reads uses
        `_recorded_reads`. True if recorded."""
        if not self._records(caller, student_number, kinds):
            return False
        actor = caller.actor
        entry = uow.reads.record(
            branch=branch,
            actor=actor.id,
            roles=[role.value for role in actor.roles],
            student_number=student_number,
            kinds=kinds,
            request_id=caller.request_id,
            at=self.clock(),
        )
        del entry  # sealed and checked by the chainer once ``uow`` has committed
        if self.seal_in_background:
            self._sealer().kick()  # the next tick finds it committed
        return True

    def _check_reads(self, uow: UnitOfWork, entries: Sequence[ReadEntry]) -> None:
        """The misuse thresholds, once per (branch, staff member) of ``entries`` (already
        inserted in ``uow``): at most one alert per (staff member, rule, window)."""
        groups: dict[tuple[str, str], list[ReadEntry]] = {}
        for entry in entries:
            groups.setdefault((entry.branch, entry.actor), []).append(entry)
        for (code, actor), mine in groups.items():
            now = max(entry.at for entry in mine)
            for rule, window, count, threshold in self._misuse(uow, code, actor, mine, now):
                alert = uow.read_alerts.open(
                    branch=code,
                    actor=actor,
                    rule=rule,
                    window=window,
                    count=count,
                    threshold=threshold,
                    at=now,
                )
                if alert is not None:
                    self._raise_alert(uow, alert)

    def _misuse(
        self, uow: UnitOfWork, code: str, actor: str, entries: Sequence[ReadEntry], now: datetime
    ) -> list[tuple[str, str, int, int]]:
        """The thresholds crossed: (rule, window, count, threshold). One look-up of the open
        alerts, and one count query only while a window has no alert yet."""
        branch = self._branch(code)
        zone = ZoneInfo(branch.time_zone)
        hour = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        day = hour.replace(hour=0)
        hour_key, day_key = hour.strftime("%Y-%m-%dT%H"), day.strftime("%Y-%m-%d")
        have = uow.read_alerts.windows(actor, (hour_key, day_key))
        crossed: list[tuple[str, str, int, int]] = []
        outside = sum(
            1
            for entry in entries
            if not branch.opens_at_hour <= entry.at.astimezone(zone).hour < branch.closes_at_hour
        )
        if outside and ("after_hours", day_key) not in have:
            crossed.append(("after_hours", day_key, outside, 0))
        exported = any("export" in entry.kinds for entry in entries)
        if exported and ("exports_per_hour", hour_key) not in have:
            exports = uow.reads.exports(actor, code, hour)
            if exports > branch.exports_per_hour:
                crossed.append(("exports_per_hour", hour_key, exports, branch.exports_per_hour))
        hourly = ("reads_per_hour", hour_key) not in have
        daily = ("reads_per_day", day_key) not in have
        if hourly or daily:
            per_hour, per_day = uow.reads.distinct_students(actor, code, hour, day)
            if hourly and per_hour > branch.reads_per_hour:
                crossed.append(("reads_per_hour", hour_key, per_hour, branch.reads_per_hour))
            if daily and per_day > branch.reads_per_day:
                crossed.append(("reads_per_day", day_key, per_day, branch.reads_per_day))
        return crossed

    def _raise_alert(self, uow: UnitOfWork, alert: ReadAlert) -> None:
        """Tell the branch manager (the approver role) through the notice channels, keep what
        was sent with the alert, and count it. (The alert row is its record; the auditor's
        acknowledgement is audited.)"""
        notice = StaffNotice(
            role=Role.APPROVER.value,
            kind="read_alert",
            params={
                "actor": alert.actor,
                "rule": alert.rule,
                "window": alert.window,
                "count": str(alert.count),
                "threshold": str(alert.threshold),
            },
        )
        deliveries = self._rules(alert.branch).notify_staff(notice, ALERT_CHANNELS)
        uow.read_alerts.noticed(alert.id, [(d.channel, d.text) for d in deliveries])
        self.on_read_alert(alert)


def _ignore(alert: ReadAlert) -> None:
    return None


def hide_unless(
    actor: Actor,
    operation: Operation,
    branch: str,
    kind: str,
    ref: str,
    subject: Subject | None = None,
) -> None:
    """Allowed; or `NotFound` (``kind`` ``ref``) for a record out of the actor's reach —
    another branch's, another student's; or `AccessDenied` (the role, four-eyes) for one
    within it. ``subject``: the student the record is about, and who requested it (four-eyes).
    """
    reveal(actor, operation, branch, kind, ref, subject)


def page_limit(limit: int, maximum: int = 200) -> None:
    """A page size between 1 and ``maximum``, or a problem at ``limit``."""
    if not 1 <= limit <= maximum:
        raise ValidationError([Problem("limit", "not_allowed_value", {"allowed": f"1–{maximum}"})])

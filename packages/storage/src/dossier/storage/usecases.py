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
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dossier.core import wire
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.errors import DossierError, NotFound, Problem, ValidationError
from dossier.core.hookspecs import FieldKind
from dossier.core.lifecycle import Context
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.policy import Actor, Operation, Subject, require, reveal
from dossier.core.records import StudentDossier
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import Once, transact
from dossier.storage.uow import UnitOfWork

__all__ = ["UseCases", "fingerprint", "hide_unless", "page_limit", "utc_now"]

T = TypeVar("T")


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

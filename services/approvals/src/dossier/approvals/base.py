"""What every approvals use case shares: who calls, one transaction per change (at most once per
idempotency key), the branch's rules and calendar, and visibility.

Records of branches outside the caller's scope, and other students' records
for a student, are reported as not found, so a caller cannot learn whether
they exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from dossier.core import wire
from dossier.core.attachments import Attachment, decode_attachment
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.errors import AccessDenied, DossierError, NotFound, Problem, ValidationError
from dossier.core.hookspecs import FieldKind
from dossier.core.lifecycle import Context
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.policy import Actor, Operation, Subject, authorize, reveal
from dossier.core.records import StudentDossier
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import Once, transact
from dossier.storage.uow import UnitOfWork

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base:
    """The state every handler mix-in uses; `dossier.approvals.handlers.Approvals` combines them."""

    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        documents: DocumentStore,
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.branches = dict(branches)
        self.documents = documents
        self.plugins = plugins or PluginHost()
        self.clock = clock

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

        The first answer is kept with the change under (actor, key);
        ``ledger_actor`` replaces the actor there when it must not be kept
        (anonymous feedback).
        """
        once = None
        if caller.idempotency_key is not None:
            fingerprint = hashlib.sha256(
                f"{command.type}\n".encode() + wire.dumps(command)
            ).hexdigest()
            once = Once(ledger_actor or caller.actor.id, caller.idempotency_key, fingerprint)

        return self._transact(result_type, work, once)

    def _logged(self, result_type: type[T], work: Callable[[UnitOfWork], T]) -> T:
        """A read that writes its audit entry: committed, never kept in the idempotency ledger."""
        return self._transact(result_type, work, None)

    def _transact(
        self, result_type: type[T], work: Callable[[UnitOfWork], T], once: Once | None
    ) -> T:
        def encode(result: T) -> bytes:
            return wire.dumps(result)

        def decode(raw: bytes) -> T:
            return wire.loads(raw, result_type)

        return transact(self.db, work, once=once, encode=encode, decode=decode)

    def _reading(self, work: Callable[[UnitOfWork], T]) -> T:
        with self.db.unit_of_work() as uow:
            return work(uow)

    def _ctx(self, caller: Caller, reason: str, effective: date | None = None) -> Context:
        return Context(actor=caller.actor.id, reason=reason, at=self.clock(), effective=effective)

    # -- branches --------------------------------------------------------------------------

    def _branch(self, code: str, path: str = "branch") -> Branch:
        branch = self.branches.get(code)
        if branch is None:
            allowed = ", ".join(sorted(self.branches))
            raise ValidationError([Problem(path, "not_allowed_value", {"allowed": allowed})])
        return branch

    def _rules(self, code: str) -> BranchRules:
        return self.plugins.rules_for(self._branch(code))

    def _today(self, code: str) -> date:
        return self.clock().astimezone(ZoneInfo(self._branch(code).time_zone)).date()

    def _texts(
        self, code: str, required: Mapping[str, str], optional: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Free-text inputs (reasons, comments…) checked by the branch's rules, all problems at
        once; blank required ones are ``required``. The normalised texts by path."""
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
        verdict = authorize(actor, operation, branch)
        if not verdict.allowed:
            raise AccessDenied(operation.value, verdict.reason or "role_not_permitted")

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
                hide_unless(actor, operation, tombstone.branch, subject, kind, ref)
                raise error from None
            raise (NotFound(kind, ref) if kind != "student" else error) from None
        hide_unless(actor, operation, dossier.branch, subject, kind, ref)
        return dossier


def hide_unless(
    actor: Actor, operation: Operation, branch: str, subject: Subject, kind: str, ref: str
) -> None:
    """Allowed; or not found (out of scope, another student's); or denied (role, four-eyes)."""
    reveal(actor, operation, branch, kind, ref, subject)


def decoded(attachments: Sequence[Attachment]) -> list[tuple[Attachment, bytes]]:
    """Every attachment's bytes, or every problem with them (paths ``attachments[i]…``)."""
    problems: list[Problem] = []
    found: list[tuple[Attachment, bytes]] = []
    for index, attachment in enumerate(attachments):
        data, wrong = decode_attachment(attachment, f"attachments[{index}]")
        problems.extend(wrong)
        found.append((attachment, data))
    if problems:
        raise ValidationError(problems)
    return found


def page_limit(limit: int) -> None:
    if not 1 <= limit <= 200:
        raise ValidationError([Problem("limit", "not_allowed_value", {"allowed": "1–200"})])

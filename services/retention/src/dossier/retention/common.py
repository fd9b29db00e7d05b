"""What the retention use cases share: who calls, one transaction per change (at most once per
idempotency key), the branches and their calendars, and visibility.

Records of branches outside the caller's scope are reported as not found, so
a caller cannot learn whether they exist (as in intake and approvals).
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
from dossier.core.errors import AccessDenied, Problem, ValidationError
from dossier.core.hookspecs import FieldKind
from dossier.core.plugins import BranchRules, PluginHost
from dossier.core.policy import Actor, Operation, Subject, authorize, reveal
from dossier.storage.db import Database
from dossier.storage.idempotency import Once, transact
from dossier.storage.uow import UnitOfWork

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base:
    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.branches = dict(branches)
        self.plugins = plugins or PluginHost()
        self.clock = clock

    # -- transactions ----------------------------------------------------------------------

    def _changing(
        self, caller: Caller, command: Any, result_type: type[T], work: Callable[[UnitOfWork], T]
    ) -> T:
        """``work`` in one transaction, at most once per (actor, idempotency key)."""
        once = None
        if caller.idempotency_key is not None:
            fingerprint = hashlib.sha256(
                f"{command.type}\n".encode() + wire.dumps(command)
            ).hexdigest()
            once = Once(caller.actor.id, caller.idempotency_key, fingerprint)
        return self._transact(result_type, work, once)

    def _transact(
        self, result_type: type[T], work: Callable[[UnitOfWork], T], once: Once | None = None
    ) -> T:
        def encode(result: T) -> bytes:
            return wire.dumps(result)

        def decode(raw: bytes) -> T:
            return wire.loads(raw, result_type)

        return transact(self.db, work, once=once, encode=encode, decode=decode)

    def _reading(self, work: Callable[[UnitOfWork], T]) -> T:
        with self.db.unit_of_work() as uow:
            return work(uow)

    # -- branches --------------------------------------------------------------------------

    def _branch(self, code: str, path: str = "branch") -> Branch:
        branch = self.branches.get(code)
        if branch is None:
            allowed = ", ".join(sorted(self.branches))
            raise ValidationError([Problem(path, "not_allowed_value", {"allowed": allowed})])
        return branch

    def _rules(self, code: str) -> BranchRules:
        return self.plugins.rules_for(self._branch(code))

    def _today(self, branch: Branch) -> date:
        return self.clock().astimezone(ZoneInfo(branch.time_zone)).date()

    def _text(self, branch: str, path: str, value: str) -> str:
        """A required free text (a note) checked by the branch's rules; the normalised text."""
        rules = self._rules(branch)
        checked = rules.check_field(FieldKind.FREE_TEXT, path, value, self._today(rules.branch))
        if checked.problems:
            raise ValidationError(checked.problems)
        text = str(checked.value).strip()
        if not text:
            raise ValidationError([Problem(path, "required")])
        return text

    # -- access ----------------------------------------------------------------------------

    def _require(self, actor: Actor, operation: Operation, branch: str | None) -> None:
        verdict = authorize(actor, operation, branch)
        if not verdict.allowed:
            raise AccessDenied(operation.value, verdict.reason or "role_not_permitted")


def hide_unless(
    actor: Actor,
    operation: Operation,
    branch: str,
    kind: str,
    ref: str,
    subject: Subject | None = None,
) -> None:
    """Allowed; or not found (another branch, another student's); or denied (the role)."""
    reveal(actor, operation, branch, kind, ref, subject)

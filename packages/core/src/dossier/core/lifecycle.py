"""A small, explicit state-machine engine: a transition table plus guards.

A `Lifecycle` answers one question — from this state, may this action happen,
and where does it lead — and raises `IllegalTransition` (naming the state, the
action and what is allowed) or `GuardRefused` (naming the guard's reason).
The record-specific functions in `dossier.core.lifecycles` build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Generic, TypeVar

from attrs import field, frozen

from dossier.core.errors import GuardRefused, IllegalTransition
from dossier.core.events import DomainEvent

S = TypeVar("S", bound=Enum)
R = TypeVar("R")


@frozen(kw_only=True)
class Context:
    """Who acts, why, from when, and the instant the change is recorded."""

    actor: str = field()
    reason: str
    at: datetime
    effective: date | None = None

    @actor.validator
    def _actor_named(self, _attribute: object, value: str) -> None:
        if not value:
            raise ValueError("a transition needs an actor")

    @property
    def effective_date(self) -> date:
        return self.effective or self.at.date()


@frozen
class Transitioned(Generic[R]):
    """The new record and the events the transition raised."""

    record: R
    events: tuple[DomainEvent, ...]


Guard = Callable[[object, Context], str | None]
"""Returns a reason code when the transition must not happen, else None."""


@frozen
class Lifecycle(Generic[S]):
    name: str
    table: Mapping[tuple[S, str], S]
    guards: Mapping[str, tuple[Guard, ...]] = field(factory=dict)

    @classmethod
    def build(
        cls,
        name: str,
        rows: Iterable[tuple[S | tuple[S, ...], str, S]],
        guards: Mapping[str, tuple[Guard, ...]] | None = None,
    ) -> Lifecycle[S]:
        table: dict[tuple[S, str], S] = {}
        for sources, action, target in rows:
            for source in sources if isinstance(sources, tuple) else (sources,):
                if (source, action) in table:
                    raise ValueError(f"{name}: {source.value}/{action} defined twice")
                table[(source, action)] = target
        return cls(name, table, dict(guards or {}))

    def allowed(self, state: S) -> set[str]:
        return {action for (source, action) in self.table if source == state}

    def states(self) -> set[S]:
        return {s for s, _ in self.table} | set(self.table.values())

    def target(self, state: S, action: str, record: object, ctx: Context) -> S:
        try:
            target = self.table[(state, action)]
        except KeyError:
            raise IllegalTransition(
                self.name, str(state.value), action, self.allowed(state)
            ) from None
        for guard in self.guards.get(action, ()):
            reason = guard(record, ctx)
            if reason is not None:
                raise GuardRefused(self.name, action, reason)
        return target

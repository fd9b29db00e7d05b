"""Every problem at once (问题一次说清): a body that fails its shape still has its rules run.

Strict structuring (`dossier.core.wire`) refuses unknown keys and wrong JSON
types before any rule of the branch runs. So that one answer lists the shape
problems *and* what the rules find in the rest of the body, a use case names
the rules to run over the well-shaped part (`Partial`) of a body that failed::

    class Intake:
        def _submission_rules(self, caller, partial): ...

        @checks_partial(_submission_rules)
        def submit_registration(self, caller, command): ...

A service hands such a use case an `Unshaped` body (`loads`) instead of
refusing the request at once; the use case then raises one `ValidationError`
with the shape problems and its rules' problems, and writes nothing. A use
case without ``checks_partial`` is never given an `Unshaped` body.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, TypeVar

from attrs import frozen

from dossier.core import wire
from dossier.core.errors import DossierError, Problem, ValidationError
from dossier.core.wire import Partial, ShapeError

S = TypeVar("S")
C = TypeVar("C")
B = TypeVar("B")
R = TypeVar("R")
P = ParamSpec("P")

_CHECKS_PARTIAL = "__dossier_checks_partial__"


@frozen
class Unshaped:
    """The body a `checks_partial` use case gets when the request's body failed its shape."""

    error: ShapeError

    def answer(self, rules: Callable[[Partial], Iterable[Problem]]) -> ValidationError:
        """The shape problems and those ``rules`` find in the well-shaped part, in one error.

        ``rules`` may return its problems or raise them in a `ValidationError`; any
        other refusal (the caller may not act there, the record is not found)
        leaves the shape problems to answer alone.
        """
        try:
            found = list(rules(self.error.partial))
        except ValidationError as raised:
            found = list(raised.problems())
        except DossierError:
            found = []
        return merged(self.error, found)


UseCase = Callable[Concatenate[S, C, B, P], R]


def checks_partial(
    rules: Callable[[S, C, Partial], Iterable[Problem]],
) -> Callable[[UseCase[S, C, B, P, R]], UseCase[S, C, B | Unshaped, P, R]]:
    """Mark a use case ``(self, caller, body, …)``: given an `Unshaped` body, it raises one
    `ValidationError` with the shape problems and those ``rules(self, caller, partial)``
    find; given a body, it runs as ever."""

    def decorate(use_case: UseCase[S, C, B, P, R]) -> UseCase[S, C, B | Unshaped, P, R]:
        @functools.wraps(use_case)
        def run(self: S, caller: C, body: B | Unshaped, /, *args: P.args, **kwargs: P.kwargs) -> R:
            if isinstance(body, Unshaped):
                raise body.answer(lambda partial: rules(self, caller, partial))
            return use_case(self, caller, body, *args, **kwargs)

        setattr(run, _CHECKS_PARTIAL, True)
        return run

    return decorate


def loads(raw: bytes | str, cls: type, handler: object) -> Any:
    """The body for ``handler``: structured strictly (`wire.loads`), or `Unshaped` when it
    failed its shape and ``handler`` is a `checks_partial` use case; else the error."""
    try:
        return wire.loads(raw, cls)
    except ShapeError as error:
        if getattr(handler, _CHECKS_PARTIAL, False) is not True:
            raise
        return Unshaped(error)


def merged(error: ShapeError, found: Iterable[Problem]) -> ValidationError:
    """One error: the shape problems and the rules' (less any at a field that failed its
    shape), each field's together in the order they first appear, ``required`` first."""
    problems = list(error.problems())
    for problem in found:
        if problem not in problems and not _at_failed(problem, error.partial.failed):
            problems.append(problem)
    first: dict[str, int] = {}
    for index, problem in enumerate(problems):
        first.setdefault(problem.field, index)
    problems.sort(key=lambda problem: (first[problem.field], problem.rule != "required"))
    return ValidationError(problems)


def _at_failed(problem: Problem, failed: Iterable[wire.Path]) -> bool:
    at = wire.place_of(problem.field)
    return any(place and at[: len(place)] == place for place in failed)

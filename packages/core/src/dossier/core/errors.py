"""Every error Dossier raises on purpose descends from `DossierError`.

Each error has a stable ``code`` (documented in docs/errors.md) and the HTTP-like
``status`` a reply carries (the messaging layer sends it, knowing no error by name), and
renders its message in the branch locale. Messages never contain personal data: they
name fields and rules, not values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from dossier.core.enums import Locale
from dossier.core.messages import DEFAULT_CATALOGUE, Catalogue

ParamValue = str | int


@attrs.frozen
class Problem:
    """One thing wrong with the input: which field, which rule, with what parameters.

    ``field`` is a dotted path into the submitted data (``applicant.phone``,
    ``changes[2].value``); ``params`` fill the rule's message template and
    must never hold the submitted value itself.
    """

    field: str
    rule: str
    params: Mapping[str, ParamValue] = attrs.field(factory=dict)

    def message(self, locale: Locale, catalogue: Catalogue = DEFAULT_CATALOGUE) -> str:
        return catalogue.render(self.rule, locale, self.field, self.params)


STATUSES: dict[str, int] = {}
"""Every error code and its status, as error classes are defined (`declare_code` adds the codes
an error takes at run time). docs/errors.md documents each one."""


def declare_code(code: str, status: int) -> None:
    """A code some error class takes at run time (``token_expired``, ``payload_too_large``)."""
    known = STATUSES.setdefault(code, status)
    if known != status:
        raise ValueError(f"error code {code} has two statuses: {known} and {status}")


class DossierError(Exception):
    """Root of every error Dossier raises on purpose."""

    code = "dossier_error"
    rule = "internal"
    status: int = 500
    """The HTTP-like status of a reply that carries this error."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            declare_code(cls.code, cls.status)

    def __init__(self, params: Mapping[str, ParamValue] | None = None) -> None:
        self.params: dict[str, ParamValue] = dict(params or {})
        super().__init__(self.message(Locale.EN))

    def message(self, locale: Locale, catalogue: Catalogue = DEFAULT_CATALOGUE) -> str:
        return catalogue.render(self.rule, locale, "", self.params)

    def problems(self) -> tuple[Problem, ...]:
        return ()


class ValidationError(DossierError):
    """The input broke one or more rules; carries every problem found, not just the first."""

    code = "validation_failed"
    rule = "validation_failed"
    status = 400

    def __init__(self, problems: Iterable[Problem]) -> None:
        self._problems = tuple(problems)
        if not self._problems:
            raise ValueError("a ValidationError needs at least one problem")
        super().__init__({"count": len(self._problems)})

    def problems(self) -> tuple[Problem, ...]:
        return self._problems


class IllegalTransition(DossierError):
    """A lifecycle was asked for a transition its table does not allow from the current state."""

    code = "illegal_transition"
    rule = "illegal_transition"
    status = 409

    def __init__(self, lifecycle: str, state: str, action: str, allowed: Iterable[str]) -> None:
        self.lifecycle = lifecycle
        self.state = state
        self.action = action
        self.allowed = tuple(sorted(allowed))
        super().__init__(
            {
                "lifecycle": lifecycle,
                "state": state,
                "action": action,
                "allowed": ", ".join(self.allowed) or "-",
            }
        )


class GuardRefused(DossierError):
    """The transition exists, but a guard refused it (e.g. the four-eyes rule)."""

    code = "transition_refused"
    rule = "transition_refused"
    status = 409

    def __init__(self, lifecycle: str, action: str, reason: str) -> None:
        self.lifecycle = lifecycle
        self.action = action
        self.reason = reason
        super().__init__({"lifecycle": lifecycle, "action": action, "reason": reason})

    def message(self, locale: Locale, catalogue: Catalogue = DEFAULT_CATALOGUE) -> str:
        head = catalogue.render(self.rule, locale, "", self.params)
        return f"{head} {catalogue.render(self.reason, locale, '', self.params)}"


class AccessDenied(DossierError):
    """The policy refused the actor; ``reason`` is a rule code such as ``branch_out_of_scope``."""

    code = "access_denied"
    rule = "access_denied"
    status = 403

    def __init__(self, operation: str, reason: str) -> None:
        self.operation = operation
        self.reason = reason
        super().__init__({"operation": operation, "reason": reason})

    def message(self, locale: Locale, catalogue: Catalogue = DEFAULT_CATALOGUE) -> str:
        return catalogue.render(self.reason, locale, "", self.params)


class NotFound(DossierError):
    code = "not_found"
    rule = "not_found"
    status = 404

    def __init__(self, kind: str, ref: str) -> None:
        self.kind = kind
        self.ref = ref
        super().__init__({"kind": kind, "ref": ref})


class Conflict(DossierError):
    """A write was based on a stale version of the record (optimistic concurrency)."""

    code = "conflict"
    rule = "conflict"
    status = 409

    def __init__(self, kind: str, ref: str, expected: int, actual: int) -> None:
        self.kind = kind
        self.ref = ref
        super().__init__({"kind": kind, "ref": ref, "expected": expected, "actual": actual})


class Destroyed(DossierError):
    """The student's data was destroyed (资料已销毁); only the tombstone remains."""

    code = "destroyed"
    rule = "destroyed"
    status = 410

    def __init__(self, student_number: str, destroyed_on: str) -> None:
        self.student_number = student_number
        super().__init__({"student_number": student_number, "destroyed_on": destroyed_on})


class StaleChange(DossierError):
    """信息变更已过期: the dossier changed after the change request was based on it.

    Approving it would write values judged against a dossier that no longer
    exists; the reviewer re-bases it (re-validates against the current
    dossier and refreshes the before-values) and decides again.
    """

    code = "stale_change"
    rule = "stale_change"
    status = 409

    def __init__(self, change_id: str, based_on: int, current: int) -> None:
        self.change_id = change_id
        super().__init__({"ref": change_id, "based_on": based_on, "current": current})


class ConsentRequired(DossierError):
    """未经学员同意不得泄露: no active consent of the student covers the disclosure's purpose."""

    code = "consent_required"
    rule = "consent_required"
    status = 403

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        super().__init__({"purpose": purpose})

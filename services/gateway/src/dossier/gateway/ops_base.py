"""What the reviewer, operator and auditor pages share: who may open which page (the policy's
`GRANTS`, the services check again), the branches they may choose, and rendering."""

from __future__ import annotations

from typing import Any

from attrs import frozen
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dossier.core.enums import Locale
from dossier.core.policy import ALL_BRANCHES, CHAIN_WIDE_ROLES, GRANTS, Actor, Operation, Role
from dossier.gateway.accounts import Account
from dossier.gateway.i18n import translate
from dossier.gateway.web import Forbidden, gateway, local_time, locale_of, render, require

SECTIONS = (
    ("reviews", "/ops/reviews", Operation.REVIEW_READ),
    ("certificates", "/ops/certificates", Operation.CERTIFICATE_READ),
    ("backups", "/ops/backups", Operation.BACKUP_MANAGE),
    ("audit", "/ops/audit", Operation.AUDIT_VERIFY),
    ("reads", "/ops/reads", Operation.READ_TRAIL_READ),
    ("alerts", "/ops/alerts", Operation.READ_ALERT_READ),
)
"""The pages, in the order of their navigation, and the operation each needs."""


CHAIN_WIDE_OPERATIONS = frozenset({Operation.BACKUP_MANAGE})
"""Operations on the whole chain (a backup holds every branch): for chain-wide staff only."""


@frozen(kw_only=True)
class Operator:
    account: Account
    branches: tuple[str, ...]
    """The configured branches this person may choose (every one for chain-wide roles)."""
    everywhere: bool = False
    """Chain-wide (an auditor, an admin, or staff of ``*``): may ask about every branch at once."""

    @property
    def actor(self) -> Actor:
        return self.account.actor

    def may(self, operation: Operation) -> bool:
        """Granted by the policy to one of the person's staff roles (never a student's)."""
        if operation in CHAIN_WIDE_OPERATIONS and not self.everywhere:
            return False
        return bool(self.account.roles & GRANTS[operation] - {Role.STUDENT})


def operator_of(request: Request, *operations: Operation) -> Operator:
    """The signed-in person, allowed every one of ``operations`` (else `Forbidden`)."""
    account = require(request)
    if account.is_student:
        raise Forbidden
    configured = sorted(gateway(request).settings.config.branches)
    everywhere = ALL_BRANCHES in account.branches or bool(account.roles & CHAIN_WIDE_ROLES)
    branches = configured if everywhere else [b for b in configured if b in account.branches]
    operator = Operator(account=account, branches=tuple(branches), everywhere=everywhere)
    if not all(operator.may(operation) for operation in operations):
        raise Forbidden
    return operator


def chosen_branch(request: Request, operator: Operator) -> str:
    """The branch in ``?branch=``, when the person may choose it; else their first."""
    if not operator.branches:
        raise Forbidden
    asked = request.query_params.get("branch", "")
    return asked if asked in operator.branches else operator.branches[0]


def time_zone(request: Request, branch: str | None) -> str:
    branches = gateway(request).settings.config.branches
    known = branches.get(branch or "")
    return known.time_zone if known is not None else "Asia/Shanghai"


def label(kind: str, code: str, locale: Locale) -> str:
    """``ops.<kind>.<code>`` in the page's language, else the code as the service gave it."""
    key = f"ops.{kind}.{code}"
    shown = translate(key, locale)
    return code if shown == key else shown


def page(
    request: Request,
    operator: Operator,
    template: str,
    *,
    section: str,
    branch: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    zone = time_zone(request, branch)
    locale = locale_of(request)
    done = request.query_params.get("done", "")
    return render(
        request,
        template,
        status_code=status_code,
        operator=operator,
        sections=[(name, href) for name, href, op in SECTIONS if operator.may(op)],
        section=section,
        branch=branch,
        done=done if done.isidentifier() else "",
        when=lambda value: local_time(value, zone),
        rule_label=lambda code: label("rule", code, locale),
        action_label=lambda code: label("action", code, locale),
        kept_label=lambda code: label("kept", code, locale),
        **context,
    )

"""What the staff console's pages share: who may open them, the NATS requests made on the
account's behalf, the branches to choose from, labels, flashes, and hiding what the services
hide.

Page-level checks come from core's policy table (`GRANTS`): a page opens for the roles
that may perform its operation somewhere. Which records a person may see — their
branches, four-eyes — is the services' decision alone; the pages only leave out the
controls the policy says would be refused.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dossier.core.errors import Problem
from dossier.core.policy import ALL_BRANCHES, GRANTS, Operation, Role, authorize
from dossier.core.views import viewing_role
from dossier.gateway.accounts import Account
from dossier.gateway.i18n import TEXT, translate
from dossier.gateway.web import Endpoint, gateway, locale_of, render, require
from dossier.messaging.client import RemoteError

STAFF_ROLES = tuple(role for role in Role if role is not Role.STUDENT)
INVITE_ROLES = frozenset({Role.ENROLMENT_OFFICER, Role.ADMIN})
"""Who may create a student's activation link: the link opens the student's own pages, where
everything is unmasked, so only a role that sees the student's data unmasked
(`dossier.core.views`' masking by the most privileged role) ever sees one — never the front
desk, a reviewer, an operator or an auditor."""
RESET_ROLES = frozenset({Role.ADMIN})
"""Who may reset an activated student's account (with a reason, recorded)."""
FLASH = "staff_flash"


def staff(request: Request, *roles: Role) -> Account:
    """The signed-in member of staff holding one of ``roles`` (any staff role when none)."""
    return require(request, *(roles or STAFF_ROLES))


def staff_for(request: Request, operation: Operation) -> Account:
    """The signed-in member of staff whose roles may perform ``operation`` somewhere."""
    return staff(request, *sorted(GRANTS[operation] - {Role.STUDENT}))


def can(account: Account, operation: Operation, branch: str | None) -> bool:
    """Would the policy let the account do it for ``branch``? Only to choose what to show."""
    return authorize(account.actor, operation, branch).allowed


def may_invite(account: Account, branch: str) -> bool:
    if account.actor.masked_only:  # the link opens unmasked pages: not before the policy
        return False
    return viewing_role(account.actor) in INVITE_ROLES and (
        Role.ADMIN in account.roles or account.actor.covers(branch)
    )


def may_reset(account: Account, branch: str) -> bool:
    return may_invite(account, branch) and bool(account.roles & RESET_ROLES)


def hides_not_found(endpoint: Endpoint) -> Endpoint:
    """A record the services answer as not found (another branch's, or none) is the site's
    plain 404 page: the same status and words whatever the reason."""

    @functools.wraps(endpoint)
    async def hiding(request: Request) -> Any:
        try:
            return await endpoint(request)
        except RemoteError as error:
            if error.code == "not_found":
                raise HTTPException(404) from None
            raise

    return hiding


def branch_choices(request: Request, account: Account) -> list[tuple[str, str]]:
    """The configured branches the account acts for: (code, name)."""
    branches = gateway(request).settings.config.branches
    every = ALL_BRANCHES in account.branches or Role.ADMIN in account.roles
    return [
        (code, branches[code].name)
        for code in sorted(branches)
        if every or code in account.branches
    ]


def chosen_branch(request: Request, account: Account) -> str:
    """The ``branch`` asked for, else the account's first; the services check the scope."""
    asked = request.query_params.get("branch", "")
    choices = [code for code, _ in branch_choices(request, account)]
    if asked:
        return asked
    return choices[0] if choices else ""


def remote_problems(error: RemoteError) -> dict[str, str]:
    return {p.field: p.message for p in error.problems}


def local_problem(request: Request, field: str, rule: str, **params: Any) -> dict[str, str]:
    """A problem the page finds before asking (a file too large, a date that is not one), in
    the words of the services' own catalogue."""
    return {field: Problem(field, rule, params).message(locale_of(request))}


def choice_problem(
    request: Request, field: str, value: str, choices: type[StrEnum]
) -> dict[str, str]:
    """The problem of a form choice that is none of ``choices`` (empty when it is one)."""
    allowed = [choice.value for choice in choices]
    if value in allowed:
        return {}
    return local_problem(request, field, "not_allowed_value", allowed=", ".join(allowed))


def status_filter(request: Request, choices: type[StrEnum], default: StrEnum) -> str:
    """The list's ``status`` filter: the query's, else ``default``; "" (all) when it is none
    of ``choices``."""
    status = request.query_params.get("status", default.value)
    return status if status in {choice.value for choice in choices} else ""


def parse_date(
    value: str, field: str, problems: dict[str, str], request: Request, *, required: bool = False
) -> date | None:
    if not value:
        if required:
            problems.update(local_problem(request, field, "required"))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.update(local_problem(request, field, "invalid_date"))
        return None


def parse_local_datetime(
    value: str, field: str, problems: dict[str, str], request: Request, time_zone: str
) -> datetime | None:
    """A ``datetime-local`` input, read in the branch's time zone."""
    if not value:
        problems.update(local_problem(request, field, "required"))
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        problems.update(local_problem(request, field, "invalid_date"))
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(time_zone))


def parse_amount(value: str, field: str, problems: dict[str, str], request: Request) -> int | None:
    """``1234.50`` as minor units (fen, cents); the service decides whether it is acceptable."""
    try:
        amount = Decimal(value.replace(",", ""))
    except ArithmeticError:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        problems.update(local_problem(request, field, "wrong_type", expected="amount"))
        return None
    return int(amount * 100)


def time_zone_of(request: Request, branch: str) -> str:
    found = gateway(request).settings.config.branches.get(branch)
    return found.time_zone if found is not None else "UTC"


def flash(request: Request, key: str, **params: str) -> None:
    """A one-time notice for the next page (kept in the signed session)."""
    request.session[FLASH] = [key, params]


def _take_flash(request: Request) -> str | None:
    noted = request.session.pop(FLASH, None)
    if not isinstance(noted, list) or len(noted) != 2:
        return None
    key, params = noted
    return translate(str(key), locale_of(request), **dict(params))


def staff_render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """`render` with the console's helpers: labels, times in the branch's zone, money."""
    locale = locale_of(request)

    def label(group: str, value: object) -> str:
        key = f"staff.{group}.{value}"
        return translate(key, locale) if key in TEXT else str(value)

    def when(value: object, branch: str | None = None) -> str:
        """A view's timestamp (or ISO text) in the branch's time zone (else UTC)."""
        if not value:
            return ""
        if isinstance(value, datetime):
            at = value
        elif isinstance(value, str):
            try:
                at = datetime.fromisoformat(value)
            except ValueError:
                return value
        else:
            return str(value)
        zone = time_zone_of(request, branch) if branch else "UTC"
        local = at.astimezone(ZoneInfo(zone)) if at.tzinfo else at.replace(tzinfo=UTC)
        return f"{local:%Y-%m-%d %H:%M} ({zone})" if branch else f"{local:%Y-%m-%d %H:%M} UTC"

    def money(amount_minor: int, currency: str) -> str:
        return f"{Decimal(amount_minor) / 100:,.2f} {currency}"

    def size(count: int) -> str:
        return f"{count} B" if count < 1024 else f"{count / 1024:,.1f} KB"

    return render(
        request,
        template,
        status_code=status_code,
        label=label,
        when=when,
        money=money,
        size=size,
        flash=_take_flash(request),
        **context,
    )

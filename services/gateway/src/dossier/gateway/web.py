"""What every page handler shares: the signed-in account, the language, CSRF, rendering,
and the NATS request made on the account's behalf.

The browser never holds an actor token: each NATS request carries one minted
here from the session's account, valid for a few minutes. Pages call the
services exactly as the CLI does (`dossier.messaging.client.DossierClient`),
so every rule and every access check stays in the services.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from attrs import define
from nats.aio.client import Client
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from dossier.core.enums import Locale
from dossier.core.policy import Actor, Role
from dossier.gateway.accounts import Account, AccountStore
from dossier.gateway.i18n import pick_locale, translate
from dossier.gateway.settings import GatewaySettings
from dossier.messaging.client import DossierClient
from dossier.messaging.tokens import TokenIssuer

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SESSION_ACCOUNT = "account"
SESSION_CSRF = "csrf"
LANG_COOKIE = "lang"


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    pass


class CsrfRefused(Exception):
    pass


@define
class Gateway:
    """The application's state (``request.app.state.gateway``)."""

    settings: GatewaySettings
    accounts: AccountStore
    issuer: TokenIssuer
    templates: Jinja2Templates
    nc: Client | None = None

    def client(self, actor: Actor, locale: Locale) -> DossierClient:
        if self.nc is None:
            raise RuntimeError("the gateway is not connected to NATS")
        token = self.issuer.issue(actor, ttl=timedelta(minutes=self.settings.token_minutes))
        return DossierClient(self.nc, token, timeout=15, attempts=2, locale=locale.value)


def gateway(request: Request) -> Gateway:
    state: Gateway = request.app.state.gateway
    return state


def account_of(request: Request) -> Account | None:
    account_id = request.session.get(SESSION_ACCOUNT)
    if not isinstance(account_id, str):
        return None
    cached: Account | None = request.scope.get("dossier.account")
    if cached is None:
        cached = gateway(request).accounts.find(account_id)
        request.scope["dossier.account"] = cached
    return cached


def require(request: Request, *roles: Role) -> Account:
    """The signed-in account, holding one of ``roles`` (any role when none given)."""
    account = account_of(request)
    if account is None:
        raise SignInRequired
    if roles and not account.roles & set(roles):
        raise Forbidden
    return account


def locale_of(request: Request) -> Locale:
    account = account_of(request)
    return pick_locale(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        account.locale.value if account else None,
        request.headers.get("accept-language"),
    )


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, after its CSRF token matched the session's (else `CsrfRefused`)."""
    form = await request.form()
    sent = form.get("csrf")
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise CsrfRefused
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused
    return form


def sign_in(request: Request, account: Account) -> None:
    """A fresh session for the account (a new CSRF token too: no fixation)."""
    request.session.clear()
    request.session[SESSION_ACCOUNT] = account.id
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = locale_of(request)
    page = gateway(request).templates.TemplateResponse(
        request,
        template,
        {
            "t": lambda key, **params: translate(key, locale, **params),
            "locale": locale.value,
            "other_locale": "en" if locale is Locale.ZH_CN else "zh-CN",
            "account": account_of(request),
            "csrf": csrf_token(request),
            "idempotency_key": secrets.token_urlsafe(16),
            **context,
        },
        status_code=status_code,
    )
    if "lang" in request.query_params:
        page.set_cookie(LANG_COOKIE, locale.value, samesite="lax", httponly=True)
    return page


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def send(
    request: Request, actor: Actor, message: Any, idempotency_key: str | None = None
) -> Any:
    """``message`` to the service that answers it, as ``actor``, in the page's language."""
    client = gateway(request).client(actor, locale_of(request))
    return await client.send(message, idempotency_key=idempotency_key)


def idempotency_key(form: FormData) -> str | None:
    """The key rendered into the form: a double-clicked or re-posted form acts once."""
    key = form.get("idempotency_key")
    return key if isinstance(key, str) and 8 <= len(key) <= 128 else None


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


Endpoint = Callable[[Request], Awaitable[Response]]


def role_names(roles: Iterable[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles))

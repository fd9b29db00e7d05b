"""What every page handler shares: the signed-in account, the language, CSRF, rendering,
and the NATS request made on the account's behalf.

The browser never holds an actor token: each NATS request carries one minted
here from the session's account, valid for a few minutes. Pages call the
services exactly as the CLI does (`dossier.messaging.client.DossierClient`),
so every rule and every access check stays in the services.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import orjson
from attrs import define, field
from nats.aio.client import Client
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from dossier.core import wire
from dossier.core.attachments import MAX_ATTACHMENT_BYTES, Attachment, decode_attachment
from dossier.core.contracts import CATALOGUE
from dossier.core.enums import DocumentKind, Locale
from dossier.core.errors import Problem, ValidationError
from dossier.core.policy import Actor, Role
from dossier.gateway.accounts import Account, AccountStore
from dossier.gateway.i18n import pick_locale, translate
from dossier.gateway.limits import RateLimiter
from dossier.gateway.settings import GatewaySettings
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.tokens import Holder, TokenIssuer

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SESSION_ACCOUNT = "account"
SESSION_CSRF = "csrf"
SESSION_VERSION = "v"
SESSION_SINCE = "since"
SESSION_SEEN = "seen"
SEEN_EVERY = 30
"""Seconds between refreshes of a session's last-activity time (each one sets the cookie)."""
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
    signins: RateLimiter
    """Refused sign-ins per client address."""
    registrations: RateLimiter
    """Online registrations (form and JSON) per client address."""
    nc: Client | None = None
    holder: Holder = field(factory=lambda: Holder("gateway"))
    """This gateway's proof key: every token it mints is bound to it and its NATS user."""

    def client(
        self, actor: Actor, locale: Locale, *, timeout: float = 15, attempts: int = 2
    ) -> DossierClient:
        if self.nc is None:
            raise RuntimeError("the gateway is not connected to NATS")
        token = self.issuer.issue(
            actor, ttl=timedelta(minutes=self.settings.token_minutes), holder=self.holder
        )
        return DossierClient(
            self.nc,
            token,
            timeout=timeout,
            attempts=attempts,
            locale=locale.value,
            holder=self.holder,
        )


def gateway(request: Request) -> Gateway:
    state: Gateway = request.app.state.gateway
    return state


def account_of(request: Request) -> Account | None:
    """The session's account while the session holds: the account is enabled, its session
    version is the one signed in under (sign-out and account changes move it), and neither
    the idle nor the absolute timeout has passed. A session that does not hold is cleared."""
    if "dossier.account" in request.scope:
        cached: Account | None = request.scope["dossier.account"]
        return cached
    account = _session_account(request)
    request.scope["dossier.account"] = account
    return account


def _session_account(request: Request) -> Account | None:
    session = request.session
    account_id = session.get(SESSION_ACCOUNT)
    if not isinstance(account_id, str):
        return None
    state = gateway(request)
    settings = state.settings
    now = int(time.time())
    since, seen = session.get(SESSION_SINCE), session.get(SESSION_SEEN)
    if not isinstance(since, int) or not isinstance(seen, int):
        session.clear()
        return None
    account = state.accounts.find(account_id)
    holds = (
        account is not None
        and session.get(SESSION_VERSION) == account.session_version
        and now - since < settings.session_hours * 3600
        and now - seen < settings.session_idle_minutes * 60
    )
    if not holds:
        session.clear()
        return None
    if now - seen >= SEEN_EVERY:
        session[SESSION_SEEN] = now
    if (
        account is not None and not account.is_student
    ):  # 保密承诺: not acknowledged, masked data only
        renewal = {code: b.policy_renewal_days for code, b in settings.config.branches.items()}
        account = attrs.evolve(account, policy_due=state.accounts.policy_due(account, renewal))
    return account


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
    now = int(time.time())
    request.session[SESSION_ACCOUNT] = account.id
    request.session[SESSION_VERSION] = account.session_version
    request.session[SESSION_SINCE] = now
    request.session[SESSION_SEEN] = now
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    request.scope["dossier.account"] = account


def sign_out(request: Request) -> None:
    """End every session of the signed-in account (a copied cookie too), then this one."""
    account = account_of(request)
    if account is not None:
        gateway(request).accounts.end_sessions(account.id)
    request.session.clear()
    request.scope["dossier.account"] = None


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
            "fields_of": fields_of,
            **context,
        },
        status_code=status_code,
    )
    if "lang" in request.query_params:
        page.set_cookie(LANG_COOKIE, locale.value, samesite="lax", httponly=True)
    return page


def fields_of(record: Any) -> list[tuple[str, Any]]:
    """A view's fields and their values, in the order declared (a template lists them)."""
    return [(field.name, getattr(record, field.name)) for field in attrs.fields(type(record))]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def send(
    request: Request,
    actor: Actor,
    message: Any,
    idempotency_key: str | None = None,
    *,
    timeout: float = 15,
    attempts: int = 2,
) -> Coroutine[Any, Any, Any]:
    """``message`` (a request of a declared contract, `dossier.core.contracts`) to the service
    that answers it, as ``actor``, in the page's language: the contract's view (an attrs
    instance), or `RemoteError`. A changing request carries the form's ``idempotency_key``.

    The client is made at once (the request's state is read now), so the answer may be awaited
    later, after the page has answered (a long import)."""
    client = gateway(request).client(actor, locale_of(request), timeout=timeout, attempts=attempts)
    return client.send(message, idempotency_key=idempotency_key)


async def send_form(
    request: Request,
    actor: Actor,
    kind: type,
    body: Mapping[str, Any],
    idempotency_key: str | None = None,
) -> Any:
    """Form input as a request of ``kind``, sent with `send`: the contract's view.

    Input that does not have the request's shape (a date that is none, a choice that is
    not offered) goes to the service as it is, so the refusal is the service's own: a
    `RemoteError` naming every problem by field — shape and rules at once — as the pages
    show them."""
    try:
        message: Any = wire.structure(dict(body), kind)
    except ValidationError:
        contract = CATALOGUE.of(kind)
        client = gateway(request).client(actor, locale_of(request))
        answer = await client.request(
            contract.verb,
            orjson.dumps(body),
            idempotency_key=idempotency_key,
            mutating=contract.changes,
        )
        return wire.structure(answer, contract.result)
    return await send(request, actor, message, idempotency_key)


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


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def download(content: bytes | str, filename: str, media_type: str) -> Response:
    """A file the browser saves (``Content-Disposition: attachment``) and never renders."""
    name = _UNSAFE_FILENAME.sub("_", filename) or "download"
    return Response(
        content.encode() if isinstance(content, str) else content,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def local_time(value: object, time_zone: str = "Asia/Shanghai") -> str:
    """A timestamp (a view's datetime, or ISO text) as ``YYYY-MM-DD HH:MM`` in ``time_zone``;
    anything else (a date, None) as text, or empty."""
    if isinstance(value, datetime):
        moment = value
    elif not isinstance(value, str) or "T" not in value:
        return "" if value is None else str(value)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(time_zone))
    return moment.strftime("%Y-%m-%d %H:%M")


REFUSED = frozenset({400, 403, 409, 422})
"""A service's answers a form shows beside itself (`refusal`); others go to the error page."""


def refusal(error: RemoteError) -> dict[str, Any]:
    """A service's refusal as a page shows it: its message and each problem's."""
    if error.status not in REFUSED:
        raise error
    return {
        "message": error.message,
        "problems": [{"field": p.field, "message": p.message} for p in error.problems],
    }


async def attachment_from(
    value: Any, kind: DocumentKind, path: str
) -> tuple[Attachment | None, list[Problem]]:
    """The file a form field carries as the `Attachment` the services take, after the checks
    core makes of every attachment (accepted type, bytes of that type, size) so the person
    hears of a wrong file at once. ``(None, [])`` when no file was chosen; the problems are
    named under ``path`` (``attachments[0]``) as the services name them."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None, []
    data = await value.read(MAX_ATTACHMENT_BYTES + 1)
    if len(data) > MAX_ATTACHMENT_BYTES:
        field = f"{path}.content" if path else "content"
        return None, [Problem(field, "too_large", {"max": MAX_ATTACHMENT_BYTES})]
    attachment = Attachment(
        kind=kind,
        media_type=value.content_type or "application/octet-stream",
        content=base64.b64encode(data).decode(),
    )
    _, problems = decode_attachment(attachment, path)
    return (None, problems) if problems else (attachment, [])

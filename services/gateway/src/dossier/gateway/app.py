"""The gateway's ASGI application: pages, their security, and the NATS connection.

`create_app` wires the routes of each audience (public, sign-in, student,
staff) behind the same middleware: signed, HttpOnly, SameSite=Strict session
cookies; security headers (a CSP without inline script, no-sniff, frame-deny);
and error pages that speak the page's language and never show a stack trace.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import jinja2
from nats.errors import MaxPayloadError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dossier.gateway import api, auth, ops, public, staff, student
from dossier.gateway.accounts import AccountStore
from dossier.gateway.limits import BodyLimit, RateLimiter, error_json, say
from dossier.gateway.settings import GatewaySettings
from dossier.gateway.web import (
    STATIC,
    TEMPLATES,
    CsrfRefused,
    Forbidden,
    Gateway,
    SignInRequired,
    locale_of,
    redirect,
    render,
)
from dossier.messaging.client import RemoteError, Unavailable
from dossier.messaging.connection import connect
from dossier.messaging.tokens import TokenIssuer, private_key_from
from dossier.storage.db import Database

log = logging.getLogger("dossier.gateway")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """The security headers on every answer; over TLS (configured, or a request that came in
    over https) also HSTS, and every cookie Secure."""

    def __init__(self, app: ASGIApp, tls: bool = False) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = self.tls or scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if tls:
                    headers = [_secure(name, value) for name, value in headers]
                    headers.append(HSTS)
                present = {name for name, _ in headers}
                message["headers"] = [
                    *headers,
                    *((k, v) for k, v in SECURITY_HEADERS if k not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLog:
    """One line per request: method, path with long segments (one-time codes) cut, status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            path = "/".join(
                part if len(part) <= SEGMENT_SHOWN else "…" for part in scope["path"].split("/")
            )
            log.info(
                "%s %s %s",
                scope["method"],
                path,
                status,
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )


def _secure(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"set-cookie" and b"; secure" not in value.lower():
        return name, value + b"; Secure"
    return name, value


SEGMENT_SHOWN = 24
"""Longer path segments are codes (activation links) and are not logged."""


async def _remote_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RemoteError)
    return render(
        request,
        "error.html",
        status_code=exc.status if 400 <= exc.status < 600 else 500,
        message=exc.message,
        reference=exc.request_id if exc.status >= 500 else None,
    )


async def _unavailable(request: Request, _exc: Exception) -> Response:
    return render(request, "error.html", status_code=503, message_key="error.unavailable")


async def _sign_in(request: Request, _exc: Exception) -> Response:
    return redirect(f"/signin?next={request.url.path}")


async def _forbidden(request: Request, _exc: Exception) -> Response:
    return render(request, "error.html", status_code=403, message_key="error.forbidden")


async def _csrf(request: Request, _exc: Exception) -> Response:
    return render(request, "error.html", status_code=403, message_key="error.csrf")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    key = "error.not_found" if exc.status_code == 404 else "error.title"
    return render(request, "error.html", status_code=exc.status_code, message_key=key)


async def _too_large(request: Request, _exc: Exception) -> Response:
    """A body the services would not take (over the bus's payload limit): 413, not 500."""
    locale = locale_of(request)
    if request.url.path.startswith("/api/"):
        return error_json(413, "payload_too_large", say("limits.too_large", locale))
    return render(request, "error.html", status_code=413, message=say("limits.too_large", locale))


async def _internal(request: Request, _exc: Exception) -> Response:
    reference = str(uuid.uuid4())
    log.exception("internal error", extra={"request_id": reference})
    return render(request, "error.html", status_code=500, reference=reference)


def create_app(settings: GatewaySettings, db: Database, *, connect_nats: bool = True) -> Starlette:
    config = settings.config
    if config.token_private_key_file is None:
        raise ValueError("the gateway signs actor tokens: keys.token_private_key_file is needed")
    issuer = TokenIssuer(private_key_from(config.token_private_key_file.read_text().strip()))
    window = settings.rate_window_minutes * 60
    if not settings.tls:
        log.warning(
            "NOT CONFIGURED FOR TLS: session cookies are sent without Secure and no HSTS is "
            "sent, except on requests that arrive over https. Serve the gateway behind a TLS "
            "proxy and set gateway.secure_cookies = true (or an https gateway.public_url)."
        )
    state = Gateway(
        settings=settings,
        accounts=AccountStore(db),
        issuer=issuer,
        templates=Jinja2Templates(
            env=jinja2.Environment(
                loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, enable_async=False
            )
        ),
        signins=RateLimiter(settings.signin_failures_per_address, window),
        registrations=RateLimiter(settings.registrations_per_address, window),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if connect_nats:
            state.nc = await connect(config.bus("gateway"), "dossier-gateway")
        try:
            yield
        finally:
            if state.nc is not None:
                await state.nc.drain()

    app = Starlette(
        routes=[
            *public.routes,
            *auth.routes,
            *student.routes,
            *staff.routes,
            *ops.routes,
            *api.routes,
            Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
            Route("/openapi.json", api.openapi, include_in_schema=False),
        ],
        middleware=[
            Middleware(AccessLog),
            Middleware(SecurityHeaders, tls=settings.tls),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_key,
                session_cookie="dossier_session",
                max_age=round(settings.session_hours * 3600),
                same_site="strict",
                https_only=settings.tls,
            ),
        ],
        exception_handlers={
            RemoteError: _remote_error,
            Unavailable: _unavailable,
            SignInRequired: _sign_in,
            Forbidden: _forbidden,
            CsrfRefused: _csrf,
            MaxPayloadError: _too_large,
            HTTPException: _http,
            Exception: _internal,
        },
        lifespan=lifespan,
    )
    app.state.gateway = state
    return app

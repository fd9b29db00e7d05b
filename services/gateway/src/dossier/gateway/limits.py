"""What a stranger may send the gateway: bounded bodies, bounded JSON, and attempts per address.

- `BodyLimit` refuses a body larger than ``max_body_bytes`` before reading it: at
  once from its ``Content-Length``, and — a chunked body has none — by counting
  the bytes as they arrive, so the gateway never holds more than the limit.
- `json_body` parses a JSON body no deeper than ``max_json_depth`` (orjson itself
  refuses to write JSON deeper than 254 levels: a deep body must be refused
  before anything re-encodes it).
- `RateLimiter` counts attempts per key (a client address) in a sliding window.
  It lives in the memory of one gateway process: each process counts its own, and
  a restart forgets. The client address is the connection's, or the one a trusted
  proxy names (uvicorn's ``proxy_headers``, trusted from ``FORWARDED_ALLOW_IPS``).

Refusals are answered with this module's texts (`PAGE_TEXT`): as a page, or as the
JSON error of the API (``/api/…``) with a ``code``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dossier.core.enums import Locale

EN, ZH = Locale.EN, Locale.ZH_CN

PAGE_TEXT: Mapping[str, Mapping[Locale, str]] = {
    "limits.too_large": {
        EN: "The request is too large.",
        ZH: "请求内容过大。",
    },
    "limits.too_deep": {
        EN: "The JSON body is nested too deeply.",
        ZH: "JSON 内容嵌套层级过深。",
    },
    "limits.not_json": {
        EN: "The body is not valid JSON.",
        ZH: "请求内容不是有效的 JSON。",
    },
    "limits.too_many": {
        EN: "Too many attempts from your address. Wait a few minutes and try again.",
        ZH: "来自您所在地址的尝试次数过多，请稍等几分钟再试。",
    },
    "signin.refused": {
        EN: "Sign-in failed: the login name or the password is wrong, or the account is "
        "paused for 15 minutes after too many failed attempts.",
        ZH: "登录失败：用户名或密码错误，或账户因失败次数过多暂停登录15分钟。",
    },
    "invite.activated": {
        EN: "This student has activated their account already: it cannot be invited again. "
        "An administrator can reset it, giving a reason.",
        ZH: "该学员已激活账户，不能再次邀请。管理员可以填写原因后重置账户。",
    },
    "invite.closed": {
        EN: "This student's web account is closed (the record was destroyed, or an "
        "administrator disabled it): it cannot be invited again.",
        ZH: "该学员的网上服务账户已关闭（档案已销毁，或已被管理员停用），不能再次邀请。",
    },
    "invite.reason_required": {
        EN: "A reset needs a reason.",
        ZH: "重置账户必须填写原因。",
    },
    "invite.reset": {EN: "Reset the student's web account", ZH: "重置学员的网上服务账户"},
    "invite.reset_reason": {EN: "Reason for the reset", ZH: "重置原因"},
    "invite.reset_hint": {
        EN: "The student's password stops working at once; the new link is shown once and "
        "the reset is recorded with your account and the reason.",
        ZH: "学员原密码立即失效；新链接只显示一次，本次重置将连同您的账户和原因一并记录。",
    },
    "invite.state.activated": {
        EN: "The student has activated their web account.",
        ZH: "该学员已激活网上服务账户。",
    },
    "activations.title": {EN: "Activations of your account", ZH: "您的账户激活记录"},
    "activations.body": {
        EN: "Your web account was activated at these times. If one was not you, tell the "
        "school at once.",
        ZH: "您的网上服务账户在以下时间被激活。如有不是您本人的操作，请立即告知学校。",
    },
}
"""Texts of the pages' refusals made here (zh-CN and en)."""


def say(key: str, locale: Locale) -> str:
    entry = PAGE_TEXT[key]
    return entry.get(locale) or entry[EN]


class BodyTooLarge(Exception):
    """The body outgrew ``max_body_bytes`` while it was read."""


class JsonRefused(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class BodyLimit:
    """413 for a body over ``max_bytes``: by its Content-Length before reading a byte, else
    (chunked) as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0 or length > self.max_bytes:
                await too_large(scope, send)
                return
        read = 0
        started = False

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def noting(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, noting)
        except BodyTooLarge:
            if started:
                raise
            await too_large(scope, send)


def _wants_json(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith("/api/")


async def too_large(scope: Scope, send: Send) -> None:
    """The 413 answer, sent without reading the body (the server closes the connection)."""
    locale = _locale(scope)
    response: Response
    if _wants_json(scope):
        response = error_json(413, "payload_too_large", say("limits.too_large", locale))
    else:
        response = Response(
            say("limits.too_large", locale), status_code=413, media_type="text/plain"
        )
    response.headers["connection"] = "close"
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _locale(scope: Scope) -> Locale:
    accept = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
    return EN if accept.strip().lower().startswith("en") else ZH


def error_json(
    status: int, code: str, message: str, problems: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """The API's error body (as `dossier.gateway.api` answers a service's refusal)."""
    return JSONResponse(
        {"error": {"code": code, "message": message, "problems": problems or []}},
        status_code=status,
    )


def depth_of(value: Any, limit: int) -> int:
    """How deep ``value`` nests (a scalar is 0), counting no further than ``limit`` + 1."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth) for child in children)
    return deepest


async def json_body(request: Request, max_depth: int) -> Any:
    """The request's JSON body, or `JsonRefused` (``limits.not_json``, ``limits.too_deep``)."""
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise JsonRefused("limits.not_json") from None
    if depth_of(body, max_depth) > max_depth:
        raise JsonRefused("limits.too_deep")
    return body


class RateLimiter:
    """At most ``limit`` attempts per key within ``window`` seconds (a sliding window), kept in
    this process's memory. ``max_keys`` bounds the memory: the oldest keys are forgotten."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.get(key)
        if times is None:
            times = deque()
            if len(self._seen) >= self.max_keys:
                self._seen.pop(next(iter(self._seen)))
            self._seen[key] = times
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def exceeded(self, key: str, now: float | None = None) -> bool:
        """Has ``key`` used up its attempts?"""
        at = time.monotonic() if now is None else now
        return len(self._recent(key, at)) >= self.limit

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one attempt of ``key``."""
        at = time.monotonic() if now is None else now
        self._recent(key, at).append(at)

    def retry_after(self, key: str, now: float | None = None) -> int:
        at = time.monotonic() if now is None else now
        times = self._recent(key, at)
        return max(1, int(times[0] + self.window - at) + 1) if times else 1


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"

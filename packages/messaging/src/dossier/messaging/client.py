"""A small client for Dossier's services: typed commands in, decoded JSON out.

Used by the CLI, the gateway and embedding applications. It attaches the actor
token, a request id and an idempotency key (generated once per call and reused
on every retry, so a retried request never has a second effect), retries on
timeouts and missing responders with backoff, and raises `RemoteError` with
the service's structured error.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from attrs import frozen
from nats.aio.client import Client
from nats.errors import NoRespondersError, TimeoutError

from dossier.core import wire
from dossier.core.contracts import CATALOGUE
from dossier.messaging import headers
from dossier.messaging.replies import ERROR_CODE_HEADER
from dossier.messaging.tokens import Holder, Presented


def service_for(verb: str) -> str:
    """Which service answers ``verb``: its contract says (`dossier.core.contracts.CATALOGUE`)."""
    return CATALOGUE.verb(verb).service


@frozen
class RemoteProblem:
    field: str
    rule: str
    message: str


class RemoteError(Exception):
    """A service answered with a structured error."""

    def __init__(
        self,
        code: str,
        status: int,
        message: str,
        problems: Sequence[RemoteProblem],
        request_id: str,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.problems = tuple(problems)
        self.request_id = request_id


class Unavailable(Exception):
    """No instance answered in time, after every retry."""


TokenSource = Callable[[], str]


class DossierClient:
    def __init__(
        self,
        nc: Client,
        token: str | TokenSource,
        *,
        timeout: float = 5.0,
        attempts: int = 4,
        locale: str | None = None,
        holder: Holder | None = None,
    ) -> None:
        """``holder``: this process's proof key, for tokens bound to it (the gateway's)."""
        self.nc = nc
        self.holder = holder
        self._token: TokenSource = (lambda: token) if isinstance(token, str) else token
        self.timeout = timeout
        self.attempts = attempts
        self.locale = locale

    async def send(self, message: Any, *, idempotency_key: str | None = None) -> Any:
        """Send a request of a declared contract; the answer is the contract's view (an attrs
        instance of ``contract.result``), or `RemoteError`. A changing request gets a fresh
        idempotency key unless one is given (a form's, so a resubmission has one effect)."""
        contract = CATALOGUE.of(message)
        answer = await self.request(
            contract.verb, message, idempotency_key=idempotency_key, mutating=contract.changes
        )
        return wire.read_answer(answer, contract.result)

    async def request(
        self,
        verb: str,
        body: Any,
        *,
        idempotency_key: str | None = None,
        mutating: bool = True,
    ) -> Any:
        """Send ``body`` (a request, or its JSON bytes) to ``verb``; the answer as decoded JSON."""
        subject = f"dossier.{service_for(verb)}.{verb}"
        payload = wire.dumps(body) if not isinstance(body, bytes) else body
        key = idempotency_key or (uuid.uuid4().hex if mutating else None)
        request_id = str(uuid.uuid4())
        delay = 0.1
        for attempt in range(self.attempts):
            token = self._token()
            sent = {headers.ACTOR: token, headers.REQUEST_ID: request_id}
            if key is not None:
                sent[headers.IDEMPOTENCY_KEY] = key
            if self.holder is not None:
                presented = Presented(subject, token, payload, idempotency_key=key)
                sent[headers.PROOF] = self.holder.prove(presented)
            if self.locale:
                sent[headers.LOCALE] = self.locale
            try:
                reply = await self.nc.request(subject, payload, timeout=self.timeout, headers=sent)
            except (TimeoutError, NoRespondersError):
                if attempt == self.attempts - 1:
                    raise Unavailable(subject) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            return _decode(reply.data, reply.headers or {}, request_id)
        raise Unavailable(subject)


def _decode(data: bytes, given: Mapping[str, str], request_id: str) -> Any:
    body = orjson.loads(data) if data else None
    status = given.get(ERROR_CODE_HEADER)
    if status is None:
        return body
    error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
    raise RemoteError(
        code=str(error.get("code", "internal_error")),
        status=int(status),
        message=str(error.get("message", "")),
        problems=[
            RemoteProblem(str(p.get("field")), str(p.get("rule")), str(p.get("message")))
            for p in error.get("problems", [])
        ],
        request_id=str(error.get("request_id", request_id)),
    )

"""Service scaffolding on nats.micro: one place that turns NATS requests into handler calls.

Each service declares `Endpoint`s (verb, body type, handler). The runner
registers them as a nats.micro service (visible to ``$SRV.PING/INFO/STATS``)
under ``dossier.<service>.<verb>`` with a queue group, so any number of
instances share the load. For every request it: refuses oversize payloads,
verifies the actor token, checks the idempotency key, structures the body
strictly, runs the (synchronous, database-bound) handler in a worker thread,
and answers with the result or a structured error. `stop()` stops taking
requests, lets in-flight ones finish, then drains the connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import field, frozen
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Service
from sqlalchemy.exc import DBAPIError

from dossier.core import wire
from dossier.core.enums import Locale
from dossier.core.errors import DossierError
from dossier.core.policy import Actor
from dossier.messaging import headers
from dossier.messaging.logs import bind, request_context
from dossier.messaging.metrics import ServiceMetrics
from dossier.messaging.replies import (
    WireError,
    error_body,
    internal_error,
    status_of,
)
from dossier.messaging.tokens import TokenVerifier
from dossier.storage.errors import StorageError

log = logging.getLogger("dossier.messaging")

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
DEFAULT_MAX_BYTES = 64 * 1024


@frozen(kw_only=True)
class RequestContext:
    """What a handler knows about the request besides its body."""

    actor: Actor
    request_id: str
    idempotency_key: str | None
    locale: Locale | None = None


Handler = Callable[[RequestContext, Any], Any]


@frozen(kw_only=True)
class Endpoint:
    """``verb`` like ``registration.submit``; ``body`` the attrs class the JSON structures to."""

    verb: str
    body: type
    handler: Handler
    mutating: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES


@frozen(kw_only=True)
class ServiceSpec:
    name: str
    version: str
    description: str
    endpoints: Sequence[Endpoint]
    default_locale: Locale = Locale.ZH_CN
    metadata: Mapping[str, str] = field(factory=dict)

    @property
    def subject_prefix(self) -> str:
        return f"dossier.{self.name}"


class ServiceRunner:
    def __init__(
        self,
        nc: Client,
        spec: ServiceSpec,
        verifier: TokenVerifier,
        max_in_flight: int = 128,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.nc = nc
        self._slots = asyncio.Semaphore(max_in_flight)
        self.spec = spec
        self.verifier = verifier
        self.metrics = metrics or ServiceMetrics(spec.name)
        self._service: Service | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def serving(self) -> bool:
        return self._service is not None and not self._service.stopped.is_set()

    async def start(self) -> None:
        verbs = {endpoint.verb.replace(".", "-"): endpoint.verb for endpoint in self.spec.endpoints}
        self._service = await add_service(
            self.nc,
            name=f"dossier-{self.spec.name}",
            version=self.spec.version,
            description=self.spec.description,
            metadata=dict(self.spec.metadata),
            queue_group=f"dossier-{self.spec.name}",
            stats_handler=lambda stats: self.metrics.endpoint_stats(verbs.get(stats.name, "")),
        )
        group = self._service.add_group(name=self.spec.subject_prefix)
        for endpoint in self.spec.endpoints:
            await group.add_endpoint(
                name=endpoint.verb.replace(".", "-"),
                subject=endpoint.verb,
                handler=self._handler_for(endpoint),
            )

    async def stop(self) -> None:
        """Stop taking requests, let the ones in flight answer, then drain the connection."""
        if self._service is not None:
            await self._service.stop()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _handler_for(self, endpoint: Endpoint) -> Callable[[Request], Any]:
        """nats-py runs a subscription's callback one message at a time, and cancels it on
        unsubscribe: each request gets its own task (bounded by ``max_in_flight``) so
        requests run concurrently and survive `stop()`."""

        async def handle(request: Request) -> None:
            await self._slots.acquire()
            task = asyncio.create_task(self._answer(endpoint, request))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

        return handle

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _answer(self, endpoint: Endpoint, request: Request) -> None:
        given = request.headers or {}
        request_id = given.get(headers.REQUEST_ID) or str(uuid.uuid4())
        locale = _locale(given.get(headers.LOCALE)) or self.spec.default_locale
        started = time.perf_counter()
        self.metrics.in_flight.labels(self.spec.name).inc()
        with request_context(service=self.spec.name, verb=endpoint.verb, request_id=request_id):
            try:
                context, body = self._prepare(endpoint, request, request_id, locale)
                result = await asyncio.to_thread(endpoint.handler, context, body)
                await request.respond(wire.dumps(result), headers={headers.REQUEST_ID: request_id})
                outcome = "ok"
            except DossierError as error:
                await self._respond_error(request, error, locale, request_id)
                outcome = error.code
            except DBAPIError:
                # The database failed (connection lost, server down) after the unit of work's
                # own retries; it rolled back, so a retry with the same key is safe.
                log.warning("database failed", exc_info=True)
                await self._respond_error(request, StorageError(), locale, request_id)
                outcome = StorageError.code
            except Exception:
                log.exception("internal error")
                await self._respond_error(request, internal_error(request_id), locale, request_id)
                outcome = "internal_error"
            finally:
                self.metrics.in_flight.labels(self.spec.name).dec()
            elapsed = time.perf_counter() - started
            self.metrics.observe(endpoint.verb, outcome, elapsed)
            log.info(
                "request",
                extra={"outcome": outcome, "duration_ms": round(elapsed * 1000, 3)},
            )

    def _prepare(
        self, endpoint: Endpoint, request: Request, request_id: str, locale: Locale
    ) -> tuple[RequestContext, Any]:
        if len(request.data) > endpoint.max_bytes:
            raise WireError("payload_too_large", {"max": endpoint.max_bytes})
        given = request.headers or {}
        actor = self.verifier.verify(given.get(headers.ACTOR))
        bind(
            role=",".join(sorted(role.value for role in actor.roles)),
            branch=",".join(sorted(actor.branches)),
            **({"student_number": actor.student_number} if actor.student_number else {}),
        )
        key = given.get(headers.IDEMPOTENCY_KEY)
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            raise WireError("idempotency_key_invalid")
        if endpoint.mutating and key is None:
            raise WireError("idempotency_key_invalid")
        body: Any = wire.loads(request.data or b"{}", endpoint.body)
        number = getattr(body, "student_number", None)
        if isinstance(number, str):
            bind(student_number=number)
        context = RequestContext(
            actor=actor, request_id=request_id, idempotency_key=key, locale=locale
        )
        return context, body

    async def _respond_error(
        self, request: Request, error: DossierError, locale: Locale, request_id: str
    ) -> None:
        await request.respond_error(
            code=str(status_of(error.code)),
            description=error.code,
            data=wire.dumps(error_body(error, locale, request_id)),
            headers={headers.REQUEST_ID: request_id},
        )


def _locale(value: str | None) -> Locale | None:
    if not value:
        return None
    for locale in Locale:
        if value.lower().startswith(locale.value.lower()):
            return locale
    return None

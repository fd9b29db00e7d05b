"""Service scaffolding on nats.micro: one place that turns NATS requests into use-case calls.

A service is a declaration: for each `Contract` of the service in
`dossier.core.contracts.CATALOGUE`, the use case that answers it
(`ServiceSpec.declare`). The runner registers them as a nats.micro service
(visible to ``$SRV.PING/INFO/STATS``; each endpoint's metadata carries its
policy operation and its request and response JSON Schemas) under
``dossier.<service>.<verb>`` with a queue group, so any number of instances
share the load. For every request it: refuses oversize payloads, verifies
the actor token, checks the idempotency key, structures the body strictly,
runs the (synchronous, database-bound) use case in a worker thread with a
`Caller`, publishes a long job's progress, and answers with the result or a
structured error. `stop()` stops taking requests, lets in-flight ones
finish, then drains the connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import orjson
from attrs import field, frozen
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import Endpoint as MicroEndpoint
from nats.micro.service import Service

from dossier.core import shape, wire
from dossier.core.caller import Caller
from dossier.core.contracts import CATALOGUE, Contract
from dossier.core.contracts.schema import ERROR_SCHEMA, request_schema, response_schema
from dossier.core.enums import Locale
from dossier.core.errors import DossierError
from dossier.messaging import headers
from dossier.messaging.logs import bind, request_context
from dossier.messaging.metrics import ServiceMetrics
from dossier.messaging.progress import ProgressPublisher, job_id_of, run_tracked
from dossier.messaging.replies import (
    WireError,
    error_body,
    internal_error,
)
from dossier.messaging.tokens import Presented, TokenVerifier

log = logging.getLogger("dossier.messaging")

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,128}$")

Handler = Callable[[Caller, Any], Any]
"""A use case: the caller and the structured request body in, the contract's view out."""


@frozen(kw_only=True)
class Endpoint:
    """One contract and the use case that answers it."""

    contract: Contract
    handler: Handler

    @property
    def verb(self) -> str:
        return self.contract.verb

    @property
    def body(self) -> type:
        return self.contract.request

    @property
    def mutating(self) -> bool:
        return self.contract.changes

    @property
    def max_bytes(self) -> int:
        return self.contract.max_bytes

    def metadata(self) -> dict[str, str]:
        """What ``$SRV.INFO`` says of the endpoint: enough to call it from any language."""
        contract = self.contract
        return {
            "verb": contract.verb,
            "operation": contract.operation.value,
            "changes": "true" if contract.changes else "false",
            "max_bytes": str(contract.max_bytes),
            "progress": "true" if contract.progress else "false",
            "summary": contract.summary,
            "request_schema": orjson.dumps(request_schema(contract)).decode(),
            "response_schema": orjson.dumps(response_schema(contract)).decode(),
        }


class HandlersMismatch(ValueError):
    """A service declared handlers for other contracts than its own (a startup error)."""


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

    @classmethod
    def declare(
        cls,
        name: str,
        *,
        version: str,
        description: str,
        handlers: Mapping[type, Handler],
        default_locale: Locale = Locale.ZH_CN,
    ) -> ServiceSpec:
        """The service ``name`` answering each of its contracts with ``handlers[request type]``.

        Every contract of the service must have a handler and every handler a contract of
        the service, so a declared endpoint can neither be forgotten nor answered twice.
        """
        contracts = CATALOGUE.service(name)
        declared = {c.request for c in contracts}
        missing = sorted(c.verb for c in contracts if c.request not in handlers)
        foreign = sorted(t.__name__ for t in handlers if t not in declared)
        if missing or foreign:
            raise HandlersMismatch(f"{name}: no handler for {missing}; not its own: {foreign}")
        return cls(
            name=name,
            version=version,
            description=description,
            endpoints=[Endpoint(contract=c, handler=handlers[c.request]) for c in contracts],
            default_locale=default_locale,
        )


Translate = Callable[[BaseException], DossierError | None]
"""Maps a failure of a lower layer (a lost database) to the error its callers should see."""


def _untranslated(_: BaseException) -> DossierError | None:
    return None


class ServiceRunner:
    def __init__(
        self,
        nc: Client,
        spec: ServiceSpec,
        verifier: TokenVerifier,
        max_in_flight: int = 128,
        metrics: ServiceMetrics | None = None,
        *,
        progress: ProgressPublisher | None = None,
        translate: Translate = _untranslated,
    ) -> None:
        self.nc = nc
        self._slots = asyncio.Semaphore(max_in_flight)
        self.spec = spec
        self.verifier = verifier
        self.metrics = metrics or ServiceMetrics(spec.name)
        self.progress = progress or ProgressPublisher(spec.name)
        self.translate = translate
        self._service: Service | None = None
        self._micro: dict[str, MicroEndpoint] = {}
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def serving(self) -> bool:
        return self._service is not None and not self._service.stopped.is_set()

    async def start(self) -> None:
        verbs = {endpoint.contract.name: endpoint.verb for endpoint in self.spec.endpoints}
        self.progress.bind(self.nc)
        self._service = await add_service(
            self.nc,
            name=f"dossier-{self.spec.name}",
            version=self.spec.version,
            description=self.spec.description,
            metadata={
                "version": self.spec.version,
                "error_schema": orjson.dumps(ERROR_SCHEMA).decode(),
                **self.spec.metadata,
            },
            queue_group=f"dossier-{self.spec.name}",
            stats_handler=lambda stats: self.metrics.endpoint_stats(verbs.get(stats.name, "")),
        )
        group = self._service.add_group(name=self.spec.subject_prefix)
        for endpoint in self.spec.endpoints:
            await group.add_endpoint(
                name=endpoint.contract.name,
                subject=endpoint.verb,
                handler=self._handler_for(endpoint),
                metadata=endpoint.metadata(),
            )
            # nats.micro keeps its endpoints in order; ours answer in their own tasks, so
            # its own error tally never sees a failure: `_count_error` keeps it true.
            self._micro[endpoint.verb] = self._service._endpoints[-1]

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
                caller, body = self._prepare(endpoint, request, request_id, locale)
                result = await asyncio.to_thread(self._run, endpoint, caller, body)
                await request.respond(wire.dumps(result), headers={headers.REQUEST_ID: request_id})
                outcome = "ok"
            except DossierError as error:
                outcome = await self._fail(endpoint, request, error, locale, request_id)
            except Exception as failure:
                known = self.translate(failure)
                if known is None:
                    log.exception("internal error")
                    known = internal_error(request_id)
                else:
                    log.warning("%s", known.code, exc_info=True)
                outcome = await self._fail(endpoint, request, known, locale, request_id)
            finally:
                self.metrics.in_flight.labels(self.spec.name).dec()
            elapsed = time.perf_counter() - started
            self.metrics.observe(endpoint.verb, outcome, elapsed)
            log.info(
                "request",
                extra={"outcome": outcome, "duration_ms": round(elapsed * 1000, 3)},
            )

    def _run(self, endpoint: Endpoint, caller: Caller, body: Any) -> Any:
        """The use case, in a worker thread; a long job publishes its progress meanwhile."""
        if not endpoint.contract.progress:
            return endpoint.handler(caller, body)
        return run_tracked(
            self.progress,
            endpoint.contract.name,
            job_id_of(caller.request_id or "", body),
            lambda sink: endpoint.handler(attrs.evolve(caller, progress=sink), body),
        )

    def _prepare(
        self, endpoint: Endpoint, request: Request, request_id: str, locale: Locale
    ) -> tuple[Caller, Any]:
        if len(request.data) > endpoint.max_bytes:
            raise WireError("payload_too_large", {"max": endpoint.max_bytes})
        given = request.headers or {}
        token = given.get(headers.ACTOR)
        presented = Presented(
            subject=request.subject,
            token=token or "",
            body=request.data,
            idempotency_key=given.get(headers.IDEMPOTENCY_KEY),
            reply=_reply_of(request),
            proof=given.get(headers.PROOF),
        )
        actor = self.verifier.verify(token, presented)
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
        # a body that fails its shape still reaches a use case that checks what had its shape
        body: Any = shape.loads(request.data or b"{}", endpoint.body, endpoint.handler)
        number = getattr(body, "student_number", None)
        if isinstance(number, str):
            bind(student_number=number)
        caller = Caller(actor, key, request_id=request_id, locale=locale)
        return caller, body

    async def _fail(
        self,
        endpoint: Endpoint,
        request: Request,
        error: DossierError,
        locale: Locale,
        request_id: str,
    ) -> str:
        """Answer with the structured error; count it where standard NATS tools look."""
        status = str(error.status)
        await request.respond_error(
            code=status,
            description=error.code,
            data=wire.dumps(error_body(error, locale, request_id)),
            headers={headers.REQUEST_ID: request_id},
        )
        micro = self._micro.get(endpoint.verb)
        if micro is not None:
            micro._num_errors += 1
            micro._last_error = f"{status} {error.code}"  # type: ignore[assignment]
        return error.code


def _locale(value: str | None) -> Locale | None:
    if not value:
        return None
    for locale in Locale:
        if value.lower().startswith(locale.value.lower()):
            return locale
    return None


def _reply_of(request: Request) -> str | None:
    """Where the answer goes (nats.micro keeps the message to itself)."""
    message = getattr(request, "_msg", None)
    reply = getattr(message, "reply", None)
    return reply if isinstance(reply, str) else None

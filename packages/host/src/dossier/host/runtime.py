"""Running a service process: connect to NATS, serve endpoints, relay the outbox, stop cleanly.

Every Dossier service's ``main`` is `serve(config, spec, db)`: it sets up
structured logging, connects with reconnect and backoff, makes sure the
event streams exist, starts the endpoints, the outbox relay and the metrics
and health port, and on SIGTERM or SIGINT stops taking requests, lets the
ones in flight answer, stops the relay and drains.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from nats.aio.client import Client
from nats.js.client import JetStreamContext

from dossier.host.config import Config, ObjectSettings
from dossier.host.process import until_stopped
from dossier.messaging.connection import connect
from dossier.messaging.events import (
    EVENTS_STREAM,
    PARKED_STREAM,
    OutboxMessage,
    OutboxRelay,
    ensure_streams,
)
from dossier.messaging.metrics import Health, MetricsServer, ServiceMetrics
from dossier.messaging.service import ServiceRunner, ServiceSpec
from dossier.messaging.tokens import TokenVerifier, public_key_from
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.errors import translate
from dossier.storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore

log = logging.getLogger("dossier.runtime")


def object_store(settings: ObjectSettings) -> ObjectStore:
    if settings.kind == "s3":
        if not (settings.endpoint and settings.access_key and settings.secret_key):
            raise ValueError("objects.kind = 's3' needs endpoint, access_key and secret_key")
        return S3ObjectStore(
            settings.endpoint,
            settings.access_key,
            settings.secret_key,
            secure=settings.secure,
            region=settings.region,
        )
    return LocalObjectStore(settings.path)


def document_store(settings: ObjectSettings) -> DocumentStore:
    store = object_store(settings)
    store.ensure_bucket(settings.documents_bucket, versioning=True)
    return DocumentStore(store, settings.documents_bucket)


class DatabaseOutbox:
    """The relay's view of the outbox table: each call its own short transaction.

    Several relays may read the same rows; JetStream drops the copies by
    ``Nats-Msg-Id`` and marking sent is idempotent, so that only costs work.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        with self.db.unit_of_work() as uow:
            rows = uow.outbox.pending(limit)
        return [OutboxMessage(r.event_id, r.subject, r.payload.encode()) for r in rows]

    def mark_sent(self, event_ids: Sequence[str]) -> None:
        with self.db.unit_of_work() as uow:
            uow.outbox.mark_sent(event_ids)
            uow.commit()

    def backlog(self) -> int:
        with self.db.unit_of_work() as uow:
            return uow.outbox.backlog()


GAUGE_EVERY_S = 5.0


async def _watch(
    name: str,
    nc: Client,
    js: JetStreamContext,
    outbox: DatabaseOutbox,
    metrics: ServiceMetrics,
    health: Health,
) -> None:
    """Keep the gauges current: connection, outbox backlog, this service's consumers, parked."""
    while True:
        health.heartbeat()
        metrics.nats_connected.labels(name).set(1 if nc.is_connected else 0)
        try:
            metrics.outbox_backlog.labels(name).set(await asyncio.to_thread(outbox.backlog))
            for consumer in await js.consumers_info(EVENTS_STREAM):
                durable = consumer.name
                if durable.startswith(f"{name}-"):
                    metrics.consumer_pending.labels(name, durable).set(consumer.num_pending or 0)
                    metrics.consumer_unacked.labels(name, durable).set(
                        consumer.num_ack_pending or 0
                    )
            parked = await js.stream_info(PARKED_STREAM)
            metrics.parked.set(parked.state.messages)
        except Exception as error:
            log.debug("gauges not refreshed: %s", type(error).__name__)
        await asyncio.sleep(GAUGE_EVERY_S)


def verifier(config: Config) -> TokenVerifier:
    return TokenVerifier(
        public_key_from(config.token_public_key),
        retired=tuple(public_key_from(k) for k in config.retired_token_public_keys),
    )


def _database_answers(db: Database) -> bool:
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    return True


Extra = Callable[[Client, JetStreamContext], Awaitable[list["asyncio.Task[None]"]]]
"""Starts a service's own background tasks (consumers, schedules) once connected."""


async def serve(
    config: Config,
    spec: ServiceSpec,
    db: Database,
    extra: Extra | None = None,
    metrics: ServiceMetrics | None = None,
) -> None:
    """Run ``spec`` until SIGTERM/SIGINT, relaying ``db``'s outbox meanwhile. ``metrics``: the
    service's own, when its use cases count something (misuse alerts) into them."""
    metrics = metrics or ServiceMetrics(spec.name)
    nc = await connect(config.bus(spec.name), f"dossier-{spec.name}")
    js = nc.jetstream()
    await ensure_streams(js)
    runner = ServiceRunner(nc, spec, verifier(config), metrics=metrics, translate=translate)
    await runner.start()
    outbox = DatabaseOutbox(db)
    relay = OutboxRelay(js, outbox)
    relaying = asyncio.create_task(relay.run())
    health = Health(
        {
            "nats": lambda: bool(nc.is_connected),
            "serving": lambda: runner.serving,
            "database": lambda: _database_answers(db),
        }
    )
    http: MetricsServer | None = None
    if config.metrics.port:
        http = MetricsServer(metrics, health, config.metrics.host, config.metrics.port)
        http.start()
        log.info("metrics and health", extra={"port": http.port})
    background = await extra(nc, js) if extra is not None else []
    background.append(asyncio.create_task(_watch(spec.name, nc, js, outbox, metrics, health)))
    log.info("service ready", extra={"service": spec.name})
    await until_stopped(spec.name)
    log.info("service stopping", extra={"service": spec.name})
    await runner.stop()
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    relay.stop()
    await relaying
    await nc.drain()
    if http is not None:
        http.stop()

"""JetStream side of domain events: the stream, the outbox relay, durable consumers.

The stream ``DOSSIER_EVENTS`` holds ``dossier.events.<branch>.<type>``. The
relay publishes outbox rows with ``Nats-Msg-Id`` = event id and marks them sent
only after the stream acknowledged, so a crash between the two republishes
and JetStream's duplicate window drops the copy; consumers are idempotent on
the event id as the last line of defence. A consumer acks explicitly, naks
with a delay on a transient failure, and after ``max_deliver`` attempts
terminates the message and parks it on ``DOSSIER_PARKED`` where operators see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from attrs import frozen
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

log = logging.getLogger("dossier.events")

EVENTS_STREAM = "DOSSIER_EVENTS"
EVENTS_SUBJECTS = "dossier.events.>"
PARKED_STREAM = "DOSSIER_PARKED"
PARKED_PREFIX = "dossier.parked"
DUPLICATE_WINDOW_S = 20 * 60.0


def event_subject(branch: str, event_type: str) -> str:
    return f"dossier.events.{branch}.{event_type}"


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the event and parking streams if missing (idempotent)."""
    for config in (
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[EVENTS_SUBJECTS],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=PARKED_STREAM,
            subjects=[f"{PARKED_PREFIX}.>"],
            storage=StorageType.FILE,
            num_replicas=replicas,
        ),
    ):
        try:
            await js.stream_info(str(config.name))
        except NotFoundError:
            await js.add_stream(config)


@frozen
class OutboxMessage:
    event_id: str
    subject: str
    payload: bytes


class OutboxSource(Protocol):
    """What the relay needs from storage's outbox (synchronous; run in a thread)."""

    def pending(self, limit: int) -> Sequence[OutboxMessage]: ...

    def mark_sent(self, event_ids: Sequence[str]) -> None: ...


class OutboxRelay:
    def __init__(
        self, js: JetStreamContext, source: OutboxSource, batch: int = 256, idle: float = 0.2
    ) -> None:
        self.js = js
        self.source = source
        self.batch = batch
        self.idle = idle
        self._stopping = asyncio.Event()

    async def relay_once(self) -> int:
        """Publish one batch of pending rows; the number relayed."""
        pending = await asyncio.to_thread(self.source.pending, self.batch)
        if not pending:
            return 0
        acks = await asyncio.gather(
            *(
                self.js.publish(
                    message.subject,
                    message.payload,
                    headers={"Nats-Msg-Id": message.event_id},
                    stream=EVENTS_STREAM,
                )
                for message in pending
            )
        )
        assert len(acks) == len(pending)
        await asyncio.to_thread(self.source.mark_sent, [m.event_id for m in pending])
        return len(pending)

    async def run(self) -> None:
        backoff = self.idle
        while not self._stopping.is_set():
            try:
                relayed = await self.relay_once()
                backoff = self.idle
            except Exception:
                log.warning("outbox relay failed; retrying", exc_info=True)
                relayed = 0
                backoff = min(backoff * 2, 5.0)
            if relayed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)

    def stop(self) -> None:
        self._stopping.set()


class Transient(Exception):
    """Raised by a consumer handler when the event should be retried later."""


class Poison(Exception):
    """Raised by a consumer handler for an event it can never handle (unreadable, or for a
    branch it does not know): parked at once, where operators see it (the
    ``dossier_parked_events`` gauge), instead of acknowledged and forgotten."""


EventHandler = Callable[[Msg], Awaitable[None]]


class DurableConsumer:
    """A durable pull consumer that acks explicitly and parks poison messages.

    It reads ``DOSSIER_EVENTS`` unless given another ``stream`` (the edge inbox reads
    ``DOSSIER_EDGE_INBOX``, see docs/edge.md). If its durable consumer is deleted it
    recreates it (`_gone`, `_forget`).
    """

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        durable: str,
        handler: EventHandler,
        *,
        filter_subject: str = EVENTS_SUBJECTS,
        stream: str = EVENTS_STREAM,
        max_deliver: int = 5,
        retry_delay: float = 1.0,
        ack_wait: float = 30.0,
        batch: int = 32,
    ) -> None:
        self.nc = nc
        self.js = js
        self.durable = durable
        self.handler = handler
        self.filter_subject = filter_subject
        self.stream = stream
        self.max_deliver = max_deliver
        self.retry_delay = retry_delay
        self.ack_wait = ack_wait
        self.batch = batch
        self._stopping = asyncio.Event()
        self._pull: JetStreamContext.PullSubscription | None = None
        self._lost = False

    async def _subscription(self) -> JetStreamContext.PullSubscription:
        if self._pull is None:
            if self._lost and self.stream == EVENTS_STREAM:
                await ensure_streams(self.js)  # the stream may have gone with the consumer
            self._pull = await self._bind()
            self._lost = False
        return self._pull

    async def _bind(self) -> JetStreamContext.PullSubscription:
        return await self.js.pull_subscribe(
            self.filter_subject,
            durable=self.durable,
            stream=self.stream,
            config=ConsumerConfig(
                durable_name=self.durable,
                ack_policy=AckPolicy.EXPLICIT,
                max_deliver=self.max_deliver,
                ack_wait=self.ack_wait,
                filter_subject=self.filter_subject,
            ),
        )

    async def consume_once(self, timeout: float = 1.0) -> int:
        """Fetch and handle one batch; the number of messages seen."""
        subscription = await self._subscription()
        try:
            messages = await subscription.fetch(self.batch, timeout=timeout)
        except TimeoutError:  # nats' own and asyncio's: an empty pull is no failure
            return 0
        except APIError as error:
            if not await self._gone(error):
                raise
            await self._forget(subscription)
            return 0
        for message in messages:
            await self._handle(message)
        return len(messages)

    async def _gone(self, error: APIError) -> bool:
        """Whether a failed pull means the durable consumer (or its stream) no longer exists.

        Once the consumer is deleted (``$JS.API.CONSUMER.DELETE``: an operator, an attacker,
        its stream deleted), nothing answers its pull subject: every fetch raises
        ``ServiceUnavailableError`` (503, no responders) at once, so retrying the same
        subscription never recovers and events waited for the periodic sweep (issue 16). A
        pull pending at the deletion gets a 409 that nats-py treats as an empty pull. A 503,
        404 or 409 is checked against the server, so a transient 503 (a leader election) is
        not taken for a loss.
        """
        if not isinstance(error, ServiceUnavailableError) and error.code not in (404, 409):
            return False
        try:
            await self.js.consumer_info(self.stream, self.durable)
        except NotFoundError:  # the consumer, or its whole stream
            return True
        return False

    async def _forget(self, subscription: JetStreamContext.PullSubscription) -> None:
        """Drop the dead subscription so the next pull recreates the consumer with this
        configuration (``_bind``), and the stream too if it is ours (``ensure_streams``).

        The new consumer delivers what is still in the stream from the start, events already
        handled included: consumers are idempotent on the event id, and none is lost.
        """
        log.warning("durable consumer %s is gone; recreating it", self.durable)
        self._pull, self._lost = None, True
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()

    async def _handle(self, message: Msg) -> None:
        attempt = message.metadata.num_delivered
        try:
            await self.handler(message)
        except Exception as error:
            if attempt >= self.max_deliver or not isinstance(error, Transient):
                await self._park(message, error)
                await message.term()
            else:
                await message.nak(delay=self.retry_delay * attempt)
            return
        await message.ack()

    async def _park(self, message: Msg, error: Exception) -> None:
        log.error(
            "event parked",
            extra={
                "consumer": self.durable,
                "subject": message.subject,
                "error": type(error).__name__,
            },
        )
        await self.js.publish(
            f"{PARKED_PREFIX}.{self.durable}",
            message.data,
            headers={
                "Dossier-Original-Subject": message.subject,
                "Dossier-Consumer": self.durable,
                "Dossier-Error": type(error).__name__,
                "Dossier-Attempts": str(message.metadata.num_delivered),
                **(
                    {"Nats-Msg-Id": f"parked-{self.durable}-{message.header.get('Nats-Msg-Id')}"}
                    if message.header and message.header.get("Nats-Msg-Id")
                    else {}
                ),
            },
            stream=PARKED_STREAM,
        )

    async def run(self) -> None:
        """Consume until stopped or cancelled; the pull subscription is always closed after,
        so draining the connection never waits on it."""
        try:
            while not self._stopping.is_set():
                try:
                    await self.consume_once()
                except Exception:
                    log.warning("consumer %s failed; retrying", self.durable, exc_info=True)
                    await asyncio.sleep(1.0)
        finally:
            if self._pull is not None:
                pull, self._pull = self._pull, None
                with contextlib.suppress(Exception):
                    await pull.unsubscribe()

    async def close(self) -> None:
        self._stopping.set()
        if self._pull is not None:
            await self._pull.unsubscribe()
            self._pull = None

"""Durable pull consumers over a real JetStream: ack, retry, park poison, never block the rest."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js.api import AckPolicy
from nats.js.errors import NotFoundError

from dossier.host.bus import RETENTION_DESTRUCTION
from dossier.messaging.events import (
    EVENTS_STREAM,
    EVENTS_SUBJECTS,
    PARKED_STREAM,
    DurableConsumer,
    Transient,
    ensure_streams,
    event_subject,
)
from tests.support.nats import BusServer, sign_in


def test_transient_failures_retry_and_poison_is_parked_without_blocking(
    nats_own_server: BusServer,
) -> None:
    """As the retention service runs its consumer, with its permissions (and an operator's to
    look at what was parked)."""

    async def main() -> None:
        nc = await sign_in(nats_own_server.url_for("retention"))
        ops = await sign_in(nats_own_server.url_for("ops"))
        js = nc.jetstream()
        await ensure_streams(js)
        await ensure_streams(js)  # idempotent
        for i in range(10):
            body = {"n": i, "poison": i == 3, "flaky": i == 5}
            await js.publish(
                event_subject("SH01", "student.admitted"),
                json.dumps(body).encode(),
                headers={"Nats-Msg-Id": f"event-{i}"},
            )
        attempts: Counter[int] = Counter()
        handled: list[int] = []

        async def handle(message: Msg) -> None:
            body = json.loads(message.data)
            attempts[body["n"]] += 1
            if body["poison"]:
                raise ValueError("cannot handle this event")
            if body["flaky"] and attempts[body["n"]] < 3:
                raise Transient("database busy")
            handled.append(body["n"])

        consumer = DurableConsumer(
            nc, js, RETENTION_DESTRUCTION, handle, max_deliver=4, retry_delay=0.05, ack_wait=2
        )
        for _ in range(40):
            await consumer.consume_once(timeout=0.2)
            if len(handled) == 9:
                break
        assert sorted(handled) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
        assert attempts[5] == 3
        assert attempts[3] == 1, "a poison message is parked at once, not retried"

        looking = ops.jetstream()
        parked = await looking.stream_info(PARKED_STREAM)
        assert parked.state.messages == 1
        parked_msg = await looking.get_last_msg(
            PARKED_STREAM, f"dossier.parked.{RETENTION_DESTRUCTION}"
        )
        assert json.loads(parked_msg.data or b"{}")["n"] == 3
        assert parked_msg.headers is not None
        assert parked_msg.headers["Dossier-Error"] == "ValueError"

        info = await js.consumer_info(EVENTS_STREAM, RETENTION_DESTRUCTION)
        assert info.num_ack_pending == 0
        assert info.num_pending == 0
        await consumer.close()
        await nc.close()
        await ops.close()

    asyncio.run(main())


def test_the_stream_drops_a_republished_event_with_the_same_id(nats_own_server: BusServer) -> None:
    async def main() -> None:
        nc = await sign_in(nats_own_server.url_for("intake"))
        js = nc.jetstream()
        await ensure_streams(js)
        for _ in range(3):
            ack = await js.publish(
                event_subject("SH01", "x"), b"{}", headers={"Nats-Msg-Id": "same-event"}
            )
        assert ack.duplicate
        assert (await js.stream_info(EVENTS_STREAM)).state.messages == 1
        await nc.close()

    asyncio.run(main())


async def _wait_for(predicate: Callable[[], Awaitable[bool] | bool], within: float = 15.0) -> bool:
    """Poll ``predicate`` until true or ``within`` seconds passed (a bound, not a performance
    assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        outcome = predicate()
        if await outcome if isinstance(outcome, Awaitable) else outcome:
            return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)


def test_a_consumer_whose_durable_consumer_is_deleted_recreates_it(
    nats_own_server: BusServer,
) -> None:
    """Issue 16: deleting retention's durable consumer left the service retrying forever, so an
    approved destruction waited for the periodic sweep. Now it notices and recreates the consumer
    (and the stream, if that went too) with the retention user's own permissions."""

    async def main() -> None:
        service = await sign_in(nats_own_server.url_for("retention"))
        ops = await sign_in(nats_own_server.url_for("ops"))
        js, admin = service.jetstream(), ops.jetstream()
        await ensure_streams(js)
        handled: list[int] = []

        async def handle(message: Msg) -> None:
            handled.append(json.loads(message.data)["n"])

        async def publish(n: int) -> None:
            await js.publish(
                event_subject("SH01", "x"),
                json.dumps({"n": n}).encode(),
                headers={"Nats-Msg-Id": f"event-{n}"},
            )

        async def consumer_exists() -> bool:
            try:
                await admin.consumer_info(EVENTS_STREAM, RETENTION_DESTRUCTION)
            except NotFoundError:
                return False
            return True

        consumer = DurableConsumer(
            service, js, RETENTION_DESTRUCTION, handle, max_deliver=7, ack_wait=3
        )
        running = asyncio.create_task(consumer.run())
        try:
            await publish(1)
            assert await _wait_for(lambda: handled == [1])

            await admin.delete_consumer(EVENTS_STREAM, RETENTION_DESTRUCTION)
            await publish(2)
            # Recreated as configured (deliver all), it may hand over event 1 again: consumers
            # are idempotent on the event id, and nothing is lost.
            assert await _wait_for(lambda: 2 in handled), "the consumer was never recreated"
            assert set(handled) == {1, 2}
            info = await admin.consumer_info(EVENTS_STREAM, RETENTION_DESTRUCTION)
            assert info.config.durable_name == RETENTION_DESTRUCTION
            assert info.config.filter_subject == EVENTS_SUBJECTS
            assert info.config.ack_policy == AckPolicy.EXPLICIT
            assert info.config.max_deliver == 7
            assert info.config.ack_wait == 3

            # The whole stream deleted, and nobody else recreates it: the consumer does.
            await admin.delete_stream(EVENTS_STREAM)
            assert await _wait_for(consumer_exists), "the stream and consumer never came back"
            await publish(3)
            assert await _wait_for(lambda: 3 in handled), "nothing consumed from the new stream"
        finally:
            await consumer.close()
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await service.close()
            await ops.close()

    asyncio.run(main())

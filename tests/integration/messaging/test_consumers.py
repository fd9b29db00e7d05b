"""Durable pull consumers over a real JetStream: ack, retry, park poison, never block the rest."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import nats
from nats.aio.msg import Msg

from dossier.messaging.embedded import NatsServer
from dossier.messaging.events import (
    EVENTS_STREAM,
    PARKED_STREAM,
    DurableConsumer,
    Transient,
    ensure_streams,
    event_subject,
)


def test_transient_failures_retry_and_poison_is_parked_without_blocking(
    nats_own_server: NatsServer,
) -> None:
    async def main() -> None:
        nc = await nats.connect(nats_own_server.url)
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
            nc, js, "test-consumer", handle, max_deliver=4, retry_delay=0.05, ack_wait=2
        )
        for _ in range(40):
            await consumer.consume_once(timeout=0.2)
            if len(handled) == 9:
                break
        assert sorted(handled) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
        assert attempts[5] == 3
        assert attempts[3] == 1, "a poison message is parked at once, not retried"

        parked = await js.stream_info(PARKED_STREAM)
        assert parked.state.messages == 1
        parked_msg = await js.get_last_msg(PARKED_STREAM, "dossier.parked.test-consumer")
        assert json.loads(parked_msg.data)["n"] == 3
        assert parked_msg.headers is not None
        assert parked_msg.headers["Dossier-Error"] == "ValueError"

        info = await js.consumer_info(EVENTS_STREAM, "test-consumer")
        assert info.num_ack_pending == 0
        assert info.num_pending == 0
        await consumer.close()
        await nc.close()

    asyncio.run(main())


def test_the_stream_drops_a_republished_event_with_the_same_id(nats_own_server: NatsServer) -> None:
    async def main() -> None:
        nc = await nats.connect(nats_own_server.url)
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

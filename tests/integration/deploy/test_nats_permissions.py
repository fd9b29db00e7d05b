"""The NATS accounts of deploy/nats, for real: a 3-node cluster started from the deploy
configuration, each user connecting with its own password.

What must work is shown with Dossier's own code (the service scaffolding, the outbox
relay, the durable consumer, the stream job); what must not is shown by the server's
permissions violation, which nats-py hands to the error callback.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError, NoServersError
from nats.js.api import StreamConfig
from nats.js.errors import ServiceUnavailableError

from dossier.core.caller import Caller
from dossier.core.commands import WithdrawConsent
from dossier.core.contracts import CATALOGUE
from dossier.core.policy import Actor, Role
from dossier.messaging import headers
from dossier.messaging.connection import inbox_prefix
from dossier.messaging.events import (
    EVENTS_STREAM,
    PARKED_STREAM,
    DurableConsumer,
    OutboxMessage,
    OutboxRelay,
    ensure_streams,
)
from dossier.messaging.service import Endpoint, ServiceRunner, ServiceSpec
from dossier.messaging.tokens import (
    TokenIssuer,
    TokenVerifier,
    generate_private_key,
    private_key_from,
    public_key_text,
)
from tests.integration.deploy.conftest import DEPLOY, SERVICES, Cluster
from tests.support.nats import Errors

STREAM_JOB = DEPLOY / "scripts" / "ensure_streams.py"

PRIVATE = private_key_from(generate_private_key())
ISSUER = TokenIssuer(PRIVATE)
OFFICER = Actor(id="officer-1", roles={Role.ENROLMENT_OFFICER}, branches={"SH01"})
DESTRUCTION_EVENTS = "dossier.events.*.destruction.moved"  # dossier.retention.service's filter


async def connect(cluster: Cluster, user: str, errors: Errors | None = None) -> Client:
    """``user`` on the first node: every client of a test on one node, so a subscription is
    in place as soon as it is flushed (routes would propagate it a moment later)."""
    servers = cluster.servers(user)[:1]
    return await nats.connect(
        servers=servers,
        name=f"test-{user}",
        error_cb=(errors or Errors()).record,
        allow_reconnect=False,
        connect_timeout=2,
        inbox_prefix=inbox_prefix(servers),  # as dossier.messaging.runtime.connect sets it
    )


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


async def request(
    nc: Client, subject: str, data: bytes = b"", headers: dict[str, str] | None = None
) -> Msg:
    """A request that waits for the responder's interest to cross the cluster's routes."""
    for _ in range(50):
        try:
            return await nc.request(subject, data, timeout=3, headers=headers)
        except NoRespondersError:
            await asyncio.sleep(0.05)
    raise NoRespondersError


def echo_spec(service: str) -> ServiceSpec:
    def handle(ctx: Caller, body: WithdrawConsent) -> dict[str, str]:
        return {"service": service, "consent_id": body.consent_id, "actor": ctx.actor.id}

    return ServiceSpec(
        name=service,
        version="0.1.0",
        description=f"test stand-in for the {service} service",
        endpoints=[Endpoint(contract=CATALOGUE.of(WithdrawConsent), handler=handle)],
    )


async def received_within(
    nc: Client, subject: str, action: Callable[[], Awaitable[None]], expected: int = 0
) -> int:
    """How many messages on ``subject`` reach ``nc`` while ``action`` runs and 0.3 s after;
    while fewer than ``expected`` arrived, up to 10 s after (a loaded machine delivers late:
    this bounds a wait, it measures no speed)."""
    got: list[Msg] = []

    async def collect(msg: Msg) -> None:
        got.append(msg)

    sub = await nc.subscribe(subject, cb=collect)
    await nc.flush()
    await action()
    await asyncio.sleep(0.3)
    for _ in range(200):
        if len(got) >= expected:
            break
        await asyncio.sleep(0.05)
    await sub.unsubscribe()
    return len(got)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_answers_its_own_requests_and_discovery_for_staff(
    nats_cluster: Cluster, service: str
) -> None:
    """The scaffolding starts (queue group, $SRV subscriptions) under the service's own user,
    and replies reach staff although no service may publish to _INBOX.> at large."""

    async def scenario() -> None:
        service_errors, staff_errors = Errors(), Errors()
        service_nc = await connect(nats_cluster, service, service_errors)
        staff = await connect(nats_cluster, "staff", staff_errors)
        runner = ServiceRunner(service_nc, echo_spec(service), TokenVerifier(PRIVATE.public_key()))
        await runner.start()
        try:
            await service_nc.flush()
            reply = await request(
                staff,
                f"dossier.{service}.consent.withdraw",
                b'{"consent_id": "c-1"}',
                headers={
                    headers.ACTOR: ISSUER.issue(OFFICER),
                    headers.IDEMPOTENCY_KEY: uuid.uuid4().hex,
                },
            )
            assert json.loads(reply.data) == {
                "service": service,
                "consent_id": "c-1",
                "actor": "officer-1",
            }
            ping = await request(staff, f"$SRV.PING.dossier-{service}")
            assert json.loads(ping.data)["name"] == f"dossier-{service}"
            info = await request(staff, f"$SRV.INFO.dossier-{service}")
            subjects = [e["subject"] for e in json.loads(info.data)["endpoints"]]
            assert subjects == [f"dossier.{service}.consent.withdraw"]
            assert service_errors.messages == []
            assert staff_errors.messages == []
        finally:
            await runner.stop()
            await service_nc.close()
            await staff.close()

    run(scenario)


@pytest.mark.parametrize(
    ("user", "subject"),
    [
        ("intake", "dossier.approvals.>"),
        ("intake", "dossier.approvals.change.approve"),
        ("approvals", "dossier.retention.destruction.execute"),
        ("retention", "dossier.intake.>"),
        ("staff", "dossier.intake.>"),
        ("staff", "dossier.approvals.change.approve"),
        ("staff", "dossier.events.>"),
        ("intake", "$SRV.PING.dossier-approvals"),
        ("staff", "_INBOX.>"),
        ("staff", "_INBOX_intake.>"),
        ("intake", "_INBOX_staff.>"),
        ("ops", "_INBOX_staff.>"),
    ],
)
def test_a_user_may_not_subscribe_to_subjects_it_does_not_serve(
    nats_cluster: Cluster, user: str, subject: str
) -> None:
    async def scenario() -> None:
        errors = Errors()
        nc = await connect(nats_cluster, user, errors)
        staff = await connect(nats_cluster, "staff")
        try:
            got: list[Msg] = []

            async def collect(msg: Msg) -> None:
                got.append(msg)

            await nc.subscribe(subject, cb=collect)
            await nc.flush()
            concrete = subject.replace(">", "x.y")
            if concrete.startswith("dossier.") and not concrete.startswith("dossier.events."):
                await staff.publish(concrete, b"{}")
                await staff.flush()
                await asyncio.sleep(0.3)
            assert await errors.refused("subscription", subject), errors
            assert got == []
        finally:
            await nc.close()
            await staff.close()

    run(scenario)


@pytest.mark.parametrize(
    ("user", "subject", "owner"),
    [
        ("intake", "dossier.approvals.change.approve", "approvals"),
        ("approvals", "dossier.retention.destruction.execute", "retention"),
        ("retention", "dossier.intake.registration.submit", "intake"),
        ("intake", "dossier.parked.retention-destruction", None),
        ("staff", "dossier.events.SH01.destruction.moved", None),
        ("staff", "dossier.parked.retention-destruction", None),
        ("ops", "dossier.events.SH01.destruction.moved", None),
    ],
)
def test_a_user_may_not_publish_to_subjects_it_does_not_own(
    nats_cluster: Cluster, user: str, subject: str, owner: str | None
) -> None:
    """A service cannot send requests to another service (none needs to), staff and ops cannot
    forge events, and only retention parks messages. Where a user serves the subject, it
    is shown not to receive the message either."""

    async def scenario() -> None:
        errors = Errors()
        nc = await connect(nats_cluster, user, errors)
        watcher = await connect(nats_cluster, owner) if owner is not None else None
        try:

            async def publish() -> None:
                await nc.publish(subject, b"{}")
                await nc.flush()

            if watcher is not None:
                assert await received_within(watcher, subject, publish) == 0
            else:
                await publish()
            assert await errors.refused("publish", subject), errors
        finally:
            await nc.close()
            if watcher is not None:
                await watcher.close()

    run(scenario)


def test_staff_requests_reach_a_service_and_intake_cannot_reach_approvals(
    nats_cluster: Cluster,
) -> None:
    """The same request, to an approvals subscriber: staff's arrives, intake's is refused."""

    async def scenario() -> None:
        approvals = await connect(nats_cluster, "approvals")
        staff = await connect(nats_cluster, "staff")
        intake_errors = Errors()
        intake = await connect(nats_cluster, "intake", intake_errors)
        subject = "dossier.approvals.change.approve"
        try:

            async def from_staff() -> None:
                await staff.publish(subject, b"{}")
                await staff.flush()

            async def from_intake() -> None:
                await intake.publish(subject, b"{}")
                await intake.flush()

            assert await received_within(approvals, subject, from_staff, expected=1) == 1
            assert await received_within(approvals, subject, from_intake) == 0
            assert await intake_errors.refused("publish", subject)
        finally:
            for nc in (approvals, staff, intake):
                await nc.close()

    run(scenario)


@pytest.mark.parametrize("password", [None, "wrong-password"])
def test_connections_without_the_right_password_are_refused(
    nats_cluster: Cluster, password: str | None
) -> None:
    async def scenario() -> None:
        servers = nats_cluster.servers(None if password is None else "intake", password)
        with pytest.raises((NoServersError, nats.errors.Error, OSError)):
            await nats.connect(
                servers=servers, allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0
            )

    run(scenario)


def _config_file(folder: Path) -> Path:
    config = folder / "dossier.toml"
    config.write_text(
        '[nats]\nservers = ["nats://127.0.0.1:1"]\n'
        f'[keys]\ntoken_public_key = "{public_key_text(PRIVATE)}"\n'
    )
    return config


def _stream_job_module() -> Any:
    """deploy/scripts/ensure_streams.py, loaded as the jobs run it (in-process: a second
    interpreter would spend seconds importing what this one has)."""
    spec = importlib.util.spec_from_file_location("ensure_streams", STREAM_JOB)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OneEvent:
    """An outbox with one pending event, as `OutboxRelay` reads storage's."""

    def __init__(self, subject: str) -> None:
        self.message = OutboxMessage(uuid.uuid4().hex, subject, b'{"type": "test"}')
        self.sent: list[str] = []

    def pending(self, limit: int) -> Sequence[OutboxMessage]:
        return [] if self.sent else [self.message]

    def mark_sent(self, event_ids: Sequence[str]) -> None:
        self.sent.extend(event_ids)


def test_events_flow_from_a_services_outbox_to_retentions_durable_consumer(
    nats_cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The stream job scales one-replica streams to 3 as ops (idempotently); approvals relays
    an event; retention's durable consumer takes and acks it, and parks a poison one, all
    within their permissions."""

    async def one_replica_streams() -> None:
        """What a service that started first would have made."""
        ops = await connect(nats_cluster, "ops")
        await ensure_streams(ops.jetstream(timeout=5), replicas=1)
        await ops.close()

    run(one_replica_streams)
    config = _config_file(tmp_path)
    monkeypatch.setenv("DOSSIER_NATS_URL", nats_cluster.url("ops"))
    job = _stream_job_module()
    job.main(["--config", str(config), "--replicas", "3"])
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{EVENTS_STREAM}: 3 replicas", f"{PARKED_STREAM}: 3 replicas"]
    assert asyncio.run(job.ensure(config, 3)) == printed  # idempotent

    async def scenario() -> None:
        errors = {user: Errors() for user in ("approvals", "retention", "ops")}
        approvals = await connect(nats_cluster, "approvals", errors["approvals"])
        retention = await connect(nats_cluster, "retention", errors["retention"])
        ops = await connect(nats_cluster, "ops", errors["ops"])
        try:
            ops_js = ops.jetstream(timeout=5)
            for name in (EVENTS_STREAM, PARKED_STREAM):
                for _ in range(100):  # a stream scaled up reports its new peers shortly after
                    info = await ops_js.stream_info(name)
                    peers = [p for p in (info.cluster and info.cluster.replicas) or [] if p.current]
                    if len(peers) == 2:
                        break
                    await asyncio.sleep(0.05)
                assert info.config.num_replicas == 3
                assert len(peers) == 2, info.cluster
            # What every service does at start and for its gauges.
            for nc in (approvals, retention):
                js = nc.jetstream(timeout=5)
                await ensure_streams(js)
                await js.consumers_info(EVENTS_STREAM)
                await js.stream_info(PARKED_STREAM)

            async def relay(subject: str) -> None:
                outbox = OneEvent(subject)
                assert await OutboxRelay(approvals.jetstream(timeout=5), outbox).relay_once() == 1
                assert outbox.sent == [outbox.message.event_id]

            seen: list[str] = []

            async def handler(msg: Msg) -> None:
                seen.append(msg.subject)
                if msg.subject.startswith("dossier.events.HK01."):
                    raise ValueError("poison")

            consumer = DurableConsumer(
                retention,
                retention.jetstream(timeout=5),
                "retention-destruction",
                handler,
                filter_subject=DESTRUCTION_EVENTS,
                batch=1,
            )

            async def consumed_one() -> int:
                """A new R3 consumer answers 503 until its leader is elected: as the
                consumer's run loop does, try again (bounded)."""
                for _ in range(20):
                    try:
                        return await consumer.consume_once(timeout=3)
                    except ServiceUnavailableError:
                        await asyncio.sleep(0.25)
                return await consumer.consume_once(timeout=3)

            await relay("dossier.events.SH01.destruction.moved")
            assert await consumed_one() == 1
            await relay("dossier.events.HK01.destruction.moved")
            assert await consumed_one() == 1
            await consumer.close()
            assert seen == [
                "dossier.events.SH01.destruction.moved",
                "dossier.events.HK01.destruction.moved",
            ]
            await asyncio.sleep(0.2)  # acks are fire-and-forget
            state = await ops_js.consumer_info(EVENTS_STREAM, "retention-destruction")
            assert state.num_ack_pending == 0
            assert state.num_pending == 0
            parked = await ops_js.stream_info(PARKED_STREAM)
            assert parked.state.messages == 1
            assert all(e.messages == [] for e in errors.values()), errors
        finally:
            for nc in (approvals, retention, ops):
                await nc.close()

    run(scenario)


@pytest.mark.parametrize("user", [*SERVICES, "staff"])
def test_services_and_staff_may_not_create_streams_or_read_all_events(
    nats_cluster: Cluster, user: str
) -> None:
    """Only ops makes streams (with 3 replicas); no one else can tap the event stream."""

    async def scenario() -> None:
        errors = Errors()
        nc = await connect(nats_cluster, user, errors)
        js = nc.jetstream(timeout=0.3)
        try:
            with pytest.raises(Exception):  # noqa: B017, PT011 - a timeout: the server drops it
                await js.add_stream(StreamConfig(name="ROGUE", subjects=["rogue.>"]))
            assert await errors.refused("publish", "$JS.API.STREAM.CREATE.ROGUE")
            with pytest.raises(Exception):  # noqa: B017, PT011
                await js.pull_subscribe("dossier.events.>", durable="snoop", stream=EVENTS_STREAM)
            assert await errors.refused("publish", f"$JS.API.CONSUMER.INFO.{EVENTS_STREAM}.snoop")
        finally:
            await nc.close()

    run(scenario)


def test_every_node_fsyncs_each_write_and_the_three_form_one_cluster(
    nats_cluster: Cluster,
) -> None:
    for node in nats_cluster.nodes:
        varz: dict[str, Any] = nats_cluster.monitor(node, "/varz")
        assert varz["server_name"] == node.name
        assert varz["jetstream"]["config"]["sync_always"] is True
        assert varz["cluster"]["name"] == "dossier"
        routez: dict[str, Any] = nats_cluster.monitor(node, "/routez")
        peers = {route["remote_name"] for route in routez["routes"]}
        assert peers == {n.name for n in nats_cluster.nodes} - {node.name}


def test_each_user_hears_its_own_replies_and_nobody_hears_anothers(nats_cluster: Cluster) -> None:
    """A staff request answered by the intake service: the reply reaches the staff client on
    _INBOX_staff…, while another user listening on every inbox it may hear gets nothing."""

    async def scenario() -> None:
        intake = await connect(nats_cluster, "intake")
        staff = await connect(nats_cluster, "staff")
        ops_errors = Errors()
        ops = await connect(nats_cluster, "ops", ops_errors)
        try:
            heard: list[Msg] = []

            async def answer(msg: Msg) -> None:
                await msg.respond(b"the answer")

            async def overhear(msg: Msg) -> None:
                heard.append(msg)

            await intake.subscribe("dossier.intake.dossier.get", cb=answer)
            await ops.subscribe("_INBOX_ops.>", cb=overhear)
            await ops.subscribe("_INBOX_staff.>", cb=overhear)
            await intake.flush()
            await ops.flush()
            reply = await staff.request("dossier.intake.dossier.get", b"{}", timeout=5)
            assert reply.data == b"the answer"
            assert reply.subject.startswith("_INBOX_staff.")
            await asyncio.sleep(0.3)
            assert heard == []
            assert await ops_errors.refused("subscription", "_INBOX_staff.>"), ops_errors
        finally:
            for nc in (intake, staff, ops):
                await nc.close()

    run(scenario)


def test_runtime_connections_take_their_inbox_prefix_from_the_user() -> None:
    assert inbox_prefix(["nats://staff:secret@nats-1:4222"]) == "_INBOX_staff"
    assert inbox_prefix(["nats-1:4222", "nats://intake:pw@nats-2:4222"]) == "_INBOX_intake"
    assert inbox_prefix(["nats://127.0.0.1:4222"]) == "_INBOX"

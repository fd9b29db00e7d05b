"""A branch keeps registering while its link to headquarters is down (docs/edge.md).

Real servers on loopback: a hub nats-server (deploy/edge/hub.conf) and a branch
leaf node (deploy/edge/branch-leaf.conf), the edge intake and headquarters'
edge inbox as real processes, PostgreSQL at headquarters. The hub is stopped,
100 registrations are submitted at the branch, the hub comes back, and every
one is recorded at headquarters exactly once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import nats
import pytest
import sqlalchemy
from nats.aio.client import Client

from dossier.core import wire
from dossier.core.branch import Branch
from dossier.core.commands import SubmitRegistration
from dossier.core.enums import Channel, IdDocumentType, RegistrationStatus
from dossier.core.policy import Actor, Role
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails
from dossier.intake import sealing
from dossier.intake.edge import BranchDesk, EdgeReceipt
from dossier.intake.edge_inbox import INBOX_DURABLE, INBOX_STREAM
from dossier.intake.envelope import edge_stream, edge_subject
from dossier.messaging import tokens
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.embedded import NatsServer, free_port, nats_server_binary
from dossier.messaging.events import PARKED_STREAM
from dossier.storage.schema import audit_log, idempotency_keys, registrations
from tests.support.stack import Stack, stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "edge"
DOMAIN = "sh01"
BRANCH = "SH01"
OFFLINE = 100
T = TypeVar("T")


def marker_name(n: int) -> str:
    """A distinctive, valid name per submission: digits spelled as letters."""
    return "Edgemarker " + "".join("abcdefghij"[int(d)] for d in f"{n:03d}").capitalize()


def form(n: int) -> SubmitRegistration:
    return SubmitRegistration(
        branch=BRANCH,
        channel=Channel.FRONT_DESK,
        applicant=PersonalDetails(
            name=marker_name(n),
            birth_date=date(2001, 5, 17),
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{70_000_000 + n}"),
            phone=f"+86 137 {n:04d} 5{n % 1000:03d}",
        ),
        needs=LearningNeeds(target_language="en", current_level="A2", goals="IELTS 6.5"),
    )


def markers(n: int) -> list[bytes]:
    return [marker_name(n).encode(), f"E{70_000_000 + n}".encode()]


@dataclass
class EdgeNet:
    hub: NatsServer
    leaf: NatsServer
    hq: Stack
    branch_config: Path
    branch_env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, module: str, config: Path, env: dict[str, str]) -> None:
        log = (self.logs / f"{module.rsplit('.', 1)[-1]}.log").open("ab")
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", module, "--config", str(config)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def check_alive(self) -> None:
        for process in self.processes:
            assert process.poll() is None, f"{process.args} exited: see {self.logs}"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout: float, net: EdgeNet
) -> T:
    """Poll ``probe`` until it returns something, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        net.check_alive()
        try:
            found = await probe()
        except Exception:
            found = None
        if found is not None:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not after {timeout}s (logs in {net.logs})")


def hq_counts(url: str) -> dict[str, Any]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sqlalchemy.select(registrations.c.id))]
            audited = [
                r[0]
                for r in conn.execute(
                    sqlalchemy.select(audit_log.c.subject).where(
                        audit_log.c.action == "registration.submitted"
                    )
                )
            ]
            keys = conn.execute(
                sqlalchemy.select(sqlalchemy.func.count()).select_from(idempotency_keys)
            ).scalar_one()
            times = {
                row.id: row.submitted_at
                for row in conn.execute(
                    sqlalchemy.select(registrations.c.id, registrations.c.submitted_at)
                )
            }
        return {"ids": ids, "audited": audited, "keys": keys, "submitted_at": times}
    finally:
        engine.dispose()


@pytest.fixture
def edge_net(
    tmp_path: Path, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EdgeNet]:
    leaf_port = free_port()
    monkeypatch.setenv("DOSSIER_HUB_LEAF_LISTEN", f"127.0.0.1:{leaf_port}")
    monkeypatch.setenv("DOSSIER_HQ_LEAF_URL", f"nats-leaf://127.0.0.1:{leaf_port}")
    monkeypatch.setenv("DOSSIER_EDGE_SERVER_NAME", "sh01-edge")
    monkeypatch.setenv("DOSSIER_EDGE_DOMAIN", DOMAIN)
    hub = NatsServer(store_dir=tmp_path / "hub", config_file=DEPLOY / "hub.conf")
    leaf = NatsServer(store_dir=tmp_path / "leaf", config_file=DEPLOY / "branch-leaf.conf")
    hub.start()
    leaf.start()
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        with stack(tmp_path / "hq", fresh_database, hub.url) as hq:
            inbox_key = sealing.generate_private_key()
            (hq.home / "keys" / "edge-inbox.key").write_text(inbox_key + "\n")
            branch_home = tmp_path / "branch"
            signing_key = tokens.generate_private_key()
            (branch_home / "keys").mkdir(parents=True)
            (branch_home / "keys" / "edge-signing.key").write_text(signing_key + "\n")
            signing_public = tokens.public_key_text(tokens.private_key_from(signing_key))
            with hq.config_path.open("a", encoding="utf-8") as config:
                config.write(
                    "\n[edge]\n"
                    'inbox_key_files = ["keys/edge-inbox.key"]\n\n'
                    f"[edge.branches.{BRANCH}]\n"
                    f'domain = "{DOMAIN}"\n'
                    f'signing_public_key = "{signing_public}"\n'
                )
            branch_env = {
                **os.environ,
                "DOSSIER_NATS_URL": leaf.url,
                "DOSSIER_TOKEN_PUBLIC_KEY": hq.config().token_public_key,
                "DOSSIER_EDGE_HQ_PUBLIC_KEY": sealing.public_key_text(
                    sealing.private_key_from(inbox_key)
                ),
                "DOSSIER_EDGE_SIGNING_KEY_FILE": str(branch_home / "keys" / "edge-signing.key"),
                "PYTHONUNBUFFERED": "1",
            }
            net = EdgeNet(hub, leaf, hq, DEPLOY / "branch.toml", branch_env, logs)
            try:
                yield net
            finally:
                net.stop()
    finally:
        leaf.stop()
        hub.stop()


def test_the_deploy_configurations_are_valid_nats_server_configurations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOSSIER_HUB_LEAF_LISTEN", "0.0.0.0:7422")
    monkeypatch.setenv("DOSSIER_HQ_LEAF_URL", "nats-leaf://hq.example.cn:7422")
    monkeypatch.setenv("DOSSIER_EDGE_SERVER_NAME", "sh01-edge")
    monkeypatch.setenv("DOSSIER_EDGE_DOMAIN", DOMAIN)
    for name in ("hub.conf", "branch-leaf.conf"):
        checked = subprocess.run(
            [nats_server_binary(), "-t", "-c", str(DEPLOY / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_registrations_at_a_cut_off_branch_reach_headquarters_exactly_once(
    edge_net: EdgeNet,
) -> None:
    net = edge_net
    hq = net.hq
    desk_token = hq.token("desk-sh01", Role.FRONT_DESK)
    timings: dict[str, float] = {}

    async def connect(url: str) -> Client:
        return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)

    async def scenario() -> tuple[list[EdgeReceipt], datetime]:
        branch = await connect(net.leaf.url)
        branch_js = branch.jetstream(domain=DOMAIN)
        desk = DossierClient(branch, desk_token, timeout=5.0)

        async def submit(command: SubmitRegistration, key: str | None = None) -> EdgeReceipt:
            # the edge answers its own receipt (with ``delivery``), not headquarters' view
            answer = await desk.request(SubmitRegistration.type, command, idempotency_key=key)
            return wire.structure(answer, EdgeReceipt)

        async def linked() -> bool | None:
            hub = await nats.connect(net.hub.url)
            try:
                await hub.request(f"$JS.{DOMAIN}.API.INFO", b"", timeout=0.5)
                return True
            finally:
                await hub.close()

        await eventually(linked, "the leaf node linked to the hub", 20, net)
        net.start("dossier.intake.edge_inbox", hq.config_path, hq.env)
        net.start("dossier.intake.edge", net.branch_config, net.branch_env)

        async def edge_serving() -> bool | None:
            reply = await branch.request("$SRV.PING.dossier-intake", b"", timeout=0.5)
            return True if reply.data else None

        async def inbox_consuming() -> bool | None:
            hub = await nats.connect(net.hub.url)
            try:
                await hub.jetstream().consumer_info(INBOX_STREAM, INBOX_DURABLE)
                return True
            finally:
                await hub.close()

        await eventually(edge_serving, "the edge intake serving", 30, net)
        await eventually(inbox_consuming, "the edge inbox consuming", 30, net)

        # -- online: the same path, straight through --------------------------------------
        started = time.monotonic()
        online = await submit(form(0), "online-000000")
        assert online.delivery == "queued"
        assert online.status == RegistrationStatus.SUBMITTED

        async def recorded_online() -> bool | None:
            return True if online.registration_id in hq_counts(hq.database_url)["ids"] else None

        await eventually(recorded_online, "the online registration at HQ", 30, net)
        timings["online_s"] = time.monotonic() - started

        # -- the link is cut: headquarters is gone ----------------------------------------
        net.hub.stop()
        cut_at = datetime.now().astimezone()

        started = time.monotonic()
        keys = {n: f"offline-{n:03d}-{uuid.uuid4().hex[:8]}" for n in range(1, OFFLINE + 1)}
        receipts: dict[int, EdgeReceipt] = {}
        for n, key in keys.items():
            receipts[n] = await submit(form(n), key)
        timings["offline_submit_s"] = time.monotonic() - started
        assert all(r.delivery == "queued" for r in receipts.values())
        assert len({r.registration_id for r in receipts.values()}) == OFFLINE

        # retries with the same key answer the first answer and store nothing new
        for n in (1, 50, 100):
            again = await submit(form(n), keys[n])
            assert again == receipts[n]
        # a key reused for another form is refused, at the branch
        with pytest.raises(RemoteError) as reused:
            await submit(form(999), keys[7])
        assert reused.value.code == "idempotency_key_reused"
        # the branch's rules answer at once, offline too
        bad = attrs.evolve(form(998), applicant=attrs.evolve(form(998).applicant, phone="12345"))
        with pytest.raises(RemoteError) as invalid:
            await submit(bad)
        assert invalid.value.code == "validation_failed"
        assert [p.field for p in invalid.value.problems] == ["applicant.phone"]

        info = await branch_js.stream_info(edge_stream(BRANCH))
        assert info.state.messages == 1 + OFFLINE

        # a copy of a stored submission under another message id: past JetStream's
        # duplicate window, as after a restore; headquarters still records it once
        copy = await branch_js.get_msg(edge_stream(BRANCH), 2)
        await branch_js.publish(
            edge_subject(BRANCH), copy.data or b"", headers={"Nats-Msg-Id": "copy-of-2"}
        )

        # a client of the branch's server forging a submission as an admin: sealed to
        # headquarters, but not signed by the branch's edge; parked at HQ, never applied
        intruder = Actor(id="intruder", roles=frozenset({Role.ADMIN}), branches=frozenset({"*"}))
        forged = BranchDesk(
            Branch(code=BRANCH, name="上海一校"),
            DOMAIN,
            sealing.public_key_from(net.branch_env["DOSSIER_EDGE_HQ_PUBLIC_KEY"]),
            tokens.private_key_from(tokens.generate_private_key()),
        ).accept(intruder, "forged-000001", form(997))
        await branch_js.publish(
            edge_subject(BRANCH), forged.payload, headers={"Nats-Msg-Id": forged.message_id}
        )

        # nothing personal at the branch in the clear: not in the stream, not on disk
        for seq in range(1, 4 + OFFLINE):
            stored = await branch_js.get_msg(edge_stream(BRANCH), seq)
            raw = (stored.data or b"") + repr(stored.headers).encode()
            for n in range(OFFLINE + 1):
                for marker in markers(n):
                    assert marker not in raw
        on_disk = b"".join(p.read_bytes() for p in net.leaf.store_dir.rglob("*") if p.is_file())
        assert len(on_disk) > 100_000  # the store is there, with every sealed submission
        for n in range(OFFLINE + 1):
            for marker in markers(n):
                assert marker not in on_disk

        # -- the link is back -----------------------------------------------------------
        net.hub.start()
        started = time.monotonic()

        async def all_recorded() -> bool | None:
            return True if len(hq_counts(hq.database_url)["ids"]) >= 1 + OFFLINE else None

        await eventually(all_recorded, "100 registrations at HQ", 180, net)
        timings["catch_up_s"] = time.monotonic() - started

        async def settled() -> bool | None:
            hub = await nats.connect(net.hub.url)
            try:
                js = hub.jetstream()
                inbox = await js.stream_info(INBOX_STREAM)
                consumer = await js.consumer_info(INBOX_STREAM, INBOX_DURABLE)
                done = (
                    inbox.state.messages == 3 + OFFLINE
                    and consumer.num_pending == 0
                    and consumer.num_ack_pending == 0
                )
                if not done:
                    return None
                parked = await js.stream_info(PARKED_STREAM)
                assert parked.state.messages == 1, "the forged submission, and nothing else"
                held = await js.get_msg(PARKED_STREAM, parked.state.first_seq)
                assert (held.headers or {}).get("Dossier-Error") == "EnvelopeRefused"
                assert held.data == forged.payload
                return True
            finally:
                await hub.close()

        await eventually(settled, "the inbox consumed every copy", 60, net)
        await branch.close()
        return [online, *receipts.values()], cut_at

    answered, cut_at = asyncio.run(scenario())
    net.check_alive()

    counts = hq_counts(hq.database_url)
    ids = counts["ids"]
    assert len(ids) == 1 + OFFLINE, "exactly the 101 submissions, no duplicates"
    assert len(set(ids)) == len(ids)
    assert sorted(counts["audited"]) == sorted(ids), "each audit-logged once"
    assert counts["keys"] == 1 + OFFLINE
    # recorded under the references the branch answered, at the time of the front desk
    assert set(ids) == {r.registration_id for r in answered}
    for receipt in answered[1:]:
        recorded = counts["submitted_at"][receipt.registration_id]
        assert recorded == receipt.submitted_at
        assert cut_at <= recorded < cut_at + timedelta(seconds=timings["offline_submit_s"] + 5)
    print(f"\nbranch edge timings: {timings}")

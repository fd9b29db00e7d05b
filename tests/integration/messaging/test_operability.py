"""What an operator sees of running services: Prometheus metrics, health, `dossier status`."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from dossier.cli.status import collect
from dossier.core.caller import Caller
from dossier.core.commands import WithdrawConsent
from dossier.core.contracts import CATALOGUE
from dossier.core.errors import NotFound
from dossier.core.policy import Actor, Role
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.metrics import Health, MetricsServer, ServiceMetrics
from dossier.messaging.service import Endpoint, ServiceRunner, ServiceSpec
from dossier.messaging.tokens import (
    TokenIssuer,
    TokenVerifier,
    generate_private_key,
    private_key_from,
)
from tests.support.nats import BusServer, sign_in

PRIVATE = private_key_from(generate_private_key())
TOKEN = TokenIssuer(PRIVATE).issue(
    Actor(id="officer-1", roles={Role.ENROLMENT_OFFICER}, branches={"SH01"})
)


def withdraw(_ctx: Caller, body: WithdrawConsent) -> dict[str, str]:
    if body.consent_id == "missing":
        raise NotFound("consent", body.consent_id)
    if body.consent_id == "boom":
        raise RuntimeError("the handler broke")
    return {"consent_id": body.consent_id}


SPEC = ServiceSpec(
    name="approvals",
    version="0.1.0",
    description="test double",
    endpoints=[Endpoint(contract=CATALOGUE.of(WithdrawConsent), handler=withdraw)],
)


async def send(nc: Any, consent_ids: list[str]) -> list[str]:
    client = DossierClient(nc, TOKEN, timeout=5)
    outcomes = []
    for consent_id in consent_ids:
        try:
            # raw JSON: the test double answers less than the contract's view
            await client.request(WithdrawConsent.type, WithdrawConsent(consent_id=consent_id))
            outcomes.append("ok")
        except RemoteError as error:
            outcomes.append(error.code)
    return outcomes


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback http
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_metrics_count_requests_by_outcome_and_health_follows_the_service(
    nats_session_server: BusServer,
) -> None:
    async def scenario() -> None:
        service_nc = await sign_in(nats_session_server.url_for("approvals"))
        metrics = ServiceMetrics("approvals")
        runner = ServiceRunner(
            service_nc, SPEC, TokenVerifier(PRIVATE.public_key()), metrics=metrics
        )
        health = Health(
            {"nats": lambda: service_nc.is_connected, "serving": lambda: runner.serving}
        )
        http = MetricsServer(metrics, health, "127.0.0.1", 0)
        http.start()
        base = f"http://127.0.0.1:{http.port}"
        await runner.start()
        client_nc = await sign_in(nats_session_server.url_for("staff"))
        try:
            outcomes = await send(client_nc, ["a", "b", "c", "missing", "boom"])
            assert outcomes == ["ok", "ok", "ok", "not_found", "internal_error"]

            status, text = await asyncio.to_thread(get, base + "/metrics")
            assert status == 200
            label = 'outcome="{}",service="approvals",verb="consent.withdraw"'
            assert f"dossier_requests_total{{{label.format('ok')}}} 3.0" in text
            assert f"dossier_requests_total{{{label.format('not_found')}}} 1.0" in text
            assert f"dossier_requests_total{{{label.format('internal_error')}}} 1.0" in text
            assert (
                'dossier_request_duration_seconds_count{service="approvals",'
                'verb="consent.withdraw"} 5.0' in text
            )

            status, text = await asyncio.to_thread(get, base + "/healthz")
            assert (status, json.loads(text)) == (200, {"ok": True, "failing": []})
            await runner.stop()
            status, text = await asyncio.to_thread(get, base + "/healthz")
            assert (status, json.loads(text)["failing"]) == (503, ["serving"])
            assert (await asyncio.to_thread(get, base + "/nothing"))[0] == 404
        finally:
            http.stop()
            await runner.stop()
            await service_nc.close()
            await client_nc.close()

    asyncio.run(scenario())


def test_status_lists_every_instance_with_its_counts_and_names_missing_services(
    nats_session_server: BusServer,
) -> None:
    async def scenario() -> None:
        conns = [await sign_in(nats_session_server.url_for("approvals")) for _ in range(2)]
        runners = [ServiceRunner(nc, SPEC, TokenVerifier(PRIVATE.public_key())) for nc in conns]
        for runner in runners:
            await runner.start()
        client_nc = await sign_in(nats_session_server.url_for("staff"))
        try:
            await send(client_nc, ["x"] * 8 + ["missing"] * 2)
            status = await collect(
                nats_session_server.settings("staff"),
                expected=("intake", "approvals"),
                interval=0.2,
            )
        finally:
            for runner in runners:
                await runner.stop()
            for nc in [*conns, client_nc]:
                await nc.close()

        approvals = [i for i in status.instances if i.service == "approvals"]
        assert len(approvals) == 2
        assert len({i.instance for i in approvals}) == 2
        assert sum(i.requests for i in approvals) == 10
        assert sum(i.errors for i in approvals) == 2
        codes = [e.errors_by_code for i in approvals for e in i.endpoints if e.errors]
        assert sum(c.get("not_found", 0) for c in codes) == 2
        assert status.missing == ("intake",)
        assert status.ok is False

    asyncio.run(scenario())

"""The service scaffolding over a real nats-server: tokens, errors, limits, discovery, drain."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dossier.core.caller import Caller
from dossier.core.commands import WithdrawConsent
from dossier.core.contracts import CATALOGUE
from dossier.core.contracts.approvals import ConsentView
from dossier.core.enums import ConsentGiver, ConsentPurpose
from dossier.core.errors import NotFound, Problem, ValidationError
from dossier.core.policy import Actor, Role
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.service import (
    Endpoint,
    ServiceRunner,
    ServiceSpec,
)
from dossier.messaging.tokens import (
    TokenIssuer,
    TokenVerifier,
    generate_private_key,
    private_key_from,
)
from tests.support.nats import BusServer, sign_in

SECRET = "13800138000-MARKER"
PRIVATE = private_key_from(generate_private_key())
ISSUER = TokenIssuer(PRIVATE)
VERIFIER = TokenVerifier(PRIVATE.public_key())
OFFICER = Actor(id="officer-1", roles={Role.ENROLMENT_OFFICER}, branches={"SH01"})
GRANTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def handler(calls: list[str]) -> Callable[[Caller, WithdrawConsent], ConsentView]:
    def handle(ctx: Caller, body: WithdrawConsent) -> ConsentView:
        calls.append(threading.current_thread().name)
        if body.consent_id == "boom":
            raise RuntimeError(f"database said {SECRET}")
        if body.consent_id == "missing":
            raise NotFound("consent", body.consent_id)
        if body.consent_id == "invalid":
            raise ValidationError([Problem("consent_id", "required")])
        if body.consent_id == "slow":
            time.sleep(0.5)
        return ConsentView(
            consent_id=body.consent_id,
            student_number="SH01-26-000001-X",
            purpose=ConsentPurpose.MARKETING,
            given_by=ConsentGiver.STUDENT,
            granted_at=GRANTED,
            recorded_by="officer-0",
            active=False,
            withdrawn_at=GRANTED,
            withdrawn_by=ctx.actor.id,
        )

    return handle


def spec(calls: list[str]) -> ServiceSpec:
    return ServiceSpec(
        name="approvals",
        version="0.1.0",
        description="test double of the approvals service",
        endpoints=[
            Endpoint(contract=CATALOGUE.of(WithdrawConsent), handler=handler(calls)),
        ],
    )


def run(
    server: BusServer, scenario: Callable[[Any, list[str]], Awaitable[None]], instances: int = 1
) -> list[list[str]]:
    async def main() -> list[list[str]]:
        service_conns = [await sign_in(server.url_for("approvals")) for _ in range(instances)]
        calls: list[list[str]] = [[] for _ in range(instances)]
        runners = [
            ServiceRunner(nc, spec(calls[i]), VERIFIER) for i, nc in enumerate(service_conns)
        ]
        for runner in runners:
            await runner.start()
        client_nc = await sign_in(server.url_for("staff"))
        try:
            await scenario(client_nc, calls[0])
        finally:
            for runner in runners:
                await runner.stop()
            for nc in [*service_conns, client_nc]:
                await nc.close()
        return calls

    return asyncio.run(main())


def client(nc: Any, token: str | None = None) -> DossierClient:
    return DossierClient(nc, token if token is not None else ISSUER.issue(OFFICER), timeout=2)


async def raw(nc: Any, data: bytes, headers: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    reply = await nc.request("dossier.approvals.consent.withdraw", data, headers=headers, timeout=2)
    return json.loads(reply.data), (reply.headers or {}).get("Nats-Service-Error-Code")


def test_a_valid_request_is_answered_with_the_handlers_result(
    nats_session_server: BusServer,
) -> None:
    async def scenario(nc: Any, calls: list[str]) -> None:
        answer = await client(nc).send(WithdrawConsent(consent_id="c-1"))
        assert (answer.consent_id, answer.withdrawn_by) == ("c-1", "officer-1")
        assert len(calls) == 1

    run(nats_session_server, scenario)


def test_the_service_answers_discovery_pings(nats_session_server: BusServer) -> None:
    async def scenario(nc: Any, _: list[str]) -> None:
        reply = await nc.request("$SRV.PING.dossier-approvals", b"", timeout=2)
        assert json.loads(reply.data)["name"] == "dossier-approvals"
        info = json.loads((await nc.request("$SRV.INFO.dossier-approvals", b"", timeout=2)).data)
        assert [e["subject"] for e in info["endpoints"]] == ["dossier.approvals.consent.withdraw"]

    run(nats_session_server, scenario)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("", "token_missing"),
        ("not-a-jwt", "token_invalid"),
        (TokenIssuer(private_key_from(generate_private_key())).issue(OFFICER), "token_invalid"),
        (
            ISSUER.issue(OFFICER, now=datetime.now(UTC) - timedelta(hours=2)),
            "token_expired",
        ),
        (TokenIssuer(PRIVATE, audience="someone-else").issue(OFFICER), "token_invalid"),
    ],
    ids=["missing", "malformed", "forged", "expired", "wrong-audience"],
)
def test_bad_tokens_are_refused_before_the_handler_runs(
    nats_session_server: BusServer, token: str, code: str
) -> None:
    async def scenario(nc: Any, calls: list[str]) -> None:
        with pytest.raises(RemoteError) as refused:
            await client(nc, token).send(WithdrawConsent(consent_id="c-1"))
        assert (refused.value.code, refused.value.status) == (code, 401)
        assert calls == []

    run(nats_session_server, scenario)


def test_malformed_oversize_and_keyless_requests_get_structured_errors(
    nats_session_server: BusServer,
) -> None:
    token = ISSUER.issue(OFFICER)

    async def scenario(nc: Any, calls: list[str]) -> None:
        base = {"Dossier-Actor": token, "Idempotency-Key": "key-00000001"}
        body, status = await raw(nc, b"{not json", base)
        assert status == "400"
        assert body["error"]["code"] == "validation_failed"
        assert body["error"]["problems"][0]["rule"] == "malformed_json"

        body, status = await raw(nc, b'{"consent_id": 5, "extra": 1}', base)
        assert {(p["field"], p["rule"]) for p in body["error"]["problems"]} == {
            ("consent_id", "wrong_type"),
            ("extra", "unknown_field"),
        }

        big = json.dumps({"consent_id": "x" * 70_000}).encode()
        body, status = await raw(nc, big, base)
        assert (status, body["error"]["code"]) == ("413", "payload_too_large")

        body, status = await raw(nc, b'{"consent_id": "c"}', {"Dossier-Actor": token})
        assert (status, body["error"]["code"]) == ("400", "idempotency_key_invalid")
        assert calls == []

    run(nats_session_server, scenario)


def test_domain_errors_keep_their_code_and_internal_errors_hide_their_details(
    nats_session_server: BusServer,
) -> None:
    async def scenario(nc: Any, _: list[str]) -> None:
        with pytest.raises(RemoteError) as missing:
            await client(nc).send(WithdrawConsent(consent_id="missing"))
        assert (missing.value.code, missing.value.status) == ("not_found", 404)

        with pytest.raises(RemoteError) as invalid:
            await client(nc).send(WithdrawConsent(consent_id="invalid"))
        assert invalid.value.problems[0].field == "consent_id"
        assert invalid.value.problems[0].message == "同意记录为必填项。"

        with pytest.raises(RemoteError) as boom:
            await client(nc).send(WithdrawConsent(consent_id="boom"))
        assert (boom.value.code, boom.value.status) == ("internal_error", 500)
        assert boom.value.request_id in boom.value.message
        assert SECRET not in boom.value.message
        assert "Traceback" not in boom.value.message

    run(nats_session_server, scenario)


def test_errors_speak_the_callers_language(nats_session_server: BusServer) -> None:
    async def scenario(nc: Any, _: list[str]) -> None:
        english = DossierClient(nc, ISSUER.issue(OFFICER), timeout=2, locale="en")
        with pytest.raises(RemoteError) as invalid:
            await english.send(WithdrawConsent(consent_id="invalid"))
        assert invalid.value.problems[0].message == "Consent is required."

    run(nats_session_server, scenario)


def test_stop_lets_requests_in_flight_finish(nats_session_server: BusServer) -> None:
    async def main() -> None:
        service_nc = await sign_in(nats_session_server.url_for("approvals"))
        client_nc = await sign_in(nats_session_server.url_for("staff"))
        runner = ServiceRunner(service_nc, spec([]), VERIFIER)
        await runner.start()
        pending = asyncio.create_task(client(client_nc).send(WithdrawConsent(consent_id="slow")))
        await asyncio.sleep(0.2)
        await runner.stop()
        answer = await pending
        assert (answer.consent_id, answer.withdrawn_by) == ("slow", "officer-1")
        await service_nc.close()
        await client_nc.close()

    asyncio.run(main())


def test_instances_in_one_queue_group_share_the_load(nats_session_server: BusServer) -> None:
    async def scenario(nc: Any, _: list[str]) -> None:
        await asyncio.gather(
            *(client(nc).send(WithdrawConsent(consent_id=f"c-{i}")) for i in range(60))
        )

    calls = run(nats_session_server, scenario, instances=3)
    assert sum(len(c) for c in calls) == 60
    assert all(len(c) > 0 for c in calls), [len(c) for c in calls]

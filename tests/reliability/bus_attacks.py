"""The bus attacks of issue 16, run against a real stack (its nats-server under the bus users).

Each attack is what was done to the embedded install when its bus had no users: listen to
everything, replay an officer's and an approver's sniffed tokens to destroy a student, purge
and delete the JetStream streams and consumers, answer intake's requests with forged data or
join its queue group. `bus_attacks` runs them all and says which succeeded;
`tests/reliability/test_bus_locked_down.py` expects none, and ``bench/reliability.py``
reports the counts (``bus_unauthenticated_access``, ``replayed_token_accepted``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError
from nats.micro import add_service
from nats.micro.service import EndpointConfig, ServiceConfig

from dossier.core import wire
from dossier.core.commands import ChangeStudentStatus, ReviewDestruction, SubmitDestruction
from dossier.core.contracts import CATALOGUE
from dossier.core.contracts.approvals import GetDestruction
from dossier.core.contracts.intake import GetDossier
from dossier.core.enums import Decision, DestructionStatus, StudentStatus
from dossier.core.policy import Actor, Role
from dossier.host.bus import RETENTION_DESTRUCTION
from dossier.messaging import headers
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.events import EVENTS_STREAM, PARKED_STREAM
from dossier.messaging.tokens import Holder, Presented, TokenIssuer, private_key_from
from tests.support.load import admit_many
from tests.support.nats import Errors, sign_in
from tests.support.stack import Stack

Attack = Callable[[Stack], Awaitable[int]]
"""Runs one attack; how many of its attempts succeeded."""

OUTSIDERS = ("gateway", "staff", "approvals")
"""Users that are not intake, not ops: what a stolen credential of theirs must not allow."""


async def _signed_in(stack: Stack, user: str, errors: Errors) -> Client:
    return await sign_in(
        stack.url_for(user), error_cb=errors.record, allow_reconnect=False, connect_timeout=2
    )


async def connect_without_credentials(stack: Stack) -> int:
    """A plain client with no user, and one with a wrong password."""
    connected = 0
    address = stack.nats_url.split("://", 1)[1]
    for url in (stack.nats_url, f"nats://intake:wrong@{address}"):
        try:
            nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2)
        except (TimeoutError, NatsError, OSError):
            continue
        connected += 1
        await nc.close()
    return connected


async def listen_to_everything(stack: Stack) -> int:
    """Subscribing to ``>``, every inbox, or a service's requests, as any non-service user."""
    heard = 0
    for user in ("gateway", "staff", "ops"):
        errors = Errors()
        nc = await _signed_in(stack, user, errors)
        try:
            for subject in (">", "_INBOX.>", "_INBOX_gateway.>", "dossier.intake.>"):
                if user == "gateway" and subject == "_INBOX_gateway.>":
                    continue  # its own
                await nc.subscribe(subject)
                await nc.flush()
                heard += not await errors.refused("subscription", subject)
        finally:
            await nc.close()
    return heard


async def tamper_with_jetstream(stack: Stack) -> int:
    """Purge the events stream, delete retention's consumer and the parked stream."""
    done = 0
    for user in ("gateway", "staff", "intake", "approvals", "retention"):
        errors = Errors()
        nc = await _signed_in(stack, user, errors)
        js = nc.jetstream(timeout=1)
        try:
            for attempt in (
                js.purge_stream(EVENTS_STREAM),
                js.delete_consumer(EVENTS_STREAM, RETENTION_DESTRUCTION),
                js.delete_stream(PARKED_STREAM),
            ):
                try:
                    await attempt
                except (TimeoutError, NatsError, NotFoundError):
                    continue
                done += 1
        finally:
            await nc.close()
    ops = await sign_in(stack.url_for("ops"))
    try:  # and everything is still there
        js = ops.jetstream()
        await js.stream_info(PARKED_STREAM)
        await js.consumer_info(EVENTS_STREAM, RETENTION_DESTRUCTION)
    except NotFoundError:
        done += 1
    finally:
        await ops.close()
    return done


async def pose_as_intake(stack: Stack) -> int:
    """A fake ``dossier-intake`` (nats.micro) answering ``dossier.get`` with forged data, as
    each outsider user; then eight real reads must all get the real answer."""
    forged = b'{"forged": true}'
    forged_answers = 0
    for user in OUTSIDERS:
        errors = Errors()
        nc = await _signed_in(stack, user, errors)
        try:

            async def answer(request: object) -> None:
                await request.respond(forged)  # type: ignore[attr-defined]

            service = await add_service(
                nc, ServiceConfig(name="dossier-intake", version="6.6.6", description="fake")
            )
            await service.add_endpoint(
                EndpointConfig(name="get", subject=subject_of(GetDossier), handler=answer)
            )
            await nc.flush()
            officer = DossierClient(
                await sign_in(stack.url_for("staff")),
                stack.token("officer-1", Role.ENROLMENT_OFFICER),
            )
            try:
                for _ in range(8):
                    try:
                        await officer.send(GetDossier(student_number="SH01-0000-00000"))
                    except RemoteError:
                        continue  # the real intake: no such student
                    forged_answers += 1  # an answer that is no error: the forged one
            finally:
                await officer.nc.close()
            await service.stop()
        except (TimeoutError, NatsError):
            continue  # refused outright: the attack fails
        finally:
            await nc.close()
    return forged_answers


def subject_of(request: type) -> str:
    contract = CATALOGUE.of(request)
    return f"dossier.{contract.service}.{contract.verb}"


async def _refused(client: Client, subject: str, body: bytes, sent: dict[str, str]) -> bool:
    reply = await client.request(subject, body, timeout=10, headers=sent)
    answer = json.loads(reply.data or b"{}")
    return isinstance(answer, dict) and answer.get("error", {}).get("code") == "token_invalid"


async def replay_sniffed_tokens(stack: Stack) -> int:
    """Tokens the gateway minted for an officer and an approver (bound to its holder key, as
    the gateway binds every token it mints), with the headers of a real request of theirs,
    replayed from another user's connection to submit and approve a destruction: how many of
    the replays were accepted, plus one if the student's destruction moved at all."""
    key_file = stack.config().token_private_key_file
    assert key_file is not None
    issuer, gateway = TokenIssuer(private_key_from(key_file.read_text().strip())), Holder("gateway")

    def actor(name: str, role: Role) -> Actor:
        return Actor(id=name, roles=frozenset({role}), branches=frozenset({"SH01"}))

    officer = issuer.issue(actor("officer-1", Role.ENROLMENT_OFFICER), holder=gateway)
    approver = issuer.issue(actor("approver-1", Role.APPROVER), holder=gateway)
    (number,) = await admit_many(
        stack.url_for("staff"),
        stack.token("desk-1", Role.FRONT_DESK),
        stack.token("officer-2", Role.ENROLMENT_OFFICER),
        [1],
        run_id=uuid.uuid4().hex[:8],
    )
    real, thief = await sign_in(stack.url_for("gateway")), await sign_in(stack.url_for("staff"))
    try:
        as_officer = DossierClient(real, officer, holder=gateway)
        await as_officer.send(
            ChangeStudentStatus(student_number=number, target=StudentStatus.WITHDRAWN, reason="x")
        )
        request = await as_officer.send(SubmitDestruction(student_number=number, reason="asked"))
        read, submit, review = (
            subject_of(kind) for kind in (GetDossier, SubmitDestruction, ReviewDestruction)
        )
        read_body = wire.dumps(GetDossier(student_number=number))
        submit_body = wire.dumps(SubmitDestruction(student_number=number, reason="replayed"))
        review_body = wire.dumps(
            ReviewDestruction(
                request_id=request.request_id, decision=Decision.APPROVE, reason="replayed"
            )
        )
        accepted = 0
        for token in (officer, approver):
            # what a sniffer saw: a real read of the token's holder, with its proof
            seen_proof = gateway.prove(Presented(read, token, read_body))
            key = uuid.uuid4().hex
            for subject, body, sent in (
                (submit, submit_body, {headers.ACTOR: token}),  # the token alone
                (review, review_body, {headers.ACTOR: token}),
                (submit, submit_body, {headers.ACTOR: token, headers.PROOF: seen_proof}),
                (review, review_body, {headers.ACTOR: token, headers.PROOF: seen_proof}),
                (read, read_body, {headers.ACTOR: token, headers.PROOF: seen_proof}),  # as seen
            ):
                if not await _refused(thief, subject, body, {**sent, headers.IDEMPOTENCY_KEY: key}):
                    accepted += 1
        still = await DossierClient(real, approver, holder=gateway).send(
            GetDestruction(request_id=request.request_id)
        )
        moved = int(still.status != DestructionStatus.SUBMITTED)
        return accepted + moved
    finally:
        await real.close()
        await thief.close()


ATTACKS: dict[str, Attack] = {
    "connect_without_credentials": connect_without_credentials,
    "listen_to_everything": listen_to_everything,
    "tamper_with_jetstream": tamper_with_jetstream,
    "pose_as_intake": pose_as_intake,
    "replay_sniffed_tokens": replay_sniffed_tokens,
}


async def bus_attacks(stack: Stack) -> dict[str, int]:
    """Every attack against ``stack``; how many attempts of each succeeded."""
    return {name: await attack(stack) for name, attack in ATTACKS.items()}

"""The branch edge: front-desk registration that keeps working while headquarters is away.

A branch runs a NATS leaf node with its own JetStream domain and this
process beside it (docs/edge.md)::

    python -m dossier.intake.edge --config /etc/dossier/branch.toml

It answers ``dossier.intake.registration.submit`` on the leaf, like the
intake service does at headquarters: the actor token is verified, the form
structured strictly and checked with the branch's rules — the very checks of
the intake handler (`dossier.intake.handlers.prepare_registration`), no
database needed — then sealed to headquarters, signed, and stored in the
branch's stream ``DOSSIER_EDGE_<BRANCH>`` with ``Nats-Msg-Id`` derived from
the actor and the idempotency key. The answer (`EdgeReceipt`) names the
registration id headquarters will record it under. Headquarters' stream
sources the branch stream whenever the leaf link is up, and the edge inbox
(`dossier.intake.edge_inbox`) records each submission there exactly once.

The configuration is the usual ``dossier.toml`` (``[keys] token_public_key``,
``[nats] servers`` = the branch's leaf node, ``[branches.<CODE>]``) plus::

    [edge]
    branch = "SH01"                  # the branch this edge serves
    domain = "sh01"                  # the leaf node's JetStream domain
    hq_public_key = "…"              # headquarters' X25519 inbox key (base64)
    signing_key_file = "keys/edge-signing.key"   # this edge's Ed25519 key

Keys: ``--new-inbox-key FILE`` (at headquarters) and ``--new-signing-key FILE``
(at the branch) write a private key and print the public one to configure on
the other side.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tomllib
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from attrs import frozen
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.commands import SubmitRegistration
from dossier.core.contracts import CATALOGUE
from dossier.core.enums import RegistrationStatus
from dossier.core.errors import Problem, ValidationError
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor
from dossier.core.shape import checks_partial
from dossier.core.wire import Partial
from dossier.host.config import Config
from dossier.host.process import Process, until_stopped
from dossier.intake import sealing
from dossier.intake.envelope import (
    VERSION,
    EnvelopeActor,
    EnvelopeHeader,
    edge_stream,
    edge_subject,
    fingerprint,
    message_id,
    read_header,
    seal_envelope,
)
from dossier.intake.handlers import prepare_registration, submission_problems
from dossier.messaging import tokens
from dossier.messaging.connection import connect
from dossier.messaging.replies import WireError
from dossier.messaging.service import Endpoint, ServiceRunner, ServiceSpec
from dossier.storage.idempotency import KEEP_FOR, IdempotencyKeyReused

log = logging.getLogger("dossier.edge")

VERSION_TEXT = "0.1.0"
EDGE_SUBMIT_MAX_BYTES = 600 * 1024
"""Sealing grows a form by about a third (base64): 600 KiB stays under NATS's 1 MiB."""
KEEP = timedelta(days=60)
"""How long the branch (and headquarters' inbox) keep sealed submissions: an outage longer
than this loses submissions, so monitor the inbox's source lag (docs/edge.md)."""
DUPLICATE_WINDOW = KEEP_FOR
"""Retries with the same key are dropped by JetStream for as long as the intake's
idempotency ledger remembers answers."""


@frozen(kw_only=True)
class EdgeSettings:
    branch: str
    domain: str
    hq_public_key: str
    signing_key_file: Path


def load_edge_settings(path: Path, environ: Mapping[str, str] | None = None) -> EdgeSettings:
    """The ``[edge]`` table of a branch's configuration; ``DOSSIER_EDGE_HQ_PUBLIC_KEY`` and
    ``DOSSIER_EDGE_SIGNING_KEY_FILE`` override their settings."""
    env = os.environ if environ is None else environ
    with path.open("rb") as handle:
        edge: dict[str, Any] = tomllib.load(handle).get("edge", {})
    hq_key = env.get("DOSSIER_EDGE_HQ_PUBLIC_KEY") or edge.get("hq_public_key", "")
    key_file = env.get("DOSSIER_EDGE_SIGNING_KEY_FILE") or edge.get("signing_key_file", "")
    problems = [
        Problem(f"edge.{name}", "required")
        for name, value in (
            ("branch", edge.get("branch")),
            ("domain", edge.get("domain")),
            ("hq_public_key", hq_key),
            ("signing_key_file", key_file),
        )
        if not value
    ]
    if problems:
        raise ValidationError(problems)
    signing = Path(key_file)
    return EdgeSettings(
        branch=str(edge["branch"]),
        domain=str(edge["domain"]),
        hq_public_key=str(hq_key),
        signing_key_file=signing if signing.is_absolute() else path.resolve().parent / signing,
    )


@frozen(kw_only=True)
class EdgeReceipt:
    """The branch's answer: accepted and stored at the branch, on its way to headquarters,
    where it is recorded as ``registration_id`` with status ``submitted``."""

    registration_id: str
    branch: str
    status: RegistrationStatus
    submitted_at: datetime
    delivery: str = "queued"


@frozen
class Accepted:
    """A submission the desk accepted: its ``Nats-Msg-Id``, header, and the stored bytes."""

    message_id: str
    header: EnvelopeHeader
    payload: bytes


def utc_now() -> datetime:
    return datetime.now(UTC)


class BranchDesk:
    """The edge's use case, without I/O: check a submission as headquarters would, seal it."""

    def __init__(
        self,
        branch: Branch,
        domain: str,
        recipient: X25519PublicKey,
        signer: Ed25519PrivateKey,
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.branch = branch
        self.domain = domain
        self.recipient = recipient
        self.signer = signer
        self.rules = (plugins or PluginHost()).rules_for(branch)
        self.clock = clock

    def accept(self, actor: Actor, idempotency_key: str, command: SubmitRegistration) -> Accepted:
        if command.branch != self.branch.code:
            raise ValidationError(
                [Problem("branch", "not_allowed_value", {"allowed": self.branch.code})]
            )
        registration, _ = prepare_registration(
            actor,
            command,
            self.branch,
            self.rules,
            registration_id=str(uuid.uuid4()),
            submitted_at=self.clock(),
        )
        msg_id = message_id(actor.id, idempotency_key)
        header = EnvelopeHeader(
            version=VERSION,
            registration_id=registration.id,
            branch=self.branch.code,
            edge=self.domain,
            actor=EnvelopeActor.of(actor),
            idempotency_key=idempotency_key,
            submitted_at=registration.submitted_at,
            fingerprint=fingerprint(msg_id, command),
        )
        return Accepted(msg_id, header, seal_envelope(header, command, self.recipient, self.signer))

    def partial_problems(self, actor: Actor, partial: Partial) -> list[Problem]:
        """`accept`'s checks over a submission that failed its shape."""
        code = partial.get("branch", str)
        if code is not None and code != self.branch.code:
            return [Problem("branch", "not_allowed_value", {"allowed": self.branch.code})]
        at = self.clock()
        return submission_problems(actor, partial, self.branch, self.rules, submitted_at=at)


def receipt(header: EnvelopeHeader) -> EdgeReceipt:
    return EdgeReceipt(
        registration_id=header.registration_id,
        branch=header.branch,
        status=RegistrationStatus.SUBMITTED,
        submitted_at=header.submitted_at,
    )


async def ensure_edge_stream(js: JetStreamContext, branch: str, keep: timedelta = KEEP) -> None:
    """The branch's stream of sealed submissions, in the leaf's domain (idempotent)."""
    name = edge_stream(branch)
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=name,
                subjects=[f"dossier.edge.{branch}.>"],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=keep.total_seconds(),
                duplicate_window=min(DUPLICATE_WINDOW, keep).total_seconds(),
            )
        )


class EdgeIntake:
    """Stores what the desk accepts in the branch stream; answers retries with the first
    answer, and refuses a key reused for another form."""

    def __init__(
        self, desk: BranchDesk, js: JetStreamContext, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.desk = desk
        self.js = js
        self.loop = loop
        self.stream = edge_stream(desk.branch.code)
        self.subject = edge_subject(desk.branch.code)

    def _submission_rules(self, caller: Caller, partial: Partial) -> list[Problem]:
        return self.desk.partial_problems(caller.actor, partial)

    @checks_partial(_submission_rules)
    def submit(self, caller: Caller, command: SubmitRegistration) -> EdgeReceipt:
        """The endpoint's handler; runs in a worker thread like every service handler."""
        if caller.idempotency_key is None:
            raise WireError("idempotency_key_invalid")
        accepted = self.desk.accept(caller.actor, caller.idempotency_key, command)
        return asyncio.run_coroutine_threadsafe(self.store(accepted), self.loop).result()

    async def store(self, accepted: Accepted) -> EdgeReceipt:
        try:
            ack = await self.js.publish(
                self.subject,
                accepted.payload,
                headers={"Nats-Msg-Id": accepted.message_id},
                stream=self.stream,
            )
        except Exception as error:
            log.warning("branch stream unavailable: %s", type(error).__name__)
            raise WireError("unavailable") from None
        if not ack.duplicate:
            log.info(
                "registration accepted at the branch",
                extra={"registration_id": accepted.header.registration_id, "seq": ack.seq},
            )
            return receipt(accepted.header)
        first = await self.js.get_msg(self.stream, ack.seq)
        original = read_header(first.data or b"")
        if original.fingerprint != accepted.header.fingerprint:
            raise IdempotencyKeyReused()
        return receipt(original)


def edge_spec(edge: EdgeIntake) -> ServiceSpec:
    return ServiceSpec(
        name="intake",
        version=VERSION_TEXT,
        description="Dossier branch edge: registrations accepted while headquarters is away",
        default_locale=edge.desk.branch.locale,
        metadata={"edge": edge.desk.domain, "branch": edge.desk.branch.code},
        endpoints=[
            Endpoint(
                # headquarters' contract, answered at the branch with the edge's own receipt
                contract=attrs.evolve(
                    CATALOGUE.of(SubmitRegistration),
                    result=EdgeReceipt,
                    max_bytes=EDGE_SUBMIT_MAX_BYTES,
                ),
                handler=edge.submit,
            )
        ],
    )


def edge_branch(config: Config, settings: EdgeSettings) -> Branch:
    """The served branch's rules, from the same configuration's ``[branches]``."""
    branch = config.branch(settings.branch)
    if branch is None:
        allowed = ", ".join(sorted(config.branches))
        raise ValidationError([Problem("edge.branch", "not_allowed_value", {"allowed": allowed})])
    return branch


async def run_edge(path: Path, config: Config) -> None:
    """Serve the branch until SIGTERM/SIGINT; needs only the leaf node, never headquarters."""
    settings = load_edge_settings(path)
    branch = edge_branch(config, settings)
    desk = BranchDesk(
        branch,
        settings.domain,
        sealing.public_key_from(settings.hq_public_key),
        tokens.private_key_from(settings.signing_key_file.read_text().strip()),
    )
    nc = await connect(config.nats, f"dossier-edge-{settings.domain}")
    js = nc.jetstream(domain=settings.domain)
    await ensure_edge_stream(js, branch.code)
    edge = EdgeIntake(desk, js, asyncio.get_running_loop())
    verifier = tokens.TokenVerifier(tokens.public_key_from(config.token_public_key))
    runner = ServiceRunner(nc, edge_spec(edge), verifier)
    await runner.start()
    log.info("edge ready", extra={"branch": branch.code, "domain": settings.domain})
    await until_stopped(f"edge {branch.code}")
    await runner.stop()
    await nc.drain()


PROCESS = Process("edge", "Dossier branch edge: registrations while headquarters is away", run_edge)


def write_new_key(path: Path, private_text: str) -> None:
    """Write a private key readable by its owner only; never overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(private_text + "\n")


def main(argv: list[str] | None = None) -> None:
    """``--config FILE`` runs the edge (`PROCESS`); the key options make a key and exit."""
    parser = argparse.ArgumentParser(
        prog="python -m dossier.intake.edge", description="Dossier branch edge intake"
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--config", type=Path, help="the branch's dossier.toml with [edge]")
    group.add_argument(
        "--new-inbox-key", type=Path, metavar="FILE", help="headquarters: new X25519 inbox key"
    )
    group.add_argument(
        "--new-signing-key", type=Path, metavar="FILE", help="a branch: new Ed25519 edge key"
    )
    args = parser.parse_args(argv)
    if args.new_inbox_key is not None:
        private = sealing.generate_private_key()
        write_new_key(args.new_inbox_key, private)
        print(sealing.public_key_text(sealing.private_key_from(private)))
        return
    if args.new_signing_key is not None:
        private = tokens.generate_private_key()
        write_new_key(args.new_signing_key, private)
        print(tokens.public_key_text(tokens.private_key_from(private)))
        return
    PROCESS.main(["--config", str(args.config)])


if __name__ == "__main__":
    main()

"""Headquarters' edge inbox: registrations accepted at branches, recorded here exactly once.

    python -m dossier.intake.edge_inbox --config /etc/dossier/dossier.toml

Runs beside the intake service at headquarters (any number of instances: they
share one durable consumer). It makes sure the stream ``DOSSIER_EDGE_INBOX``
exists and sources every configured branch's ``DOSSIER_EDGE_<BRANCH>`` across
JetStream domains (``$JS.<domain>.API`` over the leaf link), then consumes it:
each envelope is checked (the branch edge's signature), opened (headquarters'
X25519 key) and applied with `Intake.submit_registration` under the actor the
edge verified and the submission's idempotency key, with the registration id
and time the branch handed out. The message is acked only after that
transaction committed; a redelivery — a crash before the ack, a copy — finds
the idempotency ledger's answer and changes nothing.

A submission headquarters refuses (its rules, the actor's rights, a forged or
unopenable envelope) is parked on ``DOSSIER_PARKED`` and logged with field
names and rule codes, never retried forever; a database fault is retried.

Configuration, in the headquarters ``dossier.toml``::

    [edge]
    inbox_key_files = ["keys/edge-inbox.key"]   # X25519; the first is current, others rotating out

    [edge.branches.SH01]
    domain = "sh01"                              # the branch leaf node's JetStream domain
    signing_public_key = "…"                     # the branch edge's Ed25519 public key
"""

from __future__ import annotations

import asyncio
import logging
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from attrs import frozen
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.aio.msg import Msg
from nats.js.api import (
    ExternalStream,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
)
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from dossier.core.caller import Caller
from dossier.core.contracts.intake import RegistrationReceipt
from dossier.core.errors import Conflict, DossierError, Problem, ValidationError
from dossier.host.config import Config
from dossier.host.process import Process, until_stopped
from dossier.host.runtime import document_store
from dossier.intake import sealing
from dossier.intake.edge import DUPLICATE_WINDOW, KEEP
from dossier.intake.envelope import (
    EnvelopeRefused,
    edge_stream,
    open_envelope,
)
from dossier.intake.handlers import Intake
from dossier.messaging import tokens
from dossier.messaging.connection import connect
from dossier.messaging.events import DurableConsumer, Transient, ensure_streams
from dossier.storage.db import Database
from dossier.storage.errors import StorageError

log = logging.getLogger("dossier.edge_inbox")

INBOX_STREAM = "DOSSIER_EDGE_INBOX"
INBOX_DURABLE = "dossier-edge-inbox"
INBOX_FILTER = "dossier.edge.*.registration"
MAX_DELIVER = 120
"""A database fault is retried with a growing delay (1 s, 2 s, …) for about two hours,
then the submission is parked like a refused one."""
CLOCK_SKEW = timedelta(minutes=5)


@frozen(kw_only=True)
class EdgeBranch:
    code: str
    domain: str
    signing_public_key: str


@frozen(kw_only=True)
class InboxSettings:
    key_files: tuple[Path, ...]
    branches: Mapping[str, EdgeBranch]


def load_inbox_settings(path: Path, environ: Mapping[str, str] | None = None) -> InboxSettings:
    """The ``[edge]`` table of headquarters' configuration; ``DOSSIER_EDGE_INBOX_KEY_FILES``
    (comma-separated) overrides ``inbox_key_files``."""
    env = os.environ if environ is None else environ
    with path.open("rb") as handle:
        edge: dict[str, Any] = tomllib.load(handle).get("edge", {})
    base = path.resolve().parent
    files_env = env.get("DOSSIER_EDGE_INBOX_KEY_FILES")
    names = files_env.split(",") if files_env else edge.get("inbox_key_files", [])
    problems: list[Problem] = []
    if not names:
        problems.append(Problem("edge.inbox_key_files", "required"))
    branches: dict[str, EdgeBranch] = {}
    for code, table in dict(edge.get("branches", {})).items():
        for name in ("domain", "signing_public_key"):
            if not table.get(name):
                problems.append(Problem(f"edge.branches.{code}.{name}", "required"))
        if table.get("domain") and table.get("signing_public_key"):
            branches[code] = EdgeBranch(
                code=code,
                domain=str(table["domain"]),
                signing_public_key=str(table["signing_public_key"]),
            )
    if problems:
        raise ValidationError(problems)
    files = tuple(Path(name) if Path(name).is_absolute() else base / name for name in names)
    return InboxSettings(key_files=files, branches=branches)


def inbox_sources(branches: Mapping[str, EdgeBranch]) -> list[StreamSource]:
    return [
        StreamSource(
            name=edge_stream(branch.code),
            filter_subject=f"dossier.edge.{branch.code}.>",
            external=ExternalStream(api=f"$JS.{branch.domain}.API"),
        )
        for branch in sorted(branches.values(), key=lambda b: b.code)
    ]


async def ensure_inbox_stream(
    js: JetStreamContext, branches: Mapping[str, EdgeBranch], keep: timedelta = KEEP
) -> None:
    """``DOSSIER_EDGE_INBOX`` sourcing every configured branch (idempotent: a branch added
    to the configuration is added to the sources; the others are left as they are).

    No subjects of its own: a stream listening on ``dossier.edge.>`` at headquarters
    would also catch what branches publish while the link is up.
    """
    wanted = inbox_sources(branches)
    try:
        info = await js.stream_info(INBOX_STREAM)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=INBOX_STREAM,
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=keep.total_seconds(),
                duplicate_window=min(DUPLICATE_WINDOW, keep).total_seconds(),
                sources=wanted or None,
            )
        )
        return
    config = info.config
    present = {source.name: source for source in config.sources or []}
    changed = False
    for source in wanted:
        current = present.get(source.name)
        if (
            current is None
            or current.external is None
            or current.external.api != (source.external.api if source.external else None)
        ):
            present[source.name] = source
            changed = True
    if changed:
        config.sources = list(present.values())
        await js.update_stream(config)


def _permanent(error: Exception) -> bool:
    """Refusals that another attempt cannot change; database faults are worth retrying."""
    if isinstance(error, EnvelopeRefused):
        return True
    return isinstance(error, DossierError) and not isinstance(error, Conflict | StorageError)


class EdgeInbox:
    """Opens the envelopes of the configured branches and applies them to `Intake`."""

    def __init__(
        self,
        intake: Intake,
        keys: sealing.KeyRing,
        signers: Mapping[str, Ed25519PublicKey],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.intake = intake
        self.keys = keys
        self.signers = dict(signers)
        self.clock = clock or (lambda: datetime.now(UTC))

    def apply(self, subject: str, raw: bytes) -> RegistrationReceipt:
        """Record one envelope (synchronous: a database transaction); idempotent."""
        header, command = open_envelope(raw, self.signers, self.keys)
        if subject.split(".")[2:3] != [header.branch]:
            raise EnvelopeRefused("subject_mismatch")
        actor = header.actor.actor()
        latest = self.clock() + CLOCK_SKEW
        return self.intake.submit_registration(
            Caller(actor, header.idempotency_key),
            command,
            registration_id=header.registration_id,
            submitted_at=min(header.submitted_at, latest),
        )

    async def handle(self, message: Msg) -> None:
        """The durable consumer's handler: refusals are parked, faults retried."""
        try:
            receipt = await asyncio.to_thread(self.apply, message.subject, message.data)
        except Exception as error:
            if not _permanent(error):
                log.warning("edge submission not applied yet: %s", type(error).__name__)
                raise Transient(type(error).__name__) from error
            log.error(
                "edge submission refused",
                extra={
                    "subject": message.subject,
                    "error": getattr(error, "code", None) or getattr(error, "reason", ""),
                    "problems": [
                        f"{p.field}:{p.rule}"
                        for p in (error.problems() if isinstance(error, DossierError) else ())
                    ],
                },
            )
            raise
        log.info("edge submission recorded", extra={"registration_id": receipt.registration_id})


def key_ring(files: Sequence[Path]) -> sealing.KeyRing:
    return sealing.KeyRing(sealing.private_key_from(f.read_text()) for f in files)


def signers_of(branches: Mapping[str, EdgeBranch]) -> dict[str, Ed25519PublicKey]:
    return {
        code: tokens.public_key_from(branch.signing_public_key) for code, branch in branches.items()
    }


async def run_inbox(path: Path, config: Config) -> None:
    """Consume the branches' submissions until SIGTERM/SIGINT."""
    settings = load_inbox_settings(path)
    db = Database.open(config.storage)
    try:
        intake = Intake(db, config.branches, document_store(config.objects))
        await consume(config, settings, intake)
    finally:
        db.dispose()


async def consume(config: Config, settings: InboxSettings, intake: Intake) -> None:
    inbox = EdgeInbox(intake, key_ring(settings.key_files), signers_of(settings.branches))
    nc = await connect(config.bus("edge-inbox"), INBOX_DURABLE)
    js = nc.jetstream()
    await ensure_streams(js)
    await ensure_inbox_stream(js, settings.branches)
    consumer = DurableConsumer(
        nc,
        js,
        INBOX_DURABLE,
        inbox.handle,
        filter_subject=INBOX_FILTER,
        stream=INBOX_STREAM,
        max_deliver=MAX_DELIVER,
        retry_delay=1.0,
        ack_wait=60.0,
    )
    consuming = asyncio.create_task(consumer.run())
    log.info("edge inbox ready", extra={"branches": sorted(settings.branches)})
    await until_stopped("edge-inbox")
    await consumer.close()
    consuming.cancel()
    await asyncio.gather(consuming, return_exceptions=True)
    await nc.drain()


PROCESS = Process("edge-inbox", "Dossier edge inbox: branch registrations applied at HQ", run_inbox)
main = PROCESS.main

if __name__ == "__main__":
    main()

"""Headquarters' side of the branch edge over a real database and a real nats-server.

An envelope delivered any number of times is one registration, one audit entry,
under the id and time the branch handed out; the inbox stream is created once and
grows a source per configured branch (docs/edge.md).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from dossier.core.branch import Branch
from dossier.core.commands import SubmitRegistration
from dossier.core.enums import Channel
from dossier.core.policy import Actor, Role
from dossier.intake import sealing
from dossier.intake.edge import BranchDesk, ensure_edge_stream
from dossier.intake.edge_inbox import (
    INBOX_STREAM,
    EdgeBranch,
    EdgeInbox,
    ensure_inbox_stream,
)
from dossier.intake.envelope import EnvelopeRefused, edge_stream
from dossier.intake.handlers import Intake
from dossier.messaging import tokens
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.idempotency import IdempotencyKeyReused
from dossier.storage.schema import audit_log, idempotency_keys, registrations
from tests.integration.intake.conftest import BRANCHES, NOW, count
from tests.support.builders import needs, personal
from tests.support.nats import BusServer, sign_in

HQ = sealing.private_key_from(sealing.generate_private_key())
EDGE = tokens.private_key_from(tokens.generate_private_key())
DESK = Actor(id="desk-sh01", roles=frozenset({Role.FRONT_DESK}), branches=frozenset({"SH01"}))
AT_BRANCH = NOW - timedelta(hours=5)


def form(phone: str = "+8613812345678") -> SubmitRegistration:
    return SubmitRegistration(
        branch="SH01",
        channel=Channel.FRONT_DESK,
        applicant=personal(phone=phone),
        needs=needs(),
    )


def desk() -> BranchDesk:
    return BranchDesk(
        Branch(code="SH01", name="Shanghai"),
        "sh01",
        HQ.public_key(),
        EDGE,
        clock=lambda: AT_BRANCH,
    )


def test_an_envelope_delivered_again_and_again_is_one_registration(
    db: Database, documents: DocumentStore
) -> None:
    intake = Intake(db, BRANCHES, documents, clock=lambda: NOW)
    inbox = EdgeInbox(intake, sealing.KeyRing([HQ]), {"SH01": EDGE.public_key()}, lambda: NOW)
    accepted = desk().accept(DESK, "key-0000000001", form())
    subject = "dossier.edge.SH01.registration"

    receipts = [inbox.apply(subject, accepted.payload) for _ in range(3)]

    assert len({r.registration_id for r in receipts}) == 1
    assert receipts[0].registration_id == accepted.header.registration_id
    assert receipts[0].submitted_at == AT_BRANCH
    assert count(db, registrations) == 1
    assert count(db, audit_log, audit_log.c.action == "registration.submitted") == 1
    assert count(db, idempotency_keys) == 1

    # the same key for another form, under the same actor: refused, nothing written
    other = desk().accept(DESK, "key-0000000001", form(phone="+8613900000000"))
    with pytest.raises(IdempotencyKeyReused):
        inbox.apply(subject, other.payload)
    with pytest.raises(EnvelopeRefused):
        inbox.apply(subject, accepted.payload.replace(b"desk-sh01", b"desk-sh02"))
    assert count(db, registrations) == 1


def test_the_inbox_stream_is_created_once_and_sources_every_configured_branch(
    nats_own_server: BusServer,
) -> None:
    sh01 = EdgeBranch(code="SH01", domain="sh01", signing_public_key="k")
    hk01 = EdgeBranch(code="HK01", domain="hk01", signing_public_key="k")

    async def main() -> None:
        nc = await sign_in(nats_own_server.url_for("ops"))
        try:
            js = nc.jetstream()
            await ensure_inbox_stream(js, {"SH01": sh01})
            await ensure_inbox_stream(js, {"SH01": sh01})
            info = await js.stream_info(INBOX_STREAM)
            assert [s.name for s in info.config.sources or []] == [edge_stream("SH01")]
            assert not info.config.subjects
            await ensure_inbox_stream(js, {"HK01": hk01})
            info = await js.stream_info(INBOX_STREAM)
            sources = {s.name: s for s in info.config.sources or []}
            assert set(sources) == {edge_stream("SH01"), edge_stream("HK01")}
            external = sources[edge_stream("HK01")].external
            assert external is not None
            assert external.api == "$JS.hk01.API"
            assert sources[edge_stream("HK01")].filter_subject == "dossier.edge.HK01.>"

            await ensure_edge_stream(js, "SH01")
            await ensure_edge_stream(js, "SH01")
            branch = await js.stream_info(edge_stream("SH01"))
            assert branch.config.subjects == ["dossier.edge.SH01.>"]
            assert branch.config.duplicate_window == timedelta(days=7).total_seconds()
        finally:
            await nc.close()

    asyncio.run(main())

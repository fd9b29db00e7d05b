"""Every problem at once, over a real nats-server and the real intake service (on SQLite).

A ``registration.submit`` body with a bad enum, a bad date, an unknown key and a bad
phone gets one ``validation_failed`` answer naming all four fields (issue 13, item 7):
the shape problems of strict structuring and the branch's field rules together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from dossier.core import wire
from dossier.core.branch import Branch
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Role
from dossier.intake.handlers import Intake
from dossier.intake.service import spec
from dossier.messaging.client import DossierClient, RemoteError
from dossier.messaging.service import ServiceRunner
from dossier.messaging.tokens import (
    TokenIssuer,
    TokenVerifier,
    generate_private_key,
    private_key_from,
)
from dossier.storage.db import Database, create_engine
from dossier.storage.documents import DocumentStore
from dossier.storage.keys import MasterKey
from dossier.storage.migrations import upgrade
from dossier.storage.objects import LocalObjectStore
from dossier.storage.schema import registrations
from tests.support.builders import BRANCH, submission
from tests.support.nats import BusServer, sign_in

PRIVATE = private_key_from(generate_private_key())
ISSUER = TokenIssuer(PRIVATE)
VERIFIER = TokenVerifier(PRIVATE.public_key())
DESK = Actor(id="desk-1", roles={Role.FRONT_DESK}, branches={BRANCH})


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[Intake]:
    url = f"sqlite:///{tmp_path / 'dossier.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    db = Database(url, MasterKey.generate())
    objects = LocalObjectStore(tmp_path / "objects")
    objects.ensure_bucket("documents")
    branches = {BRANCH: Branch(code=BRANCH, name="上海一校")}
    yield Intake(db, branches, DocumentStore(objects, "documents"), PluginHost({}))
    db.dispose()


def test_a_submission_with_four_problems_gets_one_answer_naming_all_four(
    nats_session_server: BusServer, intake: Intake
) -> None:
    data: dict[str, Any] = wire.unstructure(submission())
    data.update(channel="fax", nickname="Xiao Zhang")
    data["applicant"].update(birth_date="1990-13-45", phone="12345")
    answers: dict[str, Any] = {}

    async def main() -> None:
        service_nc = await sign_in(nats_session_server.url_for("intake"))
        client_nc = await sign_in(nats_session_server.url_for("staff"))
        runner = ServiceRunner(service_nc, spec(intake), VERIFIER)
        await runner.start()
        try:
            desk = DossierClient(client_nc, ISSUER.issue(DESK), timeout=5, locale="en")
            with pytest.raises(RemoteError) as refused:
                await desk.request("registration.submit", orjson.dumps(data))
            answers["refused"] = refused.value
            answers["valid"] = await desk.send(submission())
        finally:
            await runner.stop()
            for nc in (service_nc, client_nc):
                await nc.close()

    asyncio.run(main())

    refused: RemoteError = answers["refused"]
    assert (refused.code, refused.status) == ("validation_failed", 400)
    assert [(p.field, p.rule) for p in refused.problems] == [
        ("channel", "not_allowed_value"),
        ("applicant.birth_date", "wrong_type"),
        ("nickname", "unknown_field"),
        ("applicant.phone", "phone_format"),
    ]
    assert all(p.message for p in refused.problems)
    assert answers["valid"].status.value == "submitted"  # a well-shaped body goes through
    with intake.db.engine.connect() as conn:  # the refused one left nothing behind
        assert conn.execute(select(func.count()).select_from(registrations)).scalar_one() == 1

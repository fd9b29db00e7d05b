"""``registration.status``: an applicant checks their registration with the reference on the
receipt and their birth date — in-process on SQLite and PostgreSQL, and over NATS, where the
endpoint, its operation and its schemas are announced on ``$SRV.INFO`` from its contract alone.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import attrs
import pytest

from dossier.core.caller import Caller
from dossier.core.contracts.intake import CheckRegistration, RegistrationStatusView
from dossier.core.enums import Locale, RegistrationStatus
from dossier.core.errors import AccessDenied, NotFound
from dossier.core.messages import DEFAULT_CATALOGUE
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
from tests.integration.intake.conftest import OFFICER
from tests.integration.intake.handler_helpers import (
    OFFICER_BJ,
    applicant,
    approve,
    keyed,
    submitted,
)
from tests.support.builders import BRANCH, submission
from tests.support.nats import BusServer, sign_in


def applicant_of(branch: str) -> Caller:
    """Who asks from the public page: the gateway's applicant token for the chosen branch."""
    return Caller(Actor(id="web:applicant", roles={Role.STUDENT}, branches={branch}))


BIRTH = applicant(1).birth_date


def check(intake: Intake, who: Caller, registration_id: str, birth: date) -> Any:
    return intake.registration_status(
        who, CheckRegistration(registration_id=registration_id, birth_date=birth)
    )


def refusal(intake: Intake, who: Caller, registration_id: str, birth: date) -> NotFound:
    with pytest.raises(NotFound) as refused:
        check(intake, who, registration_id, birth)
    return refused.value


def test_the_applicant_sees_the_status_and_nothing_else(intake: Intake) -> None:
    rid = submitted(intake, 1)
    answer = check(intake, applicant_of("SH01"), rid, BIRTH)
    assert answer == RegistrationStatusView(
        registration_id=rid, status=RegistrationStatus.SUBMITTED
    )
    assert [a.name for a in attrs.fields(RegistrationStatusView)] == ["registration_id", "status"]


def test_the_status_follows_the_review(intake: Intake) -> None:
    rid = submitted(intake, 1)
    intake.review_registration(keyed(OFFICER), approve(rid))
    assert check(intake, applicant_of("SH01"), rid, BIRTH).status is RegistrationStatus.ACCEPTED


def test_an_unknown_reference_and_a_wrong_birth_date_answer_identically(intake: Intake) -> None:
    rid = submitted(intake, 1)
    wrong_birth = refusal(intake, applicant_of("SH01"), rid, date(1990, 1, 1))
    unknown = "00000000-0000-4000-8000-000000000000"
    no_such = refusal(intake, applicant_of("SH01"), unknown, BIRTH)
    assert (
        (wrong_birth.code, wrong_birth.kind)
        == (no_such.code, no_such.kind)
        == (
            "not_found",
            "registration",
        )
    )
    for locale in Locale:  # the same words, but for the reference the asker typed
        said = wrong_birth.message(locale, DEFAULT_CATALOGUE).replace(rid, "REF")
        assert said == no_such.message(locale, DEFAULT_CATALOGUE).replace(unknown, "REF")


def test_staff_of_another_branch_get_not_found_the_reference_alone_is_the_proof(
    intake: Intake,
) -> None:
    """Staff are scoped to their branches; an applicant's token names the branch they chose
    on the form, but the reference and the birth date are what prove the registration theirs."""
    rid = submitted(intake, 1)
    assert refusal(intake, OFFICER_BJ, rid, BIRTH).code == "not_found"
    assert check(intake, applicant_of("BJ01"), rid, BIRTH).status is RegistrationStatus.SUBMITTED


def test_a_role_without_the_operation_is_denied_before_anything_is_looked_up(
    intake: Intake,
) -> None:
    rid = submitted(intake, 1)
    reviewer = Caller(Actor(id="reviewer", roles={Role.REVIEWER}, branches={"SH01"}))
    with pytest.raises(AccessDenied):
        check(intake, reviewer, rid, BIRTH)


# -- over NATS: the contract alone puts the endpoint on the bus ----------------------------

PRIVATE = private_key_from(generate_private_key())
ISSUER = TokenIssuer(PRIVATE)


def test_over_nats_announced_routed_and_identical_refusals(
    nats_session_server: BusServer, intake: Intake
) -> None:
    seen: dict[str, Any] = {}
    birth = submission().applicant.birth_date

    async def main() -> None:
        service_nc = await sign_in(nats_session_server.url_for("intake"))
        client_nc = await sign_in(nats_session_server.url_for("staff"))
        runner = ServiceRunner(service_nc, spec(intake), TokenVerifier(PRIVATE.public_key()))
        await runner.start()
        try:
            info = await client_nc.request("$SRV.INFO.dossier-intake", b"", timeout=2)
            seen["info"] = json.loads(info.data)
            desk = DossierClient(
                client_nc,
                ISSUER.issue(Actor(id="desk", roles={Role.FRONT_DESK}, branches={BRANCH})),
            )
            receipt = await desk.send(submission())
            public = DossierClient(
                client_nc,
                ISSUER.issue(Actor(id="web:applicant", roles={Role.STUDENT}, branches={BRANCH})),
                locale="en",
            )
            seen["status"] = await public.send(
                CheckRegistration(registration_id=receipt.registration_id, birth_date=birth)
            )
            with pytest.raises(RemoteError) as unknown:
                await public.send(CheckRegistration(registration_id="REF-0001", birth_date=birth))
            seen["unknown"] = unknown.value
            with pytest.raises(RemoteError) as wrong_birth:
                await public.send(
                    CheckRegistration(
                        registration_id=receipt.registration_id, birth_date=date(1990, 1, 1)
                    )
                )
            seen["wrong_birth"] = wrong_birth.value
            stats = await client_nc.request("$SRV.STATS.dossier-intake", b"", timeout=2)
            seen["stats"] = json.loads(stats.data)
            seen["receipt"] = receipt
        finally:
            await runner.stop()
            for nc in (service_nc, client_nc):
                await nc.close()

    asyncio.run(main())

    endpoints = {e["name"]: e for e in seen["info"]["endpoints"]}
    announced = endpoints["registration-status"]
    assert announced["subject"] == "dossier.intake.registration.status"
    metadata = announced["metadata"]
    assert (metadata["operation"], metadata["changes"]) == ("registration.status", "false")
    request_schema = json.loads(metadata["request_schema"])
    assert request_schema["required"] == ["registration_id", "birth_date"]
    assert request_schema["properties"]["birth_date"] == {"type": "string", "format": "date"}
    assert set(json.loads(metadata["response_schema"])["properties"]) == {
        "registration_id",
        "status",
    }
    assert seen["status"].status is RegistrationStatus.SUBMITTED
    wrong_birth: RemoteError = seen["wrong_birth"]
    for refused in (wrong_birth, seen["unknown"]):
        assert (refused.code, refused.status, refused.problems) == ("not_found", 404, ())
    rid = seen["receipt"].registration_id
    assert wrong_birth.message.replace(rid, "REF-0001") == seen["unknown"].message
    # failures count where standard NATS tooling looks (nats.micro's own tallies)
    tallies = {e["name"]: e for e in seen["stats"]["endpoints"]}
    assert tallies["registration-status"]["num_errors"] == 2
    assert tallies["registration-status"]["last_error"] == "404 not_found"
    assert tallies["registration-submit"]["num_errors"] == 0

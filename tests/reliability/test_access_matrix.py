"""The access matrix through NATS, generated from the policy, and every kind of bad actor token.

One stack for the module (PostgreSQL, nats-server, the three service
processes); the seeded records are in SH01. See `tests.reliability.matrix`
for what each cell must answer.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from dossier.core.policy import Role
from dossier.storage.data_map import classify_object
from dossier.storage.objects import LocalObjectStore
from tests.reliability.endpoints import Declared, Seeds, declared, discover, seed
from tests.reliability.matrix import VERB_OPERATION, Assessment, MatrixReport, assess, unmapped
from tests.support.nats import sign_in
from tests.support.stack import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
T = TypeVar("T")


def run(stack: Stack, work: Callable[[Any], Awaitable[T]]) -> T:
    async def main() -> T:
        nc = await sign_in(stack.url_for("staff"), max_reconnect_attempts=0)
        try:
            return await work(nc)
        finally:
            await nc.close()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def world(services: Stack) -> tuple[Stack, dict[str, Declared], Seeds]:
    announced = run(services, discover)
    endpoints = declared()
    assert set(announced) == set(endpoints), "the running services and their specs differ"
    seeds = run(services, lambda nc: seed(services, nc))
    return services, endpoints, seeds


@pytest.fixture(scope="module")
def assessment(world: tuple[Stack, dict[str, Declared], Seeds]) -> Assessment:
    stack, endpoints, seeds = world
    started = time.monotonic()
    result = run(stack, lambda nc: assess(stack, nc, endpoints, seeds))
    print(f"\naccess assessment in {time.monotonic() - started:.1f}s: {result.counts()}")
    return result


def test_every_announced_endpoint_is_mapped_to_a_policy_operation(
    world: tuple[Stack, dict[str, Declared], Seeds],
) -> None:
    """A new endpoint fails here until `VERB_OPERATION` says which operation guards it."""
    _, endpoints, _ = world
    assert unmapped(endpoints) == ""
    assert set(endpoints) == set(VERB_OPERATION)


def _describe(report: MatrixReport) -> str:
    lines = [
        f"{o.cell.verb} × {o.cell.role.value}/{o.cell.scope}: policy "
        f"{'allows' if o.cell.allowed else 'denies (' + str(o.cell.reason) + ')'}, got "
        f"{o.reply.code} {o.reply.message!r} → {o.problem}"
        for o in (*report.internal_errors, *report.leaks, *report.over_denials)
    ]
    return "\n".join(lines[:60])


def test_the_full_matrix_role_endpoint_branch_answers_as_the_policy_says(
    world: tuple[Stack, dict[str, Declared], Seeds], assessment: Assessment
) -> None:
    _, endpoints, _ = world
    report = assessment.matrix
    print(f"\nmatrix answers: {dict(Counter(o.reply.code for o in report.outcomes))}")
    assert report.cells == len(endpoints) * len(Role) * 2
    assert report.allowed
    assert report.denied
    problems = [*report.internal_errors, *report.leaks, *report.over_denials]
    assert problems == [], _describe(report)
    # the bodies got past structuring: every denied cell met the policy check itself
    denied = {o.cell.verb for o in report.outcomes if not o.cell.allowed}
    refused = {
        o.cell.verb for o in report.outcomes if o.reply.code in {"access_denied", "not_found"}
    }
    assert denied == refused == set(endpoints)


def test_bad_tokens_are_refused_on_every_endpoint_with_the_documented_code(
    world: tuple[Stack, dict[str, Declared], Seeds], assessment: Assessment
) -> None:
    _, endpoints, _ = world
    report = assessment.tokens
    assert report.requests >= len(endpoints) * 10
    assert report.wrong == []


def test_an_actor_who_may_not_see_a_student_cannot_tell_whether_the_number_exists(
    assessment: Assessment,
) -> None:
    differing = assessment.probes_differing
    shown = sorted({f"{p.verb} as {p.role.value}: {p.existing}/{p.missing}" for p in differing})
    print(f"\nexistence probes: {len(differing)} of {assessment.probes_sent // 2} differ: {shown}")
    assert assessment.probes_sent > 0
    assert differing == []


def test_every_object_the_stack_wrote_is_classified_by_the_data_map(
    world: tuple[Stack, dict[str, Declared], Seeds], assessment: Assessment
) -> None:
    """Documents, backup parts and manifests, the destruction ledger: all in the data map."""
    stack, _, _ = world
    config = stack.config().objects
    assert config.kind == "local"
    assert config.path is not None
    store = LocalObjectStore(config.path)
    roles = {"documents": config.documents_bucket, "backups": config.backups_bucket}
    seen = 0
    for role, bucket in roles.items():
        for info in store.list(bucket):
            seen += 1
            assert classify_object(role, info.key) is not None, f"{bucket}: {info.key}"
    assert seen >= 4

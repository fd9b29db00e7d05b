"""Issue 16's bus attacks fail: every install's bus is authenticated and least-privileged, and
the gateway's tokens are worth nothing on any other connection (`bus_attacks`)."""

from __future__ import annotations

import asyncio

import pytest

from tests.reliability.bus_attacks import ATTACKS
from tests.support.stack import Stack


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_the_attack_fails(services: Stack, name: str) -> None:
    assert asyncio.run(ATTACKS[name](services)) == 0

"""Fixtures every test layer may use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.nats import BusServer
from tests.support.nats import nats_server as _nats_server

# Under pytest-xdist (`python3 dev.py test`) the workers share the cores with each other's
# servers and browsers, so how long one Hypothesis example took says nothing about the code:
# its per-example deadline (200 ms) is off there. Every example and assertion still runs.
settings.register_profile("xdist", deadline=None)
if os.environ.get("PYTEST_XDIST_WORKER"):
    settings.load_profile("xdist")


@pytest.fixture(scope="session")
def nats_session_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BusServer]:
    """One nats-server with JetStream for the session; tests that kill it use `nats_own_server`."""
    with _nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def nats_own_server(tmp_path: Path) -> Iterator[BusServer]:
    """A nats-server this test alone uses, free to kill and restart."""
    with _nats_server(tmp_path) as server:
        yield server

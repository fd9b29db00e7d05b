"""Fixtures every test layer may use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dossier.messaging.embedded import NatsServer
from tests.support.nats import nats_server as _nats_server


@pytest.fixture(scope="session")
def nats_session_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server with JetStream for the session; tests that kill it use `nats_own_server`."""
    with _nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def nats_own_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server this test alone uses, free to kill and restart."""
    with _nats_server(tmp_path) as server:
        yield server

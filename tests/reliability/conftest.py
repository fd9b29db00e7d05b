"""Fixtures for the reliability and security suite: real PostgreSQL, NATS and service processes.

Each module that needs the running services gets its own stack (`services`,
module-scoped): a fresh migrated database, its own nats-server, and the
intake, approvals and retention processes on a local object store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dossier.storage.migrations import upgrade
from tests.support.nats import nats_server
from tests.support.postgres import postgres_server_url, throwaway_database
from tests.support.stack import Stack, stack

__all__ = ["postgres_server_url"]

SERVICES = ("intake", "approvals", "retention")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, postgres_server_url: str) -> Iterator[Stack]:
    """intake, approvals and retention serving on this module's own database and NATS."""
    folder = tmp_path_factory.mktemp("reliability")
    with (
        throwaway_database(postgres_server_url) as url,
        nats_server(folder / "nats") as nats,
    ):
        upgrade(url)  # Stack's environment turns the metrics port off: three services, one host
        with stack(folder / "home", url, nats) as running:
            for service in SERVICES:
                running.start(service)
            for service in SERVICES:
                running.wait_until_serving(service)
            yield running

"""Fixtures for end-to-end tests: real NATS, real PostgreSQL, real service processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dossier.storage.migrations import upgrade
from tests.support.nats import BusServer
from tests.support.postgres import postgres_server_url, throwaway_database
from tests.support.stack import Stack, stack

__all__ = ["postgres_server_url"]


@pytest.fixture
def fresh_database(postgres_server_url: str) -> Iterator[str]:
    """A new, migrated PostgreSQL database for this test alone."""
    with throwaway_database(postgres_server_url) as url:
        upgrade(url)
        yield url


@pytest.fixture
def dossier_stack(
    tmp_path: Path, fresh_database: str, nats_own_server: BusServer
) -> Iterator[Stack]:
    """A configured data folder on this test's database and NATS server; no service started."""
    with stack(tmp_path / "home", fresh_database, nats_own_server) as running:
        yield running

"""Fixtures for integration tests: real servers, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dossier.storage.objects import S3ObjectStore
from tests.support.postgres import postgres_database_url, postgres_server_url
from tests.support.s3 import S3Server, moto_server

__all__ = ["postgres_database_url", "postgres_server_url"]  # PostgreSQL fixtures, shared


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server in a subprocess; its endpoint is ``127.0.0.1:<port>``."""
    with moto_server() as server:
        yield server


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3ObjectStore:
    """A fresh client on the shared server; use ``unique_bucket()`` for bucket names."""
    return S3ObjectStore(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        region=s3_server.region,
    )

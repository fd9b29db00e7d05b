"""The gateway in front of the real intake and approvals services (and retention, for its pages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dossier.core.enums import Locale
from dossier.core.policy import Role
from dossier.gateway.accounts import AccountStore
from dossier.messaging.embedded import NatsServer, free_port
from dossier.storage.db import Database
from dossier.storage.migrations import upgrade
from tests.support.postgres import throwaway_database
from tests.support.stack import Stack, stack

PASSWORD = "correct horse battery"


class Site:
    """The running gateway, and a way to make accounts for the test's people."""

    def __init__(self, stack: Stack, base: str) -> None:
        self.stack = stack
        self.base = base
        self._db = Database.open(stack.config().storage, upgrade=False)
        self.accounts = AccountStore(self._db)

    def staff(self, login: str, *roles: Role, branch: str = "SH01") -> str:
        self.accounts.create(login, PASSWORD, roles, [branch], locale=Locale.EN)
        return login

    def invite(self, student_number: str, branch: str = "SH01") -> str:
        return f"{self.base}/activate/{self.accounts.invite_student(student_number, branch)}"

    def close(self) -> None:
        self._db.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, postgres_server_url: str) -> Iterator[Site]:
    """One stack per test module (starting four processes costs seconds): tests make their
    own accounts and records, so they do not see each other's."""
    folder = tmp_path_factory.mktemp("gateway")
    server = NatsServer(store_dir=folder / "nats")
    server.start()
    try:
        with throwaway_database(postgres_server_url) as url:
            upgrade(url)
            with stack(folder / "home", url, server.url) as running:
                for service in ("intake", "approvals", "retention"):
                    running.start(service)
                for service in ("intake", "approvals", "retention"):
                    running.wait_until_serving(service)
                site = Site(running, running.start_gateway(free_port()))
                try:
                    yield site
                finally:
                    site.close()
    finally:
        server.stop()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where browser tests keep their screenshots (kept after the run: test-artifacts/)."""
    folder = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder

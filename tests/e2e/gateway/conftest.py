"""The gateway in front of the real intake and approvals services (and retention, for its pages)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from dossier.core.enums import Locale
from dossier.core.policy import Role
from dossier.gateway.accounts import AccountStore
from dossier.messaging.embedded import free_port
from dossier.storage import confidentiality
from dossier.storage.db import Database
from dossier.storage.migrations import upgrade
from tests.support.nats import bus_server
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

    def staff(
        self, login: str, *roles: Role, branch: str = "SH01", acknowledged: bool = True
    ) -> str:
        """A staff account; ``acknowledged``: it has acknowledged the branch's current
        confidentiality policy, if one is published (so it sees data as its role allows)."""
        self.accounts.create(login, PASSWORD, roles, [branch], locale=Locale.EN)
        if acknowledged:
            with self._db.engine.begin() as conn:
                policy = confidentiality.current_policy(conn, branch)
                if policy is not None:
                    at = datetime.now(UTC)
                    confidentiality.acknowledge(conn, f"web:{login}", branch, policy.version, at)
        return login

    def invite(self, student_number: str, branch: str = "SH01") -> str:
        return f"{self.base}/activate/{self.accounts.invite_student(student_number, branch)}"

    def close(self) -> None:
        self._db.dispose()


@contextmanager
def running_site(folder: Path, postgres_server_url: str) -> Iterator[Site]:
    """The three services and the gateway on a fresh database and a nats-server of their own."""
    server = bus_server(folder / "nats")
    server.start()
    try:
        with throwaway_database(postgres_server_url) as url:
            upgrade(url)
            with stack(folder / "home", url, server) as running:
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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, postgres_server_url: str) -> Iterator[Site]:
    """One stack per test module (starting four processes costs seconds): tests make their
    own accounts and records, so they do not see each other's."""
    with running_site(tmp_path_factory.mktemp("gateway"), postgres_server_url) as site:
        yield site


ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (Debian's package; `python3 dev.py test` installs it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `python3 dev.py test`, which installs it")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """``new_page(locale="en")``: a fresh browser context (own cookies) per person in a test."""
    contexts: list[BrowserContext] = []

    def make(locale: str = "zh-CN", phone: bool = False) -> Page:
        context = browser.new_context(
            locale=locale,
            viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900},
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the page as test-artifacts/screenshots/<name>.png (full page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, base: str, login: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/signin")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")

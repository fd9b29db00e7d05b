"""Run the gateway: ``dossier-gateway --config dossier-data/dossier.toml`` (uvicorn), or
``dossier-run gateway --config …``."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from dossier.gateway.app import create_app
from dossier.gateway.settings import load_settings
from dossier.host.config import Config
from dossier.host.process import Process
from dossier.storage.db import Database


async def run(path: Path, _: Config) -> None:
    """The web pages until SIGTERM/SIGINT (uvicorn's own handlers drain the connections)."""
    settings = load_settings(path)
    db = Database.open(settings.config.storage, upgrade=False)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,  # AccessLog logs requests without one-time codes
            proxy_headers=True,
            server_header=False,
        )
    )
    try:
        await server.serve()
    finally:
        db.dispose()


PROCESS = Process("gateway", "Dossier web gateway: forms, student pages, staff console", run)
main = PROCESS.main

if __name__ == "__main__":
    main()

"""Run the gateway: ``dossier-gateway --config dossier-data/dossier.toml`` (uvicorn)."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from dossier.gateway.app import create_app
from dossier.gateway.settings import load_settings
from dossier.messaging.logs import configure_logging
from dossier.storage.db import Database


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dossier-gateway", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args(argv)
    configure_logging("gateway")
    settings = load_settings(args.config)
    db = Database.open(settings.config.storage, upgrade=False)
    try:
        uvicorn.run(
            create_app(settings, db),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,  # AccessLog logs requests without one-time codes
            proxy_headers=True,
            server_header=False,
        )
    finally:
        db.dispose()


if __name__ == "__main__":
    main()

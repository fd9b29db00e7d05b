"""The gateway's settings: the system configuration plus its own ``[gateway]`` table.

=============================  ==============================
setting                        environment variable
=============================  ==============================
gateway.host                   DOSSIER_GATEWAY_HOST
gateway.port                   DOSSIER_GATEWAY_PORT
gateway.session_key_file       DOSSIER_GATEWAY_SESSION_KEY_FILE
gateway.secure_cookies         DOSSIER_GATEWAY_SECURE_COOKIES
gateway.public_url             DOSSIER_GATEWAY_PUBLIC_URL
=============================  ==============================

The gateway signs actor tokens, so it needs ``keys.token_private_key_file``;
its session cookies are signed with the session key (created by ``dossier
init``). Behind TLS, set ``secure_cookies = true``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import frozen

from dossier.host.config import Config, load_config


@frozen(kw_only=True)
class GatewaySettings:
    config: Config
    host: str = "127.0.0.1"
    port: int = 8080
    session_key: str
    secure_cookies: bool = False
    public_url: str = "http://127.0.0.1:8080"
    session_hours: int = 8
    token_minutes: int = 5
    """Each NATS request carries a token this short-lived, minted from the session."""


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> GatewaySettings:
    env = os.environ if environ is None else environ
    config = load_config(path, env)
    with path.open("rb") as handle:
        table: dict[str, Any] = tomllib.load(handle).get("gateway", {})
    key_file = env.get("DOSSIER_GATEWAY_SESSION_KEY_FILE") or table.get(
        "session_key_file", "keys/session.key"
    )
    key_path = Path(key_file) if Path(key_file).is_absolute() else config.base_dir / key_file
    port = int(env.get("DOSSIER_GATEWAY_PORT") or table.get("port", 8080))
    host = env.get("DOSSIER_GATEWAY_HOST") or table.get("host", "127.0.0.1")
    secure = env.get("DOSSIER_GATEWAY_SECURE_COOKIES")
    return GatewaySettings(
        config=config,
        host=host,
        port=port,
        session_key=key_path.read_text(encoding="utf-8").strip(),
        secure_cookies=_truthy(secure) if secure else bool(table.get("secure_cookies", False)),
        public_url=env.get("DOSSIER_GATEWAY_PUBLIC_URL")
        or table.get("public_url", f"http://{host}:{port}"),
    )

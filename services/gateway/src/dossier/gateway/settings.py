"""The gateway's settings: the system configuration plus its own ``[gateway]`` table.

=============================  ==============================
setting                        environment variable
=============================  ==============================
gateway.host                   DOSSIER_GATEWAY_HOST
gateway.port                   DOSSIER_GATEWAY_PORT
gateway.session_key_file       DOSSIER_GATEWAY_SESSION_KEY_FILE
gateway.secure_cookies         DOSSIER_GATEWAY_SECURE_COOKIES
gateway.public_url             DOSSIER_GATEWAY_PUBLIC_URL
gateway.session_idle_minutes   DOSSIER_GATEWAY_SESSION_IDLE_MINUTES
gateway.session_hours          DOSSIER_GATEWAY_SESSION_HOURS
gateway.max_body_bytes         DOSSIER_GATEWAY_MAX_BODY_BYTES
gateway.signin_failures_per_address  DOSSIER_GATEWAY_SIGNIN_FAILURES_PER_ADDRESS
gateway.registrations_per_address    DOSSIER_GATEWAY_REGISTRATIONS_PER_ADDRESS
=============================  ==============================

The gateway signs actor tokens, so it needs ``keys.token_private_key_file``;
its session cookies are signed with the session key (created by ``dossier
init``). Behind TLS, set ``secure_cookies = true`` (an ``https`` ``public_url``
implies it): cookies are then Secure and every answer carries HSTS; a request
that arrives over https (directly or from a trusted proxy) gets both anyway.

A session ends after ``session_idle_minutes`` without a request and
``session_hours`` after signing in, whatever happens. The per-address limits
count within ``rate_window_minutes`` and are kept in each gateway process's
memory (several gateway processes each count their own).
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
    session_hours: float = 8
    """A session ends this long after signing in (the absolute timeout)."""
    session_idle_minutes: float = 30
    """A session ends after this long without a request (the idle timeout)."""
    token_minutes: int = 5
    """Each NATS request carries a token this short-lived, minted from the session."""
    max_body_bytes: int = 1024 * 1024
    """A request body larger than this is refused (413) before it is read: the largest form
    is an import file of 650 KiB."""
    max_json_depth: int = 32
    """JSON nested deeper than this is refused (400)."""
    rate_window_minutes: float = 15
    signin_failures_per_address: int = 20
    """Refused sign-ins from one client address within the window before it must wait."""
    registrations_per_address: int = 20
    """Online registrations (form or JSON) from one client address within the window."""

    @property
    def tls(self) -> bool:
        """Served over TLS (behind a proxy that terminates it): Secure cookies and HSTS."""
        return self.secure_cookies or self.public_url.lower().startswith("https://")


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

    def number(name: str, default: float) -> float:
        value = env.get(f"DOSSIER_GATEWAY_{name.upper()}") or table.get(name, default)
        return float(value)

    return GatewaySettings(
        config=config,
        host=host,
        port=port,
        session_key=key_path.read_text(encoding="utf-8").strip(),
        secure_cookies=_truthy(secure) if secure else bool(table.get("secure_cookies", False)),
        public_url=env.get("DOSSIER_GATEWAY_PUBLIC_URL")
        or table.get("public_url", f"http://{host}:{port}"),
        session_hours=number("session_hours", 8),
        session_idle_minutes=number("session_idle_minutes", 30),
        max_body_bytes=int(number("max_body_bytes", 1024 * 1024)),
        max_json_depth=int(number("max_json_depth", 32)),
        rate_window_minutes=number("rate_window_minutes", 15),
        signin_failures_per_address=int(number("signin_failures_per_address", 20)),
        registrations_per_address=int(number("registrations_per_address", 20)),
    )

"""Connecting to NATS: reconnect forever with backoff, log state changes, one inbox per user."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from attrs import field, frozen
from nats.aio.client import Client

log = logging.getLogger("dossier.runtime")


@frozen(kw_only=True)
class NatsSettings:
    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    credentials_file: Path | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    name: str = "dossier"
    user: str | None = None
    """The NATS user to sign in as, with `password`; None: the servers' URLs say who (or nobody)."""
    password: str | None = field(default=None, repr=False)


def inbox_prefix(servers: Sequence[str], user: str | None = None) -> str:
    """``_INBOX_<user>`` for a connection that signs in as a NATS user, else ``_INBOX``.

    Replies come back on the requester's inbox; with one prefix per user, the
    server's permissions (deploy/nats/accounts.conf) let each user subscribe to its
    own inboxes only, so nobody can listen to the answers meant for another.
    """
    if user:
        return f"_INBOX_{user}"
    for server in servers:
        user = urlparse(server if "://" in server else f"nats://{server}").username
        if user:
            return f"_INBOX_{user}"
    return "_INBOX"


def _without_user(server: str) -> str:
    parsed = urlparse(server if "://" in server else f"nats://{server}")
    return parsed._replace(netloc=parsed.netloc.rpartition("@")[2]).geturl()


async def connect(settings: NatsSettings, name: str) -> Client:
    """A connection that reconnects forever with backoff and logs its state changes."""
    nc = Client()

    async def disconnected() -> None:
        if not nc.is_closed:  # closing on purpose is no news
            log.warning("nats disconnected", extra={"service": name})

    async def reconnected() -> None:
        log.info("nats reconnected", extra={"service": name})

    async def error(exc: Exception) -> None:
        log.warning("nats error: %s", type(exc).__name__, extra={"service": name})

    tls: ssl.SSLContext | None = None
    if settings.tls_ca_file is not None:
        tls = ssl.create_default_context(cafile=str(settings.tls_ca_file))
        if settings.tls_cert_file is not None and settings.tls_key_file is not None:
            tls.load_cert_chain(str(settings.tls_cert_file), str(settings.tls_key_file))
    servers = list(settings.servers)
    if settings.user is not None:  # its own user, not whoever the URLs name
        servers = [_without_user(server) for server in servers]
    await nc.connect(
        servers=servers,
        user=settings.user,
        password=settings.password,
        name=name,
        user_credentials=str(settings.credentials_file) if settings.credentials_file else None,
        tls=tls,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,  # type: ignore[arg-type]  # annotated int, sleeps a float
        connect_timeout=5,
        inbox_prefix=inbox_prefix(settings.servers, settings.user),
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
        error_cb=error,
    )
    return nc

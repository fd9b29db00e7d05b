"""`dossier init`: a data folder with a commented configuration and freshly generated keys."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dossier.host.bus import ensure_secrets
from dossier.messaging.embedded import free_port, port_is_free
from dossier.messaging.tokens import generate_private_key, private_key_from, public_key_text
from dossier.retention.archive import BackupKey
from dossier.storage.keys import MasterKey

CONFIG_NAME = "dossier.toml"

TEMPLATE = """\
# Dossier configuration (学员档案系统配置).
# Every setting can be overridden by an environment variable (see docs/operations.md).
# Relative paths are relative to this file's folder.

[database]
# SQLite (embedded default) or PostgreSQL, e.g. postgresql+psycopg://dossier@db/dossier
url = "sqlite:///dossier.db"

[keys]
# The master key wraps every student's data key. Losing it loses every record;
# keep a copy offline. Rotate with `dossier keys rotate` (docs/operations.md).
master_key_file = "keys/master.key"
# Actor tokens: the private key signs (CLI, gateway), the public key verifies (services).
token_private_key_file = "keys/token.key"
token_public_key = "{public_key}"
# Backups are sealed with this key: keep a copy offline, apart from the backups.
backup_key_file = "keys/backup.key"
# While rotating: the old master key(s), to unwrap data keys not yet re-wrapped,
# and the old token public key(s), accepted until their tokens expire.
# retired_master_key_files = ["keys/master-2026.key"]
# retired_token_public_keys = ["..."]

[nats]
servers = ["{nats_url}"]
# One password file per NATS user (0600): `dossier up` starts the server with them, and each
# process signs in as its own user. Production sets the passwords in the URLs instead.
users_dir = "nats-users"
# credentials_file = "nats.creds"
# tls_ca_file = "ca.pem"

[objects]
# "local" keeps documents and backups in a folder; "s3" uses MinIO or any S3 server.
kind = "local"
path = "objects"
# endpoint = "minio.internal:9000"
# access_key = "..."
# secret_key = "..."
# secure = true
documents_bucket = "dossier-documents"
backups_bucket = "dossier-backups"

[retention]
# How long backups are kept (and locked, where the bucket has object lock).
backup_retention_days = 30
backup_part_mb = 8

[gateway]
# The web pages (dossier-gateway). Session cookies are signed with this key;
# behind TLS set secure_cookies = true and public_url to the https address.
host = "127.0.0.1"
port = 8080
session_key_file = "keys/session.key"
secure_cookies = false

[metrics]
# Each service answers /metrics (Prometheus), /healthz (ready) and /livez on this port;
# 0 turns it off. `dossier up` gives each embedded service a free port of its own.
host = "127.0.0.1"
port = 9464

# One table per branch (校区). plugins: extra rule plugins (entry points "dossier.plugins").
# policy_renewal_days: staff acknowledge the branch's confidentiality policy (保密承诺) again
# after this many days (365 by default); a branch that has published no policy asks nothing.
[branches.SH01]
name = "上海一校"
locale = "zh-CN"
time_zone = "Asia/Shanghai"
policy_renewal_days = 365

[branches.HK01]
name = "Hong Kong Central"
locale = "en"
time_zone = "Asia/Hong_Kong"
plugins = ["hongkong"]
phone_region = "HK"
"""


class AlreadyInitialised(Exception):
    pass


def write_secret(path: Path, text: str) -> None:
    """A new file readable by its owner only; never over an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")


DEFAULT_NATS_PORT = 4222


def _local_nats_url() -> str:
    """NATS's usual port for the embedded server, unless something listens there already."""
    port = DEFAULT_NATS_PORT if port_is_free(DEFAULT_NATS_PORT) else free_port()
    return f"nats://127.0.0.1:{port}"


def initialise(folder: Path, nats_url: str | None = None) -> Path:
    """Create ``folder`` with keys and a configuration file; refuse to overwrite one."""
    nats_url = nats_url or _local_nats_url()
    config = folder / CONFIG_NAME
    if config.exists():
        raise AlreadyInitialised(str(config))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # an existing folder too: it will hold the database and the keys
    token_key = generate_private_key()
    write_secret(folder / "keys" / "master.key", MasterKey.generate().to_base64())
    write_secret(folder / "keys" / "token.key", token_key)
    write_secret(folder / "keys" / "backup.key", BackupKey.generate())
    write_secret(folder / "keys" / "session.key", secrets.token_urlsafe(48))
    ensure_secrets(folder / "nats-users")
    public_key = public_key_text(private_key_from(token_key))
    write_secret(config, TEMPLATE.format(public_key=public_key, nats_url=nats_url).rstrip("\n"))
    return config

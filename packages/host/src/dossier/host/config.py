"""The system configuration every Dossier process reads: one TOML file, overridable by environment.

``dossier init`` writes a commented file (see `render_default`); services,
the CLI and the tests load it with `load_config`. Every setting can be
overridden by an environment variable named in the table below, so a
container can run from the same file with secrets injected.

=============================  ==============================
setting                        environment variable
=============================  ==============================
database.url                   DOSSIER_DATABASE_URL
keys.master_key_file           DOSSIER_MASTER_KEY_FILE
keys.retired_master_key_files  DOSSIER_RETIRED_MASTER_KEY_FILES
keys.token_private_key_file    DOSSIER_TOKEN_PRIVATE_KEY_FILE
keys.token_public_key          DOSSIER_TOKEN_PUBLIC_KEY
keys.retired_token_public_keys DOSSIER_RETIRED_TOKEN_PUBLIC_KEYS
keys.backup_key_file           DOSSIER_BACKUP_KEY_FILE
nats.servers (comma-separated) DOSSIER_NATS_URL
nats.credentials_file          DOSSIER_NATS_CREDENTIALS
nats.users_dir                 DOSSIER_NATS_USERS_DIR
objects.kind                   DOSSIER_OBJECTS_KIND
objects.path                   DOSSIER_OBJECTS_PATH
objects.endpoint               DOSSIER_S3_ENDPOINT
objects.access_key             DOSSIER_S3_ACCESS_KEY
objects.secret_key             DOSSIER_S3_SECRET_KEY
metrics.host                   DOSSIER_METRICS_HOST
metrics.port (0: off)          DOSSIER_METRICS_PORT
=============================  ==============================

Logging is set by environment only: ``DOSSIER_LOG_LEVEL`` and
``DOSSIER_LOG_FORMAT`` (``json``, ``text``; default JSON unless on a terminal).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import evolve, field, frozen

from dossier.core.branch import Branch, load_branches
from dossier.core.errors import Problem, ValidationError
from dossier.messaging.connection import NatsSettings
from dossier.storage.settings import StorageSettings


@frozen(kw_only=True)
class ObjectSettings:
    kind: str = "local"
    path: Path = Path("var/objects")
    endpoint: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    secure: bool = False
    region: str | None = None
    documents_bucket: str = "dossier-documents"
    backups_bucket: str = "dossier-backups"


@frozen(kw_only=True)
class RetentionSettings:
    backup_key_file: Path | None = None
    backup_retention_days: int = 30
    backup_part_mb: int = 8
    jobs_every_s: float = 600.0
    """How often the retention service starts due quarterly reviews and sweeps destructions."""


@frozen(kw_only=True)
class MetricsSettings:
    """Where a service answers ``/metrics``, ``/healthz`` and ``/livez``; port 0 turns it off."""

    host: str = "127.0.0.1"
    port: int = 9464


@frozen(kw_only=True)
class Config:
    base_dir: Path
    storage: StorageSettings
    nats: NatsSettings
    objects: ObjectSettings
    token_public_key: str
    token_private_key_file: Path | None = None
    retired_token_public_keys: tuple[str, ...] = ()
    retention: RetentionSettings = field(factory=RetentionSettings)
    metrics: MetricsSettings = field(factory=MetricsSettings)
    branches: Mapping[str, Branch] = field(factory=dict)
    nats_users_dir: Path | None = None
    """One password file per NATS user (`dossier.host.bus`); None: the server URLs carry them."""

    def bus(self, user: str) -> NatsSettings:
        """How the process running as NATS user ``user`` connects: as itself, with its own
        secret from `nats_users_dir` when there is one, else as the server URLs say."""
        if self.nats_users_dir is None:
            return self.nats
        password = (self.nats_users_dir / user).read_text().strip()
        return evolve(self.nats, user=user, password=password)

    def branch(self, code: str) -> Branch | None:
        return self.branches.get(code)


def _path(base: Path, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else base / path


def _sqlite_relative(url: str, base: Path) -> str:
    """``sqlite:///relative/x.db`` in the file is relative to the file's folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(base / url[len(prefix) :])
    return url


def _listed(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    base = path.resolve().parent
    with path.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    database = data.get("database", {})
    keys = data.get("keys", {})
    nats = data.get("nats", {})
    objects = data.get("objects", {})
    retention = data.get("retention", {})
    metrics = data.get("metrics", {})
    problems: list[Problem] = []

    url = env.get("DOSSIER_DATABASE_URL") or database.get("url", "sqlite:///var/dossier.db")
    master_file = _path(base, env.get("DOSSIER_MASTER_KEY_FILE") or keys.get("master_key_file"))
    public_key = env.get("DOSSIER_TOKEN_PUBLIC_KEY") or keys.get("token_public_key", "")
    retired_files = _listed(env.get("DOSSIER_RETIRED_MASTER_KEY_FILES")) or keys.get(
        "retired_master_key_files", []
    )
    retired_tokens = _listed(env.get("DOSSIER_RETIRED_TOKEN_PUBLIC_KEYS")) or keys.get(
        "retired_token_public_keys", []
    )
    if not public_key:
        problems.append(Problem("keys.token_public_key", "required"))
    servers_env = env.get("DOSSIER_NATS_URL")
    servers = servers_env.split(",") if servers_env else nats.get("servers", [])
    if not servers:
        problems.append(Problem("nats.servers", "required"))
    kind = env.get("DOSSIER_OBJECTS_KIND") or objects.get("kind", "local")
    if kind not in {"local", "s3"}:
        problems.append(Problem("objects.kind", "not_allowed_value", {"allowed": "local, s3"}))
    metrics_port = env.get("DOSSIER_METRICS_PORT") or metrics.get("port", 9464)
    try:
        metrics_port = int(metrics_port)
    except (TypeError, ValueError):
        problems.append(Problem("metrics.port", "wrong_type", {"expected": "integer"}))
        metrics_port = 0
    try:
        branches = load_branches(data.get("branches", {}))
    except ValidationError as invalid:
        problems.extend(invalid.problems())
        branches = {}
    if problems:
        raise ValidationError(problems)

    return Config(
        base_dir=base,
        storage=StorageSettings(
            database_url=_sqlite_relative(url, base),
            master_key_file=master_file,
            retired_master_key_files=tuple(
                path for path in (_path(base, str(f)) for f in retired_files) if path
            ),
        ),
        nats=NatsSettings(
            servers=tuple(servers),
            credentials_file=_path(
                base, env.get("DOSSIER_NATS_CREDENTIALS") or nats.get("credentials_file")
            ),
            tls_ca_file=_path(base, nats.get("tls_ca_file")),
            tls_cert_file=_path(base, nats.get("tls_cert_file")),
            tls_key_file=_path(base, nats.get("tls_key_file")),
        ),
        objects=ObjectSettings(
            kind=kind,
            path=_path(base, env.get("DOSSIER_OBJECTS_PATH") or objects.get("path"))
            or base / "objects",
            endpoint=env.get("DOSSIER_S3_ENDPOINT") or objects.get("endpoint"),
            access_key=env.get("DOSSIER_S3_ACCESS_KEY") or objects.get("access_key"),
            secret_key=env.get("DOSSIER_S3_SECRET_KEY") or objects.get("secret_key"),
            secure=bool(objects.get("secure", False)),
            region=objects.get("region"),
            documents_bucket=objects.get("documents_bucket", "dossier-documents"),
            backups_bucket=objects.get("backups_bucket", "dossier-backups"),
        ),
        token_public_key=public_key,
        retired_token_public_keys=tuple(str(k) for k in retired_tokens),
        token_private_key_file=_path(
            base,
            env.get("DOSSIER_TOKEN_PRIVATE_KEY_FILE") or keys.get("token_private_key_file"),
        ),
        retention=RetentionSettings(
            backup_key_file=_path(
                base, env.get("DOSSIER_BACKUP_KEY_FILE") or keys.get("backup_key_file")
            ),
            backup_retention_days=int(retention.get("backup_retention_days", 30)),
            backup_part_mb=int(retention.get("backup_part_mb", 8)),
            jobs_every_s=float(retention.get("jobs_every_s", 600.0)),
        ),
        metrics=MetricsSettings(
            host=env.get("DOSSIER_METRICS_HOST") or metrics.get("host", "127.0.0.1"),
            port=metrics_port,
        ),
        branches=branches,
        nats_users_dir=_path(base, env.get("DOSSIER_NATS_USERS_DIR") or nats.get("users_dir")),
    )

"""Storage configuration: one database URL chooses the engine; where the master key comes from.

``sqlite:///path/dossier.db`` (the embedded default) or
``postgresql+psycopg://user@host/db`` (production).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pluggy
from attrs import frozen

from dossier.core.hookspecs import PROJECT
from dossier.core.plugins import discover_plugins
from dossier.storage.hookspecs import StorageSpecs
from dossier.storage.keys import MasterKey

DEFAULT_DATABASE_URL = "sqlite:///var/dossier.db"


@frozen(kw_only=True)
class StorageSettings:
    database_url: str = DEFAULT_DATABASE_URL
    master_key_env: str = "DOSSIER_MASTER_KEY"
    master_key_file: Path | None = None
    retired_master_key_files: tuple[Path, ...] = ()
    """Master keys being rotated out: they only unwrap data keys not yet re-wrapped."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StorageSettings:
        """``DOSSIER_DATABASE_URL`` and ``DOSSIER_MASTER_KEY_FILE``, each optional."""
        env = os.environ if environ is None else environ
        key_file = env.get("DOSSIER_MASTER_KEY_FILE")
        return cls(
            database_url=env.get("DOSSIER_DATABASE_URL", DEFAULT_DATABASE_URL),
            master_key_file=Path(key_file) if key_file else None,
        )


def load_master_key(
    settings: StorageSettings, plugins: Mapping[str, object] | None = None
) -> MasterKey:
    """The master key: from a ``dossier_master_key`` plugin, else the file, else the environment.

    ``plugins`` defaults to the installed ``dossier.plugins`` entry points;
    those without the hook are simply not asked.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(StorageSpecs)
    for name, plugin in (discover_plugins() if plugins is None else plugins).items():
        pm.register(plugin, name=name)
    hook: Any = pm.hook
    answer: MasterKey | None = hook.dossier_master_key(settings=settings)
    if answer is not None:
        return answer
    if settings.master_key_file is not None:
        return MasterKey.from_file(settings.master_key_file)
    return MasterKey.from_env(settings.master_key_env)

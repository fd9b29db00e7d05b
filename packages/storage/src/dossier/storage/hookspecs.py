"""The storage hook a plugin may implement, in core's pluggy project ``dossier``.

Add it to a plugin manager next to core's specs with
``pm.add_hookspecs(dossier.storage.hookspecs.StorageSpecs)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from dossier.core.hookspecs import PROJECT

if TYPE_CHECKING:
    from dossier.storage.keys import MasterKey
    from dossier.storage.settings import StorageSettings

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class StorageSpecs:
    @hookspec(firstresult=True)
    def dossier_master_key(self, settings: StorageSettings) -> MasterKey | None:
        """Return the chain's master key (e.g. fetched from a KMS), or None to defer.

        When no plugin answers, the key comes from ``settings.master_key_file``
        or the environment variable ``settings.master_key_env``.
        """
